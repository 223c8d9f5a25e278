// Role assignments (grants) of users on projects: grant, check, revoke and list.
import type { AuthContext } from '../model/context.js';
import type { ProjectRow, RoleAssignmentRow, RoleRow, UserRow } from '../store/schema/index.js';
import { named, requireAdmin, type IdentityDeps, type Named } from './context.js';
import { notFoundError } from './errors.js';
import { projectById, roleById, userById } from './lookup.js';
import { revokeTokensOf } from './revocation.js';
import { directRoles } from './roles.js';
import { deleteCredentialsOnProject } from './app-credentials.js';

export interface AssignmentFilters {
  userId?: string;
  projectId?: string;
  roleId?: string;
  /** Filters that can never match here (groups, domain or system scope, inheritance). */
  unsatisfiable?: boolean;
}

export interface RoleAssignment {
  role: RoleRow;
  user: UserRow & { domain: Named };
  project: ProjectRow & { domain: Named };
}

/** The assignment row of one grant: what is inserted, and what finds it again. */
const grant = (projectId: string, userId: string, roleId: string) =>
  ({ target_type: 'project', target_id: projectId, user_id: userId, role_id: roleId }) as const;

const grantNotFound = (projectId: string, userId: string, roleId: string) =>
  notFoundError('role assignment with role', `${roleId}, user or group: ${userId}, project, domain, or system: ${projectId}`);

/** 404 unless the role, project and user all exist (checked in that order). */
async function grantTargets(deps: IdentityDeps, projectId: string, userId: string, roleId: string): Promise<void> {
  await roleById(deps.db, roleId);
  await projectById(deps.db, projectId);
  await userById(deps.db, userId);
}

export async function assignRole(
  deps: IdentityDeps,
  caller: AuthContext,
  projectId: string,
  userId: string,
  roleId: string,
): Promise<void> {
  requireAdmin(caller, 'create_grant');
  await grantTargets(deps, projectId, userId, roleId);
  await deps.db
    .insertInto('role_assignments')
    .values(grant(projectId, userId, roleId))
    .onConflict((oc) => oc.doNothing())
    .execute();
  deps.cache.invalidate((e) => e.userId === userId && e.projectId === projectId);
}

/** HEAD: resolves when the assignment exists, 404 otherwise. */
export async function checkRole(deps: IdentityDeps, caller: AuthContext, projectId: string, userId: string, roleId: string): Promise<void> {
  requireAdmin(caller, 'check_grant');
  await grantTargets(deps, projectId, userId, roleId);
  const row = await deps.db
    .selectFrom('role_assignments')
    .select('role_id')
    .where((eb) => eb.and(grant(projectId, userId, roleId)))
    .executeTakeFirst();
  if (!row) throw grantNotFound(projectId, userId, roleId);
}

/** Tokens of the user on the project issued before the removal die, and stay dead if the role is granted again. */
export async function unassignRole(
  deps: IdentityDeps,
  caller: AuthContext,
  projectId: string,
  userId: string,
  roleId: string,
): Promise<void> {
  requireAdmin(caller, 'revoke_grant');
  await grantTargets(deps, projectId, userId, roleId);
  const res = await deps.db
    .deleteFrom('role_assignments')
    .where((eb) => eb.and(grant(projectId, userId, roleId)))
    .executeTakeFirst();
  if (Number(res.numDeletedRows) === 0) throw grantNotFound(projectId, userId, roleId);
  await revokeTokensOf(deps, { userId, projectId });
  await deleteCredentialsOnProject(deps, userId, projectId);
}

/** GET /v3/projects/{p}/users/{u}/roles: the directly assigned roles. */
export async function listGrants(deps: IdentityDeps, caller: AuthContext, projectId: string, userId: string): Promise<RoleRow[]> {
  requireAdmin(caller, 'list_grants');
  await projectById(deps.db, projectId);
  await userById(deps.db, userId);
  return directRoles(deps.db, userId, projectId);
}

export async function listRoleAssignments(
  deps: IdentityDeps,
  caller: AuthContext,
  filters: AssignmentFilters = {},
): Promise<RoleAssignment[]> {
  requireAdmin(caller, 'list_role_assignments');
  if (filters.unsatisfiable) return [];
  let q = deps.db.selectFrom('role_assignments').selectAll().where('target_type', '=', 'project');
  if (filters.userId !== undefined) q = q.where('user_id', '=', filters.userId);
  if (filters.projectId !== undefined) q = q.where('target_id', '=', filters.projectId);
  if (filters.roleId !== undefined) q = q.where('role_id', '=', filters.roleId);
  const rows = await q.execute();
  if (rows.length === 0) return [];
  const key = (x: RoleAssignment) => `${x.project.name}\0${x.user.name}\0${x.role.name}`;
  return (await resolveAssignments(deps, rows)).sort((a, b) => key(a).localeCompare(key(b)));
}

/** The assignments' users, projects and roles (with domain names); rows naming a vanished one are skipped. */
async function resolveAssignments(deps: IdentityDeps, rows: RoleAssignmentRow[]): Promise<RoleAssignment[]> {
  const ids = (key: 'user_id' | 'target_id' | 'role_id') => [...new Set(rows.map((r) => r[key]))];
  const [users, projects, roles, domains] = await Promise.all([
    deps.db.selectFrom('users').selectAll().where('id', 'in', ids('user_id')).execute(),
    deps.db.selectFrom('projects').selectAll().where('id', 'in', ids('target_id')).execute(),
    deps.db.selectFrom('roles').selectAll().where('id', 'in', ids('role_id')).execute(),
    deps.db.selectFrom('domains').selectAll().execute(),
  ]);
  const byId = <T extends { id: string }>(list: T[]) => new Map(list.map((x) => [x.id, x]));
  const [u, p, r, d] = [byId(users), byId(projects), byId(roles), byId(domains)];
  const domainOf = (id: string): Named => named(d.get(id) ?? { id, name: id });
  const out: RoleAssignment[] = [];
  for (const a of rows) {
    const user = u.get(a.user_id);
    const project = p.get(a.target_id);
    const role = r.get(a.role_id);
    if (!user || !project || !role) continue;
    out.push({
      role,
      user: { ...user, domain: domainOf(user.domain_id) },
      project: { ...project, domain: domainOf(project.domain_id) },
    });
  }
  return out;
}
