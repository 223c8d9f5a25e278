// Keystone's groups (keystone/identity/core.py): named per domain, holding users. A member holds
// the group's roles on projects (group-grants.ts); leaving a group or its deletion revokes the
// member's tokens, as Keystone does.
import { unitOfWork } from '../store/unit-of-work.ts';
import type { AuthContext } from '../model/context.ts';
import { IdentityError } from '../model/errors.ts';
import type { Db } from '../store/db.ts';
import type { GroupRow, UserRow } from '../store/schema/index.ts';
import { DEFAULT_DOMAIN_ID, newId, requireAdmin, type IdentityDeps } from './context.ts';
import { duplicateName, validationError } from './errors.ts';
import { domainById, groupById, insertUnique, userById } from './lookup.ts';
import { dropCredentialsWithoutRoles, groupGrantProjects, memberIds } from './group-grants.ts';
import { revokeTokensOf } from './revocation.ts';
import type { GroupCreate, GroupUpdate } from './schemas.ts';

export interface GroupFilters {
  name?: string;
  domain_id?: string;
}

async function assertUniqueGroupName(db: Db, name: string, domainId: string): Promise<void> {
  const row = await db.selectFrom('groups').select('id').where('domain_id', '=', domainId).where('name', '=', name).executeTakeFirst();
  if (row) throw duplicateName('group', name, domainId);
}

export async function createGroup(deps: IdentityDeps, caller: AuthContext, input: GroupCreate): Promise<GroupRow> {
  requireAdmin(caller, 'create_group');
  const row: GroupRow = {
    id: newId(),
    name: input.name,
    domain_id: input.domain_id ?? DEFAULT_DOMAIN_ID,
    description: input.description ?? '',
  };
  await domainById(deps.db, row.domain_id);
  await assertUniqueGroupName(deps.db, row.name, row.domain_id);
  await insertUnique('group', row.name, row.domain_id, () => deps.db.insertInto('groups').values(row).execute());
  return row;
}

export async function listGroups(deps: IdentityDeps, caller: AuthContext, filters: GroupFilters = {}): Promise<GroupRow[]> {
  requireAdmin(caller, 'list_groups');
  let q = deps.db.selectFrom('groups').selectAll().orderBy('name');
  if (filters.name !== undefined) q = q.where('name', '=', filters.name);
  if (filters.domain_id !== undefined) q = q.where('domain_id', '=', filters.domain_id);
  return q.execute();
}

export async function getGroup(deps: IdentityDeps, caller: AuthContext, id: string): Promise<GroupRow> {
  requireAdmin(caller, 'get_group');
  return groupById(deps.db, id);
}

export async function updateGroup(deps: IdentityDeps, caller: AuthContext, id: string, patch: GroupUpdate): Promise<GroupRow> {
  requireAdmin(caller, 'update_group');
  const current = await groupById(deps.db, id);
  if (patch.domain_id !== undefined && patch.domain_id !== current.domain_id) throw validationError('Cannot change Domain ID');
  const next: GroupRow = {
    ...current,
    name: patch.name ?? current.name,
    description: patch.description === undefined ? current.description : (patch.description ?? ''),
  };
  if (next.name !== current.name) await assertUniqueGroupName(deps.db, next.name, current.domain_id);
  await insertUnique('group', next.name, current.domain_id, () =>
    deps.db.updateTable('groups').set({ name: next.name, description: next.description }).where('id', '=', id).execute(),
  );
  return next;
}

/** The members lose the group's roles: their tokens die if the group held any (Keystone's rule). */
export async function deleteGroup(deps: IdentityDeps, caller: AuthContext, id: string): Promise<void> {
  requireAdmin(caller, 'delete_group');
  await groupById(deps.db, id);
  const [members, projects] = await Promise.all([memberIds(deps.db, id), groupGrantProjects(deps.db, id)]);
  await unitOfWork(deps.db, async (trx) => {
    await trx.deleteFrom('group_role_assignments').where('group_id', '=', id).execute();
    await trx.deleteFrom('group_memberships').where('group_id', '=', id).execute();
    await trx.deleteFrom('groups').where('id', '=', id).execute();
    if (projects.length) for (const userId of members) await revokeTokensOf(deps, { userId }, trx);
  });
  await dropCredentialsWithoutRoles(deps, members, projects);
}

const notMember = (userId: string, groupId: string) =>
  new IdentityError(404, 'Not Found', `User '${userId}' not found in group '${groupId}'`);

/** PUT /v3/groups/{g}/users/{u}: idempotent; the user's cached validations pick up the group's roles. */
export async function addUserToGroup(deps: IdentityDeps, caller: AuthContext, groupId: string, userId: string): Promise<void> {
  requireAdmin(caller, 'add_user_to_group');
  await groupById(deps.db, groupId);
  await userById(deps.db, userId);
  await deps.db
    .insertInto('group_memberships')
    .values({ group_id: groupId, user_id: userId })
    .onConflict((oc) => oc.doNothing())
    .execute();
  deps.cache.invalidate((e) => e.userId === userId);
}

async function membership(db: Db, groupId: string, userId: string) {
  return db
    .selectFrom('group_memberships')
    .select('user_id')
    .where('group_id', '=', groupId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
}

/** HEAD /v3/groups/{g}/users/{u}: resolves for a member, 404 otherwise. */
export async function checkUserInGroup(deps: IdentityDeps, caller: AuthContext, groupId: string, userId: string): Promise<void> {
  requireAdmin(caller, 'check_user_in_group');
  await groupById(deps.db, groupId);
  await userById(deps.db, userId);
  if (!(await membership(deps.db, groupId, userId))) throw notMember(userId, groupId);
}

/** The user's tokens die (Keystone revokes them all), and its credentials on projects where it now holds no role go. */
export async function removeUserFromGroup(deps: IdentityDeps, caller: AuthContext, groupId: string, userId: string): Promise<void> {
  requireAdmin(caller, 'remove_user_from_group');
  await groupById(deps.db, groupId);
  await userById(deps.db, userId);
  const res = await deps.db
    .deleteFrom('group_memberships')
    .where('group_id', '=', groupId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  if (Number(res.numDeletedRows) === 0) throw notMember(userId, groupId);
  await revokeTokensOf(deps, { userId });
  await dropCredentialsWithoutRoles(deps, [userId], await groupGrantProjects(deps.db, groupId));
}

/** GET /v3/groups/{g}/users. */
export async function listUsersInGroup(deps: IdentityDeps, caller: AuthContext, groupId: string): Promise<UserRow[]> {
  requireAdmin(caller, 'list_users_in_group');
  await groupById(deps.db, groupId);
  return deps.db
    .selectFrom('users')
    .selectAll()
    .where('id', 'in', (eb) => eb.selectFrom('group_memberships').select('user_id').where('group_id', '=', groupId))
    .orderBy('name')
    .execute();
}

/** GET /v3/users/{u}/groups: the user's own, or any for an admin. */
export async function listGroupsForUser(deps: IdentityDeps, caller: AuthContext, userId: string): Promise<GroupRow[]> {
  if (caller.userId !== userId) requireAdmin(caller, 'list_groups_for_user');
  await userById(deps.db, userId);
  return deps.db
    .selectFrom('groups')
    .selectAll()
    .where('id', 'in', (eb) => eb.selectFrom('group_memberships').select('group_id').where('user_id', '=', userId))
    .orderBy('name')
    .execute();
}
