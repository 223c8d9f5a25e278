// Reader threads of one SQLite file, for the longest reads (a whole list of ports): the query split
// into parts run at once on threads of their own, each on its own read-only connection, so that a
// list of thousands takes about 1/n of the time on n cores and none of the event loop's. The parts are
// one list only when they read the same state: each reports the commits its snapshot holds
// (commit-clock.ts), and parts that disagree are read again.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { CommitClock } from './commit-clock.ts';
import type { CloseRequest, ReadReply, ReadRequest, ReadyNote } from './read-thread.ts';

/** Threads at most: a list's parts; beyond two cores the API's own work wants the rest. */
const MAX_THREADS = 2;
/** How long close() waits for the threads to end by themselves. */
const CLOSE_WAIT_MS = 5000;
/** Reads of all parts before a caller is told they never met on one snapshot. */
const ATTEMPTS = 3;

const threadScript = new URL(import.meta.url.endsWith('.ts') ? './read-thread.ts' : './read-thread.js', import.meta.url);

interface Pending {
  thread: number;
  resolve(reply: ReadReply): void;
  reject(error: Error): void;
}

export interface ReadThreadStats {
  /** Reads whose parts met on one snapshot. */
  consistent: number;
  /** Reads whose parts did not, and were read again (or, after the last, given up). */
  retried: number;
  /** Lists given up after ATTEMPTS reads (the caller then read them on the event loop). */
  gaveUp: number;
}

export class ReadThreads {
  readonly count: number;
  readonly stats: ReadThreadStats = { consistent: 0, retried: 0, gaveUp: 0 };
  #workers: Worker[] = [];
  #ready: boolean[] = [];
  #pending = new Map<number, Pending>();
  /** Requests in flight per thread: a thread with none does not keep the process alive. */
  #busy: number[] = [];
  #next = 0;
  #closed = false;

  readonly #file: string;
  readonly #clock: CommitClock;

  constructor(file: string, clock: CommitClock, count = Math.min(MAX_THREADS, availableParallelism())) {
    this.#file = file;
    this.#clock = clock;
    this.count = count;
  }

  /**
   * Runs each of `parts` (a query whose rows are one text column) on a thread of its own, all on one
   * snapshot: each part's texts joined by commas and UTF-8 encoded, in the order of `parts`. Null when
   * no read of all parts met on one snapshot in ATTEMPTS (writes committing all along): the caller
   * reads another way.
   */
  async onOneSnapshot(parts: ReadonlyArray<{ sql: string; parameters: unknown[] }>): Promise<Uint8Array[] | null> {
    if (parts.length > this.count) throw new Error(`${parts.length} parts for ${this.count} threads`);
    for (let attempt = 1; ; attempt++) {
      // All parts again each time: read at the same moment, they meet far more often than a part
      // read alone some milliseconds after the others.
      const replies = await Promise.all(parts.map((part, i) => this.#ask(i, part)));
      const commits = replies[0].commits;
      if (commits !== null && replies.every((r) => r.commits === commits)) {
        this.stats.consistent++;
        return replies.map((r) => new Uint8Array(r.body));
      }
      this.stats.retried++;
      if (attempt === ATTEMPTS) {
        this.stats.gaveUp++;
        return null;
      }
    }
  }

  /**
   * True once every thread has opened its connection; the first call starts them. A caller that
   * reads another way meanwhile does not wait for the threads' start (tens of milliseconds).
   */
  ready(): boolean {
    if (this.#closed) return false;
    for (let i = 0; i < this.count; i++) this.#worker(i);
    return this.#ready.filter(Boolean).length === this.count;
  }

  /**
   * Asks every thread to end once the reads already asked of it are done, and waits for them (up to
   * CLOSE_WAIT_MS): a thread is never terminated, since ending one inside a call into SQLite aborts
   * the whole process. Reads asked after this are refused.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const ending = this.#workers.filter(Boolean).map(
      (worker) =>
        new Promise<void>((resolve) => {
          // Held until it has ended: a process that exits first would end it wherever it is.
          worker.ref();
          worker.once('exit', () => resolve());
          worker.postMessage({ close: true } satisfies CloseRequest);
        }),
    );
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS).unref()));
    await Promise.race([Promise.all(ending), bound]);
    clearTimeout(timer);
    this.#workers = [];
    this.#ready = [];
  }

  #ask(thread: number, request: Omit<ReadRequest, 'id'>): Promise<{ commits: number | null; body: ArrayBuffer }> {
    if (this.#closed) return Promise.reject(new Error('read threads closed'));
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      const worker = this.#worker(thread);
      this.#pending.set(id, {
        thread,
        resolve: (reply) => ('error' in reply ? reject(new Error(reply.error)) : resolve(reply)),
        reject,
      });
      if ((this.#busy[thread] = (this.#busy[thread] ?? 0) + 1) === 1) worker.ref();
      worker.postMessage({ ...request, id } satisfies ReadRequest);
    });
  }

  #worker(i: number): Worker {
    const existing = this.#workers[i];
    if (existing) return existing;
    const worker = new Worker(threadScript, { workerData: { file: this.#file, clock: this.#clock } });
    worker.unref();
    worker.on('message', (reply: ReadReply | ReadyNote) => {
      if ('ready' in reply) {
        if (this.#workers[i] === worker) this.#ready[i] = true;
        return;
      }
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      this.#settled(pending.thread);
      pending.resolve(reply);
    });
    const gone = (error: Error) => {
      if (this.#workers[i] === worker) {
        delete this.#workers[i];
        this.#ready[i] = false;
      }
      this.#failThread(i, error);
    };
    worker.on('error', gone);
    worker.on('exit', (code) => gone(new Error(`read thread exited (code ${code})`)));
    this.#workers[i] = worker;
    return worker;
  }

  #settled(thread: number): void {
    // While closing, each thread stays held until it has ended.
    if (--this.#busy[thread] === 0 && !this.#closed) this.#workers[thread]?.unref();
  }

  /** Rejects the reads waiting on `thread` (it has ended). */
  #failThread(thread: number, error: Error): void {
    for (const [id, p] of this.#pending) {
      if (p.thread !== thread) continue;
      this.#pending.delete(id);
      this.#settled(thread);
      p.reject(error);
    }
  }
}
