// Floating IP association (neutron/db/l3_db.py): the port, fixed IP and router a floating IP maps
// to, checked and resolved; reads only.
import type { AuthContext } from '../model/context.ts';
import { conflict, notFound } from '../model/errors.ts';
import { canonicalIpOrNull, parseIp } from '../model/ip.ts';
import { DHCP_OWNER, ROUTER_GW_OWNER, ROUTER_INTERFACE_OWNERS } from '../model/neutron.ts';
import type { FloatingIpRow, PortRow } from '../store/schema/index.ts';
import type { Item, Tx } from './common.ts';
import type { FixedIp } from './ipam.ts';
import { getVisiblePort } from './ports.ts';
import { badResourceRequest } from './router-common.ts';

export const badFip = (msg: string) => badResourceRequest('floatingip', msg);

export interface Association {
  fixed_port_id: string | null;
  fixed_ip_address: string | null;
  router_id: string | null;
}

export const NO_ASSOCIATION: Association = { fixed_port_id: null, fixed_ip_address: null, router_id: null };

/**
 * get_router_for_floatingip: a router with an interface on the internal subnet and its gateway on
 * the external network; the one whose interface holds the subnet's gateway IP wins.
 */
export async function routerForFloatingIp(tx: Tx, port: PortRow, subnetId: string, externalNetworkId: string): Promise<string> {
  const candidates = await tx
    .selectFrom('ports as intf')
    .innerJoin('ip_allocations as ip', 'ip.port_id', 'intf.id')
    .innerJoin('ports as gw', 'gw.device_id', 'intf.device_id')
    .select(['intf.device_id as router_id', 'ip.ip_address as ip_address'])
    .where('intf.network_id', '=', port.network_id)
    .where('intf.device_owner', 'in', ROUTER_INTERFACE_OWNERS)
    .where('ip.subnet_id', '=', subnetId)
    .where('gw.network_id', '=', externalNetworkId)
    .where('gw.device_owner', '=', ROUTER_GW_OWNER)
    .orderBy('intf.created_at')
    .orderBy('intf.id')
    .execute();
  const subnet = await tx.selectFrom('subnets').select('gateway_ip').where('id', '=', subnetId).executeTakeFirst();
  const best = candidates.find((c) => c.ip_address === subnet?.gateway_ip) ?? candidates[0];
  if (!best) {
    throw notFound(
      'ExternalGatewayForFloatingIPNotFound',
      `External network ${externalNetworkId} is not reachable from subnet ${subnetId}.  Therefore, cannot associate Port ${port.id} with a Floating IP.`,
    );
  }
  return best.router_id;
}

/** _internal_fip_assoc_data + _get_assoc_data + the already-associated check. */
async function associate(
  tx: Tx,
  ctx: AuthContext,
  fip: Pick<FloatingIpRow, 'id' | 'project_id' | 'floating_network_id' | 'floating_ip_address' | 'fixed_port_id'>,
  portId: string,
  requestedIp: string | undefined,
): Promise<Association> {
  const { port } = await getVisiblePort(tx, ctx, portId);
  if (port.project_id !== fip.project_id && !ctx.isAdmin) {
    throw badFip(`Cannot process floating IP association with Port ${portId}, since that port is owned by a different tenant`);
  }
  // utils.is_fip_serviced: everything but DHCP ports.
  if (port.device_owner === DHCP_OWNER) throw badFip(`Port ${port.id} is unable to be assigned a floating IP`);
  const fixedIps: FixedIp[] = await tx
    .selectFrom('ip_allocations')
    .select(['subnet_id', 'ip_address'])
    .where('port_id', '=', port.id)
    .execute();
  let chosen: FixedIp | undefined;
  if (requestedIp !== undefined) {
    if (parseIp(requestedIp)?.version !== 4) {
      throw badFip(`Cannot process floating IP association with ${requestedIp}, since that is not an IPv4 address`);
    }
    const ip = canonicalIpOrNull(requestedIp);
    chosen = fixedIps.find((f) => f.ip_address === ip);
    if (!chosen) throw badFip(`Port ${port.id} does not have fixed ip ${requestedIp}`);
  } else {
    const v4 = fixedIps.filter((f) => parseIp(f.ip_address)?.version === 4);
    if (!v4.length) throw badFip(`Cannot add floating IP to port ${port.id} that has no fixed IPv4 addresses`);
    if (v4.length > 1) {
      throw badFip(`Port ${port.id} has multiple fixed IPv4 addresses.  Must provide a specific IPv4 address when assigning a floating IP`);
    }
    chosen = v4[0];
  }
  const routerId = await routerForFloatingIp(tx, port, chosen.subnet_id, fip.floating_network_id);
  const taken = await tx
    .selectFrom('floatingips')
    .select('id')
    .where('fixed_port_id', '=', port.id)
    .where('floating_network_id', '=', fip.floating_network_id)
    .where('fixed_ip_address', '=', chosen.ip_address)
    .where('id', '!=', fip.id)
    .executeTakeFirst();
  if (taken) {
    throw conflict(
      'FloatingIPPortAlreadyAssociated',
      `Cannot associate floating IP ${fip.floating_ip_address} (${fip.id}) with port ${port.id} using fixed IP ${chosen.ip_address}, as that fixed IP already has a floating IP on external network ${fip.floating_network_id}.`,
    );
  }
  return { fixed_port_id: port.id, fixed_ip_address: chosen.ip_address, router_id: routerId };
}

/** The association a request asks for: a port (and maybe one of its addresses), or none (port_id null). */
export async function requestedAssociation(tx: Tx, ctx: AuthContext, fip: Parameters<typeof associate>[2], a: Item): Promise<Association> {
  if (!a.port_id) return NO_ASSOCIATION;
  return associate(tx, ctx, fip, a.port_id as string, (a.fixed_ip_address as string | null) ?? undefined);
}

export const currentAssociation = (row: FloatingIpRow): Association => ({
  fixed_port_id: row.fixed_port_id,
  fixed_ip_address: row.fixed_ip_address,
  router_id: row.router_id,
});

export const sameAssociation = (x: Association, y: Association) =>
  x.fixed_port_id === y.fixed_port_id && x.fixed_ip_address === y.fixed_ip_address && x.router_id === y.router_id;
