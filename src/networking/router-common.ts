// What the router modules share: router port owners, the system context, router errors, the router's
// API view, visibility, the ports a router owns, revision bumps and the one-port-per-subnet / no-overlap check.
import { authContext, type AuthContext } from '../model/context.ts';
import { conflict, NeutronError } from '../model/errors.ts';
import { cidrsOverlap } from '../model/ip.ts';
import { ROUTER_GW_OWNER, ROUTER_HA_REPLICATED_INTF_OWNER, ROUTER_INTF_OWNER, ROUTER_OWNED } from '../model/neutron.ts';
import type { PortRow, RouterRow, SubnetRow } from '../store/schema/index.ts';
import { bool, parseJson, recordChange, standardFields, timestamp, type Item, type Tx } from './common.ts';
import type { FixedIp } from './ipam.ts';
import { routerNotFound, subnetCidr } from './lookups.ts';
import { hintsOf, hostingZones } from './availability-zones.ts';

/** _get_device_owner: the owner of a router's interfaces, replicated ones for an HA router. */
export const interfaceOwner = (router: Pick<RouterRow, 'ha'>): string => (router.ha ? ROUTER_HA_REPLICATED_INTF_OWNER : ROUTER_INTF_OWNER);

/** The server acting for itself (context.elevated()): creates and deletes service ports. */
export const systemContext: AuthContext = authContext({
  userId: '',
  userName: 'neutrino',
  projectId: '',
  projectName: '',
  roles: ['admin'],
  expiresAt: '',
});

/** neutron_lib.exceptions.BadRequest: "Bad <resource> request: <msg>." */
export const badResourceRequest = (resource: string, msg: string) =>
  new NeutronError(400, 'BadRequest', `Bad ${resource} request: ${msg}.`);
export const badRouter = (msg: string) => badResourceRequest('router', msg);

const deviceIdNotOwned = (deviceId: string) =>
  conflict(
    'DeviceIDNotOwnedByTenant',
    `The following device_id ${deviceId} is not owned by your tenant or matches another tenants router.`,
  );

/** What a port says about the device it belongs to, and whose port it is. */
export interface PortDevice {
  device_owner: string;
  device_id: string;
  project_id: string;
}

/**
 * _enforce_device_owner_not_router_intf_or_device_id, widened from the interface owners to every
 * router-owned owner (the gateway too): only an admin may make one project's port part of another
 * project's router. The server trusts such ports as the router's own (host view, RouterInUse, the
 * overlap check, floating IP routing), so a member must not be able to write one.
 */
export async function enforceRouterDeviceOwner(tx: Tx, ctx: AuthContext, port: PortDevice): Promise<void> {
  if (ctx.isAdmin || !ROUTER_OWNED.includes(port.device_owner) || !port.device_id) return;
  const router = await tx.selectFrom('routers').select('project_id').where('id', '=', port.device_id).executeTakeFirst();
  if (router && router.project_id !== port.project_id) throw deviceIdNotOwned(port.device_id);
}

interface GatewayPort {
  network_id: string;
  fixed_ips: FixedIp[];
}

export function routerToApi(row: RouterRow, gw: GatewayPort | undefined, zones: string[] = []): Item {
  return {
    id: row.id,
    name: row.name,
    admin_state_up: bool(row.admin_state_up),
    status: row.status,
    external_gateway_info: gw
      ? {
          network_id: gw.network_id,
          enable_snat: bool(row.enable_snat),
          external_fixed_ips: gw.fixed_ips.map((f) => ({ subnet_id: f.subnet_id, ip_address: f.ip_address })),
        }
      : null,
    routes: parseJson<unknown[]>(row.routes),
    distributed: false,
    ha: bool(row.ha),
    flavor_id: row.flavor_id,
    availability_zone_hints: hintsOf(row),
    availability_zones: zones,
    ...standardFields(row),
  };
}

/** Port id → its addresses. */
export async function fixedIpsOf(tx: Tx, portIds: string[]): Promise<Map<string, FixedIp[]>> {
  const out = new Map<string, FixedIp[]>();
  if (!portIds.length) return out;
  const rows = await tx
    .selectFrom('ip_allocations')
    .select(['port_id', 'subnet_id', 'ip_address'])
    .where('port_id', 'in', portIds)
    .execute();
  for (const r of rows) out.set(r.port_id, [...(out.get(r.port_id) ?? []), { subnet_id: r.subnet_id, ip_address: r.ip_address }]);
  return out;
}

export async function routersToApi(tx: Tx, rows: RouterRow[]): Promise<Item[]> {
  const gwIds = rows.map((r) => r.gw_port_id).filter((x): x is string => !!x);
  const ports = gwIds.length ? await tx.selectFrom('ports').select(['id', 'network_id']).where('id', 'in', gwIds).execute() : [];
  const ips = await fixedIpsOf(tx, gwIds);
  const zones = await hostingZones(
    tx,
    'router',
    rows.map((r) => r.id),
  );
  return rows.map((r) => {
    const p = r.gw_port_id ? ports.find((x) => x.id === r.gw_port_id) : undefined;
    return routerToApi(r, p && { network_id: p.network_id, fixed_ips: ips.get(p.id) ?? [] }, zones.get(r.id) ?? []);
  });
}

/** A router the caller may see (its project's, or any for admins), or RouterNotFound. */
export async function getVisibleRouter(tx: Tx, ctx: AuthContext, id: string): Promise<RouterRow> {
  const row = await tx.selectFrom('routers').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || !(ctx.isAdmin || row.project_id === ctx.projectId)) throw routerNotFound(id);
  return row;
}

/** Ports the router owns (interfaces and gateway), with their addresses. */
export async function routerPorts(tx: Tx, routerId: string, owners = ROUTER_OWNED): Promise<Array<PortRow & { fixed_ips: FixedIp[] }>> {
  const rows = await tx
    .selectFrom('ports')
    .selectAll()
    .where('device_id', '=', routerId)
    .where('device_owner', 'in', owners)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const ips = await fixedIpsOf(
    tx,
    rows.map((r) => r.id),
  );
  return rows.map((r) => ({ ...r, fixed_ips: ips.get(r.id) ?? [] }));
}

/** The subnets the router is on: the interfaces' subnets, and every subnet of the gateway's network. */
async function routerSubnetIds(tx: Tx, routerId: string, newIds: Set<string>): Promise<string[]> {
  const ids: string[] = [];
  for (const p of await routerPorts(tx, routerId)) {
    for (const ip of p.fixed_ips) {
      if (newIds.has(ip.subnet_id)) throw badRouter(`Router already has a port on subnet ${ip.subnet_id}`);
      if (p.device_owner === ROUTER_GW_OWNER) {
        const ext = await tx.selectFrom('subnets').select('id').where('network_id', '=', p.network_id).execute();
        ids.push(...ext.map((s) => s.id));
      } else {
        ids.push(ip.subnet_id);
      }
    }
  }
  return ids;
}

/**
 * _check_for_dup_router_subnets: the router may have only one port per subnet, and no two of its
 * subnets (the gateway counting with every subnet of the external network) may overlap.
 */
export async function checkDupRouterSubnets(tx: Tx, routerId: string, newSubnets: SubnetRow[]): Promise<void> {
  const ids = await routerSubnetIds(tx, routerId, new Set(newSubnets.map((s) => s.id)));
  if (!ids.length) return;
  const existing = await tx
    .selectFrom('subnets')
    .selectAll()
    .where('id', 'in', [...new Set(ids)])
    .execute();
  for (const sub of existing) {
    for (const s of newSubnets) {
      if (cidrsOverlap(subnetCidr(sub), subnetCidr(s))) {
        throw badRouter(`Cidr ${s.cidr} of subnet ${s.id} overlaps with cidr ${sub.cidr} of subnet ${sub.id}`);
      }
    }
  }
}

/** Bumps a router-owned port's revision (its addresses or owner changed), with any `extra` columns. */
export async function touchPort(tx: Tx, port: PortRow, extra: Partial<PortRow> = {}): Promise<void> {
  await tx
    .updateTable('ports')
    .set({ ...extra, revision_number: port.revision_number + 1, updated_at: timestamp() })
    .where('id', '=', port.id)
    .execute();
  await recordChange(tx, 'port', port.id, 'update', port.project_id);
}

/** Bumps the router's revision: its interfaces or gateway changed. */
export async function touchRouter(tx: Tx, router: RouterRow, extra: Partial<RouterRow> = {}): Promise<void> {
  await tx
    .updateTable('routers')
    .set({ ...extra, revision_number: router.revision_number + 1, updated_at: timestamp() })
    .where('id', '=', router.id)
    .execute();
  await recordChange(tx, 'router', router.id, 'update', router.project_id);
}
