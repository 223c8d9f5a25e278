// Networks: ML2 segments (flat, vlan, vxlan; one or several: multi-provider), MTU, sharing and
// external flags, deletion rules.
import { sql, type Expression, type SqlBool } from 'kysely';
import { boolColumn, pushFilters, sqlPage, standardColumns, textColumn, type ListTable } from './list-sql.ts';
import type { ServerConfig } from '../server-config.ts';
import { type ResourceSpec, standardAttributes, textAttribute } from '../model/attributes.ts';
import type { AuthContext } from '../model/context.ts';
import { conflict, invalidInput, notFound, policyDenied } from '../model/errors.ts';
import { AUTO_DELETE_PORT_OWNERS, FLOATINGIP_OWNER, NETWORK_OWNER_PREFIX, ROUTER_GW_OWNER } from '../model/neutron.ts';
import { ownerOrAdmin } from '../model/policy.ts';
import { inRange, isAvailabilityZoneHints, isString, isStringOrNull, toBoolean, toInt, toIntOrNull } from '../model/validators.ts';
import type { NetworkRow } from '../store/schema/index.ts';
import { bool, int, newId, recordChange, standardFields, timestamp, type Item, type ResourceService, type Tx } from './common.ts';
import { enforceQuota } from './quotas.ts';
import { allocateSegments, insertSegments, networkMaxMtu, segmentsByNetwork, type Segment } from './segments.ts';
import { convertSegments, PROVIDER_ATTRIBUTES, providerFields, requestedSegments } from './multi-provider.ts';
import { ensureDefaultSecurityGroup } from './securitygroups.ts';
import { tagAttributes, tagFiltersInSql } from './tags.ts';
import {
  ACCESS_EXTERNAL,
  ACCESS_SHARED,
  deletePoliciesOf,
  insertPolicy,
  isSharedWith,
  policiesOf,
  sharedFilterInSql,
  sharedInSql,
  sharedWith,
  WILDCARD,
} from './rbac-sql.ts';
import { hintsOf, hostingZones, validateAvailabilityZones } from './availability-zones.ts';
import { prepared } from '../store/prepared.ts';

/** A provider filter matches a network with any segment of a wanted value (network_matches_filters). */
function anySegmentMatches(attr: string) {
  return (item: Item, wanted: unknown[]): boolean => {
    const segments = (item.segments as Item[] | undefined) ?? [item];
    return segments.some((s) => wanted.some((w) => s[attr] !== null && String(s[attr]) === String(w)));
  };
}

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
    'provider:network_type': {
      post: true,
      put: true,
      validate: isString(255),
      adminSet: true,
      adminRead: true,
      filter: true,
      filterItem: anySegmentMatches('provider:network_type'),
    },
    'provider:physical_network': {
      post: true,
      put: true,
      validate: isStringOrNull(64),
      adminSet: true,
      adminRead: true,
      filter: true,
      filterItem: anySegmentMatches('provider:physical_network'),
    },
    'provider:segmentation_id': {
      post: true,
      put: true,
      convert: toIntOrNull,
      adminSet: true,
      adminRead: true,
      filter: true,
      filterConvert: toInt,
      filterItem: anySegmentMatches('provider:segmentation_id'),
    },
    segments: { post: true, put: true, convert: convertSegments, adminSet: true, adminRead: true, filter: false },
    subnets: { filter: true },
    availability_zone_hints: { post: true, default: () => [], validate: isAvailabilityZoneHints, filter: false },
    availability_zones: { filter: false },
    is_default: { post: true, put: true, default: false, convert: toBoolean, adminSet: true, filter: true },
    ipv4_address_scope: { filter: false },
    ipv6_address_scope: { filter: false },
    ...standardAttributes,
    ...tagAttributes(),
  },
};

/** A network's address scope per family (_extend_network_dict_address_scope): its subnets' pools' scopes. */
export interface NetworkScopes {
  ipv4: string | null;
  ipv6: string | null;
}

const NO_SCOPES: NetworkScopes = { ipv4: null, ipv6: null };

/** `shared`: whether the network is shared with the caller's project or everyone (is_network_shared). */
export function networkToApi(
  row: NetworkRow,
  segments: readonly Segment[],
  subnets: string[],
  shared: boolean,
  scopes: NetworkScopes = NO_SCOPES,
  zones: string[] = [],
): Item {
  return {
    id: row.id,
    name: row.name,
    admin_state_up: bool(row.admin_state_up),
    status: row.status,
    subnets,
    shared,
    'router:external': bool(row.router_external),
    mtu: row.mtu,
    port_security_enabled: bool(row.port_security_enabled),
    ...providerFields(segments),
    availability_zone_hints: hintsOf(row),
    availability_zones: zones,
    ipv4_address_scope: scopes.ipv4,
    ipv6_address_scope: scopes.ipv6,
    // Only an external network has the flag (_extend_external_network_default).
    ...(row.router_external ? { is_default: bool(row.is_default) } : {}),
    ...standardFields(row),
  };
}

/** A network with any of the subnets. */
function subnetsInSql(values: unknown[]): Expression<SqlBool> | null {
  if (!values.every((v) => typeof v === 'string')) return null;
  if (!values.length) return sql<SqlBool>`1 = 0`;
  return sql<SqlBool>`exists (select 1 from subnets s where s.network_id = networks.id and s.id in (${sql.join(values)}))`;
}

/** A network with a segment of any of the values in the column. */
function segmentInSql(column: 'network_type' | 'physical_network' | 'segmentation_id') {
  return (values: unknown[]): Expression<SqlBool> | null => {
    if (!values.every((v) => typeof v === (column === 'segmentation_id' ? 'number' : 'string'))) return null;
    if (!values.length) return sql<SqlBool>`1 = 0`;
    return sql<SqlBool>`exists (select 1 from network_segments g where g.network_id = networks.id and g.${sql.ref(column)} in (${sql.join(values)}))`;
  };
}

/** The networks table as lists filter and sort it for the caller; a provider filter matches any of a network's segments. */
const networkTable = (ctx: AuthContext): ListTable => ({
  table: 'networks',
  columns: {
    ...standardColumns,
    admin_state_up: boolColumn('admin_state_up'),
    status: textColumn('status'),
    'router:external': boolColumn('router_external'),
    mtu: { column: 'mtu', kind: 'int' },
    port_security_enabled: boolColumn('port_security_enabled'),
  },
  filters: {
    'provider:network_type': segmentInSql('network_type'),
    'provider:physical_network': segmentInSql('physical_network'),
    'provider:segmentation_id': segmentInSql('segmentation_id'),
    subnets: subnetsInSql,
    shared: sharedFilterInSql('network', 'networks.id', ctx.projectId),
    ...tagFiltersInSql('networks'),
  },
});

/** The RBAC actions that make a network visible to their target (the shared and external_net query hooks). */
export const NETWORK_ACCESS = [ACCESS_SHARED, ACCESS_EXTERNAL] as const;

/** Whether the network in `idColumn` is visible to the caller through a policy: SQL for the lists. */
export const networkSharedInSql = (ctx: AuthContext, idColumn: string) => sharedInSql('network', idColumn, ctx.projectId, NETWORK_ACCESS);

/** The networks the caller sees: its own and those shared with it or made external for it (RBAC). */
function visibleNetworks(tx: Tx, ctx: AuthContext) {
  const q = tx.selectFrom('networks').selectAll();
  if (ctx.isAdmin) return q;
  return q.where((eb) => eb.or([eb('project_id', '=', ctx.projectId), networkSharedInSql(ctx, 'networks.id')]));
}

/** Whether the caller sees the network: owner, admin, or an RBAC policy for its project or everyone. */
export async function canSeeNetwork(tx: Tx, ctx: AuthContext, row: NetworkRow): Promise<boolean> {
  return ownerOrAdmin(ctx, row) || isSharedWith(tx, 'network', row.id, ctx.projectId, NETWORK_ACCESS);
}

/** Whether the network is shared (access_as_shared) with the caller's project or everyone: its `shared` as the caller sees it. */
export const isNetworkSharedWith = (tx: Tx, ctx: AuthContext, id: string) =>
  isSharedWith(tx, 'network', id, ctx.projectId, [ACCESS_SHARED]);

export const networkNotFound = (id: string) => notFound('NetworkNotFound', `Network ${id} could not be found.`);

/** Loads a network the caller may see, or NetworkNotFound. */
const networkById = prepared((db, v: { id: string }) => db.selectFrom('networks').selectAll().where('id', '=', v.id));

export async function getVisibleNetwork(tx: Tx, ctx: AuthContext, id: string): Promise<NetworkRow> {
  const [row] = (await networkById(tx, { id })).rows;
  if (!row || !(await canSeeNetwork(tx, ctx, row))) throw networkNotFound(id);
  return row;
}

interface NetworkSubnets {
  ids: string[];
  scopes: NetworkScopes;
}

/** Each network's subnet ids and, from the subnets' pools, its address scope per family. */
async function subnetsByNetwork(tx: Tx, networkIds: string[]): Promise<Map<string, NetworkSubnets>> {
  const out = new Map<string, NetworkSubnets>();
  if (!networkIds.length) return out;
  const rows = await tx
    .selectFrom('subnets')
    .leftJoin('subnetpools', 'subnetpools.id', 'subnets.subnetpool_id')
    .select(['subnets.id', 'subnets.network_id', 'subnetpools.ip_version', 'subnetpools.address_scope_id'])
    .where('subnets.network_id', 'in', networkIds)
    .execute();
  for (const r of rows) {
    let entry = out.get(r.network_id);
    if (!entry) out.set(r.network_id, (entry = { ids: [], scopes: { ...NO_SCOPES } }));
    entry.ids.push(r.id);
    // One pool per family on a network (or pools of one scope): any of its subnets tells the scope.
    if (r.ip_version === 4) entry.scopes.ipv4 = r.address_scope_id;
    if (r.ip_version === 6) entry.scopes.ipv6 = r.address_scope_id;
  }
  return out;
}

/** Networks as API dicts for the caller, with their subnet ids, address scopes and zones. */
async function networksToApi(tx: Tx, ctx: AuthContext, rows: NetworkRow[]): Promise<Item[]> {
  const ids = rows.map((r) => r.id);
  const subnets = await subnetsByNetwork(tx, ids);
  const shared = await sharedWith(tx, 'network', ids, ctx.projectId);
  const zones = await hostingZones(tx, 'network', ids);
  const segments = await segmentsByNetwork(tx, ids);
  return rows.map((r) =>
    networkToApi(
      r,
      segments.get(r.id) ?? [],
      subnets.get(r.id)?.ids ?? [],
      shared.has(r.id),
      subnets.get(r.id)?.scopes,
      zones.get(r.id) ?? [],
    ),
  );
}

/** The MTU a request asks for (0 or none: the largest the segments allow), within bounds. */
function effectiveMtu(config: ServerConfig, segments: readonly Segment[], requested: unknown): number {
  const max = networkMaxMtu(config, segments);
  if (requested === undefined || requested === 0) return max;
  if ((requested as number) > max) throw invalidInput(`Requested MTU is too big, maximum is ${max}`);
  if ((requested as number) < 68) throw invalidInput(`Requested MTU is too small, minimum is 68`);
  return requested as number;
}

function newNetworkRow(config: ServerConfig, a: Item, segments: readonly Segment[]): NetworkRow {
  const now = timestamp();
  return {
    id: newId(),
    project_id: a.project_id as string,
    name: a.name as string,
    description: a.description as string,
    admin_state_up: int(a.admin_state_up),
    status: 'ACTIVE',
    // applyExternalFlag sets it, with its policy.
    router_external: 0,
    mtu: effectiveMtu(config, segments, a.mtu),
    port_security_enabled: int(a.port_security_enabled),
    availability_zone_hints: JSON.stringify(a.availability_zone_hints ?? []),
    // applyDefaultFlag sets it, once the network is external.
    is_default: 0,
    revision_number: 0,
    created_at: now,
    updated_at: now,
  };
}

const providerUpdateRefused = (attr: string) =>
  invalidInput(`Plugin does not support updating the following provider network attributes: ${attr}`);

/** The segments are fixed once allocated: an update may repeat them, not change them. */
function rejectProviderChange(segments: readonly Segment[], a: Item): void {
  const current = providerFields(segments);
  for (const attr of PROVIDER_ATTRIBUTES) {
    if (!(attr in a)) continue;
    if (segments.length > 1) {
      throw invalidInput('Provider network attributes can be updated only in provider networks with a single segment');
    }
    if (a[attr] !== current[attr]) throw providerUpdateRefused(attr);
  }
  if ('segments' in a && JSON.stringify(a.segments) !== JSON.stringify(segments.length > 1 ? current.segments : [current])) {
    throw providerUpdateRefused('segments');
  }
}

export const invalidSharedSetting = (network: string) =>
  conflict('InvalidSharedSetting', `Unable to reconfigure sharing settings for network ${network}. Multiple tenants are using it.`);

/**
 * _validate_shared_update: a network stops being shared with everyone only while every other project
 * with a port (not the network's own) or a subnet on it keeps a policy of its own.
 */
async function rejectUnsharingWhileUsed(tx: Tx, row: NetworkRow): Promise<void> {
  const ports = await tx
    .selectFrom('ports')
    .select('project_id')
    .where('network_id', '=', row.id)
    .where('device_owner', 'not like', `${NETWORK_OWNER_PREFIX}%`)
    .execute();
  const subnets = await tx.selectFrom('subnets').select('project_id').where('network_id', '=', row.id).execute();
  const users = new Set([...ports, ...subnets].map((r) => r.project_id));
  const allowed = new Set((await policiesOf(tx, 'network', row.id, ACCESS_SHARED)).map((p) => p.target_project));
  allowed.delete(WILDCARD);
  allowed.add(row.project_id);
  if ([...users].some((p) => !allowed.has(p))) throw invalidSharedSetting(row.name);
}

/** The wildcard access_as_shared policy follows the `shared` flag (create_network, update_network). */
async function applySharedFlag(tx: Tx, row: NetworkRow, shared: boolean): Promise<void> {
  const wildcard = (await policiesOf(tx, 'network', row.id, ACCESS_SHARED)).find((p) => p.target_project === WILDCARD);
  if (shared && !wildcard) {
    await insertPolicy(tx, {
      project_id: row.project_id,
      object_type: 'network',
      object_id: row.id,
      target_project: WILDCARD,
      action: ACCESS_SHARED,
    });
  } else if (!shared && wildcard) {
    await rejectUnsharingWhileUsed(tx, row);
    await deletePoliciesOf(tx, 'network', row.id, ACCESS_SHARED, WILDCARD);
  }
}

/**
 * _process_l3_update: making a network external adds the wildcard access_as_external policy (unless a
 * policy for one project does it); making it internal needs no gateway and drops every such policy.
 */
export async function applyExternalFlag(tx: Tx, row: NetworkRow, external: boolean, allowAll = true): Promise<void> {
  if (external === bool(row.router_external)) return;
  if (external) {
    await tx.updateTable('networks').set({ router_external: 1 }).where('id', '=', row.id).execute();
    if (allowAll) {
      await insertPolicy(tx, {
        project_id: row.project_id,
        object_type: 'network',
        object_id: row.id,
        target_project: WILDCARD,
        action: ACCESS_EXTERNAL,
      });
    }
    return;
  }
  await rejectUnexternalWhileGateways(tx, row);
  // The flag is the external network's: an internal network is no default, and is none when external again.
  await tx.updateTable('networks').set({ router_external: 0, is_default: 0 }).where('id', '=', row.id).execute();
  await deletePoliciesOf(tx, 'network', row.id, ACCESS_EXTERNAL);
}

/**
 * _ensure_external_network_default_value_callback: `is_default` on a network that is (or is being
 * made) external marks it as the deployment's default external network; there is at most one.
 */
async function applyDefaultFlag(tx: Tx, id: string, a: Item): Promise<void> {
  if (!('is_default' in a)) return;
  const external = (await tx.selectFrom('networks').select('router_external').where('id', '=', id).executeTakeFirstOrThrow())
    .router_external;
  if (!('router:external' in a) && !external) return;
  if (a.is_default) {
    const other = await tx.selectFrom('networks').select('id').where('is_default', '<>', 0).where('id', '<>', id).executeTakeFirst();
    if (other) throw conflict('DefaultExternalNetworkExists', `A default external network already exists: ${other.id}.`);
  }
  if (external)
    await tx
      .updateTable('networks')
      .set({ is_default: int(a.is_default) })
      .where('id', '=', id)
      .execute();
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
function networkChanges(config: ServerConfig, row: NetworkRow, segments: readonly Segment[], a: Item): Partial<NetworkRow> {
  return {
    name: (a.name as string) ?? row.name,
    description: (a.description as string) ?? row.description,
    admin_state_up: 'admin_state_up' in a ? int(a.admin_state_up) : row.admin_state_up,
    port_security_enabled: 'port_security_enabled' in a ? int(a.port_security_enabled) : row.port_security_enabled,
    mtu: 'mtu' in a ? effectiveMtu(config, segments, a.mtu) : row.mtu,
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

/**
 * Floating IPs on the network that no port uses go with it (l3_db's delete_disassociated_floatingips,
 * run before the in-use check); their ports then go as the network's own. Returns those ports' ids.
 */
async function deleteDisassociatedFloatingIps(tx: Tx, networkId: string): Promise<Set<string>> {
  const fips = await tx
    .selectFrom('floatingips')
    .select(['id', 'project_id', 'floating_port_id'])
    .where('floating_network_id', '=', networkId)
    .where('fixed_port_id', 'is', null)
    .execute();
  for (const f of fips) {
    await tx.deleteFrom('floatingips').where('id', '=', f.id).execute();
    await recordChange(tx, 'floatingip', f.id, 'delete', f.project_id);
  }
  return new Set(fips.map((f) => f.floating_port_id));
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
  await deletePoliciesOf(tx, 'network', row.id);
  await tx.deleteFrom('networks').where('id', '=', row.id).execute();
  await recordChange(tx, 'network', row.id, 'delete', row.project_id);
}

export function networkService(config: ServerConfig): ResourceService {
  return {
    spec: networkSpec,
    readOnlyGets: true,

    async list(tx, ctx, filters) {
      const { query } = pushFilters(tx, networkTable(ctx), visibleNetworks(tx, ctx), filters);
      return networksToApi(tx, ctx, await query.execute());
    },

    async listPage(tx, ctx, q) {
      const notFoundErr = (id: string) => notFound('NetworkNotFound', `Network ${id} could not be found.`);
      const page = await sqlPage(tx, networkTable(ctx), visibleNetworks(tx, ctx), q, notFoundErr);
      return page && { items: await networksToApi(tx, ctx, page.rows), hasMore: page.hasMore, hasBefore: page.hasBefore };
    },

    async show(tx, ctx, id) {
      return (await networksToApi(tx, ctx, [await getVisibleNetwork(tx, ctx, id)]))[0];
    },

    async create(tx, ctx, a) {
      await enforceQuota(tx, a.project_id as string, 'network');
      await validateAvailabilityZones(tx, 'network', a.availability_zone_hints as string[]);
      const segments = await allocateSegments(tx, config, requestedSegments(config, a) ?? [null]);
      const row = newNetworkRow(config, a, segments);
      // The writes: the row, its wildcard policies, its segments with their VLANs' allocations, the project's default security group, the change-feed entry.
      await tx.insertInto('networks').values(row).execute();
      await applySharedFlag(tx, row, a.shared as boolean);
      await applyExternalFlag(tx, row, a['router:external'] as boolean);
      await insertSegments(tx, row.id, segments);
      await applyDefaultFlag(tx, row.id, a);
      await ensureDefaultSecurityGroup(tx, row.project_id);
      await recordChange(tx, 'network', row.id, 'create', row.project_id);
      return this.show(tx, ctx, row.id);
    },

    async update(tx, ctx, id, a) {
      const row = await getVisibleNetwork(tx, ctx, id);
      if (!ownerOrAdmin(ctx, row)) throw policyDenied('rule:update_network');
      const segments = (await segmentsByNetwork(tx, [id])).get(id)!;
      rejectProviderChange(segments, a);
      const next = networkChanges(config, row, segments, a);
      // The writes: the wildcard policies, the row and its change-feed entry.
      if ('shared' in a) await applySharedFlag(tx, row, a.shared as boolean);
      if ('router:external' in a) await applyExternalFlag(tx, row, a['router:external'] as boolean);
      await applyDefaultFlag(tx, id, a);
      await tx.updateTable('networks').set(next).where('id', '=', id).execute();
      await recordChange(tx, 'network', id, 'update', row.project_id);
      return this.show(tx, ctx, id);
    },

    async remove(tx, ctx, id) {
      const row = await getVisibleNetwork(tx, ctx, id);
      // Visible (shared or external) but not the caller's: 403, as for update (the caller may see it).
      if (!ownerOrAdmin(ctx, row)) throw policyDenied('rule:delete_network');
      const fipPorts = row.router_external ? await deleteDisassociatedFloatingIps(tx, id) : new Set<string>();
      const ports = await tx.selectFrom('ports').select(['id', 'device_owner']).where('network_id', '=', id).execute();
      rejectNetworkInUse(
        id,
        ports.filter((p) => !fipPorts.has(p.id)),
      );
      // The writes: floating IPs (above), ports, subnets and the network, each with its change-feed entry.
      await deleteNetwork(tx, row, ports);
    },
  };
}
