// Manual scheduling by admins (dhcp_agent_scheduler, l3_agent_scheduler): which networks a DHCP agent
// serves and which routers an L3 agent hosts, listed, added and removed as agentschedulers_db.py and
// l3_agentschedulers_db.py do; the agents follow through their host views.
import type { ServerConfig } from '../server-config.ts';
import type { AuthContext } from '../model/context.ts';
import { badRequest, conflict, notFound, policyDenied } from '../model/errors.ts';
import { AGENT_TYPES } from '../model/neutron.ts';
import type { AgentRow } from '../store/schema/index.ts';
import type { Item, Tx } from './common.ts';
import { addNetworkToDhcpAgent, releaseDhcpPort } from './dhcp-scheduler.ts';
import { addRouterToL3Agent, removeRouterFromL3Agent } from './l3-scheduler.ts';
import { routerNotFound } from './lookups.ts';
import { getVisibleNetwork, networkService } from './networks.ts';
import { getVisibleRouter } from './router-common.ts';
import { routerService } from './routers.ts';

const agentNotFound = (id: string) => notFound('AgentNotFound', `Agent ${id} could not be found.`);

/** _get_agent */
async function getAgent(tx: Tx, id: string): Promise<AgentRow> {
  const row = await tx.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw agentNotFound(id);
  return row;
}

/** The id a POST body names (`{"network_id": …}`), as text; none is a 400. */
function bodyId(body: unknown, key: string): string {
  const value = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>)[key] : undefined;
  if (value === undefined) throw badRequest(`Unable to find '${key}' in request body`);
  return String(value);
}

/** Every action here is admin_only (neutron/conf/policies/agent.py). */
function enforceAdmin(ctx: AuthContext, rule: string): void {
  if (!ctx.isAdmin) throw policyDenied(`rule:${rule}`);
}

/** services_available: a disabled agent takes nothing (enable_services_on_agents_with_admin_state_down is off). */
const servicesAvailable = (agent: AgentRow) => Boolean(agent.admin_state_up);

/** GET /agents/{id}/dhcp-networks */
export async function networksOnDhcpAgent(tx: Tx, ctx: AuthContext, config: ServerConfig, agentId: string): Promise<Item[]> {
  enforceAdmin(ctx, 'get_dhcp-networks');
  const ids = (await tx.selectFrom('network_dhcp_agents').select('network_id').where('agent_id', '=', agentId).execute()).map(
    (r) => r.network_id,
  );
  if (!ids.length) {
    await getAgent(tx, agentId);
    return [];
  }
  return networkService(config).list(tx, ctx, new Map([['id', ids]]));
}

/** POST /agents/{id}/dhcp-networks */
export async function addDhcpNetwork(tx: Tx, ctx: AuthContext, agentId: string, body: unknown): Promise<void> {
  enforceAdmin(ctx, 'create_dhcp-network');
  const networkId = bodyId(body, 'network_id');
  await getVisibleNetwork(tx, ctx, networkId);
  const agent = await getAgent(tx, agentId);
  if (agent.agent_type !== AGENT_TYPES.dhcp.agent_type || !servicesAvailable(agent)) {
    throw notFound('InvalidDHCPAgent', `Agent ${agentId} is not a valid DHCP Agent or has been disabled.`);
  }
  const hosted = await tx
    .selectFrom('network_dhcp_agents')
    .select('agent_id')
    .where('network_id', '=', networkId)
    .where('agent_id', '=', agentId)
    .executeTakeFirst();
  if (hosted) {
    throw conflict('NetworkHostedByDHCPAgent', `The network ${networkId} has been already hosted by the DHCP Agent ${agentId}.`);
  }
  await addNetworkToDhcpAgent(tx, networkId, agent);
}

/** DELETE /agents/{id}/dhcp-networks/{network_id} */
export async function removeDhcpNetwork(tx: Tx, ctx: AuthContext, agentId: string, networkId: string): Promise<void> {
  enforceAdmin(ctx, 'delete_dhcp-network');
  const agent = await getAgent(tx, agentId);
  const deleted = await tx
    .deleteFrom('network_dhcp_agents')
    .where('network_id', '=', networkId)
    .where('agent_id', '=', agentId)
    .executeTakeFirst();
  if (!Number(deleted.numDeletedRows)) {
    throw conflict('NetworkNotHostedByDhcpAgent', `The network ${networkId} is not hosted by the DHCP Agent ${agentId}.`);
  }
  await releaseDhcpPort(tx, networkId, agent);
}

/** GET /agents/{id}/l3-routers */
export async function routersOnL3Agent(tx: Tx, ctx: AuthContext, config: ServerConfig, agentId: string): Promise<Item[]> {
  enforceAdmin(ctx, 'get_l3-routers');
  const ids = (await tx.selectFrom('router_l3_agents').select('router_id').where('agent_id', '=', agentId).execute()).map(
    (r) => r.router_id,
  );
  if (!ids.length) {
    await getAgent(tx, agentId);
    return [];
  }
  return routerService(config).list(tx, ctx, new Map([['id', ids]]));
}

/** POST /agents/{id}/l3-routers */
export async function addL3Router(tx: Tx, ctx: AuthContext, config: ServerConfig, agentId: string, body: unknown): Promise<void> {
  enforceAdmin(ctx, 'create_l3-router');
  const routerId = bodyId(body, 'router_id');
  const router = await getVisibleRouter(tx, ctx, routerId);
  const agent = await getAgent(tx, agentId);
  // validate_agent_router_combination: an enabled L3 agent (legacy routers only here; alive or not).
  if (agent.agent_type !== AGENT_TYPES.l3.agent_type || !servicesAvailable(agent)) {
    throw notFound('InvalidL3Agent', `Agent ${agentId} is not a L3 Agent or has been disabled`);
  }
  // check_agent_router_scheduling_needed: already here is no change; elsewhere, a legacy router stays.
  const bindings = await tx.selectFrom('router_l3_agents').select('agent_id').where('router_id', '=', routerId).execute();
  if (bindings.some((b) => b.agent_id === agentId)) return;
  const binding = bindings[0];
  // An HA router takes any number of agents.
  if (binding && !router.ha) {
    throw conflict('RouterHostedByL3Agent', `The router ${routerId} has been already hosted by the L3 Agent ${binding.agent_id}.`);
  }
  await addRouterToL3Agent(tx, config, router, agent);
}

/** DELETE /agents/{id}/l3-routers/{router_id}: unbinding a router the agent does not host is no error. */
export async function removeL3Router(tx: Tx, ctx: AuthContext, agentId: string, routerId: string): Promise<void> {
  enforceAdmin(ctx, 'delete_l3-router');
  await getAgent(tx, agentId);
  await removeRouterFromL3Agent(tx, routerId, agentId);
  const router = await tx.selectFrom('routers').select('id').where('id', '=', routerId).executeTakeFirst();
  if (!router) throw routerNotFound(routerId);
}
