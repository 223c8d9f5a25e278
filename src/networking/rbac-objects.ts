// The object types RBAC policies apply to, one entry each (neutron/db/rbac_db_models.py and the
// RBAC_POLICY callbacks of neutron/objects/rbac_db.py): the valid actions and the checks a policy's
// create, update and delete run. A shareable resource joins by adding an entry to RBAC_OBJECT_TYPES.
import { sql } from 'kysely';
import type { AuthContext } from '../model/context.js';
import { invalidInput, type NeutronError } from '../model/errors.js';
import type { RbacPolicyRow } from '../store/schema/index.js';
import type { Tx } from './common.js';
import { inCallback, rbacPolicyInUse, type RbacObjectType } from './rbac-callbacks.js';
import { networkRbac } from './rbac-network.js';
import { ACCESS_SHARED, policiesOf, WILDCARD } from './rbac-sql.js';
import { groupNotFound } from './securitygroups.js';

/** The owner of object `id` in `table`, whoever may see it; undefined when there is none. */
export async function objectOwner(tx: Tx, table: string, id: string): Promise<string | undefined> {
  const { rows } = await sql<{ project_id: string }>`select project_id from ${sql.table(table)} where id = ${id}`.execute(tx);
  return rows[0]?.project_id;
}

/** An object type shared only by access_as_shared, as rbac_db.RbacNeutronDbObjectMixin checks it. */
interface SharedObject {
  table: string;
  /** Neutron's name of the callback (it appears in the error messages) */
  callback: string;
  notFound: (id: string) => NeutronError;
  /** get_bound_project_ids: the projects whose resources use the object */
  boundProjects(tx: Tx, id: string): Promise<Set<string>>;
}

export function sharedObjectType(o: SharedObject): RbacObjectType {
  /** validate_rbac_policy_change on create and update: only the object's owner or an admin. */
  const checkOwner = (tx: Tx, ctx: AuthContext, objectId: string) =>
    inCallback(o.callback, async () => {
      const owner = await objectOwner(tx, o.table, objectId);
      if (owner === undefined) throw o.notFound(objectId);
      if (!ctx.isAdmin && owner !== ctx.projectId) throw invalidInput('Only admins can manipulate policies on objects they do not own');
      return owner;
    });

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
      await checkOwner(tx, ctx, p.object_id);
    },
    async beforeUpdate(tx, ctx, p, newTarget) {
      await checkOwner(tx, ctx, p.object_id);
      if (newTarget !== p.target_project && newTarget !== WILDCARD) await checkUnused(tx, p);
    },
    async beforeDelete(tx, _ctx, p) {
      await checkUnused(tx, p);
    },
  };
}

const securityGroupRbac = sharedObjectType({
  table: 'security_groups',
  callback: 'neutron.objects.securitygroup.SecurityGroup.validate_rbac_policy_change',
  notFound: groupNotFound,
  async boundProjects(tx, id) {
    const rows = await tx
      .selectFrom('port_security_groups')
      .innerJoin('ports', 'ports.id', 'port_security_groups.port_id')
      .select('ports.project_id')
      .where('port_security_groups.security_group_id', '=', id)
      .execute();
    return new Set(rows.map((r) => r.project_id));
  },
});

/** object_type → its RBAC rules, in the order the API lists policies. */
export const RBAC_OBJECT_TYPES: Record<string, RbacObjectType> = {
  network: networkRbac,
  security_group: securityGroupRbac,
};
