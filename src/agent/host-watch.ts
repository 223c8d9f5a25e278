// The agent's copy of its host view, kept current from the change feed: a full sync (the whole view
// and the revision it is consistent with) at start, after a failure, and whenever the feed can no
// longer answer from the agent's revision (compacted past it, or a new server database).
import type { Logger } from 'pino';
import { AbortError } from '../client/http.js';
import { FeedExpiredError, type ChangePage, type NeutrinoClient } from '../client/neutrino.js';
import type { HostView } from '../model/hostview.js';

export class HostWatch {
  view: HostView | null = null;
  /** The feed revision the view accounts for. */
  revision = 0;
  /** Full syncs done, and how many of them because the feed had moved past our revision. */
  readonly stats = { fullSyncs: 0, expired: 0, lastSyncMs: 0 };

  constructor(
    private readonly client: NeutrinoClient,
    private readonly host: string,
    private readonly log: Logger,
  ) {}

  /** Forgets the view: the next `follow` starts with a full sync. */
  reset(): void {
    this.view = null;
  }

  async fullSync(): Promise<HostView> {
    const t0 = performance.now();
    this.view = await this.client.hostView(this.host);
    this.stats.lastSyncMs = Math.round(performance.now() - t0);
    this.revision = this.view.revision;
    this.stats.fullSyncs++;
    return this.view;
  }

  /**
   * Waits up to `waitS` seconds for the feed to move past our revision and refreshes the view when
   * resources changed. An abort (the agent has another reason to reconcile) returns quietly.
   */
  async follow(waitS: number, signal?: AbortSignal): Promise<void> {
    if (!this.view) {
      await this.fullSync();
      return;
    }
    let page: ChangePage;
    try {
      page = await this.client.changes(this.revision, waitS, signal);
    } catch (e) {
      if (e instanceof AbortError) return;
      if (!(e instanceof FeedExpiredError)) throw e;
      this.log.warn({ revision: this.revision, reason: e.message }, 'change feed no longer holds our revision; full resync');
      this.stats.expired++;
      await this.fullSync();
      return;
    }
    // Status-only changes alter no kernel object; a revision going backwards means a new server database.
    if (page.changes.some((c) => c.op !== 'status') || page.revision < this.revision) {
      await this.fullSync();
      this.revision = Math.max(page.revision, this.revision);
      return;
    }
    this.revision = page.revision;
  }
}
