// Application credentials (Keystone's keystone/application_credential and api/users.py): a user
// creates a named secret bound to the project of the token used and to a subset of that token's
// roles (implied roles added), optionally expiring. Authenticating with it gives a token scoped to
// that project with those of its roles the user still holds; the secret is stored hashed and shown
// only once. A restricted credential's token may not manage credentials; deleting one kills its tokens.
import { randomBytes } from 'node:crypto';
import type { AuthContext } from '../model/context.ts';
import { IdentityError } from '../model/errors.ts';
import type { ApplicationCredentialRow, RoleRow, UserRow } from '../store/schema/index.ts';
import { isoNow, newId, type IdentityDeps } from './context.ts';
import { duplicateName, forbiddenAction, isUniqueViolation, notFoundError, validationError } from './errors.ts';
import { findPasswordUser } from './auth-request.ts';
import { verifyPassword } from './password.ts';
import { effectiveRoles, impliedRoles } from './roles.ts';
import type { AppCredAuth, AppCredCreate } from './schemas.ts';

export interface ApplicationCredential {
  row: ApplicationCredentialRow;
  roles: RoleRow[];
}

const invalid = (detail: string) => validationError(`Invalid application credential: ${detail}`);
const authError = (detail: string) => new IdentityError(401, 'Unauthorized', `Error authenticating with application credential: ${detail}`);
const credentialNotFound = (id: string) => notFoundError('Application Credential', id);

/** Keystone's generated secret: 64 random bytes, base64url without padding. */
const newSecret = () => randomBytes(64).toString('base64url');

/** A token of a restricted credential may not create or delete credentials. */
function requireUnrestricted(caller: AuthContext): void {
  if (caller.applicationCredential && !caller.applicationCredential.unrestricted) {
    throw forbiddenAction("Using method 'application_credential' is not allowed for managing additional application credentials");
  }
}

/** The owner, or an admin for reading and deleting (Keystone's default rules). */
function requireOwnerOrAdmin(caller: AuthContext, userId: string, action: string): void {
  if (caller.userId !== userId && !caller.isAdmin) throw forbiddenAction(`identity:${action}`);
}

async function rolesOf(deps: IdentityDeps, credIds: string[]): Promise<Map<string, RoleRow[]>> {
  const out = new Map<string, RoleRow[]>();
  if (!credIds.length) return out;
  const rows = await deps.db
    .selectFrom('application_credential_roles as acr')
    .innerJoin('roles as r', 'r.id', 'acr.role_id')
    .select(['acr.application_credential_id as cred', 'r.id', 'r.name', 'r.domain_id', 'r.description'])
    .where('acr.application_credential_id', 'in', credIds)
    .orderBy('r.name')
    .execute();
  for (const { cred, ...role } of rows) out.set(cred, [...(out.get(cred) ?? []), role]);
  return out;
}

/** The requested roles (by id or name) with the roles they imply; each must be among the token's. */
async function chosenRoles(deps: IdentityDeps, caller: AuthContext, wanted: AppCredCreate['roles']): Promise<RoleRow[]> {
  const held = await deps.db.selectFrom('roles').selectAll().where('name', 'in', caller.roles).execute();
  if (!wanted?.length) return held;
  const picked: RoleRow[] = [];
  for (const ref of wanted) {
    const q = deps.db.selectFrom('roles').selectAll();
    const role = ref.id
      ? await q.where('id', '=', ref.id).executeTakeFirst()
      : ref.name
        ? await q.where('name', '=', ref.name).executeTakeFirst()
        : undefined;
    if (!role && !ref.id && ref.name) throw notFoundError('role', ref.name);
    if (!role || !held.some((h) => h.id === role.id)) throw invalid('Cannot create an application credential with unassigned role');
    if (!picked.some((p) => p.id === role.id)) picked.push(role);
  }
  for (const implied of await impliedRoles(deps.db, picked)) if (!picked.some((p) => p.id === implied.id)) picked.push(implied);
  // A role implied by a requested one must be in the token too (it is, when the token carries implied roles).
  if (!picked.every((p) => held.some((h) => h.id === p.id))) throw invalid('Cannot create an application credential with unassigned role');
  return picked;
}

function expiry(deps: IdentityDeps, expiresAt: string | null | undefined): string | null {
  if (expiresAt == null) return null;
  // Keystone reads a time without a zone as UTC.
  const ms = Date.parse(/(Z|[+-]\d\d:?\d\d)$/i.test(expiresAt) ? expiresAt : `${expiresAt}Z`);
  if (Number.isNaN(ms)) throw validationError(`Invalid input for field 'expires_at': '${expiresAt}' is not a 'date-time'`);
  if (ms <= deps.now()) {
    throw validationError(
      "The 'expires_at' must not be before now. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.",
    );
  }
  return new Date(ms).toISOString();
}

/** POST /v3/users/{user_id}/application_credentials: the new credential and its secret (shown this once). */
export async function createApplicationCredential(
  deps: IdentityDeps,
  caller: AuthContext,
  userId: string,
  input: AppCredCreate,
): Promise<ApplicationCredential & { secret: string }> {
  if (caller.userId !== userId) throw forbiddenAction('identity:create_application_credential');
  requireUnrestricted(caller);
  if (input.access_rules?.length) throw invalid('access rules are not supported by this identity service');
  const roles = await chosenRoles(deps, caller, input.roles);
  const secret = input.secret || newSecret();
  const row: ApplicationCredentialRow = {
    id: newId(),
    name: input.name,
    description: input.description ?? null,
    user_id: userId,
    project_id: caller.projectId,
    secret_hash: await deps.passwords.hash(secret),
    expires_at: expiry(deps, input.expires_at),
    unrestricted: input.unrestricted ? 1 : 0,
    created_at: isoNow(deps),
  };
  try {
    await deps.db.transaction().execute(async (tx) => {
      await tx.insertInto('application_credentials').values(row).execute();
      await tx
        .insertInto('application_credential_roles')
        .values(roles.map((r) => ({ application_credential_id: row.id, role_id: r.id })))
        .execute();
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw duplicateName('application_credential', row.name);
    throw e;
  }
  return { row, roles, secret };
}

export async function listApplicationCredentials(
  deps: IdentityDeps,
  caller: AuthContext,
  userId: string,
  name?: string,
): Promise<ApplicationCredential[]> {
  requireOwnerOrAdmin(caller, userId, 'list_application_credentials');
  let q = deps.db.selectFrom('application_credentials').selectAll().where('user_id', '=', userId).orderBy('name');
  if (name !== undefined) q = q.where('name', '=', name);
  const rows = await q.execute();
  const roles = await rolesOf(
    deps,
    rows.map((r) => r.id),
  );
  return rows.map((row) => ({ row, roles: roles.get(row.id) ?? [] }));
}

export async function getApplicationCredential(
  deps: IdentityDeps,
  caller: AuthContext,
  userId: string,
  id: string,
): Promise<ApplicationCredential> {
  requireOwnerOrAdmin(caller, userId, 'get_application_credential');
  const row = await deps.db
    .selectFrom('application_credentials')
    .selectAll()
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  if (!row) throw credentialNotFound(id);
  return { row, roles: (await rolesOf(deps, [id])).get(id) ?? [] };
}

/** Its tokens die with it: a token issued from a credential is only valid while the credential exists. */
export async function deleteApplicationCredential(deps: IdentityDeps, caller: AuthContext, userId: string, id: string): Promise<void> {
  requireOwnerOrAdmin(caller, userId, 'delete_application_credential');
  requireUnrestricted(caller);
  const res = await deps.db.deleteFrom('application_credentials').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
  if (Number(res.numDeletedRows) === 0) throw credentialNotFound(id);
  deps.cache.invalidate((e) => e.applicationCredentialId === id);
}

/** A grant of the user on the project was removed: the user's credentials for that project go (as Keystone does). */
export async function deleteCredentialsOnProject(deps: IdentityDeps, userId: string, projectId: string): Promise<void> {
  await deps.db.deleteFrom('application_credentials').where('user_id', '=', userId).where('project_id', '=', projectId).execute();
}

/** The credential an `application_credential` auth request names, proven by its secret; 401 otherwise. */
export async function proveApplicationCredential(
  deps: IdentityDeps,
  auth: AppCredAuth,
  hasScope: boolean,
): Promise<{ cred: ApplicationCredentialRow; user: UserRow }> {
  if (hasScope) throw authError('Application credentials cannot request a scope.');
  let cred: ApplicationCredentialRow | undefined;
  if (auth.id) {
    cred = await deps.db.selectFrom('application_credentials').selectAll().where('id', '=', auth.id).executeTakeFirst();
  } else if (auth.name) {
    // By name: the owner is named like a password user (id, or name and domain).
    if (!auth.user) throw validationError('Expecting to find user in application credential.');
    const owner = await findPasswordUser(deps.db, { ...auth.user, password: '' });
    cred = owner
      ? await deps.db
          .selectFrom('application_credentials')
          .selectAll()
          .where('user_id', '=', owner.id)
          .where('name', '=', auth.name)
          .executeTakeFirst()
      : undefined;
  } else {
    throw validationError('Expecting to find id or name in application credential.');
  }
  // Unknown credentials cost a hash check too, so timing does not tell which ids exist.
  const matches = await verifyPassword(auth.secret, cred?.secret_hash ?? (await deps.passwords.decoy()));
  if (!cred || !matches || isExpired(deps, cred)) throw authError('Invalid application credential ID or secret');
  const user = await deps.db.selectFrom('users').selectAll().where('id', '=', cred.user_id).executeTakeFirst();
  if (!user) throw authError('Invalid application credential ID or secret');
  return { cred, user };
}

export const isExpired = (deps: IdentityDeps, cred: Pick<ApplicationCredentialRow, 'expires_at'>): boolean =>
  cred.expires_at !== null && Date.parse(cred.expires_at) <= deps.now();

/** The credential's roles the user still holds on its project (Keystone's token model). */
export async function credentialTokenRoles(deps: IdentityDeps, cred: ApplicationCredentialRow): Promise<RoleRow[]> {
  const granted = (await rolesOf(deps, [cred.id])).get(cred.id) ?? [];
  const held = new Set((await effectiveRoles(deps.db, cred.user_id, cred.project_id)).map((r) => r.id));
  return granted.filter((r) => held.has(r.id));
}
