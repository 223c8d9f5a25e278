// Subnets: CIDR, gateway and pool validation, overlap checks, deletion rules.
import type { ServerConfig } from '../config.js';
import { type ResourceSpec, standardAttributes, textAttribute } from '../model/attributes.js';
import type { AuthContext } from '../model/context.js';
import { conflict, forbidden, invalidInput, NeutronError, notFound, policyDenied } from '../model/errors.js';
import { canonicalIpOrNull, cidrsOverlap, formatCidr, parsePrefix } from '../model/ip.js';
import { defaultGateway, defaultPools, validateGateway, validatePools, type Pool } from '../model/ipam.js';
import { DHCP_OWNER, ROUTER_OWNER_PREFIX } from '../model/neutron.js';
import { canSeeNetwork, isOwner } from '../model/policy.js';
import {
  isAllocationPools,
  isHostRoutes,
  isIpOrNull,
  isNameservers,
  isOneOf,
  isSubnetCidr,
  isUuid,
  isUuidOrNull,
  toBoolean,
  toInt,
} from '../model/validators.js';
import type { NetworkRow, SubnetRow } from '../store/schema/index.js';
import {
  bool,
  int,
  newId,
  parseJson,
  recordChange,
  standardFields,
  stringFilter,
  timestamp,
  type Item,
  type ResourceService,
  type Tx,
} from './common.js';
import { getVisibleNetwork } from './networks.js';
import { enforceQuota } from './quotas.js';
import { scheduleNetworkDhcp } from './dhcp-scheduler.js';
import { subnetCidr } from './lookups.js';

export const MAX_DNS_NAMESERVERS = 5;
export const MAX_HOST_ROUTES = 20;

/** ipv6_ra_mode / ipv6_address_mode values (null: not set). */
const IPV6_MODES = ['dhcpv6-stateful', 'dhcpv6-stateless', 'slaac', null];

export const subnetSpec: ResourceSpec = {
  singular: 'subnet',
  plural: 'subnets',
  attributes: {
    id: { filter: true, sort: true },
    name: textAttribute,
    description: { ...textAttribute, sort: false },
    network_id: { post: true, required: true, validate: isUuid, filter: true, sort: true },
    ip_version: { post: true, required: true, convert: toInt, validate: isOneOf([4, 6]), filter: true, sort: true },
    cidr: { post: true, validate: isSubnetCidr, filter: true, sort: true },
    gateway_ip: { post: true, put: true, validate: isIpOrNull, filter: true, sort: true },
    allocation_pools: { post: true, put: true, validate: isAllocationPools, filter: false },
    dns_nameservers: { post: true, put: true, default: () => [], validate: isNameservers(Infinity), filter: true },
    host_routes: { post: true, put: true, default: () => [], validate: isHostRoutes, filter: false },
    enable_dhcp: { post: true, put: true, default: true, convert: toBoolean, filter: true, sort: true },
    ipv6_ra_mode: { post: true, validate: isOneOf(IPV6_MODES), filter: true },
    ipv6_address_mode: { post: true, validate: isOneOf(IPV6_MODES), filter: true },
    subnetpool_id: { post: true, validate: isUuidOrNull, filter: true },
    service_types: { filter: false },
    ...standardAttributes,
  },
};

export function subnetToApi(row: SubnetRow): Item {
  return {
    id: row.id,
    name: row.name,
    network_id: row.network_id,
    ip_version: row.ip_version,
    cidr: row.cidr,
    gateway_ip: row.gateway_ip,
    allocation_pools: parseJson<Pool[]>(row.allocation_pools),
    dns_nameservers: parseJson<string[]>(row.dns_nameservers),
    host_routes: parseJson<unknown[]>(row.host_routes),
    enable_dhcp: bool(row.enable_dhcp),
    ipv6_ra_mode: row.ipv6_ra_mode,
    ipv6_address_mode: row.ipv6_address_mode,
    subnetpool_id: null,
    service_types: [],
    ...standardFields(row),
  };
}

/** Loads a subnet the caller may see (through its network), or SubnetNotFound. */
export async function getVisibleSubnet(tx: Tx, ctx: AuthContext, id: string): Promise<{ subnet: SubnetRow; network: NetworkRow }> {
  const subnet = await tx.selectFrom('subnets').selectAll().where('id', '=', id).executeTakeFirst();
  const network = subnet && (await tx.selectFrom('networks').selectAll().where('id', '=', subnet.network_id).executeTakeFirst());
  if (!subnet || !network || !(canSeeNetwork(ctx, network) || isOwner(ctx, subnet))) {
    throw notFound('SubnetNotFound', `Subnet ${id} could not be found.`);
  }
  return { subnet, network };
}

function checkLimits(id: string, a: Item) {
  if (Array.isArray(a.dns_nameservers) && a.dns_nameservers.length > MAX_DNS_NAMESERVERS) {
    throw new NeutronError(
      400,
      'DNSNameServersExhausted',
      `Unable to complete operation for ${id}. The number of DNS nameservers exceeds the limit ${MAX_DNS_NAMESERVERS}.`,
    );
  }
  if (Array.isArray(a.host_routes) && a.host_routes.length > MAX_HOST_ROUTES) {
    throw new NeutronError(
      400,
      'HostRoutesExhausted',
      `Unable to complete operation for ${id}. The number of host routes exceeds the limit ${MAX_HOST_ROUTES}.`,
    );
  }
}

export function subnetService(config: ServerConfig): ResourceService {
  return {
    spec: subnetSpec,

    async list(tx, ctx, filters) {
      let q = tx.selectFrom('subnets').selectAll();
      const nets = stringFilter(filters, 'network_id');
      if (nets) q = q.where('network_id', 'in', nets);
      const rows = await q.execute();
      const networks = new Map(
        (await tx.selectFrom('networks').select(['id', 'project_id', 'shared', 'router_external']).execute()).map((n) => [n.id, n]),
      );
      return rows
        .filter((s) => {
          const n = networks.get(s.network_id);
          return isOwner(ctx, s) || ctx.isAdmin || (n !== undefined && canSeeNetwork(ctx, n));
        })
        .map(subnetToApi);
    },

    async show(tx, ctx, id) {
      return subnetToApi((await getVisibleSubnet(tx, ctx, id)).subnet);
    },

    async create(tx, ctx, a) {
      const network = await getVisibleNetwork(tx, ctx, a.network_id as string);
      if (!ctx.isAdmin && !isOwner(ctx, network)) {
        if (network.shared) throw policyDenied('rule:create_subnet');
        throw forbidden(`Tenant ${ctx.projectId} not allowed to create subnet on this network`);
      }
      // There are no subnet pools (yet): any pool named is one that does not exist.
      if (a.subnetpool_id !== undefined && a.subnetpool_id !== null) {
        throw notFound('SubnetPoolNotFound', `Subnet pool ${a.subnetpool_id} could not be found.`);
      }
      const projectId = a.project_id as string;
      await enforceQuota(tx, projectId, 'subnet');
      if (a.ip_version === 6) {
        throw invalidInput('IPv6 subnets are not supported yet by this server; create an IPv4 subnet (ip_version 4)');
      }
      if (a.cidr === undefined) throw invalidInput('A cidr must be specified in the absence of a subnet pool');
      const cidr = parsePrefix(a.cidr)!;
      if (cidr.version !== a.ip_version) throw invalidInput('Cidr and ip_version are inconsistent');
      if (cidr.prefixLength === 0) throw invalidInput('0 is not allowed as CIDR prefix length');
      if (a.enable_dhcp && cidr.version === 4 && cidr.prefixLength > 30) {
        throw invalidInput(`Invalid CIDR ${formatCidr(cidr)} for IPv4 DHCP: prefix length must be 30 or less`);
      }
      for (const key of ['ipv6_ra_mode', 'ipv6_address_mode'] as const) {
        if (a[key] !== undefined && a[key] !== null) throw invalidInput(`${key} is not valid when ip_version is 4`);
      }
      const id = newId();
      checkLimits(id, a);
      const siblings = await tx.selectFrom('subnets').select('cidr').where('network_id', '=', network.id).execute();
      if (siblings.some((s) => cidrsOverlap(subnetCidr(s), cidr))) {
        throw invalidInput(`Requested subnet with cidr: ${formatCidr(cidr)} for network: ${network.id} overlaps with another subnet`);
      }
      let gateway: string | null = a.gateway_ip === undefined ? defaultGateway(cidr) : (a.gateway_ip as string | null);
      if (gateway !== null) {
        validateGateway(cidr, gateway);
        gateway = canonicalIpOrNull(gateway)!;
      }
      const pools =
        a.allocation_pools === undefined ? defaultPools(cidr, gateway) : validatePools(cidr, a.allocation_pools as Pool[], gateway);
      const now = timestamp();
      const row: SubnetRow = {
        id,
        project_id: projectId,
        name: a.name as string,
        description: a.description as string,
        network_id: network.id,
        ip_version: cidr.version,
        cidr: formatCidr(cidr),
        gateway_ip: gateway,
        enable_dhcp: int(a.enable_dhcp),
        allocation_pools: JSON.stringify(pools),
        dns_nameservers: JSON.stringify(a.dns_nameservers ?? []),
        host_routes: JSON.stringify(a.host_routes ?? []),
        ipv6_ra_mode: null,
        ipv6_address_mode: null,
        revision_number: 0,
        created_at: now,
        updated_at: now,
      };
      await tx.insertInto('subnets').values(row).execute();
      await recordChange(tx, 'subnet', id, 'create', projectId);
      await scheduleNetworkDhcp(tx, config, network.id);
      return subnetToApi(row);
    },

    async update(tx, ctx, id, a) {
      const { subnet, network } = await getVisibleSubnet(tx, ctx, id);
      if (!ctx.isAdmin && !isOwner(ctx, subnet) && !isOwner(ctx, network)) throw policyDenied('rule:update_subnet');
      checkLimits(id, a);
      const cidr = subnetCidr(subnet);
      let gateway = subnet.gateway_ip;
      if ('gateway_ip' in a && a.gateway_ip !== subnet.gateway_ip) {
        const routerPort = subnet.gateway_ip
          ? await tx
              .selectFrom('ip_allocations')
              .innerJoin('ports', 'ports.id', 'ip_allocations.port_id')
              .select('ports.id')
              .where('ip_allocations.subnet_id', '=', id)
              .where('ip_allocations.ip_address', '=', subnet.gateway_ip)
              .where('ports.device_owner', 'like', `${ROUTER_OWNER_PREFIX}%`)
              .executeTakeFirst()
          : undefined;
        if (routerPort) {
          throw conflict(
            'GatewayIpInUse',
            `Current gateway ip ${subnet.gateway_ip} already in use by port ${routerPort.id}. Unable to update.`,
          );
        }
        gateway = a.gateway_ip as string | null;
        if (gateway !== null) {
          validateGateway(cidr, gateway);
          gateway = canonicalIpOrNull(gateway)!;
        }
      }
      const pools =
        'allocation_pools' in a
          ? validatePools(cidr, a.allocation_pools as Pool[], gateway)
          : validatePools(cidr, parseJson<Pool[]>(subnet.allocation_pools), gateway);
      await tx
        .updateTable('subnets')
        .set({
          name: (a.name as string) ?? subnet.name,
          description: (a.description as string) ?? subnet.description,
          gateway_ip: gateway,
          allocation_pools: JSON.stringify(pools),
          dns_nameservers: 'dns_nameservers' in a ? JSON.stringify(a.dns_nameservers) : subnet.dns_nameservers,
          host_routes: 'host_routes' in a ? JSON.stringify(a.host_routes) : subnet.host_routes,
          enable_dhcp: 'enable_dhcp' in a ? int(a.enable_dhcp) : subnet.enable_dhcp,
          revision_number: subnet.revision_number + 1,
          updated_at: timestamp(),
        })
        .where('id', '=', id)
        .execute();
      await recordChange(tx, 'subnet', id, 'update', subnet.project_id);
      if ('enable_dhcp' in a) await scheduleNetworkDhcp(tx, config, network.id);
      return this.show(tx, ctx, id);
    },

    async remove(tx, ctx, id) {
      const { subnet, network } = await getVisibleSubnet(tx, ctx, id);
      if (!ctx.isAdmin && !isOwner(ctx, subnet) && !isOwner(ctx, network)) throw policyDenied('rule:delete_subnet');
      const users = await tx
        .selectFrom('ip_allocations')
        .innerJoin('ports', 'ports.id', 'ip_allocations.port_id')
        .select(['ports.id', 'ports.device_owner'])
        .where('ip_allocations.subnet_id', '=', id)
        .execute();
      if (users.some((u) => u.device_owner !== DHCP_OWNER)) {
        throw conflict(
          'SubnetInUse',
          `Unable to complete operation on subnet ${id}: One or more ports have an IP allocation from this subnet.`,
        );
      }
      // DHCP ports lose their address on this subnet; the ports themselves stay with the network.
      await tx.deleteFrom('ip_allocations').where('subnet_id', '=', id).execute();
      for (const u of users) await recordChange(tx, 'port', u.id, 'update', network.project_id);
      await tx.deleteFrom('subnets').where('id', '=', id).execute();
      await recordChange(tx, 'subnet', id, 'delete', subnet.project_id);
      await scheduleNetworkDhcp(tx, config, network.id);
    },
  };
}
