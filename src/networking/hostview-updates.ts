// What an agent holding its host view gets when the change feed moves: a delta from the view it
// holds to the current one, or the whole view when the server cannot make one (the base is not held
// here, the feed no longer holds the revisions after it, or the delta would not be smaller).
import type { HostView } from '../model/hostview.js';
import { diffHostViews, portIdsInView, type HostViewDelta } from '../model/hostview-delta.js';
import { NeutronError } from '../model/errors.js';
import { unitOfWork, type Reader } from '../store/unit-of-work.js';
import type { ChangeFeed, ChangePage } from './feed.js';
import type { HostViewCache } from './hostview-cache.js';
import { buildHostView } from './hostview.js';
import { SnapshotMemo } from './hostview-memo.js';

/** Why a whole view was sent instead of a delta. */
export type FullReason = 'first' | 'unknown-base' | 'expired' | 'larger';

export type HostViewAnswer = { tag: string; view: HostView; reason: FullReason } | { tag: string; delta: HostViewDelta };

export class HostViewUpdates {
  /** Shared by the views rebuilt at the newest revision (not by first fetches: those stand alone). */
  private memo: SnapshotMemo | null = null;

  constructor(
    private readonly db: Reader,
    private readonly feed: ChangeFeed,
    private readonly cache: HostViewCache,
  ) {}

  /** The current view, whole. */
  async full(host: string, reason: FullReason = 'first', shared = false): Promise<HostViewAnswer & { view: HostView }> {
    // One transaction: the view is consistent with the revision it reports.
    const view = await unitOfWork(this.db, async (tx) => {
      const head = await this.feed.head(tx);
      return buildHostView(tx, host, head, shared ? this.memoAt(head) : null);
    });
    return { tag: this.cache.remember(view), view, reason };
  }

  /**
   * Waits up to `waitMs` for a change after `since`, then answers what changed in the view held
   * under `tag` at `since` (an empty delta when nothing did).
   */
  async since(host: string, since: number, tag: string, waitMs: number): Promise<HostViewAnswer> {
    const base = this.cache.lookup(host, tag, since);
    if (!base) return this.full(host, 'unknown-base');
    let page: ChangePage;
    try {
      page = await this.feed.watch(since, waitMs);
    } catch (e) {
      if (e instanceof NeutronError && e.type === 'ChangeFeedRevisionExpired') return this.full(host, 'expired');
      throw e;
    }
    if (!this.canChange(base, page)) {
      const view = { ...base, revision: page.revision };
      return { tag: this.cache.remember(view), delta: { since, revision: page.revision, sections: {} } };
    }
    const next = await this.full(host, 'first', true);
    const delta = diffHostViews(base, next.view);
    return deltaIsSmaller(delta, next.view) ? { tag: next.tag, delta } : { ...next, reason: 'larger' };
  }

  /** The memo of reads at `revision`; a newer revision replaces it (builds still at the older one keep theirs). */
  private memoAt(revision: number): SnapshotMemo {
    if (!this.memo || this.memo.revision < revision) this.memo = new SnapshotMemo(revision);
    return this.memo.revision === revision ? this.memo : new SnapshotMemo(revision);
  }

  /**
   * Whether the changes can alter the view: any but a status change can; a status change alters only
   * its port's `status`, so only a view that shows that port (a floating IP's status is not in views).
   */
  private canChange(base: HostView, page: ChangePage): boolean {
    if (page.revision < base.revision) return true;
    const statusOnly = page.changes.every((c) => c.op === 'status');
    if (!statusOnly) return true;
    const shown = portIdsInView(base);
    return page.changes.some((c) => c.resource === 'port' && shown.has(c.resource_id));
  }
}

/** A delta carrying more entries than half the view's is not worth it: the view goes whole. */
function deltaIsSmaller(delta: HostViewDelta, view: HostView): boolean {
  let sent = 0;
  for (const d of Object.values(delta.sections)) sent += 'all' in d ? d.all.length : d.set.length + d.remove.length;
  const whole = Object.values(view).reduce<number>((n, v) => n + (Array.isArray(v) ? v.length : 0), 0);
  return sent <= whole / 2 || sent <= 1;
}
