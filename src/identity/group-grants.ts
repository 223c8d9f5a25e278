// Roles of groups on projects (Keystone's group grants): every member holds them there. Removing
// one kills the members' tokens on the project; a member left without any role on a project loses
// its application credentials there.
import type { AuthContext } from '../model/context.ts';
import type { Db } from '../store/db.ts';
import type { RoleRow } from '../store/schema/index.ts';
import { requireAdmin, type IdentityDeps } from './context.ts';
import { notFoundError } from './errors.ts';
import { groupById, projectById, roleById } from './lookup.ts';
import { revokeTokensOf } from './revocation.ts';
import { deleteCredentialsOnProject } from './app-credentials.ts';
import { effectiveRoles } from './roles.ts';

const groupGrant = (projectId: string, groupId: string, roleId: string) =>
  ({ project_id: projectId, group_id: groupId, role_id: roleId }) as const;

const grantNotFound = (projectId: string, groupId: string, roleId: string) =>
  notFoundError('role assignment with role', `${roleId}, user or group: ${groupId}, project, domain, or system: ${projectId}`);

/** 404 unless the role, project and group all exist (checked in that order). */
async function grantTargets(deps: IdentityDeps, projectId: string, groupId: string, roleId: string): Promise<void> {
  await roleById(deps.db, roleId);
  await projectById(deps.db, projectId);
  await groupById(deps.db, groupId);
}

export async function memberIds(db: Db, groupId: string): Promise<string[]> {
  const rows = await db.selectFrom('group_memberships').select('user_id').where('group_id', '=', groupId).execute();
  return rows.map((r) => r.user_id);
}

/** The projects the group holds a role on. */
export async function groupGrantProjects(db: Db, groupId: string): Promise<string[]> {
  const rows = await db.selectFrom('group_role_assignments').select('project_id').distinct().where('group_id', '=', groupId).execute();
  return rows.map((r) => r.project_id);
}

/** Each user's application credentials on each project where the user no longer holds any role go. */
export async function dropCredentialsWithoutRoles(deps: IdentityDeps, userIds: string[], projectIds: string[]): Promise<void> {
  for (const userId of userIds) {
    for (const projectId of projectIds) {
      if ((await effectiveRoles(deps.db, userId, projectId)).length === 0) await deleteCredentialsOnProject(deps, userId, projectId);
    }
  }
}

export async function assignGroupRole(
  deps: IdentityDeps,
  caller: AuthContext,
  projectId: string,
  groupId: string,
  roleId: string,
): Promise<void> {
  requireAdmin(caller, 'create_grant');
  await grantTargets(deps, projectId, groupId, roleId);
  await deps.db
    .insertInto('group_role_assignments')
    .values(groupGrant(projectId, groupId, roleId))
    .onConflict((oc) => oc.doNothing())
    .execute();
  const members = new Set(await memberIds(deps.db, groupId));
  deps.cache.invalidate((e) => members.has(e.userId) && e.projectId === projectId);
}

/** HEAD: resolves when the group holds the role on the project, 404 otherwise. */
export async function checkGroupRole(
  deps: IdentityDeps,
  caller: AuthContext,
  projectId: string,
  groupId: string,
  roleId: string,
): Promise<void> {
  requireAdmin(caller, 'check_grant');
  await grantTargets(deps, projectId, groupId, roleId);
  const row = await deps.db
    .selectFrom('group_role_assignments')
    .select('role_id')
    .where((eb) => eb.and(groupGrant(projectId, groupId, roleId)))
    .executeTakeFirst();
  if (!row) throw grantNotFound(projectId, groupId, roleId);
}

/** The members' tokens on the project issued before the removal die. */
export async function unassignGroupRole(
  deps: IdentityDeps,
  caller: AuthContext,
  projectId: string,
  groupId: string,
  roleId: string,
): Promise<void> {
  requireAdmin(caller, 'revoke_grant');
  await grantTargets(deps, projectId, groupId, roleId);
  const res = await deps.db
    .deleteFrom('group_role_assignments')
    .where((eb) => eb.and(groupGrant(projectId, groupId, roleId)))
    .executeTakeFirst();
  if (Number(res.numDeletedRows) === 0) throw grantNotFound(projectId, groupId, roleId);
  const members = await memberIds(deps.db, groupId);
  for (const userId of members) await revokeTokensOf(deps, { userId, projectId });
  await dropCredentialsWithoutRoles(deps, members, [projectId]);
}

/** GET /v3/projects/{p}/groups/{g}/roles: the roles the group holds there. */
export async function listGroupGrants(deps: IdentityDeps, caller: AuthContext, projectId: string, groupId: string): Promise<RoleRow[]> {
  requireAdmin(caller, 'list_grants');
  await projectById(deps.db, projectId);
  await groupById(deps.db, groupId);
  return deps.db
    .selectFrom('group_role_assignments as ga')
    .innerJoin('roles as r', 'r.id', 'ga.role_id')
    .select(['r.id', 'r.name', 'r.domain_id', 'r.description'])
    .where('ga.project_id', '=', projectId)
    .where('ga.group_id', '=', groupId)
    .orderBy('r.name')
    .execute();
}
