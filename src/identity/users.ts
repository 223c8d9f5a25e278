// User administration: create, list, show, update, delete, and the self-service password change.
import { unitOfWork } from '../store/unit-of-work.ts';
import type { AuthContext } from '../model/context.ts';
import type { UserRow } from '../store/schema/index.ts';
import { DEFAULT_DOMAIN_ID, isoNow, newId, requireAdmin, type IdentityDeps } from './context.ts';
import { forbiddenAction, validationError } from './errors.ts';
import { assertUniqueName, domainById, insertUnique, projectById, userById } from './lookup.ts';
import { clearFailures } from './lockout.ts';
import type { UserCreate, UserUpdate } from './schemas.ts';
import type { ProjectFilters } from './projects.ts';
import { revokeTokensOf } from './revocation.ts';

export type UserFilters = ProjectFilters;

export async function createUser(deps: IdentityDeps, caller: AuthContext, input: UserCreate): Promise<UserRow> {
  requireAdmin(caller, 'create_user');
  const domainId = input.domain_id ?? DEFAULT_DOMAIN_ID;
  await domainById(deps.db, domainId);
  if (input.default_project_id) await projectById(deps.db, input.default_project_id);
  const row: UserRow = {
    id: newId(),
    name: input.name,
    domain_id: domainId,
    password_hash: input.password == null ? null : await deps.passwords.hash(input.password),
    enabled: input.enabled === false ? 0 : 1,
    default_project_id: input.default_project_id ?? null,
    description: input.description ?? '',
    email: input.email ?? null,
    created_at: isoNow(deps),
  };
  await assertUniqueName(deps.db, 'user', row.name, domainId);
  await insertUnique('user', row.name, domainId, () => deps.db.insertInto('users').values(row).execute());
  return row;
}

export async function listUsers(deps: IdentityDeps, caller: AuthContext, filters: UserFilters = {}): Promise<UserRow[]> {
  requireAdmin(caller, 'list_users');
  let q = deps.db.selectFrom('users').selectAll().orderBy('name');
  if (filters.name !== undefined) q = q.where('name', '=', filters.name);
  if (filters.domain_id !== undefined) q = q.where('domain_id', '=', filters.domain_id);
  if (filters.enabled !== undefined) q = q.where('enabled', '=', filters.enabled ? 1 : 0);
  return q.execute();
}

export async function getUser(deps: IdentityDeps, caller: AuthContext, id: string): Promise<UserRow> {
  if (caller.userId !== id) requireAdmin(caller, 'get_user');
  return userById(deps.db, id);
}

/** The user row after `patch` (hashing a new password). */
async function patchedUser(deps: IdentityDeps, current: UserRow, patch: UserUpdate): Promise<UserRow> {
  return {
    ...current,
    name: patch.name ?? current.name,
    enabled: patch.enabled === undefined ? current.enabled : patch.enabled ? 1 : 0,
    default_project_id: patch.default_project_id === undefined ? current.default_project_id : patch.default_project_id,
    description: patch.description === undefined ? current.description : (patch.description ?? ''),
    email: patch.email === undefined ? current.email : patch.email,
    password_hash:
      patch.password === undefined ? current.password_hash : patch.password === null ? null : await deps.passwords.hash(patch.password),
  };
}

/** A password change or disabling the user revokes the user's tokens, as Keystone does; an enabled user is unlocked. */
export async function updateUser(deps: IdentityDeps, caller: AuthContext, id: string, patch: UserUpdate): Promise<UserRow> {
  requireAdmin(caller, 'update_user');
  const current = await userById(deps.db, id);
  if (patch.domain_id !== undefined && patch.domain_id !== current.domain_id) {
    throw validationError('Cannot change Domain ID');
  }
  if (patch.default_project_id) await projectById(deps.db, patch.default_project_id);
  const next = await patchedUser(deps, current, patch);
  if (next.name !== current.name) await assertUniqueName(deps.db, 'user', next.name, current.domain_id);
  const { id: _id, created_at: _c, domain_id: _d, ...fields } = next;
  await insertUnique('user', next.name, current.domain_id, () => deps.db.updateTable('users').set(fields).where('id', '=', id).execute());
  // As in Keystone, any update that leaves the user enabled unlocks it (PATCH {"enabled": true} is the way).
  if (next.enabled) await clearFailures(deps.db, id);
  if ((current.enabled && !next.enabled) || patch.password !== undefined) await revokeTokensOf(deps, { userId: id });
  else if (next.name !== current.name) deps.cache.invalidate((e) => e.userId === id);
  return next;
}

/** POST /v3/users/{id}/password: self-service change, proven by the original password. */
export async function changePassword(
  deps: IdentityDeps,
  caller: AuthContext,
  id: string,
  original: string,
  password: string,
): Promise<void> {
  if (caller.userId !== id) throw forbiddenAction('identity:change_password');
  await deps.passwords.check(await userById(deps.db, id), id, original);
  await deps.db
    .updateTable('users')
    .set({ password_hash: await deps.passwords.hash(password) })
    .where('id', '=', id)
    .execute();
  await revokeTokensOf(deps, { userId: id });
}

export async function deleteUser(deps: IdentityDeps, caller: AuthContext, id: string): Promise<void> {
  requireAdmin(caller, 'delete_user');
  await userById(deps.db, id);
  await unitOfWork(deps.db, async (trx) => {
    await trx.deleteFrom('role_assignments').where('user_id', '=', id).execute();
    await revokeTokensOf(deps, { userId: id }, trx);
    await trx.deleteFrom('users').where('id', '=', id).execute();
  });
}
