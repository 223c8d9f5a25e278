// The rbac-policies resource (neutron/db/rbac_db_mixin.py, neutron/extensions/rbac.py): policies that
// share a network, security group, address scope, subnet pool or address group with one project or
// all ('*'). Each object type's own checks are in rbac-objects.ts; this module validates, applies the
// policy rules and stores.
import { composeRule, type ResourceSpec } from '../model/attributes.ts';
import type { AuthContext } from '../model/context.ts';
import { conflict, invalidInput, NeutronError, notFound, policyDenied } from '../model/errors.ts';
import { isString, isUuid, show } from '../model/validators.ts';
import type { RbacPolicyRow } from '../store/schema/index.ts';
import { recordChange, timestamp, type Item, type ResourceService, type Tx } from './common.ts';
import { pushFilters, sqlPage, textColumn, type ListTable } from './list-sql.ts';
import { enforceQuota } from './quotas.ts';
import { asInvalidInput, asPolicyInUse, type NewRbacPolicy, type RbacObjectType } from './rbac-callbacks.ts';
import { RBAC_OBJECT_TYPES } from './rbac-objects.ts';
import { insertPolicy, WILDCARD } from './rbac-sql.ts';

/** convert_valid_object_type: case and surrounding blanks do not matter. */
function toObjectType(v: unknown): string {
  const normalized = typeof v === 'string' ? v.trim().toLowerCase() : undefined;
  if (normalized !== undefined && Object.hasOwn(RBAC_OBJECT_TYPES, normalized)) return normalized;
  throw invalidInput(`'${show(v)}' is not a valid RBAC object type`);
}

/** oslo's is_uuid_like: 32 hex digits once dashes, braces and a urn:uuid: prefix are dropped. */
const isUuidLike = (v: string) => /^[0-9a-f]{32}$/i.test(v.replace(/^urn:uuid:/i, '').replace(/[{}-]/g, ''));

/** _validate_valid_target_project: a project id (UUID-like) or '*'. */
function toTargetProject(v: unknown): string {
  if (v === WILDCARD || (typeof v === 'string' && isUuidLike(v))) return v;
  throw invalidInput(`'${show(v)}' is not a valid target project ID; expected a UUID or '*'`);
}

export const rbacPolicySpec: ResourceSpec = {
  singular: 'rbac_policy',
  plural: 'rbac_policies',
  path: 'rbac-policies',
  attributes: {
    id: { filter: true, sort: true },
    object_type: { post: true, required: true, convert: toObjectType, filter: true, sort: true },
    object_id: { post: true, required: true, validate: isUuid, filter: true, sort: true },
    target_tenant: { post: true, put: true, required: true, convert: toTargetProject, filter: true, sort: true },
    action: { post: true, required: true, validate: isString(255), filter: true, sort: true },
  },
};

/** Attributes whose setting the policy engine checks (enforce_policy), in the attribute map's order. */
const ENFORCED = ['object_type', 'object_id', 'target_tenant', 'action'];

function policyToApi(row: RbacPolicyRow): Item {
  return {
    id: row.id,
    project_id: row.project_id,
    tenant_id: row.project_id,
    object_type: row.object_type,
    object_id: row.object_id,
    target_tenant: row.target_project,
    action: row.action,
  };
}

const rbacTable: ListTable = {
  table: 'rbac_policies',
  columns: {
    id: textColumn('id'),
    project_id: textColumn('project_id'),
    object_type: textColumn('object_type'),
    object_id: textColumn('object_id'),
    target_tenant: textColumn('target_project'),
    action: textColumn('action'),
  },
};

/** The policies the caller sees: its project's own (admins: all). */
function visiblePolicies(tx: Tx, ctx: AuthContext) {
  const q = tx.selectFrom('rbac_policies').selectAll();
  return ctx.isAdmin ? q : q.where('project_id', '=', ctx.projectId);
}

/** _get_object_type finds no table holding a policy the caller sees. */
const policyNotFound = (id: string) => notFound('RbacPolicyNotFound', `RBAC policy of type unknown with ID ${id} not found`);

async function getVisiblePolicy(tx: Tx, ctx: AuthContext, id: string): Promise<RbacPolicyRow> {
  const row = await visiblePolicies(tx, ctx).where('id', '=', id).executeTakeFirst();
  if (!row) throw policyNotFound(id);
  return row;
}

/** restrict_wildcard: only admins share with every project. */
function rejectWildcard(ctx: AuthContext, action: 'create' | 'update', target: string, attrs: string[]): void {
  if (target === WILDCARD && !ctx.isAdmin) throw policyDenied(composeRule(action, 'rbac_policy', attrs));
}

/** InvalidActionForType: the object type's table validates the action. */
function checkAction(type: RbacObjectType, p: NewRbacPolicy): void {
  if (type.actions.includes(p.action)) return;
  const valid = type.actions.length === 1 ? `('${type.actions[0]}',)` : `(${type.actions.map((a) => `'${a}'`).join(', ')})`;
  throw new NeutronError(
    400,
    'InvalidActionForType',
    `Invalid action '${p.action}' for object type '${p.object_type}'. Valid actions: ${valid}`,
  );
}

async function findDuplicate(tx: Tx, p: NewRbacPolicy): Promise<RbacPolicyRow | undefined> {
  return tx
    .selectFrom('rbac_policies')
    .selectAll()
    .where('object_type', '=', p.object_type)
    .where('object_id', '=', p.object_id)
    .where('action', '=', p.action)
    .where('target_project', '=', p.target_project)
    .executeTakeFirst();
}

/** A network's policies revise it (NetworkRBAC.revises_on_change): its `shared` and external state may have changed. */
async function reviseObject(tx: Tx, p: NewRbacPolicy): Promise<void> {
  if (p.object_type !== 'network') return;
  const net = await tx.selectFrom('networks').select(['project_id', 'revision_number']).where('id', '=', p.object_id).executeTakeFirst();
  if (!net) return;
  await tx
    .updateTable('networks')
    .set({ revision_number: net.revision_number + 1, updated_at: timestamp() })
    .where('id', '=', p.object_id)
    .execute();
  await recordChange(tx, 'network', p.object_id, 'update', net.project_id);
}

export function rbacPolicyService(): ResourceService {
  return {
    spec: rbacPolicySpec,

    async list(tx, ctx, filters) {
      const { query } = pushFilters(tx, rbacTable, visiblePolicies(tx, ctx), filters);
      return (await query.execute()).map(policyToApi);
    },

    async listPage(tx, ctx, q) {
      const page = await sqlPage(tx, rbacTable, visiblePolicies(tx, ctx), q, policyNotFound);
      return page && { items: page.rows.map(policyToApi), hasMore: page.hasMore, hasBefore: page.hasBefore };
    },

    async show(tx, ctx, id) {
      return policyToApi(await getVisiblePolicy(tx, ctx, id));
    },

    async create(tx, ctx, a) {
      const p: NewRbacPolicy = {
        project_id: a.project_id as string,
        object_type: a.object_type as string,
        object_id: a.object_id as string,
        target_project: a.target_tenant as string,
        action: a.action as string,
      };
      rejectWildcard(ctx, 'create', p.target_project, ENFORCED);
      await enforceQuota(tx, p.project_id, 'rbac_policy');
      const type = RBAC_OBJECT_TYPES[p.object_type];
      await asInvalidInput(() => type.beforeCreate(tx, ctx, p));
      checkAction(type, p);
      if (await findDuplicate(tx, p)) throw conflict('DuplicateRbacPolicy', 'An RBAC policy already exists with those values.');
      const row = await insertPolicy(tx, p);
      await reviseObject(tx, p);
      return policyToApi(row);
    },

    async update(tx, ctx, id, a) {
      const row = await getVisiblePolicy(tx, ctx, id);
      const target = (a.target_tenant as string | undefined) ?? row.target_project;
      rejectWildcard(ctx, 'update', target, Object.keys(a));
      await asPolicyInUse(row.object_id, () => RBAC_OBJECT_TYPES[row.object_type].beforeUpdate(tx, ctx, row, target));
      if (target !== row.target_project && (await findDuplicate(tx, { ...row, target_project: target }))) {
        throw conflict(
          'NeutronDbObjectDuplicateEntry',
          `Failed to create a duplicate RBAC policy: for attribute(s) ['target_project', 'object_id', 'action'] with value(s) ${target}, ${row.object_id}, ${row.action}`,
        );
      }
      await tx.updateTable('rbac_policies').set({ target_project: target }).where('id', '=', id).execute();
      await reviseObject(tx, row);
      return policyToApi({ ...row, target_project: target });
    },

    async remove(tx, ctx, id) {
      const row = await getVisiblePolicy(tx, ctx, id);
      const type = RBAC_OBJECT_TYPES[row.object_type];
      await asPolicyInUse(row.object_id, () => type.beforeDelete(tx, ctx, row));
      await tx.deleteFrom('rbac_policies').where('id', '=', id).execute();
      await type.afterDelete?.(tx, row);
      await reviseObject(tx, row);
    },
  };
}
