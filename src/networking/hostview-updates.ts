// What an agent holding its host view gets when the change feed moves: a delta from the view it
// holds to the current one, or the whole view when the server cannot make one (the base is not held
// here, the feed no longer holds the revisions after it, or the delta would not be smaller).
import { sql } from 'kysely';
import type { HostView } from '../model/hostview.ts';
import { diffHostViews, type HostViewDelta } from '../model/hostview-delta.ts';
import { emptyNotes, hostViewDeps, type HostViewDeps } from '../model/hostview-deps.ts';
import { concerns } from '../model/change-scope.ts';
import { NeutronError } from '../model/errors.ts';
import { isPostgres } from '../store/dialect.ts';
import { unitOfWork, type Reader } from '../store/unit-of-work.ts';
import type { Change, ChangeFeed, ChangePage } from './feed.ts';
import type { HeldView, HostViewCache } from './hostview-cache.ts';
import { ChangeScopes } from './change-scopes.ts';
import { HostViewWaiters } from './hostview-waiters.ts';
import { buildHostView } from './hostview.ts';
import { SnapshotMemo } from './hostview-memo.ts';
import { PortViewCache } from './port-view-cache.ts';

/** Why a whole view was sent instead of a delta. */
export type FullReason = 'first' | 'unknown-base' | 'expired' | 'larger';

export type HostViewAnswer = { tag: string; view: HostView; reason: FullReason } | { tag: string; delta: HostViewDelta };

export class HostViewUpdates {
  /** Shared by the views rebuilt at the newest revision (not by first fetches: those stand alone). */
  private memo: SnapshotMemo | null = null;
  /** Port views kept from one revision to the next (port-view-cache.ts). */
  private readonly ports = new PortViewCache();
  private readonly scopes: ChangeScopes;
  private readonly waiters: HostViewWaiters;

  private readonly db: Reader;
  private readonly feed: ChangeFeed;
  private readonly cache: HostViewCache;

  constructor(db: Reader, feed: ChangeFeed, cache: HostViewCache) {
    this.db = db;
    this.feed = feed;
    this.cache = cache;
    this.scopes = new ChangeScopes(db);
    this.waiters = new HostViewWaiters(feed, this.scopes);
  }

  /** The current view, whole. */
  async full(host: string, reason: FullReason = 'first', shared = false): Promise<HostViewAnswer & { view: HostView }> {
    const notes = emptyNotes();
    // One transaction and one snapshot (PostgreSQL reads each statement's own under its default
    // isolation): the view is consistent with the revision it reports, and a port listed is there to read.
    const view = await unitOfWork(this.db, async (tx) => {
      if (isPostgres(tx)) await sql`set transaction isolation level repeatable read`.execute(tx);
      const head = await this.feed.head(tx);
      await this.ports.sync(tx, head);
      return buildHostView(tx, host, head, shared ? this.memoAt(head) : new SnapshotMemo(head, this.ports), notes);
    });
    return { tag: this.cache.remember(view, hostViewDeps(view, notes)), view, reason };
  }

  /**
   * Waits up to `waitMs` for a change after `since` that concerns the view held under `tag` at
   * `since`, then answers what changed in it; an empty delta when nothing did by then. Changes that
   * cannot concern the view (model/change-scope.ts) neither end the wait nor rebuild the view.
   */
  async since(host: string, since: number, tag: string, waitMs: number): Promise<HostViewAnswer> {
    const held = this.cache.lookup(host, tag, since);
    if (!held) return this.full(host, 'unknown-base');
    const deadline = Date.now() + waitMs;
    // The view is unchanged up to `at`.
    let at = since;
    for (;;) {
      let page: ChangePage;
      try {
        page = await this.feed.since(at);
      } catch (e) {
        if (e instanceof NeutronError && e.type === 'ChangeFeedRevisionExpired') return this.full(host, 'expired');
        throw e;
      }
      // A feed behind the view's revision is another database's.
      if (page.revision < at || (page.changes.length && (await this.concerned(held.deps, page.changes)))) return this.rebuilt(held);
      at = page.revision;
      if (page.changes.length) continue;
      const left = deadline - Date.now();
      if (left <= 0 || this.feed.isClosed) break;
      const waited = await this.waiters.wait(held.deps, at, left);
      if (waited.end === 'concerned') return this.rebuilt(held);
      at = waited.at;
    }
    const view = { ...held.view, revision: at };
    return { tag: this.cache.remember(view, held.deps), delta: { since, revision: at, sections: {} } };
  }

  private async concerned(deps: HostViewDeps, changes: Change[]): Promise<boolean> {
    return (await this.scopes.of(changes)).some((s) => concerns(deps, s));
  }

  /** The view rebuilt at the newest revision, as a delta from the one held when that is smaller. */
  private async rebuilt(held: HeldView): Promise<HostViewAnswer> {
    const next = await this.full(held.view.host, 'first', true);
    const delta = diffHostViews(held.view, next.view);
    return deltaIsSmaller(delta, next.view) ? { tag: next.tag, delta } : { ...next, reason: 'larger' };
  }

  /** The memo of reads at `revision`; a newer revision replaces it (builds still at the older one keep theirs). */
  private memoAt(revision: number): SnapshotMemo {
    if (!this.memo || this.memo.revision < revision) this.memo = new SnapshotMemo(revision, this.ports);
    return this.memo.revision === revision ? this.memo : new SnapshotMemo(revision, this.ports);
  }
}

/** A delta carrying more entries than half the view's is not worth it: the view goes whole. */
function deltaIsSmaller(delta: HostViewDelta, view: HostView): boolean {
  let sent = 0;
  for (const d of Object.values(delta.sections)) sent += 'all' in d ? d.all.length : d.set.length + d.remove.length;
  const whole = Object.values(view).reduce<number>((n, v) => n + (Array.isArray(v) ? v.length : 0), 0);
  return sent <= whole / 2 || sent <= 1;
}
