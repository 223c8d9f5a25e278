// Who a POST /v3/auth/tokens request is: the password user it names, and the project it scopes to.
import type { Db } from '../store/db.ts';
import type { ProjectRow, UserRow } from '../store/schema/index.ts';
import { enabledDomainId } from './domains.ts';
import { unauthorized, validationError } from './errors.ts';
import type { AuthRequest } from './schemas.ts';

export type PasswordUserRef = NonNullable<AuthRequest['auth']['identity']['password']>['user'];

/** The user named by id, or by name within an enabled domain (undefined when there is none); 400 for a malformed reference. */
export async function findPasswordUser(db: Db, ref: PasswordUserRef): Promise<UserRow | undefined> {
  if (ref.id) return db.selectFrom('users').selectAll().where('id', '=', ref.id).executeTakeFirst();
  if (!ref.name) throw validationError('Expecting to find id or name in user.');
  if (!ref.domain || (!ref.domain.id && !ref.domain.name)) {
    throw validationError(
      'Expecting to find domain in user. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.',
    );
  }
  const domainId = await enabledDomainId(db, ref.domain);
  if (!domainId) return undefined;
  return db.selectFrom('users').selectAll().where('domain_id', '=', domainId).where('name', '=', ref.name).executeTakeFirst();
}

/** The enabled project the request scopes to (by default the user's default project), or 401. */
export async function scopeProject(db: Db, scope: AuthRequest['auth']['scope'], user: UserRow): Promise<ProjectRow> {
  let project: ProjectRow | undefined;
  if (scope && scope !== 'unscoped' && scope.project) {
    project = await namedProject(db, scope.project);
  } else if (scope === undefined && user.default_project_id) {
    // Keystone scopes an unscoped request to the user's default project; neutrino has no unscoped tokens.
    project = await db.selectFrom('projects').selectAll().where('id', '=', user.default_project_id).executeTakeFirst();
  }
  if (!project || !project.enabled) throw unauthorized();
  return project;
}

type ProjectRef = NonNullable<Exclude<AuthRequest['auth']['scope'], 'unscoped' | undefined>['project']>;

/** The project named by id, or by name within an enabled domain. */
async function namedProject(db: Db, ref: ProjectRef): Promise<ProjectRow | undefined> {
  if (ref.id) return db.selectFrom('projects').selectAll().where('id', '=', ref.id).executeTakeFirst();
  if (ref.name && ref.domain && (ref.domain.id || ref.domain.name)) {
    const domainId = await enabledDomainId(db, ref.domain);
    if (!domainId) return undefined;
    return db.selectFrom('projects').selectAll().where('domain_id', '=', domainId).where('name', '=', ref.name).executeTakeFirst();
  }
  throw validationError('Expecting to find id or name and domain in project.');
}
