// DHCP scheduling: each network with a DHCP-enabled subnet is served by one live DHCP agent, which
// gets a `network:dhcp` port on it (Neutron's dhcp_agent_scheduler + the DHCP agent's port setup).
import { createHash } from 'node:crypto';
import type { ServerConfig } from '../server-config.ts';
import { authContext } from '../model/context.ts';
import type { AgentRow } from '../store/schema/index.ts';
import { recordChange, timestamp, type Tx } from './common.ts';
import { addFixedIps } from './ipam.ts';
import { liveAgents } from './agents.ts';
import { createPort, deletePort } from './ports.ts';
import { AGENT_TYPES, DHCP_OWNER } from '../model/neutron.ts';
import { hintsOf, inHintedZone } from './availability-zones.ts';

const system = authContext({ userId: '', userName: 'neutrino', projectId: '', projectName: '', roles: ['admin'], expiresAt: '' });

/** uuid5(NAMESPACE_DNS, name), as Neutron derives the DHCP port's device_id from the host. */
function uuid5Dns(name: string): string {
  const ns = Buffer.from('6ba7b8109dad11d180b400c04fd430c8', 'hex');
  const h = createHash('sha1')
    .update(Buffer.concat([ns, Buffer.from(name)]))
    .digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

export const dhcpDeviceId = (host: string, networkId: string) => `dhcp${uuid5Dns(host)}-${networkId}`;

async function dhcpSubnets(tx: Tx, networkId: string) {
  return tx.selectFrom('subnets').select('id').where('network_id', '=', networkId).where('enable_dhcp', '=', 1).execute();
}

/** DEVICE_ID_RESERVED_DHCP_PORT: a DHCP port kept (with its addresses) for the network's next agent. */
export const RESERVED_DHCP_DEVICE_ID = 'reserved_dhcp_port';

/** The agent's DHCP port on the network, or a reserved one it takes over (as the DHCP agent's setup_dhcp_port does). */
async function agentDhcpPort(tx: Tx, networkId: string, agent: AgentRow) {
  const ports = tx.selectFrom('ports').selectAll().where('network_id', '=', networkId).where('device_owner', '=', DHCP_OWNER);
  const own = await ports.where('binding_host_id', '=', agent.host).executeTakeFirst();
  if (own) return own;
  const reserved = await ports.where('device_id', '=', RESERVED_DHCP_DEVICE_ID).orderBy('id').executeTakeFirst();
  if (!reserved) return undefined;
  const claimed = {
    device_id: dhcpDeviceId(agent.host, networkId),
    binding_host_id: agent.host,
    binding_vif_type: 'bridge',
    binding_vif_details: JSON.stringify({ port_filter: true, connectivity: 'l2' }),
    status: 'DOWN',
    revision_number: reserved.revision_number + 1,
    updated_at: timestamp(),
  };
  await tx.updateTable('ports').set(claimed).where('id', '=', reserved.id).execute();
  await recordChange(tx, 'port', reserved.id, 'update', reserved.project_id);
  return { ...reserved, ...claimed };
}

/** The DHCP port of `agent` on the network, with an address on every DHCP-enabled subnet. */
async function ensureDhcpPort(tx: Tx, networkId: string, agent: AgentRow): Promise<void> {
  const subnets = await dhcpSubnets(tx, networkId);
  const port = await agentDhcpPort(tx, networkId, agent);
  if (!port) {
    const network = await tx.selectFrom('networks').select('project_id').where('id', '=', networkId).executeTakeFirstOrThrow();
    await createPort(
      tx,
      system,
      {
        network_id: networkId,
        project_id: network.project_id,
        device_owner: DHCP_OWNER,
        device_id: dhcpDeviceId(agent.host, networkId),
        'binding:host_id': agent.host,
        fixed_ips: subnets.map((s) => ({ subnet_id: s.id })),
      },
      { system: true },
    );
    return;
  }
  const held = await tx.selectFrom('ip_allocations').select(['subnet_id', 'ip_address']).where('port_id', '=', port.id).execute();
  const missing = subnets.filter((s) => !held.some((h) => h.subnet_id === s.id));
  if (!missing.length) return;
  const network = await tx.selectFrom('networks').selectAll().where('id', '=', networkId).executeTakeFirstOrThrow();
  await addFixedIps(
    tx,
    network,
    port,
    held,
    missing.map((s) => ({ subnet_id: s.id })),
    true,
  );
  await recordChange(tx, 'port', port.id, 'update', port.project_id);
}

/**
 * add_network_to_dhcp_agent, once the request is checked: the agent serves the network from now on
 * (with its DHCP port when the network has a DHCP-enabled subnet).
 */
export async function addNetworkToDhcpAgent(tx: Tx, networkId: string, agent: AgentRow): Promise<void> {
  await bind(tx, networkId, agent);
  if ((await dhcpSubnets(tx, networkId)).length) await ensureDhcpPort(tx, networkId, agent);
}

/**
 * remove_network_from_dhcp_agent, once the binding is gone: the agent's DHCP port is reserved (kept
 * with its addresses for the next agent) and leaves the agent's host, whose DHCP service for the
 * network then goes away.
 */
export async function releaseDhcpPort(tx: Tx, networkId: string, agent: AgentRow): Promise<void> {
  await recordChange(tx, 'network', networkId, 'update', null);
  const ports = await tx
    .selectFrom('ports')
    .selectAll()
    .where('network_id', '=', networkId)
    .where('device_id', '=', dhcpDeviceId(agent.host, networkId))
    .execute();
  for (const p of ports) {
    await tx
      .updateTable('ports')
      .set({
        device_id: RESERVED_DHCP_DEVICE_ID,
        binding_host_id: '',
        binding_vif_type: 'unbound',
        binding_vif_details: '{}',
        status: 'DOWN',
        revision_number: p.revision_number + 1,
        updated_at: timestamp(),
      })
      .where('id', '=', p.id)
      .execute();
    await recordChange(tx, 'port', p.id, 'update', p.project_id);
  }
}

async function bind(tx: Tx, networkId: string, agent: AgentRow) {
  await tx.insertInto('network_dhcp_agents').values({ network_id: networkId, agent_id: agent.id }).execute();
  await recordChange(tx, 'network', networkId, 'update', null);
}

/**
 * Brings a network's DHCP service in line with its subnets: scheduled to the least loaded live DHCP
 * agent when it has a DHCP-enabled subnet (with a DHCP port there), unscheduled when it has none.
 */
export async function scheduleNetworkDhcp(tx: Tx, config: ServerConfig, networkId: string): Promise<void> {
  const bindings = await tx
    .selectFrom('network_dhcp_agents')
    .innerJoin('agents', 'agents.id', 'network_dhcp_agents.agent_id')
    .selectAll('agents')
    .where('network_dhcp_agents.network_id', '=', networkId)
    .execute();
  if (!(await dhcpSubnets(tx, networkId)).length) {
    await tx.deleteFrom('network_dhcp_agents').where('network_id', '=', networkId).execute();
    const ports = await tx
      .selectFrom('ports')
      .select('id')
      .where('network_id', '=', networkId)
      .where('device_owner', '=', DHCP_OWNER)
      .execute();
    for (const p of ports) await deletePort(tx, system, p.id, true);
    return;
  }
  let agents = bindings;
  if (!agents.length) {
    const network = await tx.selectFrom('networks').select('availability_zone_hints').where('id', '=', networkId).executeTakeFirstOrThrow();
    const live = (await liveAgents(tx, config, AGENT_TYPES.dhcp.agent_type)).filter((a) => inHintedZone(a, hintsOf(network)));
    if (!live.length) return; // scheduled when a DHCP agent (in a hinted zone) reports in
    const load = await tx
      .selectFrom('network_dhcp_agents')
      .select(['agent_id', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('agent_id')
      .execute();
    const count = (id: string) => Number(load.find((l) => l.agent_id === id)?.n ?? 0);
    const chosen = live.sort((a, b) => count(a.id) - count(b.id) || a.host.localeCompare(b.host))[0];
    await bind(tx, networkId, chosen);
    agents = [chosen];
  }
  for (const agent of agents) await ensureDhcpPort(tx, networkId, agent);
}

async function networkHints(tx: Tx, ids: string[]): Promise<Map<string, string[]>> {
  if (!ids.length) return new Map();
  const rows = await tx.selectFrom('networks').select(['id', 'availability_zone_hints']).where('id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.id, hintsOf(r)]));
}

/** On a DHCP agent's report: take every DHCP network that no agent serves yet. */
export async function autoScheduleDhcp(tx: Tx, config: ServerConfig, agent: AgentRow): Promise<void> {
  if (agent.agent_type !== AGENT_TYPES.dhcp.agent_type) return;
  const orphans = await tx
    .selectFrom('subnets')
    .select('network_id')
    .distinct()
    .where('enable_dhcp', '=', 1)
    .where('network_id', 'not in', (eb) => eb.selectFrom('network_dhcp_agents').select('network_id'))
    .execute();
  const hints = await networkHints(
    tx,
    orphans.map((o) => o.network_id),
  );
  for (const o of orphans) {
    if (!inHintedZone(agent, hints.get(o.network_id) ?? [])) continue;
    await bind(tx, o.network_id, agent);
    await ensureDhcpPort(tx, o.network_id, agent);
  }
}
