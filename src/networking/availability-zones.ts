// Availability zones (agents_db's AgentAvailabilityZoneMixin): the zones are those the DHCP agents
// (resource `network`) and L3 agents (resource `router`) report; a zone is available while one of its
// agents is administratively up. Networks and routers name zones in availability_zone_hints, and show
// the zones of the agents hosting them as availability_zones.
import { notFound } from '../model/errors.ts';
import { AGENT_TYPES } from '../model/neutron.ts';
import type { AgentRow } from '../store/schema/index.ts';
import { parseJson, type Item, type Tx } from './common.ts';

export type ZonedResource = 'network' | 'router';

/** RESOURCE_AGENT_TYPE_MAP */
const AGENT_TYPE_OF: Record<ZonedResource, string> = {
  network: AGENT_TYPES.dhcp.agent_type,
  router: AGENT_TYPES.l3.agent_type,
};

const resourceOf = (agentType: string): ZonedResource | undefined =>
  (Object.keys(AGENT_TYPE_OF) as ZonedResource[]).find((r) => AGENT_TYPE_OF[r] === agentType);

/** GET /v2.0/availability_zones: one entry per (zone, resource), in the order the agents give them. */
export async function listAvailabilityZones(tx: Tx): Promise<Item[]> {
  const agents = await tx
    .selectFrom('agents')
    .select(['agent_type', 'availability_zone', 'admin_state_up'])
    .orderBy('host')
    .orderBy('agent_type')
    .execute();
  const zones = new Map<string, { name: string; resource: ZonedResource; up: boolean }>();
  for (const a of agents) {
    const resource = resourceOf(a.agent_type);
    if (!a.availability_zone || !resource) continue;
    const key = JSON.stringify([a.availability_zone, resource]);
    const zone = zones.get(key) ?? { name: a.availability_zone, resource, up: false };
    zone.up ||= Boolean(a.admin_state_up);
    zones.set(key, zone);
  }
  return [...zones.values()].map((z) => ({ name: z.name, resource: z.resource, state: z.up ? 'available' : 'unavailable' }));
}

/** validate_availability_zones: every hint must be a zone of an agent of the resource's type. */
export async function validateAvailabilityZones(tx: Tx, resource: ZonedResource, hints: string[]): Promise<void> {
  if (!hints.length) return;
  const rows = await tx
    .selectFrom('agents')
    .select('availability_zone')
    .where('agent_type', '=', AGENT_TYPE_OF[resource])
    .where('availability_zone', 'in', hints)
    .execute();
  const missing = hints.find((h) => !rows.some((r) => r.availability_zone === h));
  if (missing !== undefined) throw notFound('AvailabilityZoneNotFound', `AvailabilityZone ${missing} could not be found.`);
}

/** Whether an agent may take a resource with these hints (the schedulers' zone filter; no hints: any). */
export const inHintedZone = (agent: Pick<AgentRow, 'availability_zone'>, hints: string[]) =>
  !hints.length || (agent.availability_zone !== null && hints.includes(agent.availability_zone));

/** The stored hints of a network or router row. */
export const hintsOf = (row: { availability_zone_hints: string }) => parseJson<string[]>(row.availability_zone_hints);

/** Resource id → the zones of the agents hosting it (get_network/router_availability_zones). */
export async function hostingZones(tx: Tx, resource: ZonedResource, ids: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (!ids.length) return out;
  const rows =
    resource === 'network'
      ? await tx
          .selectFrom('network_dhcp_agents')
          .innerJoin('agents', 'agents.id', 'network_dhcp_agents.agent_id')
          .select(['network_dhcp_agents.network_id as id', 'agents.availability_zone'])
          .where('network_dhcp_agents.network_id', 'in', ids)
          .execute()
      : await tx
          .selectFrom('router_l3_agents')
          .innerJoin('agents', 'agents.id', 'router_l3_agents.agent_id')
          .select(['router_l3_agents.router_id as id', 'agents.availability_zone'])
          .where('router_l3_agents.router_id', 'in', ids)
          .execute();
  for (const r of rows) {
    if (r.availability_zone === null) continue;
    const zones = out.get(r.id) ?? [];
    if (!zones.includes(r.availability_zone)) zones.push(r.availability_zone);
    out.set(r.id, zones);
  }
  return out;
}
