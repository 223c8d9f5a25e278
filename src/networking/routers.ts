// Routers (legacy, centralized, neutron/db/l3_db.py + l3_gwmode_db.py): a gateway port on an external
// network, interface ports on internal subnets, and the checks that keep floating IPs reachable.
import { composeRule, type ResourceSpec } from '../model/attributes.js';
import { authContext, type AuthContext } from '../model/context.js';
import { conflict, NeutronError, notFound, policyDenied } from '../model/errors.js';
import { canonicalIp, cidrContains, cidrsOverlap, parseIp } from '../model/ip.js';
import { inPools, type Pool } from '../model/ipam.js';
import { Invalid, isExternalGatewayInfo, isString, isUuid, toBoolean, toInt } from '../model/validators.js';
import type { PortRow, RouterRow, SubnetRow } from '../store/schema/index.js';
import {
  bool,
  int,
  newId,
  parseJson,
  recordChange,
  standardFields,
  stringFilter,
  timestamp,
  type Item,
  type ResourceService,
  type Tx,
} from './common.js';
import { allocateFixedIps, type FixedIp, type FixedIpRequest } from './ipam.js';
import { getVisibleNetwork } from './networks.js';
import { createPort, deletePort, getVisiblePort } from './ports.js';
import { enforceQuota } from './quotas.js';
import { getVisibleSubnet, subnetCidr } from './subnets.js';

export { floatingIpService } from './floatingips.js';

export const ROUTER_GW_OWNER = 'network:router_gateway';
export const ROUTER_INTF_OWNER = 'network:router_interface';
/** Owners of ports that connect a router to an internal subnet (constants.ROUTER_INTERFACE_OWNERS). */
export const ROUTER_INTERFACE_OWNERS = [ROUTER_INTF_OWNER, 'network:router_interface_distributed', 'network:ha_router_replicated_interface'];
/** Every port a router owns (its "attached ports"): interfaces and the gateway. */
const ROUTER_OWNED = [...ROUTER_INTERFACE_OWNERS, ROUTER_GW_OWNER];

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
const badRouter = (msg: string) => badResourceRequest('router', msg);

export const routerNotFound = (id: string) => notFound('RouterNotFound', `Router ${id} could not be found`);

const str = { post: true, put: true, default: '', validate: isString(255), filter: true, sort: true };

/** `external_gateway_info: {}` clears the gateway, as `null` does (type:dict_or_nodata). */
const emptyToNull = (v: unknown) =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0 ? null : v;

export const routerSpec: ResourceSpec = {
  singular: 'router',
  plural: 'routers',
  attributes: {
    id: { filter: true, sort: true },
    name: str,
    description: { ...str, sort: false },
    admin_state_up: { post: true, put: true, default: true, convert: toBoolean, filter: true, sort: true },
    status: { filter: true, sort: true },
    external_gateway_info: { post: true, put: true, default: null, convert: emptyToNull, validate: isExternalGatewayInfo, filter: false },
    routes: { filter: false },
    distributed: { post: true, put: true, convert: toBoolean, adminSet: true, adminRead: true, filter: true },
    ha: { post: true, put: true, convert: toBoolean, adminSet: true, adminRead: true, filter: true },
    availability_zone_hints: { filter: false },
    availability_zones: { filter: false },
    tags: { filter: false },
    created_at: { sort: true, filter: true },
    updated_at: { sort: true, filter: true },
    revision_number: { filter: true, sort: true, convert: toInt },
  },
};

interface GatewayInfo {
  network_id: string;
  enable_snat?: boolean;
  external_fixed_ips?: FixedIpRequest[];
}

interface GatewayPort {
  network_id: string;
  fixed_ips: FixedIp[];
}

export function routerToApi(row: RouterRow, gw: GatewayPort | undefined): Item {
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
    ha: false,
    availability_zone_hints: [],
    availability_zones: [],
    ...standardFields(row),
  };
}

async function fixedIpsOf(tx: Tx, portIds: string[]): Promise<Map<string, FixedIp[]>> {
  const out = new Map<string, FixedIp[]>();
  if (!portIds.length) return out;
  const rows = await tx.selectFrom('ip_allocations').select(['port_id', 'subnet_id', 'ip_address']).where('port_id', 'in', portIds).execute();
  for (const r of rows) out.set(r.port_id, [...(out.get(r.port_id) ?? []), { subnet_id: r.subnet_id, ip_address: r.ip_address }]);
  return out;
}

export async function routersToApi(tx: Tx, rows: RouterRow[]): Promise<Item[]> {
  const gwIds = rows.map((r) => r.gw_port_id).filter((x): x is string => !!x);
  const ports = gwIds.length ? await tx.selectFrom('ports').select(['id', 'network_id']).where('id', 'in', gwIds).execute() : [];
  const ips = await fixedIpsOf(tx, gwIds);
  return rows.map((r) => {
    const p = r.gw_port_id ? ports.find((x) => x.id === r.gw_port_id) : undefined;
    return routerToApi(r, p && { network_id: p.network_id, fixed_ips: ips.get(p.id) ?? [] });
  });
}

/** A router the caller may see (its project's, or any for admins), or RouterNotFound. */
export async function getVisibleRouter(tx: Tx, ctx: AuthContext, id: string): Promise<RouterRow> {
  const row = await tx.selectFrom('routers').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || !(ctx.isAdmin || row.project_id === ctx.projectId)) throw routerNotFound(id);
  return row;
}

/** Ports the router owns (interfaces and gateway), with their addresses. */
async function routerPorts(tx: Tx, routerId: string, owners = ROUTER_OWNED): Promise<Array<PortRow & { fixed_ips: FixedIp[] }>> {
  const rows = await tx.selectFrom('ports').selectAll().where('device_id', '=', routerId).where('device_owner', 'in', owners).orderBy('created_at').execute();
  const ips = await fixedIpsOf(tx, rows.map((r) => r.id));
  return rows.map((r) => ({ ...r, fixed_ips: ips.get(r.id) ?? [] }));
}

/**
 * _check_for_dup_router_subnets: the router may have only one port per subnet, and no two of its
 * subnets (the gateway counting with every subnet of the external network) may overlap.
 */
async function checkDupRouterSubnets(tx: Tx, routerId: string, newSubnets: SubnetRow[]): Promise<void> {
  const newIds = new Set(newSubnets.map((s) => s.id));
  const routerSubnetIds: string[] = [];
  for (const p of await routerPorts(tx, routerId)) {
    for (const ip of p.fixed_ips) {
      if (newIds.has(ip.subnet_id)) throw badRouter(`Router already has a port on subnet ${ip.subnet_id}`);
      if (p.device_owner === ROUTER_GW_OWNER) {
        const ext = await tx.selectFrom('subnets').select('id').where('network_id', '=', p.network_id).execute();
        routerSubnetIds.push(...ext.map((s) => s.id));
      } else {
        routerSubnetIds.push(ip.subnet_id);
      }
    }
  }
  if (!routerSubnetIds.length) return;
  const existing = await tx.selectFrom('subnets').selectAll().where('id', 'in', [...new Set(routerSubnetIds)]).execute();
  for (const sub of existing) {
    for (const s of newSubnets) {
      if (cidrsOverlap(subnetCidr(sub), subnetCidr(s))) {
        throw badRouter(`Cidr ${s.cidr} of subnet ${s.id} overlaps with cidr ${sub.cidr} of subnet ${sub.id}`);
      }
    }
  }
}

/** Bumps the router's revision: its interfaces or gateway changed. */
async function touchRouter(tx: Tx, router: RouterRow, extra: Partial<RouterRow> = {}): Promise<void> {
  await tx
    .updateTable('routers')
    .set({ ...extra, revision_number: router.revision_number + 1, updated_at: timestamp() })
    .where('id', '=', router.id)
    .execute();
  await recordChange(tx, 'router', router.id, 'update', router.project_id);
}

// ---------------------------------------------------------------------------------------------
// Gateway

function parseGatewayInfo(raw: unknown): GatewayInfo | null {
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
function checkGatewayPolicy(ctx: AuthContext, action: 'create' | 'update', raw: unknown): void {
  if (ctx.isAdmin || raw === null || raw === undefined) return;
  const keys = Object.keys(raw as object).filter((k) => k === 'enable_snat' || k === 'external_fixed_ips');
  if (keys.length) throw policyDenied(composeRule(action, 'router', keys.map((k) => `external_gateway_info:${k}`)));
}

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

const parseIpText = (s: string) => canonicalIp(s) ?? s;

async function routerHasFloatingIps(tx: Tx, routerId: string): Promise<boolean> {
  return !!(await tx.selectFrom('floatingips').select('id').where('router_id', '=', routerId).executeTakeFirst());
}

/**
 * _update_router_gw_info: validates the new gateway, then changes the gateway port's addresses in
 * place (same network) or replaces the port (other network / cleared). Returns the router columns.
 */
async function updateGateway(
  tx: Tx,
  ctx: AuthContext,
  router: RouterRow,
  info: GatewayInfo | null,
): Promise<Pick<RouterRow, 'gw_port_id' | 'enable_snat'>> {
  const gwRow = router.gw_port_id
    ? await tx.selectFrom('ports').selectAll().where('id', '=', router.gw_port_id).executeTakeFirst()
    : undefined;
  const gwIps = gwRow ? (await fixedIpsOf(tx, [gwRow.id])).get(gwRow.id) ?? [] : undefined;
  const extIps = info?.external_fixed_ips ?? [];
  const ipChange = externalIpsChanged(gwIps, extIps);

  // _validate_gw_info
  const networkId = info?.network_id ?? null;
  let network;
  if (networkId) {
    network = await getVisibleNetwork(tx, ctx, networkId);
    if (!network.router_external) throw badRouter(`Network ${networkId} is not an external network`);
    const subnets = await tx.selectFrom('subnets').select('gateway_ip').where('network_id', '=', networkId).execute();
    for (const ext of extIps) {
      if (ext.ip_address === undefined) continue;
      if (subnets.some((s) => s.gateway_ip && s.gateway_ip === parseIpText(ext.ip_address!))) {
        throw badRouter(`External IP ${ext.ip_address} is the same as the gateway IP`);
      }
    }
  }
  const enableSnat = int(info?.enable_snat ?? true);

  if (gwRow && ipChange && gwRow.network_id === networkId && network) {
    // _update_current_gw_port: new addresses on the same port.
    const next = await allocateFixedIps(tx, network, extIps, { lowest: false, keep: gwIps });
    await tx.deleteFrom('ip_allocations').where('port_id', '=', gwRow.id).execute();
    if (next.length) await tx.insertInto('ip_allocations').values(next.map((f) => ({ ...f, port_id: gwRow.id, network_id: network.id }))).execute();
    await tx.updateTable('ports').set({ revision_number: gwRow.revision_number + 1, updated_at: timestamp() }).where('id', '=', gwRow.id).execute();
    await recordChange(tx, 'port', gwRow.id, 'update', gwRow.project_id);
    return { gw_port_id: gwRow.id, enable_snat: enableSnat };
  }

  let gwPortId = router.gw_port_id;
  // _delete_current_gw_port
  if (gwRow && gwRow.network_id !== networkId) {
    if (await routerHasFloatingIps(tx, router.id)) {
      throw conflict(
        'RouterExternalGatewayInUseByFloatingIp',
        `Gateway cannot be updated for router ${router.id}, since a gateway to external network ${gwRow.network_id} is required by one or more floating IPs.`,
      );
    }
    await tx.updateTable('routers').set({ gw_port_id: null }).where('id', '=', router.id).execute();
    await deletePort(tx, systemContext, gwRow.id, true);
    gwPortId = null;
  }
  // _create_gw_port
  if (networkId && (!gwRow || gwRow.network_id !== networkId)) {
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
    gwPortId = port.id as string;
  }
  return { gw_port_id: gwPortId, enable_snat: networkId ? enableSnat : int(true) };
}

// ---------------------------------------------------------------------------------------------
// Interfaces

export interface InterfaceInfo {
  id: string;
  tenant_id: string;
  project_id: string;
  port_id: string;
  network_id: string;
  subnet_id: string;
  subnet_ids: string[];
}

const interfaceInfo = (routerId: string, port: { id: string; project_id: string; network_id: string }, subnetIds: string[], pick: 'first' | 'last'): InterfaceInfo => ({
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

  if (portId !== undefined) {
    // _check_router_port(context, port_id, ''): an unowned port with addresses.
    const { port } = await getVisiblePort(tx, ctx, portId);
    if (port.device_id !== '') {
      throw conflict(
        'PortInUse',
        `Unable to complete operation on port ${port.id} for network ${port.network_id}. Port already has an attached device ${port.device_id}.`,
      );
    }
    const fixedIps = (await fixedIpsOf(tx, [port.id])).get(port.id) ?? [];
    if (!fixedIps.length) throw badRouter('Router port must have at least one fixed IP');
    const subnets = await subnetsByIds(tx, [...new Set(fixedIps.map((f) => f.subnet_id))]);
    await checkDupRouterSubnets(tx, router.id, subnets);
    if (subnets.filter((s) => s.ip_version === 4).length > 1) throw badRouter('Cannot have multiple IPv4 subnets on router port');
    if (!ctx.isAdmin) {
      // _validate_port_in_range_or_admin
      for (const f of fixedIps) {
        const s = subnets.find((x) => x.id === f.subnet_id)!;
        if (!inPools(subnetCidr(s), parseJson<Pool[]>(s.allocation_pools), f.ip_address) && s.project_id !== ctx.projectId) {
          throw badRouter(
            `Cannot add interface to router because specified port ${port.id} has an IP address out of the allocation pool of subnet ${s.id}, which is not owned by the project making the request`,
          );
        }
      }
    }
    await tx
      .updateTable('ports')
      .set({ device_id: router.id, device_owner: ROUTER_INTF_OWNER, revision_number: port.revision_number + 1, updated_at: timestamp() })
      .where('id', '=', port.id)
      .execute();
    await recordChange(tx, 'port', port.id, 'update', port.project_id);
    await touchRouter(tx, router);
    return interfaceInfo(router.id, port, subnets.map((s) => s.id), 'last');
  }

  // _add_interface_by_subnet
  const { subnet } = await getVisibleSubnet(tx, ctx, subnetId!);
  if (!subnet.gateway_ip) throw badRouter('Subnet for router interface must have a gateway IP');
  if (subnet.project_id !== ctx.projectId && !ctx.isAdmin) {
    throw badRouter(`Cannot add interface to router because subnet ${subnet.id} is not owned by project making the request`);
  }
  await checkDupRouterSubnets(tx, router.id, [subnet]);
  const port = await createPort(
    tx,
    systemContext,
    {
      project_id: router.project_id,
      network_id: subnet.network_id,
      fixed_ips: [{ subnet_id: subnet.id, ip_address: subnet.gateway_ip }],
      admin_state_up: true,
      device_id: router.id,
      device_owner: ROUTER_INTF_OWNER,
      name: '',
    },
    { system: true },
  );
  await touchRouter(tx, router);
  return interfaceInfo(router.id, { id: port.id as string, project_id: router.project_id, network_id: subnet.network_id }, [subnet.id], 'last');
}

/** _check_router_interface_not_in_use: no floating IP of this router reaches a fixed IP on the subnet. */
async function checkInterfaceNotInUse(tx: Tx, routerId: string, subnet: SubnetRow): Promise<void> {
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

  if (portId !== undefined) {
    // _remove_interface_by_port
    const port = (await routerPorts(tx, router.id, [ROUTER_INTF_OWNER])).find((p) => p.id === portId);
    if (!port) throw notFound('RouterInterfaceNotFound', `Router ${router.id} does not have an interface with id ${portId}`);
    const portSubnets = port.fixed_ips.map((f) => f.subnet_id);
    if (subnetId !== undefined && !portSubnets.includes(subnetId)) {
      throw new NeutronError(400, 'SubnetMismatchForPort', `Subnet on port ${portId} does not match the requested subnet ${subnetId}.`);
    }
    const subnets = await subnetsByIds(tx, [...new Set(portSubnets)]);
    for (const s of subnets) await checkInterfaceNotInUse(tx, router.id, s);
    await deletePort(tx, systemContext, port.id, true);
    await touchRouter(tx, router);
    return interfaceInfo(router.id, port, subnets.map((s) => s.id), 'first');
  }

  // _remove_interface_by_subnet
  const { subnet } = await getVisibleSubnet(tx, ctx, subnetId!);
  const ports = (await routerPorts(tx, router.id, [ROUTER_INTF_OWNER])).filter((p) => p.network_id === subnet.network_id);
  if (ports.length) await checkInterfaceNotInUse(tx, router.id, subnet);
  for (const p of ports) {
    const portSubnets = p.fixed_ips.map((f) => f.subnet_id);
    if (!portSubnets.includes(subnet.id)) continue;
    if (portSubnets.length > 1) {
      // A port with several prefixes only loses this subnet's address.
      await tx.deleteFrom('ip_allocations').where('port_id', '=', p.id).where('subnet_id', '=', subnet.id).execute();
      await tx.updateTable('ports').set({ revision_number: p.revision_number + 1, updated_at: timestamp() }).where('id', '=', p.id).execute();
      await recordChange(tx, 'port', p.id, 'update', p.project_id);
    } else {
      await deletePort(tx, systemContext, p.id, true);
    }
    await touchRouter(tx, router);
    return interfaceInfo(router.id, p, [subnet.id], 'first');
  }
  throw notFound('RouterInterfaceNotFoundForSubnet', `Router ${router.id} has no interface on subnet ${subnet.id}`);
}

// ---------------------------------------------------------------------------------------------
// The resource

/** Only legacy (centralized, non-HA) routers exist here. */
function checkLegacy(a: Item): void {
  if (a.distributed === true) throw badRouter('Distributed routers are not supported: neutrino provides legacy routers only');
  if (a.ha === true) throw badRouter('HA routers are not supported: neutrino provides legacy routers only');
}

export function routerService(): ResourceService {
  return {
    spec: routerSpec,

    async list(tx, ctx, filters) {
      let q = tx.selectFrom('routers').selectAll();
      const ids = stringFilter(filters, 'id');
      if (ids) q = q.where('id', 'in', ids);
      if (!ctx.isAdmin) q = q.where('project_id', '=', ctx.projectId);
      return routersToApi(tx, await q.execute());
    },

    async show(tx, ctx, id) {
      return (await routersToApi(tx, [await getVisibleRouter(tx, ctx, id)]))[0];
    },

    async create(tx, ctx, a) {
      checkGatewayPolicy(ctx, 'create', a.external_gateway_info);
      checkLegacy(a);
      const projectId = a.project_id as string;
      await enforceQuota(tx, projectId, 'router');
      const now = timestamp();
      const row: RouterRow = {
        id: newId(),
        project_id: projectId,
        name: a.name as string,
        description: a.description as string,
        admin_state_up: int(a.admin_state_up),
        status: 'ACTIVE',
        gw_port_id: null,
        enable_snat: 1,
        routes: '[]',
        revision_number: 0,
        created_at: now,
        updated_at: now,
      };
      await tx.insertInto('routers').values(row).execute();
      const info = parseGatewayInfo(a.external_gateway_info);
      if (info) {
        const gw = await updateGateway(tx, ctx, row, info);
        await tx.updateTable('routers').set(gw).where('id', '=', row.id).execute();
        Object.assign(row, gw);
      }
      await recordChange(tx, 'router', row.id, 'create', projectId);
      return (await routersToApi(tx, [row]))[0];
    },

    async update(tx, ctx, id, a) {
      const router = await getVisibleRouter(tx, ctx, id);
      checkGatewayPolicy(ctx, 'update', a.external_gateway_info);
      checkLegacy(a);
      const gw = 'external_gateway_info' in a ? await updateGateway(tx, ctx, router, parseGatewayInfo(a.external_gateway_info)) : {};
      await tx
        .updateTable('routers')
        .set({
          ...gw,
          name: (a.name as string) ?? router.name,
          description: (a.description as string) ?? router.description,
          admin_state_up: 'admin_state_up' in a ? int(a.admin_state_up) : router.admin_state_up,
          revision_number: router.revision_number + 1,
          updated_at: timestamp(),
        })
        .where('id', '=', id)
        .execute();
      await recordChange(tx, 'router', id, 'update', router.project_id);
      return this.show(tx, ctx, id);
    },

    async remove(tx, ctx, id) {
      const router = await getVisibleRouter(tx, ctx, id);
      // _ensure_router_not_in_use
      const attached = await routerPorts(tx, id, [ROUTER_INTF_OWNER]);
      if (attached.length) {
        throw conflict('RouterInUse', `Router ${id} has ports still attached: ${attached.map((p) => p.id).join(', ')}`);
      }
      // _delete_current_gw_port (to no network), then any other port still naming the router.
      if (router.gw_port_id) await updateGateway(tx, ctx, router, null);
      for (const p of await routerPorts(tx, id)) await deletePort(tx, systemContext, p.id, true);
      await tx.deleteFrom('router_l3_agents').where('router_id', '=', id).execute();
      await tx.deleteFrom('routers').where('id', '=', id).execute();
      await recordChange(tx, 'router', id, 'delete', router.project_id);
    },
  };
}
