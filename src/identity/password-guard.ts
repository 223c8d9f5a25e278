// Password checks against guessing: every check of a user's password (token requests and the
// self-service password change) runs in that user's back-off turn and under Keystone's lockout.
import type { Db } from '../store/db.ts';
import type { UserRow } from '../store/schema/index.ts';
import { IdentityError } from '../model/errors.ts';
import { unauthorized } from './errors.ts';
import { accountLocked, clearFailures, isLocked, recordFailure, type LockoutPolicy } from './lockout.ts';
import { LoginThrottle, ThrottledError, type BackoffPolicy } from './login-throttle.ts';
import { decoyHash, hashPassword, verifyPassword } from './password.ts';
import { DEFAULT_HASH_ROUNDS } from './hash-rounds.ts';

export interface PasswordGuardOptions {
  lockout: LockoutPolicy;
  backoff: BackoffPolicy;
  /** log2 of scrypt's N for new hashes ([identity] password_hash_rounds); default DEFAULT_HASH_ROUNDS */
  hashRounds?: number;
}

const isFailedLogin = (err: unknown) => err instanceof IdentityError && err.status === 401;

export class PasswordGuard {
  private readonly throttle: LoginThrottle;

  private readonly db: Db;
  private readonly now: () => number;
  private readonly opts: PasswordGuardOptions;

  constructor(db: Db, now: () => number, opts: PasswordGuardOptions) {
    this.db = db;
    this.now = now;
    this.opts = opts;
    this.throttle = new LoginThrottle(opts.backoff);
  }

  /** A new password's (or application credential secret's) hash, at the configured cost. */
  hash(password: string): Promise<string> {
    return hashPassword(password, this.rounds);
  }

  /** What an absent user's (or credential's) check verifies against: the same cost as a present one's. */
  decoy(): Promise<string> {
    return decoyHash(this.rounds);
  }

  private get rounds(): number {
    return this.opts.hashRounds ?? DEFAULT_HASH_ROUNDS;
  }

  /**
   * Resolves when `password` is the user's; 401 otherwise. `user` is undefined when the request named
   * no existing user: `unknownKey` (what it named) then takes the user's place in the back-off, and the
   * check costs the same, so neither the answer nor its timing tells whether the user exists.
   */
  async check(user: UserRow | undefined, unknownKey: string, password: string): Promise<UserRow> {
    const key = user ? `user:${user.id}` : `unknown:${unknownKey}`;
    try {
      return await this.throttle.run(key, () => this.verify(user, password), isFailedLogin);
    } catch (err) {
      if (err instanceof ThrottledError) throw unauthorized();
      throw err;
    }
  }

  /** Keystone's order: a locked account is refused before its password is looked at. */
  private async verify(named: UserRow | undefined, password: string): Promise<UserRow> {
    // Read again: the row may have changed (password, enabled) while this attempt waited its turn.
    const user = named && (await this.db.selectFrom('users').selectAll().where('id', '=', named.id).executeTakeFirst());
    if (user && (await isLocked(this.db, this.opts.lockout, user.id, this.now()))) throw accountLocked(user.id);
    const ok = await verifyPassword(password, user?.password_hash ?? (await this.decoy()));
    if (!ok || !user?.password_hash) {
      if (user) await recordFailure(this.db, user.id, this.now());
      throw unauthorized();
    }
    await clearFailures(this.db, user.id);
    return user;
  }
}
