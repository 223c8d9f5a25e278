// Sends queued events in batches, as Neutron's BatchNotifier does: the first event goes out at once,
// then the sender rests `intervalMs`, and whatever queued meanwhile goes out as one batch, and so on
// until the queue is empty. A batch that fails in a way worth another try is sent again after a
// growing pause, `retries` times at most, then dropped (and reported). Queueing never waits.
import { setTimeout as sleep } from 'node:timers/promises';

export interface BatchSenderOptions<E> {
  /** Rest after each send (Neutron's send_events_interval). */
  intervalMs: number;
  /** Further attempts for a batch after its first (Neutron's http_retries). */
  retries: number;
  /** Pause before the first retry; doubled before each further one, up to intervalMs × 4. */
  retryDelayMs: number;
  send: (batch: E[]) => Promise<void>;
  /** Whether another attempt may succeed where this one failed. */
  isRetryable: (e: unknown) => boolean;
  /** A batch given up: its last error. */
  onDropped: (batch: E[], error: unknown, attempts: number) => void;
  /** An attempt that failed and will be retried. */
  onRetry?: (batch: E[], error: unknown, attempt: number) => void;
}

export class BatchSender<E> {
  private pending: E[] = [];
  private loop: Promise<void> | null = null;
  private closed = false;
  private readonly wake = new AbortController();

  private readonly opts: BatchSenderOptions<E>;

  constructor(opts: BatchSenderOptions<E>) {
    this.opts = opts;
  }

  /** Adds the event to the next batch; starts sending if nothing is under way. */
  queue(event: E): void {
    if (this.closed) return;
    this.pending.push(event);
    this.loop ??= this.run().finally(() => (this.loop = null));
  }

  /** Sends what is queued now (each batch once more, without pauses) and stops. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake.abort();
    await this.loop;
    if (this.pending.length) await this.run();
  }

  private async rest(ms: number): Promise<void> {
    if (this.closed) return;
    await sleep(ms, undefined, { signal: this.wake.signal }).catch(() => undefined);
  }

  private async run(): Promise<void> {
    while (this.pending.length) {
      const batch = this.pending.splice(0);
      await this.sendWithRetries(batch);
      // Resting after a send lets the events of the next interval gather into one batch.
      await this.rest(this.opts.intervalMs);
    }
  }

  private async sendWithRetries(batch: E[]): Promise<void> {
    const maxDelay = this.opts.intervalMs * 4;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.opts.send(batch);
        return;
      } catch (e) {
        if (!this.opts.isRetryable(e) || attempt > this.opts.retries || this.closed) {
          this.opts.onDropped(batch, e, attempt);
          return;
        }
        this.opts.onRetry?.(batch, e, attempt);
        await this.rest(Math.min(this.opts.retryDelayMs * 2 ** (attempt - 1), maxDelay));
      }
    }
  }
}
