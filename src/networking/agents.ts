// Agents as GET /v2.0/agents shows them; registration and heartbeats arrive with the agent.
import type { ServerConfig } from '../config.js';
import type { AuthContext } from '../model/context.js';
import { bool, parseJson, type Tx } from './common.js';

export async function listAgents(tx: Tx, ctx: AuthContext, config: ServerConfig) {
  // Members get an empty list rather than a 403, as Neutron's policy filtering does.
  if (!ctx.isAdmin) return [];
  const rows = await tx.selectFrom('agents').selectAll().orderBy('host').execute();
  const now = Date.now();
  return rows.map((r) => ({
    id: r.id,
    agent_type: r.agent_type,
    binary: r.binary,
    topic: r.topic,
    host: r.host,
    admin_state_up: bool(r.admin_state_up),
    alive: now - Date.parse(r.heartbeat_timestamp) < config.agentDownTime * 1000,
    availability_zone: r.availability_zone,
    description: r.description,
    configurations: parseJson<Record<string, unknown>>(r.configurations),
    created_at: r.created_at.replace('T', ' ').replace('Z', ''),
    started_at: r.started_at.replace('T', ' ').replace('Z', ''),
    heartbeat_timestamp: r.heartbeat_timestamp.replace('T', ' ').replace('Z', ''),
    resources_synced: null,
  }));
}
