// The Networking API's resources, in the order /v2.0 lists them.
import type { ServerConfig } from '../server-config.js';
import type { ResourceService } from './common.js';
import { networkService } from './networks.js';
import { rbacPolicyService } from './rbac-policies.js';
import { portService } from './ports.js';
import { securityGroupServices } from './securitygrouprules.js';
import { floatingIpService, routerService } from './routers.js';
import { subnetService } from './subnets.js';
import { withTags } from './tagged-service.js';
import { subnetPoolService } from './subnetpools.js';
import { addressScopeService } from './address-scopes.js';
import { addressGroupService } from './address-groups.js';
import { flavorService, routerUsesFlavor, serviceProfileService } from './flavors.js';
import { segmentService } from './network-segments.js';
import { meteringLabelRuleService, meteringLabelService } from './metering.js';
import { setQuotaDefaults } from './quotas.js';

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
