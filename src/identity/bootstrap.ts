// keystone-manage bootstrap: the Default domain, admin/member/reader roles, and the admin project and user.
import { unitOfWork } from '../store/unit-of-work.ts';
import type { Transaction } from 'kysely';
import type { Database } from '../store/schema/index.ts';
import { DEFAULT_DOMAIN_ID, isoNow, newId, type IdentityDeps } from './context.ts';

type Trx = Transaction<Database>;

/** Idempotent: creates what is missing; the admin password is set only when the user is created. */
export async function bootstrap(deps: IdentityDeps, adminPassword: string): Promise<void> {
  const hash = await deps.passwords.hash(adminPassword);
  const created = isoNow(deps);
  await unitOfWork(deps.db, async (trx) => {
    await trx
      .insertInto('domains')
      .values({ id: DEFAULT_DOMAIN_ID, name: 'Default', description: 'The default domain', enabled: 1 })
      .onConflict((oc) => oc.doNothing())
      .execute();
    const roleIds = await ensureRoles(trx, ['admin', 'member', 'reader']);
    const projectId = await ensureAdminProject(trx, created);
    const userId = await ensureAdminUser(trx, created, hash, projectId);
    await trx
      .insertInto('role_assignments')
      .values({ target_type: 'project', target_id: projectId, user_id: userId, role_id: roleIds.admin })
      .onConflict((oc) => oc.doNothing())
      .execute();
  });
}

/** False on a fresh database that nobody bootstrapped: no one can authenticate yet. */
export async function hasUsers(deps: IdentityDeps): Promise<boolean> {
  return (await deps.db.selectFrom('users').select('id').limit(1).executeTakeFirst()) !== undefined;
}

/** Role name → id, creating the missing roles. */
async function ensureRoles(trx: Trx, names: string[]): Promise<Record<string, string>> {
  const roleIds: Record<string, string> = {};
  for (const name of names) {
    let role = await trx.selectFrom('roles').select('id').where('name', '=', name).executeTakeFirst();
    if (!role) {
      role = { id: newId() };
      await trx.insertInto('roles').values({ id: role.id, name, domain_id: null, description: '' }).execute();
    }
    roleIds[name] = role.id;
  }
  return roleIds;
}

/** The id of the row named `admin` in the Default domain, if there is one. */
async function adminRowId(trx: Trx, table: 'projects' | 'users'): Promise<string | undefined> {
  const row = await trx
    .selectFrom(table)
    .select('id')
    .where('domain_id', '=', DEFAULT_DOMAIN_ID)
    .where('name', '=', 'admin')
    .executeTakeFirst();
  return row?.id;
}

async function ensureAdminProject(trx: Trx, created: string): Promise<string> {
  const existing = await adminRowId(trx, 'projects');
  if (existing !== undefined) return existing;
  const id = newId();
  await trx
    .insertInto('projects')
    .values({
      id,
      name: 'admin',
      domain_id: DEFAULT_DOMAIN_ID,
      description: 'Bootstrap project for initializing the cloud.',
      enabled: 1,
      created_at: created,
    })
    .execute();
  return id;
}

async function ensureAdminUser(trx: Trx, created: string, passwordHash: string, projectId: string): Promise<string> {
  const existing = await adminRowId(trx, 'users');
  if (existing !== undefined) return existing;
  const id = newId();
  await trx
    .insertInto('users')
    .values({
      id,
      name: 'admin',
      domain_id: DEFAULT_DOMAIN_ID,
      password_hash: passwordHash,
      enabled: 1,
      default_project_id: projectId,
      description: '',
      email: null,
      created_at: created,
    })
    .execute();
  return id;
}
