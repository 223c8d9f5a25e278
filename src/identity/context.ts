// What every identity module shares: the store, the clock, the token cache and the password guard, ids, names and the admin check.
import { createHash, randomUUID } from 'node:crypto';
import type { AuthContext } from '../model/context.ts';
import type { Db } from '../store/db.ts';
import { forbiddenAction } from './errors.ts';
import type { PasswordGuard } from './password-guard.ts';
import type { TokenCache } from './token-cache.ts';

export const DEFAULT_DOMAIN_ID = 'default';

/** The identity service's state, handed to each of its modules. */
export interface IdentityDeps {
  db: Db;
  /** Clock in epoch milliseconds. */
  now: () => number;
  cache: TokenCache;
  passwords: PasswordGuard;
}

export interface Named {
  id: string;
  name: string;
}
export interface ScopedRef extends Named {
  domain: Named;
}

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
export const newId = () => randomUUID().replace(/-/g, '');
export const named = (r: { id: string; name: string }): Named => ({ id: r.id, name: r.name });
/** The clock's time as stored in `created_at` columns. */
export const isoNow = (deps: IdentityDeps) => new Date(deps.now()).toISOString();
/** Keystone's timestamp format: `2026-11-26T16:57:21.000000Z`. */
export const keystoneTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export function requireAdmin(caller: AuthContext, action: string): void {
  if (!caller.isAdmin) throw forbiddenAction(`identity:${action}`);
}
