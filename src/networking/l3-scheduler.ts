// L3 scheduling (Neutron's LeastRoutersScheduler with router_auto_schedule): each router that has a
// gateway or an interface is hosted by one live L3 agent, and the router's ports (interfaces and
// gateway) are bound to that agent's host so its L2 role wires their networks there.
import type { ServerConfig } from '../server-config.ts';
import type { AgentRow } from '../store/schema/index.ts';
import { recordChange, timestamp, type Tx } from './common.ts';
import { isAlive, liveAgents } from './agents.ts';
import { AGENT_TYPES } from '../model/neutron.ts';
import { ROUTER_OWNED } from '../model/neutron.ts';
import { setFloatingIpStatus } from './floatingips.ts';
import { badRequest } from '../model/errors.ts';
import { show } from '../model/validators.ts';
import { hintsOf, inHintedZone } from './availability-zones.ts';
import { bindHaRouter, haAgentCount, haPortHost, unbindHaRouter } from './l3-ha.ts';
import type { RouterRow } from '../store/schema/index.ts';

/** The router's ports point at `host`: bound there (vif type bridge), DOWN until that agent plugs them. */
async function bindRouterPorts(tx: Tx, routerId: string, host: string): Promise<void> {
  const ports = await tx
    .selectFrom('ports')
    .selectAll()
    .where('device_id', '=', routerId)
    .where('device_owner', 'in', ROUTER_OWNED)
    .execute();
  for (const p of ports) {
    if (p.binding_host_id === host) continue;
    await tx
      .updateTable('ports')
      .set({
        binding_host_id: host,
        binding_vif_type: 'bridge',
        binding_vif_details: JSON.stringify({ port_filter: true, connectivity: 'l2' }),
        status: 'DOWN',
        revision_number: p.revision_number + 1,
        updated_at: timestamp(),
      })
      .where('id', '=', p.id)
      .execute();
    await recordChange(tx, 'port', p.id, 'update', p.project_id);
  }
}

async function bind(tx: Tx, routerId: string, agent: AgentRow): Promise<void> {
  await tx.insertInto('router_l3_agents').values({ router_id: routerId, agent_id: agent.id }).execute();
  await recordChange(tx, 'router', routerId, 'update', null);
}

/**
 * add_router_to_l3_agent, once the request is checked: the agent hosts the router, whose ports move
 * to its host; an HA router gets one more agent (and `ha-` port) instead, its ports staying with the active one.
 */
export async function addRouterToL3Agent(tx: Tx, config: ServerConfig, router: RouterRow, agent: AgentRow): Promise<void> {
  if (router.ha) {
    await bindHaRouter(tx, config, router, agent);
    const host = await haPortHost(tx, router.id);
    if (host) await bindRouterPorts(tx, router.id, host);
    return;
  }
  await bind(tx, router.id, agent);
  await bindRouterPorts(tx, router.id, agent.host);
}

/** remove_router_from_l3_agent: the router is unhosted until an update reschedules it or an admin adds it again. */
export async function removeRouterFromL3Agent(tx: Tx, routerId: string, agentId: string): Promise<void> {
  if (await unbindHaRouter(tx, routerId, agentId)) return;
  const deleted = await tx
    .deleteFrom('router_l3_agents')
    .where('router_id', '=', routerId)
    .where('agent_id', '=', agentId)
    .executeTakeFirst();
  if (Number(deleted.numDeletedRows) > 0) await recordChange(tx, 'router', routerId, 'update', null);
}

/** The host of the agent hosting the router, or null when it is not scheduled. */
export async function routerHost(tx: Tx, routerId: string): Promise<string | null> {
  const row = await tx
    .selectFrom('router_l3_agents')
    .innerJoin('agents', 'agents.id', 'router_l3_agents.agent_id')
    .select('agents.host')
    .where('router_l3_agents.router_id', '=', routerId)
    .executeTakeFirst();
  return row?.host ?? null;
}

/**
 * Brings a router's placement in line with its ports: a router with a gateway or interfaces is
 * scheduled to the least loaded live L3 agent (kept where it is once scheduled) and its ports are
 * bound to that host; a router with neither stays (or becomes) unscheduled.
 */
export async function scheduleRouter(tx: Tx, config: ServerConfig, routerId: string): Promise<void> {
  const router = await tx.selectFrom('routers').selectAll().where('id', '=', routerId).executeTakeFirst();
  if (!router) return;
  if (router.ha) return scheduleHaRouter(tx, config, router);
  const hasPorts = await tx
    .selectFrom('ports')
    .select('id')
    .where('device_id', '=', routerId)
    .where('device_owner', 'in', ROUTER_OWNED)
    .executeTakeFirst();
  if (!hasPorts) {
    const deleted = await tx.deleteFrom('router_l3_agents').where('router_id', '=', routerId).executeTakeFirst();
    if (Number(deleted.numDeletedRows) > 0) await recordChange(tx, 'router', routerId, 'update', null);
    return;
  }
  let host = await routerHost(tx, routerId);
  if (!host) {
    const chosen = (await candidates(tx, config, router))[0];
    if (!chosen) return; // scheduled when an L3 agent (in a hinted zone) reports in
    await bind(tx, routerId, chosen);
    host = chosen.host;
  }
  await bindRouterPorts(tx, routerId, host);
}

/** The live L3 agents in the router's hinted zones, least loaded first (LeastRoutersScheduler), ties by host. */
async function candidates(tx: Tx, config: ServerConfig, router: Pick<RouterRow, 'availability_zone_hints'>): Promise<AgentRow[]> {
  const live = (await liveAgents(tx, config, AGENT_TYPES.l3.agent_type)).filter((a) => inHintedZone(a, hintsOf(router)));
  const load = await tx
    .selectFrom('router_l3_agents')
    .select(['agent_id', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('agent_id')
    .execute();
  const count = (id: string) => Number(load.find((l) => l.agent_id === id)?.n ?? 0);
  return live.sort((a, b) => count(a.id) - count(b.id) || a.host.localeCompare(b.host));
}

/**
 * An HA router, scheduled from its creation on (as Neutron's _after_router_create): on as many live
 * L3 agents as max_l3_agents_per_router allows, each with its `ha-` port; agents it already has are
 * kept. Its own ports are bound to the active agent's host (the first agent's until one reports).
 */
async function scheduleHaRouter(tx: Tx, config: ServerConfig, router: RouterRow): Promise<void> {
  const hosting = new Set(
    (await tx.selectFrom('router_l3_agents').select('agent_id').where('router_id', '=', router.id).execute()).map((r) => r.agent_id),
  );
  const pool = await candidates(tx, config, router);
  const wanted = haAgentCount(config, pool.length);
  for (const agent of pool.filter((a) => !hosting.has(a.id)).slice(0, Math.max(0, wanted - hosting.size))) {
    await bindHaRouter(tx, config, router, agent);
  }
  const host = await haPortHost(tx, router.id);
  if (host) await bindRouterPorts(tx, router.id, host);
}

/** On an L3 agent's report: take every router with ports that no agent hosts yet. */
export async function autoScheduleL3(tx: Tx, config: ServerConfig, agent: AgentRow): Promise<void> {
  if (agent.agent_type !== AGENT_TYPES.l3.agent_type || !agent.admin_state_up || !isAlive(agent, config)) return;
  const orphans = await tx
    .selectFrom('routers')
    .select(['id as device_id', 'availability_zone_hints'])
    .where('id', 'in', (eb) => eb.selectFrom('ports').select('device_id').where('device_owner', 'in', ROUTER_OWNED))
    .where('id', 'not in', (eb) => eb.selectFrom('router_l3_agents').select('router_id'))
    .where('ha', '=', 0)
    .execute();
  for (const o of orphans) {
    if (!inHintedZone(agent, hintsOf(o))) continue;
    await bind(tx, o.device_id, agent);
    await bindRouterPorts(tx, o.device_id, agent.host);
  }
  // _schedule_ha_routers_to_additional_agent: HA routers short of agents take this one too.
  const ha = await tx
    .selectFrom('routers')
    .selectAll()
    .where('ha', '=', 1)
    .where('id', 'not in', (eb) => eb.selectFrom('router_l3_agents').select('router_id').where('agent_id', '=', agent.id))
    .execute();
  for (const router of ha) if (inHintedZone(agent, hintsOf(router))) await scheduleHaRouter(tx, config, router);
}

/**
 * Floating IP statuses reported by an L3 agent (update_floatingip_statuses): body
 * {"floatingips": {"<id>": "ACTIVE"|"DOWN"|"ERROR"}}. ACTIVE/ERROR only for floating IPs whose
 * router this host serves; DOWN for any (a disassociated floating IP has no router). Returns the ids changed.
 */
export async function reportFloatingIpStatus(tx: Tx, host: string, body: unknown): Promise<string[]> {
  const fips = (body as { floatingips?: unknown } | undefined)?.floatingips;
  if (!fips || typeof fips !== 'object' || Array.isArray(fips)) throw badRequest("Unable to find 'floatingips' in request body");
  const changed: string[] = [];
  for (const [id, status] of Object.entries(fips as Record<string, unknown>)) {
    if (typeof status !== 'string') throw badRequest(`Invalid input for status. Reason: '${show(status)}' is not a string.`);
    const row = await tx.selectFrom('floatingips').select('router_id').where('id', '=', id).executeTakeFirst();
    if (!row) continue;
    if (status !== 'DOWN' && (!row.router_id || (await routerHost(tx, row.router_id)) !== host)) continue;
    if (await setFloatingIpStatus(tx, id, status)) changed.push(id);
  }
  return changed;
}
