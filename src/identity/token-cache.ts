// The cache of validated tokens, and the revocations that must keep it honest.
import type { AuthContext } from '../model/context.ts';

const CACHE_MAX = 50_000;

export interface CacheEntry {
  ctx: AuthContext;
  expiresMs: number;
  userId: string;
  projectId: string;
  /** The application credential the token came from, if any. */
  applicationCredentialId?: string;
}

/** Token hash → the caller it authenticates, until the token expires or something invalidates it. */
export class TokenCache {
  private readonly entries = new Map<string, CacheEntry>();
  /** Bumped on every invalidation so a validation racing with it does not cache a stale answer. */
  private generation = 0;

  /** The cached caller; null when the entry has expired (and is dropped); undefined when not cached. */
  lookup(hash: string, now: number): AuthContext | null | undefined {
    const hit = this.entries.get(hash);
    if (!hit) return undefined;
    if (hit.expiresMs > now) return hit.ctx;
    this.entries.delete(hash);
    return null;
  }

  /** Taken before reading the database; `remember` ignores the answer if an invalidation came in between. */
  mark(): number {
    return this.generation;
  }

  remember(mark: number, hash: string, entry: CacheEntry, now: number): void {
    if (mark !== this.generation) return;
    if (this.entries.size >= CACHE_MAX) this.sweep(now);
    this.entries.set(hash, entry);
  }

  /** Drops one token's cached validation. */
  forget(hash: string): void {
    this.generation++;
    this.entries.delete(hash);
  }

  /** Drops cached validations; the next use of those tokens re-reads the database. */
  invalidate(match: (e: CacheEntry) => boolean): void {
    this.generation++;
    for (const [hash, entry] of this.entries) if (match(entry)) this.entries.delete(hash);
  }

  private sweep(now: number): void {
    for (const [hash, entry] of this.entries) if (entry.expiresMs <= now) this.entries.delete(hash);
    // Still full of live tokens: forget the oldest validations (they are simply re-read on next use).
    let excess = this.entries.size - CACHE_MAX + 1;
    for (const hash of this.entries.keys()) {
      if (excess-- <= 0) break;
      this.entries.delete(hash);
    }
  }
}
