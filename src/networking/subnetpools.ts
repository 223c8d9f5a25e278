// Subnet pools (neutron/db/db_base_plugin_v2.py, subnetpool parts): CRUD with Neutron's reading of
// prefixes and prefix-length bounds, one default pool per family, address-scope association, and
// the prefix operations (add_prefixes, remove_prefixes, onboard_network_subnets). Visible to their
// project, admins, and the projects RBAC shares them with (rbac-subnetpool); `shared` is the wildcard policy.
import { boolColumn, pushFilters, sqlPage, standardColumns, type ListTable } from './list-sql.ts';
import { type AttrSpec, type ResourceSpec, standardAttributes, textAttribute } from '../model/attributes.ts';
import type { AuthContext } from '../model/context.ts';
import { badRequest, conflict, forbidden, invalidInput, notFound, policyDenied } from '../model/errors.ts';
import { formatCidr, parsePrefix, type IpVersion } from '../model/ip.ts';
import { intersects, isSubset, rangesOf, subtract, toCidrs } from '../model/ipset.ts';
import { ownerOrAdmin } from '../model/policy.ts';
import { readPool, type PoolBounds } from '../model/subnetpool.ts';
import { isSubnetCidr, isUuidOrNull, show, toBoolean, toInt, type Validator } from '../model/validators.ts';
import type { SubnetPoolRow } from '../store/schema/index.ts';
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
import { getVisibleAddressScope } from './address-scopes.ts';
import { getVisibleNetwork } from './networks.ts';
import { enforceQuota } from './quotas.ts';
import { rbacPolicyInitError, type NewRbacPolicy } from './rbac-callbacks.ts';
import { attachWildcardPolicy, sharedObjectType } from './rbac-shared-object.ts';
import { canSeeShared, deletePoliciesOf, ownOrSharedInSql, sharedFilterInSql, sharedWith, WILDCARD } from './rbac-sql.ts';
import { tagAttributes, tagFiltersInSql } from './tags.ts';

/** validate_not_empty_string with a length cap (the pool's name is required and not blank). */
const isNotEmptyString: Validator = (v) => {
  if (typeof v !== 'string') return `'${show(v)}' is not a valid string`;
  if (v.length > 255) return `'${show(v)}' exceeds maximum length of 255`;
  return v.trim() ? undefined : `'${show(v)}' Blank strings are not permitted`;
};

/** validate_subnet_list */
export const isSubnetList: Validator = (v) => {
  if (!Array.isArray(v)) return `'${show(v)}' is not a list`;
  if (new Set(v).size !== v.length) return `Duplicate items in the list: '${v.map((x) => show(x)).join(', ')}'`;
  for (const item of v) {
    const why = isSubnetCidr(item);
    if (why) return why;
  }
  return undefined;
};

/** validate_non_negative (after convert_to_int). */
const isNonNegative: Validator = (v) => ((v as number) < 0 ? `'${show(v)}' should be non-negative` : undefined);

/** The prefix lengths (shown as text, _make_subnetpool_dict; lists filter and sort them as the integers stored). */
const prefixlenAttribute: AttrSpec = { post: true, put: true, convert: toInt, validate: isNonNegative, filter: true, sort: true };

export const subnetPoolSpec: ResourceSpec = {
  singular: 'subnetpool',
  plural: 'subnetpools',
  attributes: {
    id: { filter: true, sort: true },
    name: { post: true, put: true, required: true, validate: isNotEmptyString, filter: true, sort: true },
    description: { ...textAttribute, sort: false },
    prefixes: { post: true, put: true, required: true, validate: isSubnetList },
    default_quota: { post: true, put: true, convert: toInt, validate: isNonNegative, filter: true, sort: true },
    ip_version: { filter: true, sort: true, convert: toInt },
    default_prefixlen: prefixlenAttribute,
    min_prefixlen: prefixlenAttribute,
    max_prefixlen: prefixlenAttribute,
    is_default: { post: true, put: true, default: false, convert: toBoolean, adminSet: true, filter: true, sort: true },
    shared: { post: true, default: false, convert: toBoolean, adminSet: true, filter: true, sort: true },
    address_scope_id: { post: true, put: true, validate: isUuidOrNull, filter: true, sort: true },
    ...standardAttributes,
    ...tagAttributes(),
  },
};

/** `shared`: whether the pool is shared with the caller's project or everyone. */
export function subnetPoolToApi(row: SubnetPoolRow, shared: boolean): Item {
  return {
    id: row.id,
    name: row.name,
    default_prefixlen: String(row.default_prefixlen),
    min_prefixlen: String(row.min_prefixlen),
    max_prefixlen: String(row.max_prefixlen),
    is_default: bool(row.is_default),
    shared,
    prefixes: parseJson<string[]>(row.prefixes),
    ip_version: row.ip_version,
    default_quota: row.default_quota,
    address_scope_id: row.address_scope_id,
    ...standardFields(row),
  };
}

const OBJECT_TYPE = 'subnetpool';

/** The pools table as lists filter and sort it for the caller (`shared`: a policy for it). */
const subnetPoolTable = (ctx: AuthContext): ListTable => ({
  table: 'subnetpools',
  columns: {
    ...standardColumns,
    ip_version: { column: 'ip_version', kind: 'int' },
    default_prefixlen: { column: 'default_prefixlen', kind: 'int' },
    min_prefixlen: { column: 'min_prefixlen', kind: 'int' },
    max_prefixlen: { column: 'max_prefixlen', kind: 'int' },
    is_default: boolColumn('is_default'),
  },
  filters: { shared: sharedFilterInSql(OBJECT_TYPE, 'subnetpools.id', ctx.projectId), ...tagFiltersInSql('subnetpools') },
});

export const subnetPoolNotFound = (id: string) => notFound('SubnetPoolNotFound', `Subnet pool ${id} could not be found.`);

function visiblePools(tx: Tx, ctx: AuthContext) {
  const q = tx.selectFrom('subnetpools').selectAll();
  return ctx.isAdmin ? q : q.where(ownOrSharedInSql(OBJECT_TYPE, 'subnetpools', ctx.projectId));
}

/** A pool the caller may see (its own, shared with it or everyone, or any for admins), or SubnetPoolNotFound. */
export async function getVisibleSubnetPool(tx: Tx, ctx: AuthContext, id: string): Promise<SubnetPoolRow> {
  const row = await tx.selectFrom('subnetpools').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || !(await canSeeShared(tx, ctx, OBJECT_TYPE, row))) throw subnetPoolNotFound(id);
  return row;
}

async function poolsToApi(tx: Tx, ctx: AuthContext, rows: SubnetPoolRow[]): Promise<Item[]> {
  const shared = await sharedWith(
    tx,
    OBJECT_TYPE,
    rows.map((r) => r.id),
    ctx.projectId,
  );
  return rows.map((r) => subnetPoolToApi(r, shared.has(r.id)));
}

const poolToApi = async (tx: Tx, ctx: AuthContext, row: SubnetPoolRow) => (await poolsToApi(tx, ctx, [row]))[0];

/**
 * SubnetPool.validate_rbac_policy_create: a pool in an address scope is shared only with a project the
 * scope is shared with (or everyone) by a policy the caller sees (its project's; admins: any).
 */
async function checkScopeSharedWithTarget(tx: Tx, ctx: AuthContext, p: NewRbacPolicy): Promise<void> {
  const pool = await tx.selectFrom('subnetpools').select('address_scope_id').where('id', '=', p.object_id).executeTakeFirst();
  if (!pool?.address_scope_id) return;
  let policies = tx
    .selectFrom('rbac_policies')
    .select('id')
    .where('object_type', '=', 'address_scope')
    .where('object_id', '=', pool.address_scope_id)
    .where('target_project', 'in', [WILDCARD, p.target_project]);
  if (!ctx.isAdmin) policies = policies.where('project_id', '=', ctx.projectId);
  if (!(await policies.executeTakeFirst())) {
    throw rbacPolicyInitError(p.object_id, "target project doesn't have access to associated address scope.");
  }
}

/** RBAC on subnet pools: the projects with subnets from the pool depend on it. */
export const subnetPoolRbac = sharedObjectType({
  table: 'subnetpools',
  callback: 'neutron.objects.subnetpool.SubnetPool.validate_rbac_policy_change',
  notFound: subnetPoolNotFound,
  async boundProjects(tx, id) {
    const rows = await tx.selectFrom('subnets').select('project_id').where('subnetpool_id', '=', id).execute();
    return new Set(rows.map((r) => r.project_id));
  },
  validateCreate: checkScopeSharedWithTarget,
});

/** The default pool of a family the caller sees (get_default_subnetpool), if any. */
export async function defaultSubnetPool(tx: Tx, ctx: AuthContext, version: number): Promise<SubnetPoolRow | undefined> {
  return visiblePools(tx, ctx).where('is_default', '<>', 0).where('ip_version', '=', version).orderBy('id').executeTakeFirst();
}

/** _check_default_subnetpool_exists: one default pool per family. */
async function rejectSecondDefault(tx: Tx, ctx: AuthContext, version: number): Promise<void> {
  if (await defaultSubnetPool(tx, ctx, version)) {
    throw invalidInput('A default subnetpool for this IP family has already been set. Only one default may exist per IP family');
  }
}

/** The CIDRs of the subnets allocated from a pool. */
export async function poolSubnetCidrs(tx: Tx, poolId: string): Promise<string[]> {
  return (await tx.selectFrom('subnets').select('cidr').where('subnetpool_id', '=', poolId).execute()).map((r) => r.cidr);
}

const prefixRanges = (prefixes: readonly string[]) => rangesOf(prefixes.map((p) => parsePrefix(p)!));

/**
 * _check_subnetpool_address_scope_network_affinity: re-scoping a pool must not leave a network with
 * subnets of one family in different scopes.
 */
async function checkScopeNetworkAffinity(tx: Tx, poolId: string, version: number): Promise<void> {
  const own = await tx.selectFrom('subnets').select(['id', 'network_id']).where('subnetpool_id', '=', poolId).execute();
  if (!own.length) return;
  const others = await tx
    .selectFrom('subnets')
    .select('id')
    .where('network_id', 'in', [...new Set(own.map((s) => s.network_id))])
    .where('ip_version', '=', version)
    .where((eb) => eb.or([eb('subnetpool_id', 'is', null), eb('subnetpool_id', '!=', poolId)]))
    .executeTakeFirst();
  if (others) {
    throw badRequest(
      'Subnets of the same address family hosted on the same network must all participate in the same address scope.',
      'NetworkAddressScopeAffinityError',
    );
  }
}

/**
 * _validate_address_scope_id: the scope is one the caller may use, of the pool's family, its networks
 * stay in one scope, and no other pool of the scope holds any of the pool's addresses.
 */
async function validateAddressScope(tx: Tx, ctx: AuthContext, scopeId: unknown, poolId: string, pool: PoolBounds): Promise<void> {
  if (scopeId === undefined || scopeId === null) return;
  const scope = await getVisibleAddressScope(tx, ctx, scopeId as string);
  if (scope.ip_version !== pool.ip_version) {
    throw badRequest(
      `Illegal subnetpool association: subnetpool ${poolId} cannot associate with address scope ${scope.id} because subnetpool ip_version is not ${scope.ip_version}.`,
      'IllegalSubnetPoolIpVersionAssociationToAddressScope',
    );
  }
  await checkScopeNetworkAffinity(tx, poolId, pool.ip_version);
  const siblings = await tx.selectFrom('subnetpools').select(['id', 'prefixes']).where('address_scope_id', '=', scope.id).execute();
  const mine = prefixRanges(pool.prefixes);
  if (siblings.some((sp) => sp.id !== poolId && intersects(prefixRanges(parseJson<string[]>(sp.prefixes)), mine))) {
    throw conflict(
      'AddressScopePrefixConflict',
      'Failed to associate address scope: subnetpools within an address scope must have unique prefixes.',
    );
  }
}

/** _check_subnetpool_update_allowed: a pool in a shared scope of another project is not the caller's to change. */
async function checkUpdateAllowed(tx: Tx, ctx: AuthContext, row: SubnetPoolRow): Promise<void> {
  const scope = await getVisibleAddressScope(tx, ctx, row.address_scope_id!);
  if (!ctx.isAdmin && scope.project_id !== ctx.projectId) {
    throw badRequest(
      `Illegal subnetpool update : subnetpool ${row.id} cannot be updated when associated with shared address scope ${scope.id}.`,
      'IllegalSubnetPoolUpdate',
    );
  }
}

const illegalPrefixUpdate = (msg: string) => badRequest(`Illegal update to prefixes: ${msg}.`, 'IllegalSubnetPoolPrefixUpdate');

/** _update_subnetpool_dict's prefixes: the new list must hold every address of the old one. */
function updatedPrefixes(row: SubnetPoolRow, requested: string[] | undefined): string[] {
  const current = parseJson<string[]>(row.prefixes);
  if (requested === undefined) return current;
  if (!isSubset(prefixRanges(current), prefixRanges(requested.filter((p) => parsePrefix(p)!.version === row.ip_version)))) {
    throw illegalPrefixUpdate('Existing prefixes must be a subset of the new prefixes');
  }
  return requested;
}

/** update_subnetpool without the API's policy check (the prefix operations call it too). */
async function updatePool(tx: Tx, ctx: AuthContext, row: SubnetPoolRow, a: Item): Promise<SubnetPoolRow> {
  const pool = readPool({
    prefixes: updatedPrefixes(row, a.prefixes as string[] | undefined),
    min_prefixlen: (a.min_prefixlen as number | undefined) ?? row.min_prefixlen,
    max_prefixlen: (a.max_prefixlen as number | undefined) ?? row.max_prefixlen,
    default_prefixlen: (a.default_prefixlen as number | undefined) ?? row.default_prefixlen,
  });
  const isDefault = 'is_default' in a ? Boolean(a.is_default) : bool(row.is_default);
  if (isDefault && !row.is_default) await rejectSecondDefault(tx, ctx, pool.ip_version);
  if (row.address_scope_id) await checkUpdateAllowed(tx, ctx, row);
  const scopeId = 'address_scope_id' in a ? (a.address_scope_id as string | null) : row.address_scope_id;
  await validateAddressScope(tx, ctx, scopeId, row.id, pool);
  const next: SubnetPoolRow = {
    ...row,
    name: (a.name as string | undefined) ?? row.name,
    description: (a.description as string | undefined) ?? row.description,
    ip_version: pool.ip_version,
    prefixes: JSON.stringify(pool.prefixes),
    min_prefixlen: pool.min_prefixlen,
    max_prefixlen: pool.max_prefixlen,
    default_prefixlen: pool.default_prefixlen,
    default_quota: 'default_quota' in a ? (a.default_quota as number | null) : row.default_quota,
    is_default: int(isDefault),
    address_scope_id: scopeId ?? null,
    revision_number: row.revision_number + 1,
    updated_at: timestamp(),
  };
  const { id, ...columns } = next;
  await tx.updateTable('subnetpools').set(columns).where('id', '=', id).execute();
  await recordChange(tx, 'subnetpool', id, 'update', row.project_id);
  return next;
}

/** The caller may change the pool (rule:<action>: admin or owner); a pool it cannot see is NotFound. */
async function ownPool(tx: Tx, ctx: AuthContext, id: string, rule: string): Promise<SubnetPoolRow> {
  const row = await getVisibleSubnetPool(tx, ctx, id);
  if (!ownerOrAdmin(ctx, row)) throw policyDenied(`rule:${rule}`);
  return row;
}

/** get_operation_request_body: {"prefixes": [a non-empty list]}. */
function operationPrefixes(body: unknown): string[] {
  const prefixes = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Item).prefixes : undefined;
  if (!Array.isArray(prefixes) || !prefixes.length) throw badRequest('Request body contains invalid data');
  const why = isSubnetList(prefixes);
  if (why) throw badRequest(why);
  return prefixes as string[];
}

/** PUT /subnetpools/{id}/add_prefixes */
export async function addPrefixes(tx: Tx, ctx: AuthContext, id: string, body: unknown): Promise<{ prefixes: string[] }> {
  const row = await ownPool(tx, ctx, id, 'add_prefixes');
  const prefixes = operationPrefixes(body);
  const updated = await updatePool(tx, ctx, row, { prefixes: [...parseJson<string[]>(row.prefixes), ...prefixes] });
  return { prefixes: parseJson<string[]>(updated.prefixes) };
}

/** PUT /subnetpools/{id}/remove_prefixes: prefixes a subnet of the pool holds stay. */
export async function removePrefixes(tx: Tx, ctx: AuthContext, id: string, body: unknown): Promise<{ prefixes: string[] }> {
  const row = await ownPool(tx, ctx, id, 'remove_prefixes');
  const removal = prefixRanges(operationPrefixes(body).filter((p) => parsePrefix(p)!.version === row.ip_version));
  const current = parseJson<string[]>(row.prefixes);
  if (!intersects(prefixRanges(current), removal)) return { prefixes: current };
  if (intersects(prefixRanges(await poolSubnetCidrs(tx, id)), removal)) {
    throw illegalPrefixUpdate('One or more the prefixes to be removed is in use by a subnet');
  }
  const prefixes = toCidrs(row.ip_version as IpVersion, subtract(prefixRanges(current), removal)).map(formatCidr);
  await tx
    .updateTable('subnetpools')
    .set({ prefixes: JSON.stringify(prefixes), revision_number: row.revision_number + 1, updated_at: timestamp() })
    .where('id', '=', id)
    .execute();
  await recordChange(tx, 'subnetpool', id, 'update', row.project_id);
  return { prefixes };
}

/**
 * PUT /subnetpools/{id}/onboard_network_subnets: the network's subnets of the pool's family join the
 * pool, their CIDRs added to its prefixes. Only the network's owner (or an admin) may move its subnets.
 */
export async function onboardNetworkSubnets(
  tx: Tx,
  ctx: AuthContext,
  id: string,
  body: unknown,
): Promise<Array<{ id: string; cidr: string }>> {
  const row = await ownPool(tx, ctx, id, 'onboard_network_subnets');
  const networkId = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Item).network_id : undefined;
  if (networkId === undefined || networkId === null) throw invalidInput('network_id must be specified');
  const network = await getVisibleNetwork(tx, ctx, String(networkId));
  if (!ctx.isAdmin && network.project_id !== ctx.projectId) throw forbidden('Not authorized.', 'NotAuthorized');
  const subnets = await tx
    .selectFrom('subnets')
    .select(['id', 'cidr', 'project_id'])
    .where('network_id', '=', network.id)
    .where('ip_version', '=', row.ip_version)
    .orderBy('id')
    .execute();
  const allocated = prefixRanges(await poolSubnetCidrs(tx, id));
  for (const s of subnets) {
    if (intersects(prefixRanges([s.cidr]), allocated)) {
      throw badRequest(
        `Illegal subnetpool update : Onboarding subnet ${s.id}: ${s.cidr} conflicts with allocated prefixes in subnet pool ${id}.`,
        'IllegalSubnetPoolUpdate',
      );
    }
  }
  await updatePool(tx, ctx, row, { prefixes: [...parseJson<string[]>(row.prefixes), ...subnets.map((s) => s.cidr)] });
  for (const s of subnets) {
    await tx
      .updateTable('subnets')
      .set((eb) => ({ subnetpool_id: id, revision_number: eb('revision_number', '+', 1), updated_at: timestamp() }))
      .where('id', '=', s.id)
      .execute();
    await recordChange(tx, 'subnet', s.id, 'update', s.project_id);
  }
  return subnets.map((s) => ({ id: s.id, cidr: s.cidr }));
}

export function subnetPoolService(): ResourceService {
  return {
    spec: subnetPoolSpec,

    async list(tx, ctx, filters) {
      const { query } = pushFilters(tx, subnetPoolTable(ctx), visiblePools(tx, ctx), filters);
      return poolsToApi(tx, ctx, await query.execute());
    },

    async listPage(tx, ctx, q) {
      const page = await sqlPage(tx, subnetPoolTable(ctx), visiblePools(tx, ctx), q, subnetPoolNotFound);
      return page && { items: await poolsToApi(tx, ctx, page.rows), hasMore: page.hasMore, hasBefore: page.hasBefore };
    },

    async show(tx, ctx, id) {
      return poolToApi(tx, ctx, await getVisibleSubnetPool(tx, ctx, id));
    },

    async create(tx, ctx, a) {
      await enforceQuota(tx, a.project_id as string, 'subnetpool');
      const pool = readPool({
        prefixes: a.prefixes as string[],
        min_prefixlen: a.min_prefixlen as number | undefined,
        max_prefixlen: a.max_prefixlen as number | undefined,
        default_prefixlen: a.default_prefixlen as number | undefined,
      });
      if (a.is_default) await rejectSecondDefault(tx, ctx, pool.ip_version);
      const id = newId();
      await validateAddressScope(tx, ctx, a.address_scope_id, id, pool);
      const now = timestamp();
      const row: SubnetPoolRow = {
        id,
        project_id: a.project_id as string,
        name: a.name as string,
        description: a.description as string,
        revision_number: 0,
        created_at: now,
        updated_at: now,
        ip_version: pool.ip_version,
        default_prefixlen: pool.default_prefixlen,
        min_prefixlen: pool.min_prefixlen,
        max_prefixlen: pool.max_prefixlen,
        is_default: int(a.is_default),
        default_quota: (a.default_quota as number | undefined) ?? null,
        hash: newId(),
        address_scope_id: (a.address_scope_id as string | null | undefined) ?? null,
        prefixes: JSON.stringify(pool.prefixes),
      };
      await tx.insertInto('subnetpools').values(row).execute();
      if (a.shared) await attachWildcardPolicy(tx, ctx, subnetPoolRbac, OBJECT_TYPE, id, row.project_id);
      await recordChange(tx, 'subnetpool', id, 'create', row.project_id);
      return poolToApi(tx, ctx, row);
    },

    async update(tx, ctx, id, a) {
      const row = await ownPool(tx, ctx, id, 'update_subnetpool');
      const next = await updatePool(tx, ctx, row, a);
      // As Neutron's update answer, built from the pool object: the prefix lengths as numbers.
      return {
        ...(await poolToApi(tx, ctx, next)),
        default_prefixlen: next.default_prefixlen,
        min_prefixlen: next.min_prefixlen,
        max_prefixlen: next.max_prefixlen,
      };
    },

    async remove(tx, ctx, id) {
      const row = await ownPool(tx, ctx, id, 'delete_subnetpool');
      const used = await tx.selectFrom('subnets').select('id').where('subnetpool_id', '=', id).executeTakeFirst();
      if (used) throw badRequest('Unable to delete subnet pool: Subnet pool has existing allocations.', 'SubnetPoolDeleteError');
      await deletePoliciesOf(tx, OBJECT_TYPE, id);
      await tx.deleteFrom('subnetpools').where('id', '=', id).execute();
      await recordChange(tx, 'subnetpool', id, 'delete', row.project_id);
    },
  };
}
