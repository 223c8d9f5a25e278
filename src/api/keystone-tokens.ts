// Callers' tokens checked against an existing Keystone, with keystonemiddleware's cache: a result,
// valid or not, is reused for at most token_cache_time (and never past the token's own expiry), so a
// token revoked in Keystone is refused here within that bound. Keystone being unable to answer is
// not a result: it is neither cached nor turned into a refusal (the caller answers 503).
import { createHash } from 'node:crypto';
import type { ValidatedToken } from '../client/keystone.ts';
import { authContext, type AuthContext } from '../model/context.ts';

export interface TokenCacheOptions {
  /** Asks Keystone: the caller's context, or null when the token is not valid; throws when Keystone cannot answer. */
  validate: (token: string) => Promise<AuthContext | null>;
  /** How long a result is reused (token_cache_time), in ms; 0 asks Keystone every time. */
  cacheTimeMs: number;
  /** Most results kept; past it the oldest go first. */
  maxEntries: number;
  now?: () => number;
}

interface Entry {
  ctx: AuthContext | null;
  until: number;
}

export class CachedTokenValidation {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<AuthContext | null>>();
  private readonly now: () => number;

  private readonly opts: TokenCacheOptions;

  constructor(opts: TokenCacheOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
  }

  /** Results held now (expired ones included until they are looked up or pushed out). */
  get size(): number {
    return this.entries.size;
  }

  /** The token's context, or null when Keystone said it is not valid. */
  async authenticate(token: string): Promise<AuthContext | null> {
    // Kept by hash: the cache holds no usable token.
    const key = createHash('sha256').update(token).digest('base64');
    const hit = this.entries.get(key);
    if (hit && this.now() < hit.until) return hit.ctx;
    if (hit) this.entries.delete(key);
    // Requests arriving together with one new token share one validation.
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.validateAndKeep(key, token).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private async validateAndKeep(key: string, token: string): Promise<AuthContext | null> {
    // The bound counts from before the question: Keystone's answer may already be that old.
    const asked = this.now();
    const ctx = await this.opts.validate(token);
    if (this.opts.cacheTimeMs > 0) {
      // A valid token's result ends with the token; one whose expiry cannot be read is not kept.
      const expires = ctx ? Date.parse(ctx.expiresAt) : Infinity;
      const until = Math.min(asked + this.opts.cacheTimeMs, Number.isNaN(expires) ? asked : expires);
      if (until > asked) this.keep(key, { ctx, until });
    }
    return ctx;
  }

  private keep(key: string, entry: Entry): void {
    this.entries.delete(key);
    while (this.entries.size >= this.opts.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, entry);
  }
}

/**
 * The policy context of a validated token: its user, project and role names (Keystone's admin,
 * member, reader; admin is admin everywhere, as in Neutron's legacy policy). Null for a token with no
 * project scope: every resource here belongs to a project.
 */
export function contextOfToken(token: ValidatedToken): AuthContext | null {
  if (!token.project?.id) return null;
  return authContext({
    userId: token.user.id,
    userName: token.user.name ?? '',
    projectId: token.project.id,
    projectName: token.project.name ?? '',
    roles: (token.roles ?? []).map((r) => r.name),
    expiresAt: token.expires_at,
  });
}
