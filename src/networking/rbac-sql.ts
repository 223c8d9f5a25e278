// RBAC policies as the other resources consult them: who an object is shared with, in SQL (for lists)
// and per object, and the policies a resource writes itself (a `shared` flag). A leaf module: the
// shareable resources import it without a cycle.
import { sql, type Expression, type SqlBool } from 'kysely';
import type { AuthContext } from '../model/context.ts';
import { ownerOrAdmin, type Owned } from '../model/policy.ts';
import type { RbacPolicyRow } from '../store/schema/index.ts';
import { newId, type Tx } from './common.ts';

export const ACCESS_SHARED = 'access_as_shared';
export const ACCESS_EXTERNAL = 'access_as_external';
export const WILDCARD = '*';

/**
 * Whether the object in column `idColumn` (e.g. `networks.id`) has a policy of one of `actions` for
 * `projectId` or for every project (neutron_lib.db.model_query's RBAC join).
 */
export function sharedInSql(objectType: string, idColumn: string, projectId: string, actions: readonly string[]): Expression<SqlBool> {
  return sql<SqlBool>`exists (select 1 from rbac_policies r where r.object_type = ${objectType} and r.object_id = ${sql.ref(idColumn)}
    and r.action in (${sql.join(actions)}) and r.target_project in (${projectId}, ${WILDCARD}))`;
}

/**
 * The rows of `table` (an object type shared by access_as_shared) that a non-admin caller sees: its
 * project's and those shared with it or everyone (model_query.query_with_hooks' RBAC scope).
 */
export function ownOrSharedInSql(objectType: string, table: string, projectId: string): Expression<SqlBool> {
  const shared = sharedInSql(objectType, `${table}.id`, projectId, [ACCESS_SHARED]);
  return sql<SqlBool>`(${sql.ref(`${table}.project_id`)} = ${projectId} or ${shared})`;
}

/** The `shared` filter (model_query.apply_filters): shared with the caller's project or everyone, or not. */
export function sharedFilterInSql(objectType: string, idColumn: string, projectId: string) {
  return (values: unknown[]): Expression<SqlBool> | null => {
    if (!values.every((v) => typeof v === 'boolean')) return null;
    // Neutron looks at the first value only.
    const shared = sharedInSql(objectType, idColumn, projectId, [ACCESS_SHARED]);
    return values[0] ? shared : sql<SqlBool>`not ${shared}`;
  };
}

/** Of `ids`, those shared (access_as_shared) with `projectId` or everyone: the `shared` attribute as the caller sees it. */
export async function sharedWith(tx: Tx, objectType: string, ids: string[], projectId: string): Promise<Set<string>> {
  if (!ids.length) return new Set();
  const rows = await tx
    .selectFrom('rbac_policies')
    .select('object_id')
    .where('object_type', '=', objectType)
    .where('action', '=', ACCESS_SHARED)
    .where('target_project', 'in', [projectId, WILDCARD])
    .where('object_id', 'in', ids)
    .execute();
  return new Set(rows.map((r) => r.object_id));
}

/** Whether the object has a policy of one of `actions` for one of `targets`. */
async function hasPolicy(tx: Tx, objectType: string, id: string, actions: readonly string[], targets: string[]): Promise<boolean> {
  const row = await tx
    .selectFrom('rbac_policies')
    .select('id')
    .where('object_type', '=', objectType)
    .where('object_id', '=', id)
    .where('action', 'in', actions)
    .where('target_project', 'in', targets)
    .executeTakeFirst();
  return Boolean(row);
}

/** Whether the object has a policy of one of `actions` for `projectId` or everyone. */
export const isSharedWith = (tx: Tx, objectType: string, id: string, projectId: string, actions: readonly string[]) =>
  hasPolicy(tx, objectType, id, actions, [projectId, WILDCARD]);

/** RbacNeutronDbObjectMixin.is_accessible: the caller's project's, shared with it or everyone, or any for admins. */
export async function canSeeShared(tx: Tx, ctx: AuthContext, objectType: string, row: Owned & { id: string }): Promise<boolean> {
  return ownerOrAdmin(ctx, row) || isSharedWith(tx, objectType, row.id, ctx.projectId, [ACCESS_SHARED]);
}

/** Whether the object is shared with every project (its `shared` flag as its owner sets it). */
export const isSharedWithAll = (tx: Tx, objectType: string, id: string) => hasPolicy(tx, objectType, id, [ACCESS_SHARED], [WILDCARD]);

/** The object's policies of one action (all targets). */
export function policiesOf(tx: Tx, objectType: string, id: string, action: string): Promise<RbacPolicyRow[]> {
  return tx
    .selectFrom('rbac_policies')
    .selectAll()
    .where('object_type', '=', objectType)
    .where('object_id', '=', id)
    .where('action', '=', action)
    .execute();
}

/** Inserts a policy; the caller has checked it is no duplicate (or lets the unique key refuse it). */
export async function insertPolicy(tx: Tx, p: Omit<RbacPolicyRow, 'id'>): Promise<RbacPolicyRow> {
  const row = { id: newId(), ...p };
  await tx.insertInto('rbac_policies').values(row).execute();
  return row;
}

/** Removes an object's policies of `action` (all of them when no action is named): the object goes, or stops being shared. */
export async function deletePoliciesOf(tx: Tx, objectType: string, id: string, action?: string, target?: string): Promise<void> {
  let q = tx.deleteFrom('rbac_policies').where('object_type', '=', objectType).where('object_id', '=', id);
  if (action) q = q.where('action', '=', action);
  if (target) q = q.where('target_project', '=', target);
  await q.execute();
}

/** Whether a policy of `action` names `projectId` itself, not only everyone (NetworkRBAC.get_projects with a target). */
export const isTargeted = (tx: Tx, objectType: string, id: string, action: string, projectId: string) =>
  hasPolicy(tx, objectType, id, [action], [projectId]);
