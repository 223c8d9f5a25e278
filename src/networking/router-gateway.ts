// A router's external gateway (l3_db.py _update_router_gw_info, l3_gwmode_db.py): the gateway port on
// an external network, its addresses, SNAT, and the checks that keep floating IPs reachable.
import { composeRule } from '../model/attributes.ts';
import type { AuthContext } from '../model/context.ts';
import { conflict, policyDenied } from '../model/errors.ts';
import { canonicalIpOrNull, parseIp } from '../model/ip.ts';
import { Invalid, toBoolean } from '../model/validators.ts';
import type { NetworkRow, PortRow, RouterRow, SubnetRow } from '../store/schema/index.ts';
import { int, type Tx } from './common.ts';
import { addFixedIps, allocateFixedIps, type FixedIp, type FixedIpRequest } from './ipam.ts';
import { allocationRows } from './ipam-store.ts';
import { getVisibleNetwork } from './networks.ts';
import { createPort, deletePort } from './ports.ts';
import { badRouter, checkDupRouterSubnets, fixedIpsOf, systemContext, touchPort, touchRouter } from './router-common.ts';
import { isAutoAddressSubnet } from './subnet-requests.ts';
import { ROUTER_GW_OWNER } from '../model/neutron.ts';

export interface GatewayInfo {
  network_id: string;
  enable_snat?: boolean;
  external_fixed_ips?: FixedIpRequest[];
}

export function parseGatewayInfo(raw: unknown): GatewayInfo | null {
  if (raw === null || raw === undefined) return null;
  const g = raw as Record<string, unknown>;
  const info: GatewayInfo = { network_id: g.network_id as string };
  if (g.enable_snat !== undefined) {
    try {
      info.enable_snat = toBoolean(g.enable_snat) as boolean;
    } catch (e) {
      if (e instanceof Invalid) throw badRouter(e.message);
      throw e;
    }
  }
  if (g.external_fixed_ips !== undefined) info.external_fixed_ips = g.external_fixed_ips as FixedIpRequest[];
  return info;
}

/** enable_snat and external_fixed_ips are admin-only (rule:admin_only in Zed's router policies). */
export function checkGatewayPolicy(ctx: AuthContext, action: 'create' | 'update', raw: unknown): void {
  if (ctx.isAdmin || raw === null || raw === undefined) return;
  const keys = Object.keys(raw as object).filter((k) => k === 'enable_snat' || k === 'external_fixed_ips');
  if (keys.length)
    throw policyDenied(
      composeRule(
        action,
        'router',
        keys.map((k) => `external_gateway_info:${k}`),
      ),
    );
}

const parseIpText = (s: string) => canonicalIpOrNull(s) ?? s;

/** _check_for_external_ip_change */
function externalIpsChanged(current: FixedIp[] | undefined, requested: FixedIpRequest[]): boolean {
  if (!requested.length) return false;
  if (!current) return true;
  const eq = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((x) => b.has(x));
  const subnets = new Set(current.map((f) => f.subnet_id));
  const newSubnets = new Set(requested.filter((f) => f.subnet_id).map((f) => f.subnet_id!));
  if (!eq(subnets, newSubnets)) return true;
  const ips = new Set(current.map((f) => f.ip_address));
  const newIps = new Set(requested.filter((f) => f.ip_address).map((f) => parseIpText(f.ip_address!)));
  return !eq(ips, newIps);
}

/** _validate_gw_info: a visible external network, and no requested address equal to a subnet's gateway. */
async function validateGatewayNetwork(tx: Tx, ctx: AuthContext, networkId: string, extIps: FixedIpRequest[]): Promise<NetworkRow> {
  const network = await getVisibleNetwork(tx, ctx, networkId);
  if (!network.router_external) throw badRouter(`Network ${networkId} is not an external network`);
  const subnets = await tx.selectFrom('subnets').select('gateway_ip').where('network_id', '=', networkId).execute();
  for (const ext of extIps) {
    if (ext.ip_address === undefined) continue;
    if (subnets.some((s) => s.gateway_ip && s.gateway_ip === parseIpText(ext.ip_address!))) {
      throw badRouter(`External IP ${ext.ip_address} is the same as the gateway IP`);
    }
  }
  return network;
}

/** _update_current_gw_port: new addresses on the same port. */
async function readdressGatewayPort(tx: Tx, gwRow: PortRow, network: NetworkRow, extIps: FixedIpRequest[], gwIps: FixedIp[] | undefined) {
  const next = await allocateFixedIps(tx, network, extIps, {
    lowest: false,
    port: { deviceOwner: ROUTER_GW_OWNER, mac: gwRow.mac_address },
    keep: gwIps,
  });
  await tx.deleteFrom('ip_allocations').where('port_id', '=', gwRow.id).execute();
  if (next.length)
    await tx
      .insertInto('ip_allocations')
      .values(allocationRows(next, gwRow.id, network.id))
      .execute();
  await touchPort(tx, gwRow);
}

/** _delete_current_gw_port: refused while floating IPs need the gateway. */
async function deleteGatewayPort(tx: Tx, router: RouterRow, gwRow: PortRow): Promise<void> {
  if (await tx.selectFrom('floatingips').select('id').where('router_id', '=', router.id).executeTakeFirst()) {
    throw conflict(
      'RouterExternalGatewayInUseByFloatingIp',
      `Gateway cannot be updated for router ${router.id}, since a gateway to external network ${gwRow.network_id} is required by one or more floating IPs.`,
    );
  }
  await tx.updateTable('routers').set({ gw_port_id: null }).where('id', '=', router.id).execute();
  await deletePort(tx, systemContext, gwRow.id, true);
}

/** _create_gw_port: returns the new port's id. */
async function createGatewayPort(tx: Tx, router: RouterRow, networkId: string, extIps: FixedIpRequest[]): Promise<string> {
  const subnets = await tx.selectFrom('subnets').selectAll().where('network_id', '=', networkId).execute();
  await checkDupRouterSubnets(tx, router.id, subnets);
  const port = await createPort(
    tx,
    systemContext,
    {
      // The gateway port has no project: it is hidden from the router's owner.
      project_id: '',
      network_id: networkId,
      fixed_ips: extIps.length ? extIps : undefined,
      device_id: router.id,
      device_owner: ROUTER_GW_OWNER,
      admin_state_up: true,
      name: '',
    },
    { system: true },
  );
  return port.id as string;
}

/**
 * _update_router_gw_info: validates the new gateway, then changes the gateway port's addresses in
 * place (same network) or replaces the port (other network / cleared). Returns the router columns.
 */
export async function updateGateway(
  tx: Tx,
  ctx: AuthContext,
  router: RouterRow,
  info: GatewayInfo | null,
): Promise<Pick<RouterRow, 'gw_port_id' | 'enable_snat'>> {
  const gwRow = router.gw_port_id
    ? await tx.selectFrom('ports').selectAll().where('id', '=', router.gw_port_id).executeTakeFirst()
    : undefined;
  const gwIps = gwRow ? ((await fixedIpsOf(tx, [gwRow.id])).get(gwRow.id) ?? []) : undefined;
  const extIps = info?.external_fixed_ips ?? [];
  const ipChange = externalIpsChanged(gwIps, extIps);
  const networkId = info?.network_id ?? null;
  const network = networkId ? await validateGatewayNetwork(tx, ctx, networkId, extIps) : undefined;
  const enableSnat = int(info?.enable_snat ?? true);

  if (gwRow && ipChange && gwRow.network_id === networkId && network) {
    await readdressGatewayPort(tx, gwRow, network, extIps, gwIps);
    return { gw_port_id: gwRow.id, enable_snat: enableSnat };
  }
  let gwPortId = router.gw_port_id;
  if (gwRow && gwRow.network_id !== networkId) {
    await deleteGatewayPort(tx, router, gwRow);
    gwPortId = null;
  }
  if (networkId && (!gwRow || gwRow.network_id !== networkId)) {
    gwPortId = await createGatewayPort(tx, router, networkId, extIps);
  }
  return { gw_port_id: gwPortId, enable_snat: networkId ? enableSnat : int(true) };
}

/**
 * update_router_gw_ports: a new IPv6 subnet on an external network (or IPv4 one reserved for router
 * gateways by its service types) gives each router gateway port
 * there an address on it, unless the port already holds two stateful addresses or one of that family.
 * (Auto-address subnets reach gateway ports like any other port, through their EUI-64 address.)
 */
export async function addSubnetToGatewayPorts(tx: Tx, network: NetworkRow, subnet: SubnetRow): Promise<void> {
  const gwPorts = await tx
    .selectFrom('ports')
    .selectAll()
    .where('network_id', '=', network.id)
    .where('device_owner', '=', ROUTER_GW_OWNER)
    .execute();
  if (!gwPorts.length) return;
  const subnets = await tx.selectFrom('subnets').selectAll().where('network_id', '=', network.id).execute();
  const autoSubnets = new Set(subnets.filter(isAutoAddressSubnet).map((s) => s.id));
  const held = await fixedIpsOf(
    tx,
    gwPorts.map((p) => p.id),
  );
  for (const port of gwPorts) {
    const ips = held.get(port.id) ?? [];
    const stateful = ips.filter((f) => !autoSubnets.has(f.subnet_id));
    if (stateful.length > 1 || (stateful.length === 1 && parseIp(stateful[0].ip_address)!.version === subnet.ip_version)) continue;
    if (!(await addFixedIps(tx, network, port, ips, [{ subnet_id: subnet.id }])).length) continue;
    await touchPort(tx, port);
    const router = await tx.selectFrom('routers').selectAll().where('id', '=', port.device_id).executeTakeFirst();
    if (router) await touchRouter(tx, router);
  }
}
