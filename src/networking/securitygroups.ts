// Security groups: the lazily created per-project `default` group, its template rules, and the
// /v2.0/security-groups resource (neutron/db/securitygroups_db.py, Zed behaviour).
import { type ResourceSpec, standardAttributes } from '../model/attributes.ts';
import type { AuthContext } from '../model/context.ts';
import { conflict, notFound, policyDenied } from '../model/errors.ts';
import { ownerOrAdmin } from '../model/policy.ts';
import { normalizedCidr } from '../model/sgrules.ts';
import { isString, toBoolean } from '../model/validators.ts';
import type { SecurityGroupRow, SecurityGroupRuleRow } from '../store/schema/index.ts';
import { bool, newId, recordChange, standardFields, timestamp, type Item, type ResourceService, type Tx } from './common.ts';
import { enforceQuota } from './quotas.ts';
import { boolColumn, pushFilters, sqlPage, standardColumns, type ListTable } from './list-sql.ts';
import { tagAttributes, tagFiltersInSql } from './tags.ts';
import { ACCESS_SHARED, deletePoliciesOf, isSharedWith, sharedFilterInSql, sharedInSql, sharedWith } from './rbac-sql.ts';
import { prepared } from '../store/prepared.ts';

/** Rules every new group gets: egress to anywhere, IPv4 and IPv6. */
function egressRules(groupId: string, projectId: string, now: string): SecurityGroupRuleRow[] {
  return ['IPv4', 'IPv6'].map((ethertype) => ({
    id: newId(),
    project_id: projectId,
    security_group_id: groupId,
    direction: 'egress',
    ethertype,
    protocol: null,
    port_range_min: null,
    port_range_max: null,
    remote_ip_prefix: null,
    remote_group_id: null,
    remote_address_group_id: null,
    description: '',
    revision_number: 0,
    created_at: now,
    updated_at: now,
  }));
}

/** Inserts a group with Neutron's template rules (default group: also ingress from its own members). */
export async function insertGroup(
  tx: Tx,
  fields: { projectId: string; name: string; description: string; stateful: boolean; isDefault: boolean },
): Promise<string> {
  const id = newId();
  const now = timestamp();
  await tx
    .insertInto('security_groups')
    .values({
      id,
      project_id: fields.projectId,
      name: fields.name,
      description: fields.description,
      stateful: fields.stateful ? 1 : 0,
      // Adding the template rules bumps the new group once, as Neutron's revision plugin does.
      revision_number: 1,
      created_at: now,
      updated_at: now,
    })
    .execute();
  const rules = egressRules(id, fields.projectId, now);
  if (fields.isDefault) {
    // Neutron creates ingress-then-egress per ethertype; keep that order.
    const ingress = ['IPv4', 'IPv6'].map((ethertype) => ({
      ...rules[0],
      id: newId(),
      direction: 'ingress',
      ethertype,
      remote_group_id: id,
    }));
    rules.splice(0, rules.length, ingress[0], rules[0], ingress[1], rules[1]);
  }
  await tx.insertInto('security_group_rules').values(rules).execute();
  await recordChange(tx, 'security_group', id, 'create', fields.projectId);
  return id;
}

/** The project's `default` group, created on first need (securitygroups_db._ensure_default_security_group). */
const defaultGroupOf = prepared((db, v: { project: string }) =>
  db.selectFrom('default_security_groups').select('security_group_id').where('project_id', '=', v.project),
);

export async function ensureDefaultSecurityGroup(tx: Tx, projectId: string): Promise<string> {
  const [existing] = (await defaultGroupOf(tx, { project: projectId })).rows;
  if (existing) return existing.security_group_id;
  const id = await insertGroup(tx, {
    projectId,
    name: 'default',
    description: 'Default security group',
    stateful: true,
    isDefault: true,
  });
  await tx.insertInto('default_security_groups').values({ project_id: projectId, security_group_id: id }).execute();
  return id;
}

/**
 * Lazy creation on list (get_security_groups / get_security_group_rules): the default group of the
 * project named by a project_id/tenant_id filter, else of the caller's project. Only admins trigger it
 * for another project.
 */
export async function ensureDefaultOnList(tx: Tx, ctx: AuthContext, filters: Map<string, unknown[]>): Promise<void> {
  const wanted = filters.get('project_id')?.[0];
  const projectId = typeof wanted === 'string' && wanted ? wanted : ctx.projectId;
  if (!projectId || (projectId !== ctx.projectId && !ctx.isAdmin)) return;
  const known = await tx.selectFrom('default_security_groups').select('project_id').where('project_id', '=', projectId).executeTakeFirst();
  if (known) return;
  // Two first lists at once both try: the loser's unit of work meets the key and runs again.
  await ensureDefaultSecurityGroup(tx, projectId);
}

export const groupNotFound = (id: string) => notFound('SecurityGroupNotFound', `Security group ${id} does not exist`);

/** Whether a project may use the group: its own, or shared with it or everyone (rbac-security-groups). */
export const isGroupSharedWith = (tx: Tx, id: string, projectId: string) =>
  isSharedWith(tx, 'security_group', id, projectId, [ACCESS_SHARED]);

/** A group the caller may see (its project's, one shared with it, or any for admins), or 404 SecurityGroupNotFound. */
export async function getVisibleGroup(tx: Tx, ctx: AuthContext, id: string): Promise<SecurityGroupRow> {
  const row = await tx.selectFrom('security_groups').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || !(ownerOrAdmin(ctx, row) || (await isGroupSharedWith(tx, id, ctx.projectId)))) throw groupNotFound(id);
  return row;
}

/** A group the caller may change: visible, and its own (or admin) — else 403, as it may see it. */
async function getOwnGroup(tx: Tx, ctx: AuthContext, id: string, action: 'update' | 'delete'): Promise<SecurityGroupRow> {
  const row = await getVisibleGroup(tx, ctx, id);
  if (!ownerOrAdmin(ctx, row)) throw policyDenied(`rule:${action}_security_group`);
  return row;
}

/** A rule row as the API shows it (with security-groups-normalized-cidr and remote-address-group fields). */
export function ruleToApi(r: SecurityGroupRuleRow): Item {
  return {
    id: r.id,
    project_id: r.project_id,
    tenant_id: r.project_id,
    security_group_id: r.security_group_id,
    direction: r.direction,
    ethertype: r.ethertype,
    protocol: r.protocol,
    port_range_min: r.port_range_min,
    port_range_max: r.port_range_max,
    remote_ip_prefix: r.remote_ip_prefix,
    remote_group_id: r.remote_group_id,
    remote_address_group_id: r.remote_address_group_id,
    normalized_cidr: normalizedCidr(r.remote_ip_prefix),
    description: r.description,
    created_at: r.created_at,
    updated_at: r.updated_at,
    revision_number: r.revision_number,
  };
}

/** Bumps a group's revision: its rules changed (rules revise their group). */
export async function touchGroup(tx: Tx, groupId: string): Promise<void> {
  const row = await tx.selectFrom('security_groups').select(['project_id']).where('id', '=', groupId).executeTakeFirst();
  if (!row) return;
  await tx
    .updateTable('security_groups')
    .set((eb) => ({ revision_number: eb('revision_number', '+', 1), updated_at: timestamp() }))
    .where('id', '=', groupId)
    .execute();
  await recordChange(tx, 'security_group', groupId, 'update', row.project_id);
}

/** type:name_not_default — a string of at most 255 characters that is not `default` in any case. */
function nameNotDefault(v: unknown): string | undefined {
  const reason = isString(255)(v);
  if (reason) return reason;
  if ((v as string).toLowerCase() === 'default') {
    throw conflict('SecurityGroupDefaultAlreadyExists', 'Default security group already exists.');
  }
  return undefined;
}

const securityGroupAttributes: ResourceSpec['attributes'] = {
  id: { filter: true, sort: true },
  name: { post: true, put: true, default: '', validate: nameNotDefault, filter: true, sort: true },
  description: { post: true, put: true, default: '', validate: isString(255), filter: true },
  stateful: { post: true, put: true, default: true, convert: toBoolean, filter: true },
  shared: { filter: true, filterConvert: toBoolean },
  security_group_rules: { filter: false },
  ...standardAttributes,
  ...tagAttributes(),
};

/** `path` is the URL collection (the body key stays `security_groups`). */
const securityGroupSpecWithPath = {
  singular: 'security_group',
  plural: 'security_groups',
  path: 'security-groups',
  attributes: securityGroupAttributes,
};
export const securityGroupSpec: ResourceSpec = securityGroupSpecWithPath;

/** The security groups table as lists filter and sort it for the caller (`shared`: a policy for it, security-groups-shared-filtering). */
const groupTable = (ctx: AuthContext): ListTable => ({
  table: 'security_groups',
  columns: { ...standardColumns, stateful: boolColumn('stateful') },
  filters: { shared: sharedFilterInSql('security_group', 'security_groups.id', ctx.projectId), ...tagFiltersInSql('security_groups') },
});

/** The groups the caller sees: its project's and those shared with it, or every one for admins. */
function visibleGroups(tx: Tx, ctx: AuthContext) {
  const q = tx.selectFrom('security_groups').selectAll();
  if (ctx.isAdmin) return q;
  return q.where((eb) =>
    eb.or([eb('project_id', '=', ctx.projectId), sharedInSql('security_group', 'security_groups.id', ctx.projectId, [ACCESS_SHARED])]),
  );
}

/** `shared`: whether the group is shared with the caller's project or everyone. */
export function groupToApi(row: SecurityGroupRow, rules: SecurityGroupRuleRow[], shared = false): Item {
  return {
    id: row.id,
    name: row.name,
    stateful: bool(row.stateful),
    shared,
    security_group_rules: rules.map(ruleToApi),
    ...standardFields(row),
  };
}

async function rulesByGroup(tx: Tx, groupIds: string[] | 'all'): Promise<Map<string, SecurityGroupRuleRow[]>> {
  const out = new Map<string, SecurityGroupRuleRow[]>();
  if (groupIds !== 'all' && !groupIds.length) return out;
  let q = tx.selectFrom('security_group_rules').selectAll();
  if (groupIds !== 'all') q = q.where('security_group_id', 'in', groupIds);
  for (const r of await q.execute()) {
    const list = out.get(r.security_group_id) ?? [];
    list.push(r);
    out.set(r.security_group_id, list);
  }
  return out;
}

async function groupsToApi(tx: Tx, ctx: AuthContext, rows: SecurityGroupRow[], all = false): Promise<Item[]> {
  const ids = rows.map((r) => r.id);
  const rules = await rulesByGroup(tx, all ? 'all' : ids);
  const shared = await sharedWith(tx, 'security_group', ids, ctx.projectId);
  return rows.map((r) => groupToApi(r, rules.get(r.id) ?? [], shared.has(r.id)));
}

async function portsUsing(tx: Tx, groupId: string): Promise<boolean> {
  const row = await tx.selectFrom('port_security_groups').select('port_id').where('security_group_id', '=', groupId).executeTakeFirst();
  return Boolean(row);
}

const inUse = (id: string) => conflict('SecurityGroupInUse', `Security Group ${id} in use.`);

export function securityGroupService(): ResourceService {
  return {
    spec: securityGroupSpec,

    async list(tx, ctx, filters) {
      await ensureDefaultOnList(tx, ctx, filters);
      const { query } = pushFilters(tx, groupTable(ctx), visibleGroups(tx, ctx), filters);
      const rows = await query.execute();
      return groupsToApi(tx, ctx, rows, rows.length > 500);
    },

    async listPage(tx, ctx, q) {
      await ensureDefaultOnList(tx, ctx, q.filters);
      const page = await sqlPage(tx, groupTable(ctx), visibleGroups(tx, ctx), q, groupNotFound);
      return page && { items: await groupsToApi(tx, ctx, page.rows), hasMore: page.hasMore, hasBefore: page.hasBefore };
    },

    async show(tx, ctx, id) {
      return (await groupsToApi(tx, ctx, [await getVisibleGroup(tx, ctx, id)]))[0];
    },

    async create(tx, ctx, a) {
      const projectId = a.project_id as string;
      await enforceQuota(tx, projectId, 'security_group');
      await ensureDefaultSecurityGroup(tx, projectId);
      // The new group's two egress rules count against the rule quota too.
      await enforceQuota(tx, projectId, 'security_group_rule', 2);
      const id = await insertGroup(tx, {
        projectId,
        name: a.name as string,
        description: a.description as string,
        stateful: a.stateful as boolean,
        isDefault: false,
      });
      const row = await tx.selectFrom('security_groups').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      return (await groupsToApi(tx, ctx, [row]))[0];
    },

    async update(tx, ctx, id, a) {
      const row = await getOwnGroup(tx, ctx, id, 'update');
      if (row.name === 'default' && 'name' in a) {
        throw conflict('SecurityGroupCannotUpdateDefault', 'Updating default security group not allowed.');
      }
      if ('stateful' in a && a.stateful !== bool(row.stateful) && (await portsUsing(tx, id))) throw inUse(id);
      await tx
        .updateTable('security_groups')
        .set({
          name: 'name' in a ? (a.name as string) : row.name,
          description: 'description' in a ? (a.description as string) : row.description,
          stateful: 'stateful' in a ? (a.stateful ? 1 : 0) : row.stateful,
          revision_number: row.revision_number + 1,
          updated_at: timestamp(),
        })
        .where('id', '=', id)
        .execute();
      await recordChange(tx, 'security_group', id, 'update', row.project_id);
      return this.show(tx, ctx, id);
    },

    async remove(tx, ctx, id) {
      const row = await getOwnGroup(tx, ctx, id, 'delete');
      if (await portsUsing(tx, id)) throw inUse(id);
      if (row.name === 'default' && !ctx.isAdmin) {
        throw conflict('SecurityGroupCannotRemoveDefault', 'Insufficient rights for removing default security group.');
      }
      // Rules of other groups that name this one as their remote group go with it (FK ON DELETE CASCADE).
      const referencing = await tx
        .selectFrom('security_group_rules')
        .select(['id', 'security_group_id', 'project_id'])
        .where('remote_group_id', '=', id)
        .where('security_group_id', '!=', id)
        .execute();
      for (const r of referencing) {
        await tx.deleteFrom('security_group_rules').where('id', '=', r.id).execute();
        await recordChange(tx, 'security_group_rule', r.id, 'delete', r.project_id);
      }
      for (const g of new Set(referencing.map((r) => r.security_group_id))) await touchGroup(tx, g);
      await tx.deleteFrom('security_group_rules').where('security_group_id', '=', id).execute();
      await tx.deleteFrom('default_security_groups').where('security_group_id', '=', id).execute();
      await deletePoliciesOf(tx, 'security_group', id);
      await tx.deleteFrom('security_groups').where('id', '=', id).execute();
      await recordChange(tx, 'security_group', id, 'delete', row.project_id);
    },
  };
}
