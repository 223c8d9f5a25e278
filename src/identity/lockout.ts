// Keystone's [security_compliance] account lockout: after `failureAttempts` consecutive failed
// password checks the user is locked for `durationSeconds` (counted from the last failure), even
// with the right password. The count lives in the store, so a restart does not unlock anyone.
import type { Db } from '../store/db.ts';
import { IdentityError } from '../model/errors.ts';

export interface LockoutPolicy {
  /** Failures that lock the account; null: never locked (Keystone's default). */
  failureAttempts: number | null;
  durationSeconds: number;
}

/** Keystone's AccountLocked (a 401); like Keystone, it names the user's id. */
export const accountLocked = (userId: string) => new IdentityError(401, 'Unauthorized', `The account is locked for user: ${userId}.`);

/** True while the user is locked; an expired lock is cleared (as Keystone's _is_account_locked does). */
export async function isLocked(db: Db, policy: LockoutPolicy, userId: string, nowMs: number): Promise<boolean> {
  if (!policy.failureAttempts) return false;
  const row = await db.selectFrom('failed_auths').selectAll().where('user_id', '=', userId).executeTakeFirst();
  if (!row || row.failed_auth_count < policy.failureAttempts) return false;
  if (Date.parse(row.failed_auth_at) + policy.durationSeconds * 1000 > nowMs) return true;
  await clearFailures(db, userId);
  return false;
}

export async function recordFailure(db: Db, userId: string, nowMs: number): Promise<void> {
  const at = new Date(nowMs).toISOString();
  await db
    .insertInto('failed_auths')
    .values({ user_id: userId, failed_auth_count: 1, failed_auth_at: at })
    .onConflict((oc) =>
      oc.column('user_id').doUpdateSet((eb) => ({ failed_auth_count: eb('failed_auths.failed_auth_count', '+', 1), failed_auth_at: at })),
    )
    .execute();
}

export async function clearFailures(db: Db, userId: string): Promise<void> {
  await db.deleteFrom('failed_auths').where('user_id', '=', userId).execute();
}
