// Roles: global roles only (no domain-specific ones), and the roles a user holds on a project.
import { unitOfWork } from '../store/unit-of-work.ts';
import type { AuthContext } from '../model/context.ts';
import type { Db } from '../store/db.ts';
import type { RoleRow } from '../store/schema/index.ts';
import { newId, requireAdmin, type IdentityDeps } from './context.ts';
import { duplicateName, validationError } from './errors.ts';
import { insertUnique, roleById } from './lookup.ts';
import type { RoleCreate } from './schemas.ts';

/** keystone-manage bootstrap's implied roles: admin ⇒ member ⇒ reader. */
const IMPLIES: Record<string, string[]> = { admin: ['member'], member: ['reader'] };

export async function createRole(deps: IdentityDeps, caller: AuthContext, input: RoleCreate): Promise<RoleRow> {
  requireAdmin(caller, 'create_role');
  if (input.domain_id) throw validationError('Domain-specific roles are not supported.');
  const row: RoleRow = { id: newId(), name: input.name, domain_id: null, description: input.description ?? '' };
  const existing = await deps.db.selectFrom('roles').select('id').where('name', '=', row.name).executeTakeFirst();
  if (existing) throw duplicateName('role', row.name);
  await insertUnique('role', row.name, undefined, () => deps.db.insertInto('roles').values(row).execute());
  return row;
}

export async function listRoles(db: Db, filters: { name?: string } = {}): Promise<RoleRow[]> {
  let q = db.selectFrom('roles').selectAll().orderBy('name');
  if (filters.name !== undefined) q = q.where('name', '=', filters.name);
  return q.execute();
}

/** Removes the role and its assignments; every cached token may have held it. */
export async function deleteRole(deps: IdentityDeps, caller: AuthContext, id: string): Promise<void> {
  requireAdmin(caller, 'delete_role');
  await roleById(deps.db, id);
  await unitOfWork(deps.db, async (trx) => {
    await trx.deleteFrom('role_assignments').where('role_id', '=', id).execute();
    await trx.deleteFrom('roles').where('id', '=', id).execute();
  });
  deps.cache.invalidate(() => true);
}

/** The roles assigned to the user on the project, by name. */
export function directRoles(db: Db, userId: string, projectId: string): Promise<RoleRow[]> {
  return db
    .selectFrom('role_assignments as ra')
    .innerJoin('roles as r', 'r.id', 'ra.role_id')
    .select(['r.id', 'r.name', 'r.domain_id', 'r.description'])
    .where('ra.target_type', '=', 'project')
    .where('ra.target_id', '=', projectId)
    .where('ra.user_id', '=', userId)
    .orderBy('r.name')
    .execute();
}

/** Role names implied by `names` (transitively) and not among them. */
function impliedRoleNames(names: Set<string>): string[] {
  const seen = new Set(names);
  const pending = [...names];
  const implied: string[] = [];
  while (pending.length) {
    for (const n of IMPLIES[pending.pop() as string] ?? []) {
      if (!seen.has(n)) {
        seen.add(n);
        implied.push(n);
        pending.push(n);
      }
    }
  }
  return implied;
}

/** The roles that `roles` imply (transitively) and that are not among them. */
export async function impliedRoles(db: Db, roles: RoleRow[]): Promise<RoleRow[]> {
  const names = impliedRoleNames(new Set(roles.map((r) => r.name)));
  return names.length ? db.selectFrom('roles').selectAll().where('name', 'in', names).execute() : [];
}

/** The roles the user's groups hold on the project. */
export function groupRoles(db: Db, userId: string, projectId: string): Promise<RoleRow[]> {
  return db
    .selectFrom('group_role_assignments as ga')
    .innerJoin('group_memberships as gm', 'gm.group_id', 'ga.group_id')
    .innerJoin('roles as r', 'r.id', 'ga.role_id')
    .select(['r.id', 'r.name', 'r.domain_id', 'r.description'])
    .distinct()
    .where('ga.project_id', '=', projectId)
    .where('gm.user_id', '=', userId)
    .orderBy('r.name')
    .execute();
}

/** The user's own roles on the project and its groups' there, each once. */
async function assignedRoles(db: Db, userId: string, projectId: string): Promise<RoleRow[]> {
  const [own, viaGroups] = await Promise.all([directRoles(db, userId, projectId), groupRoles(db, userId, projectId)]);
  return [...own, ...viaGroups.filter((g) => !own.some((o) => o.id === g.id))];
}

/** Assigned roles (own and groups') plus the ones they imply (admin ⇒ member ⇒ reader), as Keystone puts them in tokens. */
export async function effectiveRoles(db: Db, userId: string, projectId: string): Promise<RoleRow[]> {
  const direct = await assignedRoles(db, userId, projectId);
  const implied = impliedRoleNames(new Set(direct.map((r) => r.name)));
  if (implied.length === 0) return direct;
  const extra = await db.selectFrom('roles').selectAll().where('name', 'in', implied).execute();
  return [...direct, ...extra];
}
