// Keystone's revocation events: "tokens of this user and/or project issued at or before T are dead".
// An event outlives the state that caused it, so a token stays dead when its user regains a role,
// is re-enabled, or its project is re-enabled; only tokens issued afterwards work.
import type { Db } from '../store/db.ts';
import type { TokenRow } from '../store/schema/index.ts';
import type { IdentityDeps } from './context.ts';

export interface RevocationTarget {
  userId?: string;
  projectId?: string;
}

/** Records the event (in `db`, which may be the caller's transaction) and drops the matching cached validations. */
export async function revokeTokensOf(deps: IdentityDeps, who: RevocationTarget, db: Db = deps.db): Promise<void> {
  if (who.userId === undefined && who.projectId === undefined) throw new Error('a revocation event needs a user or a project');
  await db
    .insertInto('revocation_events')
    .values({ user_id: who.userId ?? null, project_id: who.projectId ?? null, issued_before: new Date(deps.now()).toISOString() })
    .execute();
  deps.cache.invalidate(
    (e) => (who.userId === undefined || e.userId === who.userId) && (who.projectId === undefined || e.projectId === who.projectId),
  );
}

/** True when an event matches the token and came at or after its issue (Keystone: issued_at <= issued_before). */
export async function isRevokedByEvent(db: Db, token: Pick<TokenRow, 'user_id' | 'project_id' | 'issued_at'>): Promise<boolean> {
  const hit = await db
    .selectFrom('revocation_events')
    .select('id')
    .where('issued_before', '>=', token.issued_at)
    .where((eb) => eb.or([eb('user_id', 'is', null), eb('user_id', '=', token.user_id)]))
    .where((eb) => eb.or([eb('project_id', 'is', null), eb('project_id', '=', token.project_id ?? '')]))
    .limit(1)
    .executeTakeFirst();
  return hit !== undefined;
}

/** Events older than the longest-lived token can match nothing any more. */
export async function pruneRevocations(db: Db, olderThanMs: number): Promise<void> {
  await db.deleteFrom('revocation_events').where('issued_before', '<', new Date(olderThanMs).toISOString()).execute();
}
