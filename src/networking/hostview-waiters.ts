// Host-view long-polls waiting for a change that concerns their view. One follower reads each new
// page of the change feed once, reads each change's scope once, and wakes only the waiters whose
// views a change concerns; the others wait on, and their view is known unchanged up to the revision
// followed. Per change the server reads the feed and the scopes once, then rebuilds only the views
// concerned: its work does not grow with the number of agents a change leaves alone.
import { concerns, type ChangeScope } from '../model/change-scope.ts';
import type { HostViewDeps } from '../model/hostview-deps.ts';
import type { ChangeScopes } from './change-scopes.ts';
import type { ChangeFeed } from './feed.ts';

/**
 * How a wait ended: a change concerns the view; the time is up; or the waiter should read the feed
 * itself (the follower is past its revision, stopped, or the feed closed). `at`: the view is unchanged
 * up to this revision.
 */
export interface WaitEnd {
  end: 'concerned' | 'timeout' | 'recheck';
  at: number;
}

interface Waiter {
  deps: HostViewDeps;
  at: number;
  done(end: WaitEnd['end']): void;
}

/** The follower's own long-poll; it ends earlier once no waiter is left and a change comes. */
const FOLLOW_WAIT_MS = 60_000;

export class HostViewWaiters {
  private readonly waiting = new Set<Waiter>();
  /** Every waiter has been matched against the changes up to this revision; null while no follower runs. */
  private followed: number | null = null;

  private readonly feed: ChangeFeed;
  private readonly scopes: ChangeScopes;

  constructor(feed: ChangeFeed, scopes: ChangeScopes) {
    this.feed = feed;
    this.scopes = scopes;
  }

  /** Waits up to `ms` for a change after `at` that concerns the view `deps` describes. */
  wait(deps: HostViewDeps, at: number, ms: number): Promise<WaitEnd> {
    // Changes between `at` and the revision followed were matched without this waiter.
    if (this.followed !== null && this.followed > at) return Promise.resolve({ end: 'recheck', at });
    return new Promise((resolve) => {
      const w: Waiter = {
        deps,
        at,
        done: (end) => {
          clearTimeout(timer);
          this.waiting.delete(w);
          resolve({ end, at: w.at });
        },
      };
      const timer = setTimeout(() => w.done('timeout'), ms);
      this.waiting.add(w);
      if (this.followed === null) {
        this.followed = at;
        void this.follow();
      }
    });
  }

  private async follow(): Promise<void> {
    try {
      while (this.waiting.size) {
        const from = this.followed!;
        const page = await this.feed.watch(from, FOLLOW_WAIT_MS);
        if (this.feed.isClosed || page.revision < from) break;
        if (!page.changes.length) continue;
        const scopes = await this.scopes.of(page.changes);
        this.match(scopes, page.revision);
        this.followed = page.revision;
      }
    } catch {
      // Behind the feed's window, or a failed read: each waiter reads the feed itself.
    } finally {
      this.followed = null;
      for (const w of [...this.waiting]) w.done('recheck');
    }
  }

  private match(scopes: ChangeScope[], revision: number): void {
    for (const w of [...this.waiting]) {
      if (scopes.some((s) => concerns(w.deps, s))) w.done('concerned');
      else w.at = Math.max(w.at, revision);
    }
  }
}
