// Several API worker processes behind one listening address (Neutron's api_workers): the primary
// forks them with node:cluster, which shares the listening sockets among them; each worker is a whole
// server on the shared PostgreSQL database. A worker that dies is replaced; SIGTERM/SIGINT reaches every
// worker, which drains as a single server does, and the primary exits once all have.
import cluster, { type Worker } from 'node:cluster';
import { rmSync } from 'node:fs';

export interface WorkerPoolOptions {
  workers: number;
  /** Removed once before the workers start (a stale socket file from an earlier run). */
  unixSocket?: string;
  log: (message: string) => void;
}

/** Fewest milliseconds between two replacements of one crashed worker slot (a crash loop is slowed). */
const RESPAWN_DELAY_MS = 1000;

/** Runs in the primary: forks the workers and supervises them until a stop signal has drained them. */
export function superviseWorkers({ workers, unixSocket, log }: WorkerPoolOptions): Promise<number> {
  if (unixSocket) rmSync(unixSocket, { force: true });
  let stopping = false;
  let status = 0;
  const fork = (): Worker => cluster.fork();
  for (let i = 0; i < workers; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    log(`worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
    setTimeout(() => !stopping && fork(), RESPAWN_DELAY_MS);
  });
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      stopping = true;
      const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && !w.isDead());
      if (!alive.length) return resolve(status);
      let left = alive.length;
      for (const w of alive) {
        w.once('exit', (code) => {
          if (code) status = 1;
          if (--left === 0) resolve(status);
        });
        // A message, not the signal: a terminal's Ctrl-C already reached every worker, and a second
        // signal would end a worker at once instead of letting it drain.
        if (w.isConnected()) w.send(STOP_MESSAGE);
        else w.process.kill(signal);
      }
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export const isWorkerProcess = (): boolean => cluster.isWorker;

/** What the primary sends a worker to make it drain and exit, as SIGTERM makes a single server. */
export const STOP_MESSAGE = 'neutrino:stop';

/** In a worker: calls `stop` when the primary asks. */
export function onStopRequest(stop: () => void): void {
  process.on('message', (m) => m === STOP_MESSAGE && stop());
}
