// The change feed agents watch: changes after a revision, with long-polling so an agent hears of a
// change as soon as its transaction commits. A reconnecting agent resumes from its last revision.
import type { Tx } from './common.js';

export interface Change {
  revision: number;
  resource: string;
  resource_id: string;
  op: string;
}

export interface ChangePage {
  /** Highest revision known to the server; pass it back as `since` to resume. */
  revision: number;
  changes: Change[];
}

/** How many changes one answer carries at most; a lagging agent pages through. */
const PAGE = 1000;

export class ChangeFeed {
  private waiters = new Set<() => void>();
  /** Set at shutdown: watchers are answered at once, so agents reconnect to the next server. */
  private closed = false;

  constructor(private readonly db: Tx) {}

  /** Called after a write commits: wakes every waiting watcher. */
  notify(): void {
    const waiting = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiting) wake();
  }

  /** Ends every long-poll now and later ones at once, each with what it has (the current revision). */
  close(): void {
    this.closed = true;
    this.notify();
  }

  /** Highest revision; pass the open transaction when inside one (SQLite has a single connection). */
  async head(tx: Tx = this.db): Promise<number> {
    const row = await tx
      .selectFrom('changes')
      .select((eb) => eb.fn.max('revision').as('rev'))
      .executeTakeFirst();
    return Number(row?.rev ?? 0);
  }

  async since(revision: number): Promise<ChangePage> {
    const changes = await this.db
      .selectFrom('changes')
      .select(['revision', 'resource', 'resource_id', 'op'])
      .where('revision', '>', revision)
      .orderBy('revision')
      .limit(PAGE)
      .execute();
    const last = changes.length ? changes[changes.length - 1].revision : Math.max(revision, await this.head());
    return { revision: last, changes };
  }

  /** Changes after `revision`, waiting up to `waitMs` for the first one. */
  async watch(revision: number, waitMs: number): Promise<ChangePage> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const page = await this.since(revision);
      const left = deadline - Date.now();
      if (page.changes.length || left <= 0 || this.closed) return page;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          this.waiters.delete(wake);
          resolve();
        }, left);
        this.waiters.add(wake);
      });
    }
  }
}
