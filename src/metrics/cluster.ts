// Whole metrics from several API workers (node:cluster): the primary asks every worker for its
// registry (prom-client's AggregatorRegistry) and merges them — counters and histograms summed,
// gauges read from the shared database taken once (their `aggregator`). A worker answering
// GET /metrics on the API listener asks the primary for that merge over the cluster's IPC channel.
import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Exposition } from './listener.ts';

const REQUEST = 'neutrino:metrics-request';
const ANSWER = 'neutrino:metrics-answer';
/** prom-client gives up on workers that do not answer within 5 s; a worker waits a little longer. */
const ANSWER_TIMEOUT_MS = 7000;

interface Request {
  type: typeof REQUEST;
  id: number;
}
interface Answer {
  type: typeof ANSWER;
  id: number;
  body?: string;
  error?: string;
}

/** In the primary: the merged metrics of every worker, and answers to workers that ask for them. */
export function clusterMetricsInPrimary(): () => Promise<Exposition> {
  const aggregator = new AggregatorRegistry();
  const expose = async () => ({ contentType: aggregator.contentType, body: await aggregator.clusterMetrics() });
  cluster.on('message', (worker, m: Partial<Request>) => {
    if (m?.type !== REQUEST || typeof m.id !== 'number') return;
    const id = m.id;
    expose().then(
      (e) => worker.isConnected() && worker.send({ type: ANSWER, id, body: e.body } satisfies Answer),
      (e: Error) => worker.isConnected() && worker.send({ type: ANSWER, id, error: e.message } satisfies Answer),
    );
  });
  return expose;
}

/** In a worker: this worker's registry is the one the primary collects. */
export function shareRegistryWithPrimary(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  // The constructor installs the worker's side of prom-client's collection protocol.
  new AggregatorRegistry();
}

let nextId = 0;

/** In a worker: the merged metrics of every worker, from the primary. */
export function clusterMetricsFromWorker(contentType: string): Promise<Exposition> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const onMessage = (m: Partial<Answer>) => {
      if (m?.type !== ANSWER || m.id !== id) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      if (m.error !== undefined) reject(new Error(m.error));
      else resolve({ contentType, body: m.body ?? '' });
    };
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(new Error('the primary did not answer with the cluster metrics'));
    }, ANSWER_TIMEOUT_MS);
    process.on('message', onMessage);
    process.send!({ type: REQUEST, id } satisfies Request);
  });
}
