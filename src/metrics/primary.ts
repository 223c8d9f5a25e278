// The primary of several API workers: it merges their metrics for workers answering GET /metrics
// on the API listener, and serves the merge itself on --metrics-listen when set.
import { clusterMetricsInPrimary } from './cluster.ts';
import { startMetricsListener, type MetricsListener } from './listener.ts';

export async function serveClusterMetrics(
  listen: { host: string; port: number } | undefined,
  log: (message: string) => void,
): Promise<MetricsListener | null> {
  const expose = clusterMetricsInPrimary();
  if (!listen) return null;
  const listener = await startMetricsListener(listen.host, listen.port, expose, (e) => log(`metrics: ${e.message}`));
  log(`metrics of every worker at http://${listener.address}/metrics`);
  return listener;
}
