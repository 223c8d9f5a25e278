// The server's Prometheus metrics: every request by method, route template and status with its
// latency (a histogram), and at each scrape the store's facts — ports by status, agents alive and
// their heartbeat age, the change feed's revision and each agent's lag behind it — plus Node's
// process metrics. Served at GET /metrics on the API listener to admins (X-Auth-Token), and
// without a token on --metrics-listen (see docs/metrics.md).
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { policyDenied, unauthorized } from '../model/errors.ts';
import { readMetricsFacts, type AgentFacts, type MetricsFacts } from '../networking/metrics-facts.ts';
import type { ServerConfig } from '../server-config.ts';
import type { Db } from '../store/db.ts';
import { unitOfWork } from '../store/unit-of-work.ts';
import { readThreadsOf } from '../store/read-pool.ts';
import { clusterMetricsFromWorker, shareRegistryWithPrimary } from '../metrics/cluster.ts';
import type { Exposition } from '../metrics/listener.ts';
import type { Authenticate } from './keystone-auth.ts';

/** Seconds: from a cached read to a long-poll held for its full minute. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface ServerMetrics {
  registry: Registry;
  /** The text a scrape gets: this process's registry, or with several workers all of theirs merged. */
  expose(): Promise<Exposition>;
}

/**
 * Gauges read from the shared database are the same in every worker: merged, the first worker's
 * value is taken ('first'), not the sum. prom-client collects the gauges of a scrape concurrently:
 * they share one read of the store.
 */
function storeGauges(registry: Registry, db: Db, config: ServerConfig): void {
  let reading: Promise<MetricsFacts> | null = null;
  const read = () => (reading ??= unitOfWork(db, (tx) => readMetricsFacts(tx, config)).finally(() => (reading = null)));
  const gauge = (name: string, help: string, labelNames: string[], aggregator: 'first' | 'max', set: (g: Gauge, f: MetricsFacts) => void) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      aggregator,
      async collect() {
        const facts = await read();
        // Reset first: a port status or an agent that is gone leaves no stale series behind.
        this.reset();
        set(this, facts);
      },
    });
  const perAgent = (pick: (a: AgentFacts) => number | null) => (g: Gauge, f: MetricsFacts) => {
    for (const a of f.agents) {
      const v = pick(a);
      if (v !== null) g.set({ host: a.host, agent_type: a.agentType }, v);
    }
  };
  const agentLabels = ['host', 'agent_type'];
  gauge('neutrino_ports', 'Ports by status.', ['status'], 'first', (g, f) => {
    for (const [status, n] of Object.entries(f.portsByStatus)) g.set({ status }, n);
  });
  gauge(
    'neutrino_agent_alive',
    'Whether the agent has reported within agent_down_time (1) or not (0).',
    agentLabels,
    'first',
    perAgent((a) => (a.alive ? 1 : 0)),
  );
  gauge(
    'neutrino_agent_heartbeat_age_seconds',
    "Seconds since the agent's last state report.",
    agentLabels,
    'first',
    perAgent((a) => a.heartbeatAgeSeconds),
  );
  gauge(
    'neutrino_agent_revision_lag',
    "Change-feed revisions between the feed's head and the agent's last converged pass (as of its last report).",
    agentLabels,
    'first',
    perAgent((a) => a.lag),
  );
  gauge('neutrino_change_feed_revision', "The change feed's newest revision.", [], 'max', (g, f) => g.set(f.feedRevision));
}

/** Times every request by its route template (never the raw path: ids would make a series each). */
function requestHistogram(http: FastifyInstance, registry: Registry): void {
  const latency = new Histogram({
    name: 'neutrino_http_request_duration_seconds',
    help: 'API requests by method, route template and status, and how long they took (its _count is the number of requests).',
    labelNames: ['method', 'route', 'status'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  http.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    latency.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
}

/** Whole lists read by the reader threads (SQLite on two cores or more; absent otherwise). */
function readThreadCounters(registry: Registry, db: Db): void {
  const threads = readThreadsOf(db);
  if (!threads) return;
  new Counter({
    name: 'neutrino_list_thread_reads_total',
    help: 'Reads of a whole list by the reader threads: consistent (their parts read one state), reread (parts that did not, read again), gave_up (then read on the event loop).',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ result: 'consistent' }, threads.stats.consistent);
      this.inc({ result: 'reread' }, threads.stats.retried);
      this.inc({ result: 'gave_up' }, threads.stats.gaveUp);
    },
  });
}

export function registerMetrics(
  http: FastifyInstance,
  deps: { db: Db; config: ServerConfig; authenticate: Authenticate; inWorker: boolean },
): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  requestHistogram(http, registry);
  storeGauges(registry, deps.db, deps.config);
  readThreadCounters(registry, deps.db);
  if (deps.inWorker) shareRegistryWithPrimary(registry);
  const expose = async (): Promise<Exposition> =>
    deps.inWorker ? clusterMetricsFromWorker(registry.contentType) : { contentType: registry.contentType, body: await registry.metrics() };
  // Admins only on the API listener: the metrics name hosts and every project's port counts.
  http.get('/metrics', async (request, reply) => {
    const token = request.headers['x-auth-token'];
    const ctx = typeof token === 'string' && token ? await deps.authenticate(token) : null;
    if (!ctx) throw unauthorized();
    if (!ctx.isAdmin) throw policyDenied('rule:context_is_admin');
    const { contentType, body } = await expose();
    return reply.type(contentType).send(body);
  });
  return { registry, expose };
}
