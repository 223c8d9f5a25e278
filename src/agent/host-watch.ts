// The agent's copy of its host view, kept current from the server: a full sync (the whole view and
// the revision it is consistent with) at start, after a failure, and whenever the server cannot
// answer with a delta (it restarted or is another worker, the feed no longer holds the revisions
// after ours, or the delta would not be smaller). Otherwise each change in the feed arrives as a
// delta of the view, applied to the copy held here. A server that makes no deltas (it names no
// tag) is followed through the change feed, with a full sync after each change.
import type { Logger } from 'pino';
import { AbortError } from '../client/http.ts';
import { FeedExpiredError, type ChangePage, type HostViewAnswer, type NeutrinoClient } from '../client/neutrino.ts';
import type { HostView } from '../model/hostview.ts';
import { applyHostViewDelta, DeltaMismatchError } from '../model/hostview-delta.ts';

export class HostWatch {
  view: HostView | null = null;
  /** The feed revision the view accounts for. */
  revision = 0;
  /**
   * Counts the views held whose content may differ from the one before: a whole view, or a delta
   * that changed something. An empty delta (the long-poll ended with nothing for this host) only
   * moves the revision, and is no reason for a pass.
   */
  contentVersion = 0;
  /** The server's name for the view held (null: whole views only). */
  private tag: string | null = null;
  /** Full syncs done, and how many of them because the feed had moved past our revision; deltas applied. */
  readonly stats = { fullSyncs: 0, expired: 0, deltas: 0, lastSyncMs: 0 };

  private readonly client: NeutrinoClient;
  private readonly host: string;
  private readonly log: Logger;

  constructor(client: NeutrinoClient, host: string, log: Logger) {
    this.client = client;
    this.host = host;
    this.log = log;
  }

  /** Forgets the view: the next `follow` starts with a full sync. */
  reset(): void {
    this.view = null;
  }

  async fullSync(): Promise<HostView> {
    const t0 = performance.now();
    const answer = await this.client.hostViewAnswer(this.host);
    this.stats.lastSyncMs = Math.round(performance.now() - t0);
    return this.holdWhole(answer);
  }

  private holdWhole(answer: HostViewAnswer & { view: HostView }): HostView {
    this.view = answer.view;
    this.tag = answer.tag ?? null;
    this.revision = this.view.revision;
    this.contentVersion++;
    this.stats.fullSyncs++;
    return this.view;
  }

  /**
   * Waits up to `waitS` seconds for the feed to move past our revision and brings the view up to
   * date. An abort (the agent has another reason to reconcile) returns quietly.
   */
  async follow(waitS: number, signal?: AbortSignal): Promise<void> {
    if (!this.view) {
      await this.fullSync();
      return;
    }
    if (this.tag === null) return this.followChanges(waitS, signal);
    let answer: HostViewAnswer;
    try {
      answer = await this.client.hostViewSince(this.host, this.revision, this.tag, waitS, signal);
    } catch (e) {
      if (e instanceof AbortError) return;
      throw e;
    }
    if ('view' in answer) {
      if (answer.reason === 'expired') {
        this.log.warn({ revision: this.revision }, 'change feed no longer holds our revision; full resync');
        this.stats.expired++;
      }
      this.holdWhole(answer);
      return;
    }
    try {
      this.view = applyHostViewDelta(this.view, answer.delta);
    } catch (e) {
      if (!(e instanceof DeltaMismatchError)) throw e;
      this.log.warn({ revision: this.revision, reason: e.message }, 'host view delta does not fit our view; full resync');
      await this.fullSync();
      return;
    }
    this.tag = answer.tag;
    this.revision = this.view.revision;
    if (Object.keys(answer.delta.sections).length) this.contentVersion++;
    this.stats.deltas++;
  }

  /** Without deltas: the change feed, and the whole view again after any change that is not a status change. */
  private async followChanges(waitS: number, signal?: AbortSignal): Promise<void> {
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
