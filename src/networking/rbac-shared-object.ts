// The RBAC rules of an object type shared only by access_as_shared (neutron/objects/rbac_db.py,
// RbacNeutronDbObjectMixin): only its owner or an admin shares it; a policy goes only while the
// project losing it keeps nothing that uses the object; a `shared` flag is the wildcard policy.
import { sql } from 'kysely';
import type { AuthContext } from '../model/context.ts';
import { invalidInput, type NeutronError } from '../model/errors.ts';
import type { RbacPolicyRow } from '../store/schema/index.ts';
import type { Tx } from './common.ts';
import { asInvalidInput, inCallback, rbacPolicyInUse, type NewRbacPolicy, type RbacObjectType } from './rbac-callbacks.ts';
import { ACCESS_SHARED, insertPolicy, policiesOf, WILDCARD } from './rbac-sql.ts';

/** The owner of object `id` in `table`, whoever may see it; undefined when there is none. */
export async function objectOwner(tx: Tx, table: string, id: string): Promise<string | undefined> {
  const { rows } = await sql<{ project_id: string }>`select project_id from ${sql.table(table)} where id = ${id}`.execute(tx);
  return rows[0]?.project_id;
}

export interface SharedObject {
  table: string;
  /** Neutron's name of the callback (it appears in the error messages) */
  callback: string;
  notFound: (id: string) => NeutronError;
  /** get_bound_project_ids: the projects whose resources use the object */
  boundProjects(tx: Tx, id: string): Promise<Set<string>>;
  /** validate_rbac_policy_create: the type's own check of a new policy, after the owner's */
  validateCreate?(tx: Tx, ctx: AuthContext, p: NewRbacPolicy): Promise<void>;
}

export function sharedObjectType(o: SharedObject): RbacObjectType {
  /** validate_rbac_policy_change on create and update: only the object's owner or an admin. */
  const checkOwner = async (tx: Tx, ctx: AuthContext, objectId: string) => {
    const owner = await objectOwner(tx, o.table, objectId);
    if (owner === undefined) throw o.notFound(objectId);
    if (!ctx.isAdmin && owner !== ctx.projectId) throw invalidInput('Only admins can manipulate policies on objects they do not own');
  };

  /** _validate_rbac_policy_delete: the target keeps no resource on the object without another policy. */
  const checkUnused = (tx: Tx, p: RbacPolicyRow) =>
    inCallback(o.callback, async () => {
      if (p.action !== ACCESS_SHARED || (await objectOwner(tx, o.table, p.object_id)) === p.target_project) return;
      const bound = await o.boundProjects(tx, p.object_id);
      const shared = await policiesOf(tx, p.object_type, p.object_id, ACCESS_SHARED);
      const inUse = () => rbacPolicyInUse(p.object_id, `project_id=${p.target_project}`);
      if (p.target_project !== WILDCARD) {
        if (shared.some((s) => s.target_project === WILDCARD)) return;
        if (bound.has(p.target_project)) throw inUse();
        return;
      }
      const others = new Set(shared.map((s) => s.target_project).filter((t) => t !== WILDCARD));
      if ([...bound].some((b) => !others.has(b))) throw inUse();
    });

  return {
    actions: [ACCESS_SHARED],
    async beforeCreate(tx, ctx, p) {
      await inCallback(o.callback, async () => {
        await checkOwner(tx, ctx, p.object_id);
        await o.validateCreate?.(tx, ctx, p);
      });
    },
    async beforeUpdate(tx, ctx, p, newTarget) {
      await inCallback(o.callback, () => checkOwner(tx, ctx, p.object_id));
      if (newTarget !== p.target_project && newTarget !== WILDCARD) await checkUnused(tx, p);
    },
    async beforeDelete(tx, _ctx, p) {
      await checkUnused(tx, p);
    },
  };
}

/**
 * attach_rbac: setting an object's `shared` flag creates its wildcard access_as_shared policy, owned
 * by `owner`, through the same BEFORE_CREATE checks as a policy the API creates (their refusal: InvalidInput).
 */
export async function attachWildcardPolicy(
  tx: Tx,
  ctx: AuthContext,
  type: RbacObjectType,
  objectType: string,
  objectId: string,
  owner: string,
): Promise<void> {
  const p: NewRbacPolicy = {
    project_id: owner,
    object_type: objectType,
    object_id: objectId,
    target_project: WILDCARD,
    action: ACCESS_SHARED,
  };
  await asInvalidInput(() => type.beforeCreate(tx, ctx, p));
  await insertPolicy(tx, p);
}
