// Router interfaces (l3_db.py add_router_interface / remove_router_interface): connecting a router to an
// internal subnet, by an existing port or by a new port at the subnet's gateway address, and back.
import type { AuthContext } from '../model/context.ts';
import { conflict, NeutronError, notFound } from '../model/errors.ts';
import { cidrContains, parseIp } from '../model/ip.ts';
import { inPools, type Pool } from '../model/ipam.ts';
import { isUuid } from '../model/validators.ts';
import type { PortRow, RouterRow, SubnetRow } from '../store/schema/index.ts';
import { parseJson, type Tx } from './common.ts';
import { addFixedIps, type FixedIp } from './ipam.ts';
import { createPort, deletePort, getVisiblePort } from './ports.ts';
import {
  badRouter,
  checkDupRouterSubnets,
  enforceRouterDeviceOwner,
  fixedIpsOf,
  getVisibleRouter,
  interfaceOwner,
  routerPorts,
  systemContext,
  touchPort,
  touchRouter,
} from './router-common.ts';
import { subnetCidr } from './lookups.ts';
import { getVisibleSubnet } from './subnets.ts';
import { checkSubnetNotUsedByRoutes } from './extra-routes.ts';
import { ACCESS_SHARED, isTargeted } from './rbac-sql.ts';

export interface InterfaceInfo {
  id: string;
  tenant_id: string;
  project_id: string;
  port_id: string;
  network_id: string;
  subnet_id: string;
  subnet_ids: string[];
}

const interfaceInfo = (
  routerId: string,
  port: { id: string; project_id: string; network_id: string },
  subnetIds: string[],
  pick: 'first' | 'last',
): InterfaceInfo => ({
  id: routerId,
  tenant_id: port.project_id,
  project_id: port.project_id,
  port_id: port.id,
  network_id: port.network_id,
  subnet_id: pick === 'first' ? subnetIds[0] : subnetIds[subnetIds.length - 1],
  subnet_ids: subnetIds,
});

/** _validate_interface_info: exactly one of subnet_id / port_id (both allowed on removal), as UUIDs. */
function interfaceRequest(body: unknown, forRemoval: boolean): { portId?: string; subnetId?: string } {
  const info = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  const byPort = 'port_id' in info;
  const bySubnet = 'subnet_id' in info;
  if (!byPort && !bySubnet) throw badRouter('Either subnet_id or port_id must be specified');
  for (const key of ['port_id', 'subnet_id']) {
    if (!(key in info)) continue;
    const err = isUuid(info[key]);
    if (err) throw badRouter(err);
  }
  if (!forRemoval && byPort && bySubnet) throw badRouter('Cannot specify both subnet-id and port-id');
  return { portId: byPort ? (info.port_id as string) : undefined, subnetId: bySubnet ? (info.subnet_id as string) : undefined };
}

async function subnetsByIds(tx: Tx, ids: string[]): Promise<SubnetRow[]> {
  if (!ids.length) return [];
  const rows = await tx.selectFrom('subnets').selectAll().where('id', 'in', ids).execute();
  return ids.map((id) => rows.find((r) => r.id === id)).filter((r): r is SubnetRow => !!r);
}

/** PUT /routers/{id}/add_router_interface */
export async function addRouterInterface(tx: Tx, ctx: AuthContext, routerId: string, body: unknown): Promise<InterfaceInfo> {
  const router = await getVisibleRouter(tx, ctx, routerId);
  const { portId, subnetId } = interfaceRequest(body, false);
  if (portId !== undefined) return addInterfaceByPort(tx, ctx, router, portId);
  return addInterfaceBySubnet(tx, ctx, router, subnetId!);
}

/** _validate_port_in_range_or_admin: a member's port may use another project's subnet only inside its pools. */
function checkPortInRange(ctx: AuthContext, port: PortRow, fixedIps: FixedIp[], subnets: SubnetRow[]): void {
  if (ctx.isAdmin) return;
  for (const f of fixedIps) {
    const s = subnets.find((x) => x.id === f.subnet_id)!;
    if (!inPools(subnetCidr(s), parseJson<Pool[]>(s.allocation_pools), f.ip_address) && s.project_id !== ctx.projectId) {
      throw badRouter(
        `Cannot add interface to router because specified port ${port.id} has an IP address out of the allocation pool of subnet ${s.id}, which is not owned by the project making the request`,
      );
    }
  }
}

/** _add_interface_by_port (_check_router_port(context, port_id, '')): an unowned port with addresses. */
async function addInterfaceByPort(tx: Tx, ctx: AuthContext, router: RouterRow, portId: string): Promise<InterfaceInfo> {
  const { port } = await getVisiblePort(tx, ctx, portId);
  if (port.device_id !== '') {
    throw conflict(
      'PortInUse',
      `Unable to complete operation on port ${port.id} for network ${port.network_id}. Port already has an attached device ${port.device_id}.`,
    );
  }
  const fixedIps = (await fixedIpsOf(tx, [port.id])).get(port.id) ?? [];
  if (!fixedIps.length) throw badRouter('Router port must have at least one fixed IP');
  // Neutron attaches by updating the port as the caller: another project's port may not join this router.
  await enforceRouterDeviceOwner(tx, ctx, { device_owner: interfaceOwner(router), device_id: router.id, project_id: port.project_id });
  if (hasIpv6Address(fixedIps)) {
    const other = (await routerPorts(tx, router.id, [interfaceOwner(router)])).find(
      (p) => p.id !== port.id && p.network_id === port.network_id && hasIpv6Address(p.fixed_ips),
    );
    if (other) {
      throw badRouter(
        `Router already contains IPv6 port ${other.id} belonging to network id ${other.network_id}. Only one IPv6 port from the same network subnet can be connected to a router.`,
      );
    }
  }
  const subnets = await subnetsByIds(tx, [...new Set(fixedIps.map((f) => f.subnet_id))]);
  await checkDupRouterSubnets(tx, router.id, subnets);
  if (subnets.filter((s) => s.ip_version === 4).length > 1) throw badRouter('Cannot have multiple IPv4 subnets on router port');
  checkPortInRange(ctx, port, fixedIps, subnets);
  await touchPort(tx, port, { device_id: router.id, device_owner: interfaceOwner(router) });
  await touchRouter(tx, router);
  return interfaceInfo(
    router.id,
    port,
    subnets.map((s) => s.id),
    'last',
  );
}

/** _add_interface_by_subnet: a new port at the subnet's gateway address. */
async function addInterfaceBySubnet(tx: Tx, ctx: AuthContext, router: RouterRow, subnetId: string): Promise<InterfaceInfo> {
  const { subnet } = await getVisibleSubnet(tx, ctx, subnetId);
  if (!subnet.gateway_ip) throw badRouter('Subnet for router interface must have a gateway IP');
  // A network shared with the caller's project by a policy of its own may take the interface; one
  // shared with everyone may not (LP-1757482, LP-1975603).
  if (
    subnet.project_id !== ctx.projectId &&
    !ctx.isAdmin &&
    !(await isTargeted(tx, 'network', subnet.network_id, ACCESS_SHARED, ctx.projectId))
  ) {
    throw badRouter(`Cannot add interface to router because subnet ${subnet.id} is not owned by project making the request`);
  }
  if (subnet.ip_version === 6 && subnet.ipv6_ra_mode === null && subnet.ipv6_address_mode !== null) {
    throw badRouter(`IPv6 subnet ${subnet.id} configured to receive RAs from an external router cannot be added to Neutron Router.`);
  }
  await checkDupRouterSubnets(tx, router.id, [subnet]);
  if (subnet.ip_version === 6) {
    // Another IPv6 prefix of a network the router already has an IPv6 port on joins that port.
    const shared = (await routerPorts(tx, router.id, [interfaceOwner(router)])).find(
      (p) => p.network_id === subnet.network_id && hasIpv6Address(p.fixed_ips),
    );
    if (shared) return addPrefixToPort(tx, router, shared, subnet);
  }
  const port = await createPort(
    tx,
    systemContext,
    {
      project_id: router.project_id,
      network_id: subnet.network_id,
      fixed_ips: [{ subnet_id: subnet.id, ip_address: subnet.gateway_ip }],
      admin_state_up: true,
      device_id: router.id,
      device_owner: interfaceOwner(router),
      name: '',
    },
    { system: true },
  );
  await touchRouter(tx, router);
  return interfaceInfo(
    router.id,
    { id: port.id as string, project_id: router.project_id, network_id: subnet.network_id },
    [subnet.id],
    'last',
  );
}

const hasIpv6Address = (ips: FixedIp[]) => ips.some((f) => parseIp(f.ip_address)?.version === 6);

/** The subnet's gateway address added to the router's IPv6 port on its network (an update of that port). */
async function addPrefixToPort(
  tx: Tx,
  router: RouterRow,
  port: PortRow & { fixed_ips: FixedIp[] },
  subnet: SubnetRow,
): Promise<InterfaceInfo> {
  const network = await tx.selectFrom('networks').selectAll().where('id', '=', port.network_id).executeTakeFirstOrThrow();
  await addFixedIps(tx, network, port, port.fixed_ips, [{ subnet_id: subnet.id, ip_address: subnet.gateway_ip! }]);
  await touchPort(tx, port);
  await touchRouter(tx, router);
  return interfaceInfo(router.id, port, [subnet.id], 'last');
}

/**
 * _confirm_router_interface_not_in_use: no floating IP of this router reaches a fixed IP on the
 * subnet, and no extra route has its next hop there.
 */
async function checkInterfaceNotInUse(tx: Tx, router: RouterRow, subnet: SubnetRow): Promise<void> {
  await checkNoFloatingIpBehind(tx, router.id, subnet);
  checkSubnetNotUsedByRoutes(router, subnet);
}

/** No floating IP of the router reaches a fixed IP on the subnet. */
async function checkNoFloatingIpBehind(tx: Tx, routerId: string, subnet: SubnetRow): Promise<void> {
  const fips = await tx.selectFrom('floatingips').select(['fixed_ip_address', 'fixed_port_id']).where('router_id', '=', routerId).execute();
  if (!fips.length) return;
  const onSubnet = new Set(
    (await tx.selectFrom('ip_allocations').select('port_id').where('subnet_id', '=', subnet.id).execute()).map((r) => r.port_id),
  );
  const cidr = subnetCidr(subnet);
  for (const f of fips) {
    const ip = f.fixed_ip_address ? parseIp(f.fixed_ip_address) : null;
    if (ip && cidrContains(cidr, ip) && f.fixed_port_id && onSubnet.has(f.fixed_port_id)) {
      throw conflict(
        'RouterInterfaceInUseByFloatingIP',
        `Router interface for subnet ${subnet.id} on router ${routerId} cannot be deleted, as it is required by one or more floating IPs.`,
      );
    }
  }
}

/** PUT /routers/{id}/remove_router_interface */
export async function removeRouterInterface(tx: Tx, ctx: AuthContext, routerId: string, body: unknown): Promise<InterfaceInfo> {
  const router = await getVisibleRouter(tx, ctx, routerId);
  const { portId, subnetId } = interfaceRequest(body, true);
  if (portId !== undefined) return removeInterfaceByPort(tx, router, portId, subnetId);
  return removeInterfaceBySubnet(tx, ctx, router, subnetId!);
}

/** _remove_interface_by_port: the port must be one of the router's interfaces (on `subnetId`, if given). */
async function removeInterfaceByPort(tx: Tx, router: RouterRow, portId: string, subnetId: string | undefined): Promise<InterfaceInfo> {
  const port = (await routerPorts(tx, router.id, [interfaceOwner(router)])).find((p) => p.id === portId);
  if (!port) throw notFound('RouterInterfaceNotFound', `Router ${router.id} does not have an interface with id ${portId}`);
  const portSubnets = port.fixed_ips.map((f) => f.subnet_id);
  if (subnetId !== undefined && !portSubnets.includes(subnetId)) {
    throw new NeutronError(400, 'SubnetMismatchForPort', `Subnet on port ${portId} does not match the requested subnet ${subnetId}.`);
  }
  const subnets = await subnetsByIds(tx, [...new Set(portSubnets)]);
  for (const s of subnets) await checkInterfaceNotInUse(tx, router, s);
  await deletePort(tx, systemContext, port.id, true);
  await touchRouter(tx, router);
  return interfaceInfo(
    router.id,
    port,
    subnets.map((s) => s.id),
    'first',
  );
}

/** _remove_interface_by_subnet: the first interface port on the subnet loses it (or goes, if it was its only one). */
async function removeInterfaceBySubnet(tx: Tx, ctx: AuthContext, router: RouterRow, subnetId: string): Promise<InterfaceInfo> {
  const { subnet } = await getVisibleSubnet(tx, ctx, subnetId);
  const ports = (await routerPorts(tx, router.id, [interfaceOwner(router)])).filter((p) => p.network_id === subnet.network_id);
  if (ports.length) await checkInterfaceNotInUse(tx, router, subnet);
  for (const p of ports) {
    const portSubnets = p.fixed_ips.map((f) => f.subnet_id);
    if (!portSubnets.includes(subnet.id)) continue;
    if (portSubnets.length > 1) {
      // A port with several prefixes only loses this subnet's address.
      await tx.deleteFrom('ip_allocations').where('port_id', '=', p.id).where('subnet_id', '=', subnet.id).execute();
      await touchPort(tx, p);
    } else {
      await deletePort(tx, systemContext, p.id, true);
    }
    await touchRouter(tx, router);
    return interfaceInfo(router.id, p, [subnet.id], 'first');
  }
  throw notFound('RouterInterfaceNotFoundForSubnet', `Router ${router.id} has no interface on subnet ${subnet.id}`);
}
