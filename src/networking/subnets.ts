// Subnets: CIDR, gateway and pool validation, overlap checks, deletion rules.
import type { ServerConfig } from '../server-config.ts';
import { boolColumn, pushFilters, sqlPage, standardColumns, textColumn, type ListTable } from './list-sql.ts';
import { type ResourceSpec, standardAttributes, textAttribute } from '../model/attributes.ts';
import type { AuthContext } from '../model/context.ts';
import { conflict, forbidden, invalidInput, notFound, policyDenied } from '../model/errors.ts';
import { cidrsOverlap, formatCidr, type Cidr } from '../model/ip.ts';
import { defaultGateway, defaultPools, validatePools, type Pool } from '../model/ipam.ts';
import { DHCP_OWNER, ROUTER_GW_OWNER, ROUTER_INTERFACE_OWNERS, ROUTER_PORT_OWNERS } from '../model/neutron.ts';
import { isOwner, ownerOrAdmin } from '../model/policy.ts';
import {
  isAllocationPools,
  isHostRoutes,
  isIpOrNull,
  isNameservers,
  isOneOf,
  isSubnetCidr,
  isUuid,
  show,
  type Validator,
  isUuidOrNull,
  toBoolean,
  toInt,
} from '../model/validators.ts';
import type { NetworkRow, SubnetRow } from '../store/schema/index.ts';
import {
  bool,
  int,
  newId,
  parseJson,
  recordChange,
  standardFields,
  timestamp,
  type Item,
  type ResourceService,
  type Tx,
} from './common.ts';
import { getVisibleNetwork, isNetworkSharedWith } from './networks.ts';
import { ACCESS_SHARED, sharedInSql } from './rbac-sql.ts';
import { enforceQuota } from './quotas.ts';
import { scheduleNetworkDhcp } from './dhcp-scheduler.ts';
import { subnetCidr } from './lookups.ts';
import { addAutoAddressesOnNetwork } from './ipam.ts';
import { addSubnetToGatewayPorts } from './router-gateway.ts';
import {
  checkAddressFamilies,
  checkedGateway,
  checkDhcpServable,
  checkIpv6DhcpUpdate,
  checkLimits,
  isAutoAddressSubnet,
  requestedCidr,
} from './subnet-requests.ts';
import { allocateFromPool, checkNetworkPoolAffinity, requestedSubnetPool, type SubnetSpace } from './subnet-allocation.ts';
import { tagAttributes, tagFiltersInSql } from './tags.ts';
import { serviceTypesOf, toServiceTypes } from './service-types.ts';

export { MAX_DNS_NAMESERVERS, MAX_HOST_ROUTES } from './subnet-requests.ts';

const isSubnetCidrOrNull: Validator = (v) => (v === null ? undefined : isSubnetCidr(v));
const isNonNegative: Validator = (v) => ((v as number) < 0 ? `'${show(v)}' should be non-negative` : undefined);

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
    cidr: { post: true, validate: isSubnetCidrOrNull, filter: true, sort: true },
    // Create-only and never shown: the size of a CIDR from a pool, and "take the family's default pool".
    prefixlen: { post: true, convert: toInt, validate: isNonNegative, filter: false },
    use_default_subnetpool: { post: true, default: false, convert: toBoolean, filter: false },
    gateway_ip: { post: true, put: true, validate: isIpOrNull, filter: true, sort: true },
    allocation_pools: { post: true, put: true, validate: isAllocationPools, filter: false },
    dns_nameservers: { post: true, put: true, default: () => [], validate: isNameservers(Infinity), filter: true },
    host_routes: { post: true, put: true, default: () => [], validate: isHostRoutes, filter: false },
    enable_dhcp: { post: true, put: true, default: true, convert: toBoolean, filter: true, sort: true },
    ipv6_ra_mode: { post: true, validate: isOneOf(IPV6_MODES), filter: true },
    ipv6_address_mode: { post: true, validate: isOneOf(IPV6_MODES), filter: true },
    subnetpool_id: { post: true, validate: isUuidOrNull, filter: true, sort: true },
    service_types: { post: true, put: true, convert: toServiceTypes, adminSet: true, filter: false },
    ...standardAttributes,
    ...tagAttributes(),
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
    subnetpool_id: row.subnetpool_id,
    service_types: serviceTypesOf(row),
    ...standardFields(row),
  };
}

/** The subnets table as lists filter and sort it (the nullable gateway and IPv6 modes stay in memory). */
const subnetTable: ListTable = {
  table: 'subnets',
  columns: {
    ...standardColumns,
    network_id: textColumn('network_id'),
    ip_version: { column: 'ip_version', kind: 'int' },
    cidr: textColumn('cidr'),
    enable_dhcp: boolColumn('enable_dhcp'),
  },
  filters: tagFiltersInSql('subnets'),
};

/** The subnets the caller sees (canSeeSubnet): its own, and those on networks it owns or that are shared. */
function visibleSubnets(tx: Tx, ctx: AuthContext) {
  const q = tx.selectFrom('subnets').selectAll('subnets');
  if (ctx.isAdmin) return q;
  return q.innerJoin('networks', 'networks.id', 'subnets.network_id').where((eb) =>
    eb.or([
      eb('subnets.project_id', '=', ctx.projectId),
      eb('networks.project_id', '=', ctx.projectId),
      // access_as_shared only: an external network's subnets stay private (access_as_external grants the network).
      sharedInSql('network', 'networks.id', ctx.projectId, [ACCESS_SHARED]),
    ]),
  );
}

/** Loads a subnet the caller may see (through its network), or SubnetNotFound. */
export async function getVisibleSubnet(tx: Tx, ctx: AuthContext, id: string): Promise<{ subnet: SubnetRow; network: NetworkRow }> {
  const subnet = await tx.selectFrom('subnets').selectAll().where('id', '=', id).executeTakeFirst();
  const network = subnet && (await tx.selectFrom('networks').selectAll().where('id', '=', subnet.network_id).executeTakeFirst());
  if (!subnet || !network || !(isOwner(ctx, subnet) || ownerOrAdmin(ctx, network) || (await isNetworkSharedWith(tx, ctx, network.id)))) {
    throw notFound('SubnetNotFound', `Subnet ${id} could not be found.`);
  }
  return { subnet, network };
}

/** The network a new subnet goes on, if the caller may add subnets to it. */
async function networkForNewSubnet(tx: Tx, ctx: AuthContext, a: Item): Promise<NetworkRow> {
  const network = await getVisibleNetwork(tx, ctx, a.network_id as string);
  if (!ctx.isAdmin && !isOwner(ctx, network)) {
    if (await isNetworkSharedWith(tx, ctx, network.id)) throw policyDenied('rule:create_subnet');
    throw forbidden(`Tenant ${ctx.projectId} not allowed to create subnet on this network`);
  }
  return network;
}

async function rejectOverlap(tx: Tx, networkId: string, cidr: Cidr): Promise<void> {
  const siblings = await tx.selectFrom('subnets').select('cidr').where('network_id', '=', networkId).execute();
  if (siblings.some((s) => cidrsOverlap(subnetCidr(s), cidr))) {
    throw invalidInput(`Requested subnet with cidr: ${formatCidr(cidr)} for network: ${networkId} overlaps with another subnet`);
  }
}

/** The new gateway of an update, refused while a router port holds the current one. */
async function movedGateway(tx: Tx, subnet: SubnetRow, requested: unknown): Promise<string | null> {
  const routerPort = subnet.gateway_ip
    ? await tx
        .selectFrom('ip_allocations')
        .innerJoin('ports', 'ports.id', 'ip_allocations.port_id')
        .select('ports.id')
        .where('ip_allocations.subnet_id', '=', subnet.id)
        .where('ip_allocations.ip_address', '=', subnet.gateway_ip)
        .where('ports.device_owner', 'in', ROUTER_PORT_OWNERS)
        .executeTakeFirst()
    : undefined;
  if (routerPort) {
    throw conflict('GatewayIpInUse', `Current gateway ip ${subnet.gateway_ip} already in use by port ${routerPort.id}. Unable to update.`);
  }
  return checkedGateway(subnetCidr(subnet), requested as string | null);
}

/** The space of a subnet that gives its own CIDR: the gateway and pools asked for, or the defaults. */
function ownSpace(a: Item): SubnetSpace {
  const cidr = requestedCidr(a);
  const gateway = a.gateway_ip === undefined ? defaultGateway(cidr) : checkedGateway(cidr, a.gateway_ip as string | null);
  const pools = a.allocation_pools === undefined ? defaultPools(cidr, gateway) : validatePools(cidr, a.allocation_pools as Pool[], gateway);
  return { cidr, gateway, pools };
}

function newSubnetRow(id: string, networkId: string, space: SubnetSpace, subnetpoolId: string | null, a: Item): SubnetRow {
  const { cidr, gateway, pools } = space;
  const now = timestamp();
  return {
    id,
    project_id: a.project_id as string,
    name: a.name as string,
    description: a.description as string,
    network_id: networkId,
    ip_version: cidr.version,
    cidr: formatCidr(cidr),
    gateway_ip: gateway,
    enable_dhcp: int(a.enable_dhcp),
    allocation_pools: JSON.stringify(pools),
    dns_nameservers: JSON.stringify(a.dns_nameservers ?? []),
    host_routes: JSON.stringify(a.host_routes ?? []),
    ipv6_ra_mode: (a.ipv6_ra_mode as string | undefined) ?? null,
    ipv6_address_mode: (a.ipv6_address_mode as string | undefined) ?? null,
    subnetpool_id: subnetpoolId,
    service_types: JSON.stringify(a.service_types ?? []),
    revision_number: 0,
    created_at: now,
    updated_at: now,
  };
}

/** The columns an update writes: what it names, the rest as they were. */
function subnetChanges(subnet: SubnetRow, a: Item, gateway: string | null, pools: Pool[]): Partial<SubnetRow> {
  return {
    name: (a.name as string) ?? subnet.name,
    description: (a.description as string) ?? subnet.description,
    gateway_ip: gateway,
    allocation_pools: JSON.stringify(pools),
    dns_nameservers: 'dns_nameservers' in a ? JSON.stringify(a.dns_nameservers) : subnet.dns_nameservers,
    host_routes: 'host_routes' in a ? JSON.stringify(a.host_routes) : subnet.host_routes,
    enable_dhcp: 'enable_dhcp' in a ? int(a.enable_dhcp) : subnet.enable_dhcp,
    service_types: 'service_types' in a ? JSON.stringify(a.service_types) : subnet.service_types,
    revision_number: subnet.revision_number + 1,
    updated_at: timestamp(),
  };
}

/** Update and delete: the subnet's owner, the network's owner, or an admin. */
function authorizeSubnetChange(ctx: AuthContext, subnet: SubnetRow, network: NetworkRow, rule: string): void {
  if (!ctx.isAdmin && !isOwner(ctx, subnet) && !isOwner(ctx, network)) throw policyDenied(rule);
}

interface AddressUser {
  id: string;
  device_owner: string;
  project_id: string;
}

async function portsWithAddressOn(tx: Tx, subnetId: string): Promise<AddressUser[]> {
  return tx
    .selectFrom('ip_allocations')
    .innerJoin('ports', 'ports.id', 'ip_allocations.port_id')
    .select(['ports.id', 'ports.device_owner', 'ports.project_id'])
    .where('ip_allocations.subnet_id', '=', subnetId)
    .execute();
}

/**
 * _remove_subnet_ip_allocations_from_ports: router interfaces keep any subnet; other ports keep a
 * subnet unless their addresses there are DHCP ports' or automatic (SLAAC / DHCPv6-stateless) ones.
 */
function rejectSubnetInUse(id: string, users: AddressUser[], autoAddress: boolean): void {
  const blocks = (u: AddressUser) => (autoAddress ? ROUTER_INTERFACE_OWNERS.includes(u.device_owner) : u.device_owner !== DHCP_OWNER);
  if (users.some(blocks)) {
    throw conflict(
      'SubnetInUse',
      `Unable to complete operation on subnet ${id}: One or more ports have an IP allocation from this subnet.`,
    );
  }
}

/**
 * The ports left with an address on this subnet lose it; the ports themselves stay with the network,
 * each one revision further (Neutron's IPAllocation revises its port).
 */
async function deleteSubnet(tx: Tx, subnet: SubnetRow, users: AddressUser[]): Promise<void> {
  await tx.deleteFrom('ip_allocations').where('subnet_id', '=', subnet.id).execute();
  if (users.length)
    await tx
      .updateTable('ports')
      .set((eb) => ({ revision_number: eb('revision_number', '+', 1), updated_at: timestamp() }))
      .where(
        'id',
        'in',
        users.map((u) => u.id),
      )
      .execute();
  for (const u of users) await recordChange(tx, 'port', u.id, 'update', u.project_id);
  await tx.deleteFrom('subnets').where('id', '=', subnet.id).execute();
  await recordChange(tx, 'subnet', subnet.id, 'delete', subnet.project_id);
}

export function subnetService(config: ServerConfig): ResourceService {
  return {
    spec: subnetSpec,
    readOnlyGets: true,

    async list(tx, ctx, filters) {
      const { query } = pushFilters(tx, subnetTable, visibleSubnets(tx, ctx), filters);
      return (await query.execute()).map(subnetToApi);
    },

    async listPage(tx, ctx, q) {
      const notFoundErr = (id: string) => notFound('SubnetNotFound', `Subnet ${id} could not be found.`);
      const page = await sqlPage(tx, subnetTable, visibleSubnets(tx, ctx), q, notFoundErr);
      return page && { items: page.rows.map(subnetToApi), hasMore: page.hasMore, hasBefore: page.hasBefore };
    },

    async show(tx, ctx, id) {
      return subnetToApi((await getVisibleSubnet(tx, ctx, id)).subnet);
    },

    async create(tx, ctx, a) {
      const network = await networkForNewSubnet(tx, ctx, a);
      await enforceQuota(tx, a.project_id as string, 'subnet');
      const pool = await requestedSubnetPool(tx, ctx, a);
      const id = newId();
      checkLimits(id, a);
      const space = pool ? await allocateFromPool(tx, pool, a, () => ownSpace(a)) : ownSpace(a);
      await rejectOverlap(tx, network.id, space.cidr);
      await checkNetworkPoolAffinity(tx, network.id, space.cidr.version, pool);
      const row = newSubnetRow(id, network.id, space, pool?.id ?? null, a);
      // The writes: the row, its change-feed entry, then the network's DHCP placement.
      await tx.insertInto('subnets').values(row).execute();
      await recordChange(tx, 'subnet', id, 'create', row.project_id);
      // Router gateways on an external network may take an address on a new IPv6 subnet, or IPv4 one
      // reserved for them; the network's ports (router interfaces excepted) take their EUI-64 address
      // on a new auto-address subnet.
      if (network.router_external && (row.ip_version === 6 || serviceTypesOf(row).includes(ROUTER_GW_OWNER))) {
        await addSubnetToGatewayPorts(tx, network, row);
      }
      if (isAutoAddressSubnet(row)) await addAutoAddressesOnNetwork(tx, row);
      await scheduleNetworkDhcp(tx, config, network.id);
      return subnetToApi(row);
    },

    async update(tx, ctx, id, a) {
      const { subnet, network } = await getVisibleSubnet(tx, ctx, id);
      authorizeSubnetChange(ctx, subnet, network, 'rule:update_subnet');
      // _validate_subnet's order: the DHCP checks when DHCP is turned on, then limits and families.
      if (a.enable_dhcp && !subnet.enable_dhcp) checkDhcpServable(subnetCidr(subnet));
      checkLimits(id, a);
      checkAddressFamilies(subnet.ip_version, a);
      if (subnet.ip_version === 6) checkIpv6DhcpUpdate(subnet, a);
      const cidr = subnetCidr(subnet);
      const gateway =
        'gateway_ip' in a && a.gateway_ip !== subnet.gateway_ip ? await movedGateway(tx, subnet, a.gateway_ip) : subnet.gateway_ip;
      const pools = validatePools(
        cidr,
        'allocation_pools' in a ? (a.allocation_pools as Pool[]) : parseJson<Pool[]>(subnet.allocation_pools),
        gateway,
      );
      // The writes: the row, its change-feed entry, then DHCP placement if DHCP was switched.
      await tx
        .updateTable('subnets')
        .set(subnetChanges(subnet, a, gateway, pools))
        .where('id', '=', id)
        .execute();
      await recordChange(tx, 'subnet', id, 'update', subnet.project_id);
      if ('enable_dhcp' in a) await scheduleNetworkDhcp(tx, config, network.id);
      return this.show(tx, ctx, id);
    },

    async remove(tx, ctx, id) {
      const { subnet, network } = await getVisibleSubnet(tx, ctx, id);
      authorizeSubnetChange(ctx, subnet, network, 'rule:delete_subnet');
      const users = await portsWithAddressOn(tx, id);
      rejectSubnetInUse(id, users, isAutoAddressSubnet(subnet));
      // The writes: the remaining ports' addresses, the subnet, their change-feed entries, then DHCP placement.
      await deleteSubnet(tx, subnet, users);
      await scheduleNetworkDhcp(tx, config, network.id);
    },
  };
}
