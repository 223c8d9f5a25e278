// Networks: ML2 segments (flat, vlan, vxlan), MTU, sharing and external flags, deletion rules.
import { sql, type Expression, type SqlBool } from 'kysely';
import { boolColumn, pushFilters, sqlPage, standardColumns, textColumn, type ListTable } from './list-sql.js';
import type { ServerConfig } from '../server-config.js';
import { type ResourceSpec, standardAttributes, textAttribute } from '../model/attributes.js';
import type { AuthContext } from '../model/context.js';
import { conflict, invalidInput, notFound, policyDenied } from '../model/errors.js';
import { AUTO_DELETE_PORT_OWNERS, FLOATINGIP_OWNER, NETWORK_OWNER_PREFIX, ROUTER_GW_OWNER } from '../model/neutron.js';
import { canSeeNetwork, ownerOrAdmin } from '../model/policy.js';
import { inRange, isAvailabilityZoneHints, isString, isStringOrNull, toBoolean, toInt, toIntOrNull } from '../model/validators.js';
import type { NetworkRow } from '../store/schema/index.js';
import { bool, int, newId, recordChange, standardFields, timestamp, type Item, type ResourceService, type Tx } from './common.js';
import { enforceQuota } from './quotas.js';
import { allocateSegment, maxMtu, recordVlanAllocation, segmentKey, validateProviderSegment, type Segment } from './segments.js';
import { ensureDefaultSecurityGroup } from './securitygroups.js';
import { tagAttributes, tagFiltersInSql } from './tags.js';

export const networkSpec: ResourceSpec = {
  singular: 'network',
  plural: 'networks',
  attributes: {
    id: { filter: true, sort: true },
    name: textAttribute,
    description: { ...textAttribute, sort: false },
    admin_state_up: { post: true, put: true, default: true, convert: toBoolean, filter: true, sort: true },
    status: { filter: true, sort: true },
    shared: { post: true, put: true, default: false, convert: toBoolean, adminSet: true, filter: true },
    'router:external': { post: true, put: true, default: false, convert: toBoolean, adminSet: true, filter: true },
    mtu: { post: true, put: true, convert: toInt, validate: inRange(0, 65535), filter: true, sort: true },
    port_security_enabled: { post: true, put: true, default: true, convert: toBoolean, filter: true },
    'provider:network_type': { post: true, put: true, validate: isString(255), adminSet: true, adminRead: true, filter: true },
    'provider:physical_network': { post: true, put: true, validate: isStringOrNull(64), adminSet: true, adminRead: true, filter: true },
    'provider:segmentation_id': {
      post: true,
      put: true,
      convert: toIntOrNull,
      adminSet: true,
      adminRead: true,
      filter: true,
      filterConvert: toInt,
    },
    subnets: { filter: true },
    availability_zone_hints: { post: true, default: () => [], validate: isAvailabilityZoneHints, filter: false },
    availability_zones: { filter: false },
    ipv4_address_scope: { filter: false },
    ipv6_address_scope: { filter: false },
    ...standardAttributes,
    ...tagAttributes(),
  },
};

export function networkToApi(row: NetworkRow, subnets: string[]): Item {
  return {
    id: row.id,
    name: row.name,
    admin_state_up: bool(row.admin_state_up),
    status: row.status,
    subnets,
    shared: bool(row.shared),
    'router:external': bool(row.router_external),
    mtu: row.mtu,
    port_security_enabled: bool(row.port_security_enabled),
    'provider:network_type': row.network_type,
    'provider:physical_network': row.physical_network,
    'provider:segmentation_id': row.segmentation_id,
    availability_zone_hints: [],
    availability_zones: [],
    ipv4_address_scope: null,
    ipv6_address_scope: null,
    ...standardFields(row),
  };
}

/** A network with any of the subnets. */
function subnetsInSql(values: unknown[]): Expression<SqlBool> | null {
  if (!values.every((v) => typeof v === 'string')) return null;
  if (!values.length) return sql<SqlBool>`1 = 0`;
  return sql<SqlBool>`exists (select 1 from subnets s where s.network_id = networks.id and s.id in (${sql.join(values)}))`;
}

/** The networks table as lists filter and sort it (the nullable provider columns stay in memory). */
const networkTable: ListTable = {
  table: 'networks',
  columns: {
    ...standardColumns,
    admin_state_up: boolColumn('admin_state_up'),
    status: textColumn('status'),
    shared: boolColumn('shared'),
    'router:external': boolColumn('router_external'),
    mtu: { column: 'mtu', kind: 'int' },
    port_security_enabled: boolColumn('port_security_enabled'),
    'provider:network_type': textColumn('network_type'),
  },
  filters: { subnets: subnetsInSql, ...tagFiltersInSql('networks') },
};

/** The networks the caller sees (canSeeNetwork): its own, shared and external ones. */
function visibleNetworks(tx: Tx, ctx: AuthContext) {
  const q = tx.selectFrom('networks').selectAll();
  if (ctx.isAdmin) return q;
  return q.where((eb) => eb.or([eb('project_id', '=', ctx.projectId), eb('shared', '<>', 0), eb('router_external', '<>', 0)]));
}

/** Loads a network the caller may see, or NetworkNotFound. */
export async function getVisibleNetwork(tx: Tx, ctx: AuthContext, id: string): Promise<NetworkRow> {
  const row = await tx.selectFrom('networks').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || !canSeeNetwork(ctx, row)) throw notFound('NetworkNotFound', `Network ${id} could not be found.`);
  return row;
}

async function subnetIdsByNetwork(tx: Tx, networkIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (!networkIds.length) return out;
  const rows = await tx.selectFrom('subnets').select(['id', 'network_id']).where('network_id', 'in', networkIds).execute();
  for (const r of rows) out.set(r.network_id, [...(out.get(r.network_id) ?? []), r.id]);
  return out;
}

/** Networks as API dicts, with their subnet ids. */
async function networksToApi(tx: Tx, rows: NetworkRow[]): Promise<Item[]> {
  const subnets = await subnetIdsByNetwork(
    tx,
    rows.map((r) => r.id),
  );
  return rows.map((r) => networkToApi(r, subnets.get(r.id) ?? []));
}

/** The MTU a request asks for (0 or none: the largest the segment type allows), within bounds. */
function effectiveMtu(config: ServerConfig, s: Pick<Segment, 'network_type' | 'physical_network'>, requested: unknown): number {
  const max = maxMtu(config, s.network_type, s.physical_network);
  if (requested === undefined || requested === 0) return max;
  if ((requested as number) > max) throw invalidInput(`Requested MTU is too big, maximum is ${max}`);
  if ((requested as number) < 68) throw invalidInput(`Requested MTU is too small, minimum is 68`);
  return requested as number;
}

/** No availability zones are known to the scheduler (the extension is not offered): a hint names none. */
function rejectAvailabilityZoneHints(a: Item): void {
  const [hint] = a.availability_zone_hints as string[];
  if (hint !== undefined) throw notFound('AvailabilityZoneNotFound', `AvailabilityZone ${hint} could not be found.`);
}

/** The provider segment a request names (admins), else null: a tenant segment. */
function requestedSegment(config: ServerConfig, a: Item): Segment | null {
  const given = ['provider:network_type', 'provider:physical_network', 'provider:segmentation_id'].some((k) => k in a);
  if (!given) return null;
  return validateProviderSegment(config, {
    network_type: a['provider:network_type'] as string | undefined,
    physical_network: a['provider:physical_network'] as string | undefined,
    segmentation_id: a['provider:segmentation_id'] as number | undefined,
  });
}

function newNetworkRow(config: ServerConfig, a: Item, segment: Segment): NetworkRow {
  const now = timestamp();
  return {
    id: newId(),
    project_id: a.project_id as string,
    name: a.name as string,
    description: a.description as string,
    admin_state_up: int(a.admin_state_up),
    status: 'ACTIVE',
    shared: int(a.shared),
    router_external: int(a['router:external']),
    mtu: effectiveMtu(config, segment, a.mtu),
    port_security_enabled: int(a.port_security_enabled),
    network_type: segment.network_type,
    physical_network: segment.physical_network,
    segmentation_id: segment.segmentation_id,
    segment_key: segmentKey(segment),
    revision_number: 0,
    created_at: now,
    updated_at: now,
  };
}

/** The segment is fixed once allocated: an update may repeat it, not change it. */
function rejectProviderChange(row: NetworkRow, a: Item): void {
  for (const [attr, col] of [
    ['provider:network_type', 'network_type'],
    ['provider:physical_network', 'physical_network'],
    ['provider:segmentation_id', 'segmentation_id'],
  ] as const) {
    if (attr in a && a[attr] !== row[col]) {
      throw invalidInput(`Plugin does not support updating the following provider network attributes: ${attr}`);
    }
  }
}

/** A network stops being shared only while no other project has a port on it. */
async function rejectUnsharingWhileUsed(tx: Tx, row: NetworkRow): Promise<void> {
  const others = await tx
    .selectFrom('ports')
    .select('id')
    .where('network_id', '=', row.id)
    .where('project_id', '!=', row.project_id)
    .where('device_owner', 'not like', `${NETWORK_OWNER_PREFIX}%`)
    .executeTakeFirst();
  if (others) {
    throw conflict('InvalidSharedSetting', `Unable to reconfigure sharing settings for network ${row.id}. Multiple tenants are using it.`);
  }
}

/** A network stops being external only while no router gateway or floating IP uses it. */
async function rejectUnexternalWhileGateways(tx: Tx, row: NetworkRow): Promise<void> {
  const gw = await tx
    .selectFrom('ports')
    .select('id')
    .where('network_id', '=', row.id)
    .where('device_owner', 'in', [ROUTER_GW_OWNER, FLOATINGIP_OWNER])
    .executeTakeFirst();
  if (gw) {
    throw conflict(
      'ExternalNetworkInUse',
      `External network ${row.id} cannot be updated to be made non-external, since it has existing gateway ports.`,
    );
  }
}

/** The columns an update writes: what it names, the rest as they were. */
function networkChanges(config: ServerConfig, row: NetworkRow, a: Item): Partial<NetworkRow> {
  return {
    name: (a.name as string) ?? row.name,
    description: (a.description as string) ?? row.description,
    admin_state_up: 'admin_state_up' in a ? int(a.admin_state_up) : row.admin_state_up,
    shared: 'shared' in a ? int(a.shared) : row.shared,
    router_external: 'router:external' in a ? int(a['router:external']) : row.router_external,
    port_security_enabled: 'port_security_enabled' in a ? int(a.port_security_enabled) : row.port_security_enabled,
    mtu: 'mtu' in a ? effectiveMtu(config, row, a.mtu) : row.mtu,
    revision_number: row.revision_number + 1,
    updated_at: timestamp(),
  };
}

/** Only ports the network itself owns (DHCP and the like) go with it; any other port blocks the delete. */
function rejectNetworkInUse(id: string, ports: Array<{ id: string; device_owner: string }>): void {
  const blocking = ports.filter((p) => !AUTO_DELETE_PORT_OWNERS.includes(p.device_owner));
  if (blocking.length) {
    throw conflict(
      'NetworkInUse',
      `Unable to complete operation on network ${id}. There are one or more ports still in use on the network, id for these ports is: ${blocking.map((p) => p.id).join(', ')}.`,
    );
  }
}

/** Deletes the network's own ports, its subnets and the network, each with its change-feed entry. */
async function deleteNetwork(tx: Tx, row: NetworkRow, ports: Array<{ id: string }>): Promise<void> {
  for (const p of ports) {
    await tx.deleteFrom('ports').where('id', '=', p.id).execute();
    await recordChange(tx, 'port', p.id, 'delete', row.project_id);
  }
  const subnets = await tx.selectFrom('subnets').select('id').where('network_id', '=', row.id).execute();
  for (const s of subnets) {
    await tx.deleteFrom('subnets').where('id', '=', s.id).execute();
    await recordChange(tx, 'subnet', s.id, 'delete', row.project_id);
  }
  await tx.deleteFrom('networks').where('id', '=', row.id).execute();
  await recordChange(tx, 'network', row.id, 'delete', row.project_id);
}

export function networkService(config: ServerConfig): ResourceService {
  return {
    spec: networkSpec,

    async list(tx, ctx, filters) {
      const { query } = pushFilters(tx, networkTable, visibleNetworks(tx, ctx), filters);
      return networksToApi(tx, await query.execute());
    },

    async listPage(tx, ctx, q) {
      const notFoundErr = (id: string) => notFound('NetworkNotFound', `Network ${id} could not be found.`);
      const page = await sqlPage(tx, networkTable, visibleNetworks(tx, ctx), q, notFoundErr);
      return page && { items: await networksToApi(tx, page.rows), hasMore: page.hasMore, hasBefore: page.hasBefore };
    },

    async show(tx, ctx, id) {
      return (await networksToApi(tx, [await getVisibleNetwork(tx, ctx, id)]))[0];
    },

    async create(tx, ctx, a) {
      rejectAvailabilityZoneHints(a);
      await enforceQuota(tx, a.project_id as string, 'network');
      const segment = await allocateSegment(tx, config, requestedSegment(config, a));
      const row = newNetworkRow(config, a, segment);
      // The writes: the row, its VLAN's allocation, the project's default security group, the change-feed entry.
      await tx.insertInto('networks').values(row).execute();
      await recordVlanAllocation(tx, row.id, segment);
      await ensureDefaultSecurityGroup(tx, row.project_id);
      await recordChange(tx, 'network', row.id, 'create', row.project_id);
      return networkToApi(row, []);
    },

    async update(tx, ctx, id, a) {
      const row = await getVisibleNetwork(tx, ctx, id);
      if (!ownerOrAdmin(ctx, row)) throw policyDenied('rule:update_network');
      rejectProviderChange(row, a);
      if (a.shared === false && row.shared) await rejectUnsharingWhileUsed(tx, row);
      if (a['router:external'] === false && row.router_external) await rejectUnexternalWhileGateways(tx, row);
      const next = networkChanges(config, row, a);
      // The writes: the row and its change-feed entry.
      await tx.updateTable('networks').set(next).where('id', '=', id).execute();
      await recordChange(tx, 'network', id, 'update', row.project_id);
      return this.show(tx, ctx, id);
    },

    async remove(tx, ctx, id) {
      const row = await getVisibleNetwork(tx, ctx, id);
      // Visible (shared or external) but not the caller's: 403, as for update (the caller may see it).
      if (!ownerOrAdmin(ctx, row)) throw policyDenied('rule:delete_network');
      const ports = await tx.selectFrom('ports').select(['id', 'device_owner']).where('network_id', '=', id).execute();
      rejectNetworkInUse(id, ports);
      // The writes: ports, subnets and the network, each with its change-feed entry.
      await deleteNetwork(tx, row, ports);
    },
  };
}
