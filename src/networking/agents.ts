// Agents: state reports (registration + heartbeat) and the list GET /v2.0/agents shows.
import type { ServerConfig } from '../server-config.ts';
import type { AuthContext } from '../model/context.ts';
import { badRequest, notFound, policyDenied } from '../model/errors.ts';
import { REPORTED_AGENT_TYPES } from '../model/neutron.ts';
import { show } from '../model/validators.ts';
import type { AgentRow } from '../store/schema/index.ts';
import { bool, newId, parseJson, recordChange, timestamp, type Tx } from './common.ts';
import { routerNotFound } from './lookups.ts';

export const isAlive = (row: Pick<AgentRow, 'heartbeat_timestamp'>, config: ServerConfig, now = Date.now()) =>
  now - Date.parse(row.heartbeat_timestamp) < config.agentDownTime * 1000;

/** The agents of `agentType` an administrator has left up and whose heartbeat is recent: the ones a scheduler may pick. */
export async function liveAgents(tx: Tx, config: ServerConfig, agentType: string): Promise<AgentRow[]> {
  const rows = await tx.selectFrom('agents').selectAll().where('agent_type', '=', agentType).where('admin_state_up', '=', 1).execute();
  return rows.filter((r) => isAlive(r, config));
}

/** Neutron prints agent times without the T and Z. */
const agentTime = (t: string) => t.replace('T', ' ').replace('Z', '');

export function agentToApi(r: AgentRow, config: ServerConfig) {
  return {
    id: r.id,
    agent_type: r.agent_type,
    binary: r.binary,
    topic: r.topic,
    host: r.host,
    admin_state_up: bool(r.admin_state_up),
    alive: isAlive(r, config),
    availability_zone: r.availability_zone,
    description: r.description,
    configurations: parseJson<Record<string, unknown>>(r.configurations),
    created_at: agentTime(r.created_at),
    started_at: agentTime(r.started_at),
    heartbeat_timestamp: agentTime(r.heartbeat_timestamp),
    // agent-resources-synced: the result of the agent's last resource sync to Placement; no neutrino
    // agent reports resources to Placement, so it is None, as for Neutron's agents that report none.
    resources_synced: null,
  };
}

export async function listAgents(tx: Tx, ctx: AuthContext, config: ServerConfig) {
  // Members get an empty list rather than a 403, as Neutron's policy filtering does.
  if (!ctx.isAdmin) return [];
  const rows = await tx.selectFrom('agents').selectAll().orderBy('host').orderBy('agent_type').execute();
  return rows.map((r) => agentToApi(r, config));
}

export async function showAgent(tx: Tx, ctx: AuthContext, config: ServerConfig, id: string) {
  const row = ctx.isAdmin ? await tx.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst() : undefined;
  if (!row) throw notFound('AgentNotFound', `Agent ${id} could not be found.`);
  return agentToApi(row, config);
}

/** GET /networks/{id}/dhcp-agents (dhcp_agent_scheduler): the agents serving a network's DHCP. */
export async function networkDhcpAgents(tx: Tx, ctx: AuthContext, config: ServerConfig, networkId: string) {
  if (!ctx.isAdmin) throw policyDenied('rule:get_dhcp-agents');
  const rows = await tx
    .selectFrom('network_dhcp_agents')
    .innerJoin('agents', 'agents.id', 'network_dhcp_agents.agent_id')
    .selectAll('agents')
    .where('network_dhcp_agents.network_id', '=', networkId)
    .execute();
  return rows.map((r) => agentToApi(r, config));
}

/**
 * GET /routers/{id}/l3-agents (l3_agent_scheduler): the L3 agents hosting a router (policy: admin);
 * for an HA router each with its `ha_state`. An active agent that is dead is shown (and recorded)
 * as standby, or unknown when every agent of the router is dead
 * (_get_bindings_and_update_router_state_for_dead_agents).
 */
export async function routerL3Agents(tx: Tx, ctx: AuthContext, config: ServerConfig, routerId: string) {
  if (!ctx.isAdmin) throw policyDenied('rule:get_l3-agents');
  const router = await tx.selectFrom('routers').select(['id', 'ha']).where('id', '=', routerId).executeTakeFirst();
  if (!router) throw routerNotFound(routerId);
  const rows = await tx
    .selectFrom('router_l3_agents')
    .innerJoin('agents', 'agents.id', 'router_l3_agents.agent_id')
    .selectAll('agents')
    .select('router_l3_agents.ha_state')
    .where('router_l3_agents.router_id', '=', routerId)
    .execute();
  if (!router.ha) return rows.map(({ ha_state: _s, ...r }) => agentToApi(r, config));
  const up = (r: AgentRow) => isAlive(r, config) && !!r.admin_state_up;
  const allDead = rows.every((r) => !up(r));
  const out = [];
  for (const { ha_state, ...r } of rows) {
    let state = ha_state ?? 'standby';
    if (state === 'active' && !up(r)) {
      state = allDead ? 'unknown' : 'standby';
      await tx
        .updateTable('router_l3_agents')
        .set({ ha_state: state })
        .where('router_id', '=', routerId)
        .where('agent_id', '=', r.id)
        .execute();
    }
    out.push({ ...agentToApi(r, config), ha_state: state });
  }
  return out;
}

export interface AgentReport {
  agent_type: string;
  host: string;
  binary?: string;
  configurations?: Record<string, unknown>;
  availability_zone?: string | null;
  /** true on the first report after the agent process started */
  start_flag?: boolean;
}

function checkReport(body: unknown): AgentReport {
  const a = (body as { agent?: AgentReport } | undefined)?.agent;
  if (!a || typeof a !== 'object') throw badRequest("Unable to find 'agent' in request body");
  const known = REPORTED_AGENT_TYPES.map((t) => t.agent_type);
  if (!known.includes(a.agent_type))
    throw badRequest(`Invalid input for agent_type. Reason: '${show(a.agent_type)}' is not in ${JSON.stringify(known)}.`);
  if (typeof a.host !== 'string' || !/^[A-Za-z0-9_.-]{1,255}$/.test(a.host))
    throw badRequest(`Invalid input for host. Reason: '${show(a.host)}' is not a valid host name.`);
  if (a.configurations !== undefined && (typeof a.configurations !== 'object' || Array.isArray(a.configurations))) {
    throw badRequest('Invalid input for configurations. Reason: not a dictionary.');
  }
  const zone = a.availability_zone;
  if (zone !== undefined && zone !== null && (typeof zone !== 'string' || zone.length > 255)) {
    throw badRequest(`Invalid input for availability_zone. Reason: '${show(zone)}' is not a valid string.`);
  }
  return a;
}

/**
 * An agent's report, recorded. `resync`: the agent is new, restarted or back from the dead — the
 * moments a Neutron agent does its full sync, whose RPC auto-schedules what no agent serves yet
 * (not every heartbeat: a network or router an admin removed from an agent stays unserved until
 * something reschedules it).
 */
export interface ReportedAgent {
  row: AgentRow;
  resync: boolean;
}

/**
 * The configurations others may depend on: all but the agent's converged revision, which moves
 * with every change it realizes (were it a change itself, each report would wake every agent).
 */
function dependedOn(configurations: string): string {
  const { converged_revision: _progress, ...rest } = parseJson<Record<string, unknown>>(configurations);
  return JSON.stringify(rest);
}

/** Registers an agent or records its heartbeat (Neutron's report_state). */
export async function reportState(tx: Tx, ctx: AuthContext, config: ServerConfig, body: unknown): Promise<ReportedAgent> {
  if (!ctx.isAdmin) throw policyDenied('rule:report_state');
  const a = checkReport(body);
  const type = REPORTED_AGENT_TYPES.find((t) => t.agent_type === a.agent_type)!;
  const now = timestamp();
  const existing = await tx
    .selectFrom('agents')
    .selectAll()
    .where('agent_type', '=', a.agent_type)
    .where('host', '=', a.host)
    .executeTakeFirst();
  const configurations = JSON.stringify(a.configurations ?? {});
  if (existing) {
    const changed = dependedOn(existing.configurations) !== dependedOn(configurations);
    await tx
      .updateTable('agents')
      .set({
        heartbeat_timestamp: now,
        configurations,
        ...(a.start_flag ? { started_at: now } : {}),
        availability_zone: a.availability_zone ?? existing.availability_zone,
      })
      .where('id', '=', existing.id)
      .execute();
    // Only a change others depend on (e.g. the VTEP address) goes into the feed, not each heartbeat.
    if (changed || a.start_flag) await recordChange(tx, 'agent', existing.id, 'update', null);
    const zone = a.availability_zone ?? existing.availability_zone;
    return {
      row: { ...existing, heartbeat_timestamp: now, configurations, availability_zone: zone },
      resync: Boolean(a.start_flag) || !isAlive(existing, config),
    };
  }
  const row: AgentRow = {
    id: newId(),
    agent_type: a.agent_type,
    binary: a.binary ?? 'neutrino-agent',
    topic: type.topic,
    host: a.host,
    admin_state_up: 1,
    // Agents without a zone (the L2 agent) report none, and have none.
    availability_zone: a.availability_zone ?? null,
    description: '',
    configurations,
    created_at: now,
    started_at: now,
    heartbeat_timestamp: now,
  };
  await tx.insertInto('agents').values(row).execute();
  await recordChange(tx, 'agent', row.id, 'create', null);
  return { row, resync: true };
}
