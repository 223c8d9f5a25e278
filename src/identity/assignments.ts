// Role assignments (grants) of users on projects: grant, check, revoke; and the list of users' and groups' assignments.
import type { AuthContext } from '../model/context.ts';
import type { GroupRow, ProjectRow, RoleRow, UserRow } from '../store/schema/index.ts';
import { named, requireAdmin, type IdentityDeps, type Named } from './context.ts';
import { notFoundError, validationError } from './errors.ts';
import { projectById, roleById, userById } from './lookup.ts';
import { revokeTokensOf } from './revocation.ts';
import { directRoles } from './roles.ts';
import { deleteCredentialsOnProject } from './app-credentials.ts';

export interface AssignmentFilters {
  userId?: string;
  groupId?: string;
  /** Keystone's `effective`: group assignments become their members' assignments. */
  effective?: boolean;
  projectId?: string;
  roleId?: string;
  /** Filters that can never match here (domain or system scope, inheritance). */
  unsatisfiable?: boolean;
}

/** A role on a project held by a user, by a group, or (both set) by a user through a group. */
export interface RoleAssignment {
  role: RoleRow;
  project: ProjectRow & { domain: Named };
  user?: UserRow & { domain: Named };
  group?: GroupRow & { domain: Named };
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
  if (filters.userId !== undefined && filters.groupId !== undefined) throw validationError('Specify a user or group, not both');
  if (filters.effective && filters.groupId !== undefined) {
    throw validationError('Combining effective and group filter will always result in an empty list.');
  }
  if (filters.unsatisfiable) return [];
  const refs = [...(await userAssignmentRefs(deps, filters)), ...(await groupAssignmentRefs(deps, filters))];
  if (refs.length === 0) return [];
  const actor = (x: RoleAssignment) => x.user?.name ?? x.group?.name ?? '';
  const key = (x: RoleAssignment) => `${x.project.name}\0${actor(x)}\0${x.role.name}\0${x.group?.name ?? ''}`;
  return (await resolveAssignments(deps, refs)).sort((a, b) => key(a).localeCompare(key(b)));
}

/** One assignment by ids: a user's, a group's, or (with both) a user's through a group. */
interface AssignmentRef {
  roleId: string;
  projectId: string;
  userId?: string;
  groupId?: string;
}

/** The users' own assignments (none when a group is asked for). */
async function userAssignmentRefs(deps: IdentityDeps, filters: AssignmentFilters): Promise<AssignmentRef[]> {
  if (filters.groupId !== undefined) return [];
  let q = deps.db.selectFrom('role_assignments').selectAll().where('target_type', '=', 'project');
  if (filters.userId !== undefined) q = q.where('user_id', '=', filters.userId);
  if (filters.projectId !== undefined) q = q.where('target_id', '=', filters.projectId);
  if (filters.roleId !== undefined) q = q.where('role_id', '=', filters.roleId);
  return (await q.execute()).map((r) => ({ roleId: r.role_id, projectId: r.target_id, userId: r.user_id }));
}

/** The groups' assignments, or with `effective` one per member holding it through the group (Keystone's expansion). */
async function groupAssignmentRefs(deps: IdentityDeps, filters: AssignmentFilters): Promise<AssignmentRef[]> {
  if (filters.userId !== undefined && !filters.effective) return [];
  let q = deps.db.selectFrom('group_role_assignments').selectAll();
  if (filters.groupId !== undefined) q = q.where('group_id', '=', filters.groupId);
  if (filters.projectId !== undefined) q = q.where('project_id', '=', filters.projectId);
  if (filters.roleId !== undefined) q = q.where('role_id', '=', filters.roleId);
  const rows = await q.execute();
  const refs = rows.map((r) => ({ roleId: r.role_id, projectId: r.project_id, groupId: r.group_id }));
  if (!filters.effective || refs.length === 0) return refs;
  let m = deps.db
    .selectFrom('group_memberships')
    .selectAll()
    .where('group_id', 'in', [...new Set(refs.map((r) => r.groupId))]);
  if (filters.userId !== undefined) m = m.where('user_id', '=', filters.userId);
  const members = await m.execute();
  return refs.flatMap((ref) => members.filter((x) => x.group_id === ref.groupId).map((x) => ({ ...ref, userId: x.user_id })));
}

/** The assignments' actors, projects and roles (with domain names); refs naming a vanished one are skipped. */
async function resolveAssignments(deps: IdentityDeps, refs: AssignmentRef[]): Promise<RoleAssignment[]> {
  const ids = (key: keyof AssignmentRef) => [...new Set(refs.flatMap((r) => (r[key] === undefined ? [] : [r[key]])))];
  const userIds = ids('userId');
  const groupIds = ids('groupId');
  const [users, groups, projects, roles, domains] = await Promise.all([
    userIds.length ? deps.db.selectFrom('users').selectAll().where('id', 'in', userIds).execute() : [],
    groupIds.length ? deps.db.selectFrom('groups').selectAll().where('id', 'in', groupIds).execute() : [],
    deps.db.selectFrom('projects').selectAll().where('id', 'in', ids('projectId')).execute(),
    deps.db.selectFrom('roles').selectAll().where('id', 'in', ids('roleId')).execute(),
    deps.db.selectFrom('domains').selectAll().execute(),
  ]);
  const byId = <T extends { id: string }>(list: T[]) => new Map(list.map((x) => [x.id, x]));
  const [u, g, p, r, d] = [byId(users), byId(groups), byId(projects), byId(roles), byId(domains)];
  const withDomain = <T extends { domain_id: string }>(x: T) => ({
    ...x,
    domain: named(d.get(x.domain_id) ?? { id: x.domain_id, name: x.domain_id }),
  });
  const out: RoleAssignment[] = [];
  for (const a of refs) {
    const user = a.userId === undefined ? undefined : u.get(a.userId);
    const group = a.groupId === undefined ? undefined : g.get(a.groupId);
    const project = p.get(a.projectId);
    const role = r.get(a.roleId);
    if (!project || !role || (a.userId !== undefined && !user) || (a.groupId !== undefined && !group)) continue;
    out.push({
      role,
      project: withDomain(project),
      ...(user ? { user: withDomain(user) } : {}),
      ...(group ? { group: withDomain(group) } : {}),
    });
  }
  return out;
}
