// The change feed agents watch: changes after a revision, with long-polling so an agent hears of a
// change as soon as its transaction commits. A reconnecting agent resumes from its last revision.
// Only the newest `window` revisions are kept: an agent further behind is told to resync (410).
import { NeutronError } from '../model/errors.ts';
import type { Reader } from '../store/unit-of-work.ts';
import { onChangesAppended } from '../store/changes.ts';

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

/** The caller's revision fell out of the window: the changes after it are no longer all held. */
export const feedRevisionExpired = (since: number, oldest: number) =>
  new NeutronError(
    410,
    'ChangeFeedRevisionExpired',
    `Revision ${since} is older than the change feed holds: the oldest revision held is ${oldest}. Re-read the host view and resume from its revision.`,
  );

export class ChangeFeed {
  private waiters = new Set<() => void>();
  /** Compaction waits until the window is exceeded by a tenth, so it deletes in batches. */
  private readonly slack: number;
  /** Set at shutdown: watchers are answered at once, so agents reconnect to the next server. */
  private closed = false;
  /** The highest revision this process has appended and committed. */
  private appended = 0;
  /**
   * At most the oldest revision held, once read (null: not known). Revisions only grow and only
   * compaction removes any, so a bound read once stays one.
   */
  private oldestAtLeast: number | null = null;

  private readonly db: Reader;
  private readonly window: number;

  constructor(
    db: Reader,
    /** How many of the newest revisions are kept. */
    window: number,
  ) {
    this.db = db;
    this.window = window;
    this.slack = Math.floor(window / 10);
    onChangesAppended(db, (revision) => (this.appended = Math.max(this.appended, revision)));
  }

  /** Called after a write commits: wakes every waiting watcher. */
  notify(): void {
    const waiting = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiting) wake();
  }

  /**
   * Called after a write commits: drops the oldest revisions once more than window + slack are held.
   * The ends are read only when this process's newest revision may be beyond the bound; another
   * process's newer revisions are that process's to check after its own write.
   */
  async afterWrite(): Promise<void> {
    const bound = this.window + this.slack;
    if (this.oldestAtLeast !== null && this.appended - this.oldestAtLeast + 1 <= bound) return;
    const { oldest, head } = await this.held();
    this.oldestAtLeast = oldest;
    if (oldest !== null && head - oldest + 1 > bound) await this.compact();
  }

  /** Keeps the newest `window` revisions (never the newest one: it carries the head). One range delete on the key. */
  async compact(): Promise<number> {
    const head = await this.head();
    const r = await this.db
      .deleteFrom('changes')
      .where('revision', '<=', head - this.window)
      .executeTakeFirst();
    if (head > this.window) this.oldestAtLeast = Math.max(this.oldestAtLeast ?? 0, head - this.window + 1);
    return Number(r.numDeletedRows);
  }

  /**
   * Oldest and newest revision held (oldest null while the feed is empty); both ends of the key. Two
   * subqueries: SQLite reads min() or max() alone from the key's end, but scans the table for both in one.
   */
  private async held(tx: Reader = this.db): Promise<{ oldest: number | null; head: number }> {
    const row = await tx
      .selectNoFrom((eb) => [
        eb
          .selectFrom('changes')
          .select((c) => c.fn.min('revision').as('r'))
          .as('oldest'),
        eb
          .selectFrom('changes')
          .select((c) => c.fn.max('revision').as('r'))
          .as('head'),
      ])
      .executeTakeFirst();
    return { oldest: row?.oldest == null ? null : Number(row.oldest), head: Number(row?.head ?? 0) };
  }

  /** Ends every long-poll now and later ones at once, each with what it has (the current revision). */
  close(): void {
    this.closed = true;
    this.notify();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Highest revision; pass the open transaction when inside one (SQLite has a single connection). */
  async head(tx: Reader = this.db): Promise<number> {
    const row = await tx
      .selectFrom('changes')
      .select((eb) => eb.fn.max('revision').as('rev'))
      .executeTakeFirst();
    return Number(row?.rev ?? 0);
  }

  /** Changes after `revision`; 410 when some of them were compacted away. */
  async since(revision: number): Promise<ChangePage> {
    // One transaction: the window check and the read see the same table.
    return this.db.transaction().execute(async (tx) => {
      const { oldest, head } = await this.held(tx);
      if (oldest !== null && revision < oldest - 1) throw feedRevisionExpired(revision, oldest);
      const changes = await tx
        .selectFrom('changes')
        .select(['revision', 'resource', 'resource_id', 'op'])
        .where('revision', '>', revision)
        .orderBy('revision')
        .limit(PAGE)
        .execute();
      const last = changes.length ? changes[changes.length - 1].revision : Math.max(revision, head);
      return { revision: last, changes };
    });
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
