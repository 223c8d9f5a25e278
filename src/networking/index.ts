// The Networking API's resources, in the order /v2.0 lists them.
import type { ServerConfig } from '../server-config.ts';
import type { ResourceService } from './common.ts';
import { networkService } from './networks.ts';
import { rbacPolicyService } from './rbac-policies.ts';
import { portService } from './ports.ts';
import { securityGroupServices } from './securitygrouprules.ts';
import { floatingIpService, routerService } from './routers.ts';
import { subnetService } from './subnets.ts';
import { withTags } from './tagged-service.ts';
import { subnetPoolService } from './subnetpools.ts';
import { addressScopeService } from './address-scopes.ts';
import { addressGroupService } from './address-groups.ts';
import { flavorService, routerUsesFlavor, serviceProfileService } from './flavors.ts';
import { segmentService } from './network-segments.ts';
import { meteringLabelRuleService, meteringLabelService } from './metering.ts';
import { setQuotaDefaults } from './quotas.ts';

export function buildServices(config: ServerConfig): ResourceService[] {
  setQuotaDefaults(config.quotaDefaults);
  return [
    networkService(config),
    subnetService(config),
    portService(),
    ...securityGroupServices(),
    routerService(config),
    floatingIpService(),
    subnetPoolService(),
    addressScopeService(),
    rbacPolicyService(),
    flavorService(routerUsesFlavor),
    serviceProfileService(),
    addressGroupService(),
    segmentService(config),
    meteringLabelService(),
    meteringLabelRuleService(),
  ].map(withTags);
}
