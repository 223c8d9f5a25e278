// What the server's metrics read from the store at each scrape: ports by status, each agent's
// liveness, heartbeat age and change-feed lag (from the converged revision it reports), and the
// feed's head. Facts of the database: the same whichever server process reads them.
import type { ServerConfig } from '../server-config.ts';
import { isAlive } from './agents.ts';
import { parseJson, type Tx } from './common.ts';

export interface AgentFacts {
  host: string;
  agentType: string;
  alive: boolean;
  heartbeatAgeSeconds: number;
  /** Feed revisions the agent's last converged pass is behind the head; null until it reports one. */
  lag: number | null;
}

export interface MetricsFacts {
  portsByStatus: Record<string, number>;
  agents: AgentFacts[];
  feedRevision: number;
}

export async function readMetricsFacts(tx: Tx, config: ServerConfig, now = Date.now()): Promise<MetricsFacts> {
  const ports = await tx
    .selectFrom('ports')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('status')
    .execute();
  const head = await tx
    .selectFrom('changes')
    .select((eb) => eb.fn.max('revision').as('rev'))
    .executeTakeFirst();
  const feedRevision = Number(head?.rev ?? 0);
  const rows = await tx.selectFrom('agents').select(['host', 'agent_type', 'heartbeat_timestamp', 'configurations']).execute();
  return {
    portsByStatus: Object.fromEntries(ports.map((p) => [p.status, Number(p.n)])),
    feedRevision,
    agents: rows.map((r) => {
      const converged = parseJson<{ converged_revision?: unknown }>(r.configurations).converged_revision;
      return {
        host: r.host,
        agentType: r.agent_type,
        alive: isAlive(r, config, now),
        heartbeatAgeSeconds: Math.max(0, (now - Date.parse(r.heartbeat_timestamp)) / 1000),
        lag: typeof converged === 'number' ? Math.max(0, feedRevision - converged) : null,
      };
    }),
  };
}
