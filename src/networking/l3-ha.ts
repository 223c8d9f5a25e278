// HA routers (Neutron's l3_hamode_db.py with the L3 scheduler's HA binding): every project with HA
// routers has one HA network (no project of its own, "HA network tenant <project>", a subnet of
// l3_ha_net_cidr without DHCP or gateway); each HA router has a VRRP id unique on that network and is
// scheduled on up to max_l3_agents_per_router live L3 agents, with an `ha-` port on each agent's
// host. The agents report which of them keepalived made active; the router's own ports follow the
// active one (their binding host), so that L2 population points the other nodes there.
import { randomInt } from 'node:crypto';
import { prepareCreate } from '../model/attributes.ts';
import { badRequest, conflict } from '../model/errors.ts';
import { ROUTER_HA_INTF_OWNER, ROUTER_OWNED } from '../model/neutron.ts';
import { show } from '../model/validators.ts';
import type { ServerConfig } from '../server-config.ts';
import type { AgentRow, RouterRow } from '../store/schema/index.ts';
import { recordChange, type Item, type Tx } from './common.ts';
import { networkService, networkSpec } from './networks.ts';
import { binding, createPort, deletePort } from './ports.ts';
import { systemContext } from './router-common.ts';
import { subnetService, subnetSpec } from './subnets.ts';

/** VR_ID_RANGE: VRRP ids 1–254. */
const VR_IDS = 254;

/** HA_NETWORK_NAME, HA_SUBNET_NAME, HA_PORT_NAME (Neutron Zed's wording). */
export const haNetworkName = (project: string) => `HA network tenant ${project}`;
export const haSubnetName = (project: string) => `HA subnet tenant ${project}`;
export const haPortName = (project: string) => `HA port tenant ${project}`;

/** The states an agent may report (HA_ROUTER_STATE_*). */
export const HA_STATES = ['active', 'standby', 'unknown', 'fault'] as const;
export type HaState = (typeof HA_STATES)[number];

/** _is_ha: the request's `ha`, or l3_ha when not given. */
export const wantsHa = (config: ServerConfig, a: Item): boolean => (a.ha === undefined ? config.l3ha.l3Ha : a.ha === true);

/** The project's HA network, created with its subnet when it has none (_create_ha_network). */
export async function ensureHaNetwork(tx: Tx, config: ServerConfig, projectId: string): Promise<string> {
  const known = await tx.selectFrom('ha_router_networks').select('network_id').where('project_id', '=', projectId).executeTakeFirst();
  if (known) return known.network_id;
  const net = prepareCreate(
    networkSpec,
    { network: { name: haNetworkName(projectId), shared: false, admin_state_up: true } },
    systemContext,
  );
  const network = await networkService(config).create(tx, systemContext, { ...net, project_id: '' });
  const sub = prepareCreate(
    subnetSpec,
    {
      subnet: {
        network_id: network.id,
        name: haSubnetName(projectId),
        ip_version: 4,
        cidr: config.l3ha.l3HaNetCidr,
        enable_dhcp: false,
        gateway_ip: null,
      },
    },
    systemContext,
  );
  await subnetService(config).create(tx, systemContext, { ...sub, project_id: '' });
  await tx
    .insertInto('ha_router_networks')
    .values({ project_id: projectId, network_id: network.id as string })
    .execute();
  return network.id as string;
}

/** _get_vr_id: a VRRP id no other HA router of the project uses, at random (NoVRIDAvailable when none is left). */
export async function allocateVrId(tx: Tx, projectId: string, routerId: string): Promise<number> {
  const used = new Set(
    (await tx.selectFrom('routers').select('ha_vr_id').where('project_id', '=', projectId).where('ha', '=', 1).execute()).map(
      (r) => r.ha_vr_id,
    ),
  );
  const free = Array.from({ length: VR_IDS }, (_, i) => i + 1).filter((id) => !used.has(id));
  if (!free.length)
    throw conflict(
      'NoVRIDAvailable',
      `No more Virtual Router Identifier (VRID) available when creating router ${routerId}. Limit of 254 routers per project.`,
    );
  return free[randomInt(free.length)]!;
}

/** get_number_of_agents_for_scheduling: every live agent, or at most max_l3_agents_per_router of them. */
export function haAgentCount(config: ServerConfig, live: number): number {
  const max = config.l3ha.maxL3AgentsPerRouter;
  return max && max < live ? max : live;
}

/** The `ha-` port of an HA router on one agent's host (add_ha_port), bound there. */
async function createHaPort(tx: Tx, router: Pick<RouterRow, 'id' | 'project_id'>, networkId: string, host: string): Promise<string> {
  const port = await createPort(
    tx,
    systemContext,
    {
      project_id: '',
      network_id: networkId,
      admin_state_up: true,
      device_id: router.id,
      device_owner: ROUTER_HA_INTF_OWNER,
      name: haPortName(router.project_id),
      'binding:host_id': host,
    },
    { system: true },
  );
  return port.id as string;
}

/** Binds an HA router to one more agent: the binding and that host's `ha-` port. */
export async function bindHaRouter(tx: Tx, config: ServerConfig, router: RouterRow, agent: AgentRow): Promise<void> {
  const networkId = await ensureHaNetwork(tx, config, router.project_id);
  const portId = await createHaPort(tx, router, networkId, agent.host);
  await tx
    .insertInto('router_l3_agents')
    .values({ router_id: router.id, agent_id: agent.id, ha_port_id: portId, ha_state: 'standby' })
    .execute();
  await recordChange(tx, 'router', router.id, 'update', null);
}

/** Unbinds an HA router from one agent: the binding and its `ha-` port go. */
export async function unbindHaRouter(tx: Tx, routerId: string, agentId: string): Promise<boolean> {
  const row = await tx
    .selectFrom('router_l3_agents')
    .select('ha_port_id')
    .where('router_id', '=', routerId)
    .where('agent_id', '=', agentId)
    .executeTakeFirst();
  if (!row) return false;
  await tx.deleteFrom('router_l3_agents').where('router_id', '=', routerId).where('agent_id', '=', agentId).execute();
  if (row.ha_port_id) await deletePort(tx, systemContext, row.ha_port_id, true);
  await recordChange(tx, 'router', routerId, 'update', null);
  return true;
}

/** Every binding and `ha-` port of a router (the router is deleted, or stops being HA). */
export async function unbindHaRouterEverywhere(tx: Tx, routerId: string): Promise<void> {
  const agents = await tx.selectFrom('router_l3_agents').select('agent_id').where('router_id', '=', routerId).execute();
  for (const a of agents) await unbindHaRouter(tx, routerId, a.agent_id);
  const strays = await tx
    .selectFrom('ports')
    .select('id')
    .where('device_id', '=', routerId)
    .where('device_owner', '=', ROUTER_HA_INTF_OWNER)
    .execute();
  for (const p of strays) await deletePort(tx, systemContext, p.id, true);
}

/** safe_delete_ha_network: the project's HA network goes with its last HA router. */
export async function deleteHaNetworkIfUnused(tx: Tx, config: ServerConfig, projectId: string): Promise<void> {
  const left = await tx.selectFrom('routers').select('id').where('project_id', '=', projectId).where('ha', '=', 1).executeTakeFirst();
  if (left) return;
  const ha = await tx.selectFrom('ha_router_networks').select('network_id').where('project_id', '=', projectId).executeTakeFirst();
  if (!ha) return;
  await tx.deleteFrom('ha_router_networks').where('project_id', '=', projectId).execute();
  await networkService(config).remove(tx, systemContext, ha.network_id);
}

/** The host the router's own ports are bound to: the active agent's, else the first agent's (get_active_host_for_ha_router). */
export async function haPortHost(tx: Tx, routerId: string): Promise<string | null> {
  const rows = await tx
    .selectFrom('router_l3_agents')
    .innerJoin('agents', 'agents.id', 'router_l3_agents.agent_id')
    .select(['agents.host', 'router_l3_agents.ha_state'])
    .where('router_l3_agents.router_id', '=', routerId)
    .orderBy('agents.host')
    .execute();
  return (rows.find((r) => r.ha_state === 'active') ?? rows[0])?.host ?? null;
}

/** update_ha_routers_states' body: {"states": {"<router id>": "active"|"standby"|…}}. */
export function checkHaStates(body: unknown): Record<string, HaState> {
  const states = (body as { states?: unknown } | undefined)?.states;
  if (!states || typeof states !== 'object' || Array.isArray(states)) throw badRequest("Unable to find 'states' in request body");
  for (const [id, s] of Object.entries(states as Record<string, unknown>)) {
    if (!HA_STATES.includes(s as HaState))
      throw badRequest(`Invalid input for state of router ${id}. Reason: '${show(s)}' is not in ${JSON.stringify(HA_STATES)}.`);
  }
  return states as Record<string, HaState>;
}

/**
 * update_routers_states: the states `host`'s L3 agent reports for the HA routers it hosts; where it
 * is active, the router's interfaces and gateway move to that host (_update_router_port_bindings).
 * Returns the routers whose state changed.
 */
export async function updateHaStates(tx: Tx, host: string, states: Record<string, HaState>): Promise<string[]> {
  const changed: string[] = [];
  for (const [routerId, state] of Object.entries(states)) {
    const row = await tx
      .selectFrom('router_l3_agents')
      .innerJoin('agents', 'agents.id', 'router_l3_agents.agent_id')
      .select(['router_l3_agents.agent_id', 'router_l3_agents.ha_state'])
      .where('router_l3_agents.router_id', '=', routerId)
      .where('agents.host', '=', host)
      .where('router_l3_agents.ha_port_id', 'is not', null)
      .executeTakeFirst();
    if (!row) continue;
    if (row.ha_state !== state) {
      await tx
        .updateTable('router_l3_agents')
        .set({ ha_state: state })
        .where('router_id', '=', routerId)
        .where('agent_id', '=', row.agent_id)
        .execute();
      // The state is in the router's host views (`ha.state`): the feed carries every change to a view.
      await recordChange(tx, 'router', routerId, 'update', null);
      changed.push(routerId);
    }
    if (state === 'active') await moveRouterPorts(tx, routerId, host);
  }
  return changed;
}

/** The router's interfaces and gateway bound to `host`, which keepalived made active there. */
async function moveRouterPorts(tx: Tx, routerId: string, host: string): Promise<void> {
  const ports = await tx
    .selectFrom('ports')
    .select(['id', 'project_id', 'revision_number'])
    .where('device_id', '=', routerId)
    .where('device_owner', 'in', ROUTER_OWNED)
    .where('binding_host_id', '!=', host)
    .execute();
  for (const p of ports) {
    await tx
      .updateTable('ports')
      .set({ binding_host_id: host, ...binding(host), revision_number: p.revision_number + 1 })
      .where('id', '=', p.id)
      .execute();
    await recordChange(tx, 'port', p.id, 'update', p.project_id);
  }
}
