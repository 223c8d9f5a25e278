// Floating IP port forwardings (neutron/services/portforwarding/pf_plugin.py): a sub-resource of a
// floating IP that is associated with no port. (floating IP, protocol, external port) is DNAT'd to
// (internal address, internal port) by the router connecting the internal subnet to the floating
// IP's network; the first forwarding sets the floating IP's router, the last one removed clears it.
import type { ResourceSpec } from '../model/attributes.js';
import type { AuthContext } from '../model/context.js';
import { conflict, NeutronError, notFound } from '../model/errors.js';
import { canonicalIpOrNull, parseIp } from '../model/ip.js';
import { inRange, isIp, isOneOf, isString, isUuid, toInt } from '../model/validators.js';
import type { FloatingIpRow, PortForwardingRow } from '../store/schema/index.js';
import { newId, timestamp, type Item, type Tx } from './common.js';
import { notifyRouter, portForwardingToApi, removeForwardings, setFloatingIpRouter } from './port-forwarding-store.js';
import { routerForFloatingIp } from './floatingip-association.js';
import { getVisibleFloatingIp } from './floatingips.js';
import { getVisiblePort } from './ports.js';
import { badResourceRequest } from './router-common.js';

/** neutron_lib.constants.IPTABLES_PROTOCOL_MAP's keys, the protocols the API accepts. */
const PROTOCOLS = ['dccp', 'icmp', 'ipv6-icmp', 'sctp', 'tcp', 'udp'];
const toPort = { convert: toInt, validate: inRange(1, 65535) };

export const portForwardingSpec: ResourceSpec = {
  singular: 'port_forwarding',
  plural: 'port_forwardings',
  attributes: {
    id: { filter: true, sort: true },
    external_port: { post: true, put: true, required: true, ...toPort, filter: true, sort: true },
    internal_port: { post: true, put: true, required: true, ...toPort, filter: false },
    internal_ip_address: { post: true, put: true, required: true, validate: isIp, filter: false },
    protocol: { post: true, put: true, required: true, validate: isOneOf(PROTOCOLS), filter: true, sort: true },
    internal_port_id: { post: true, put: true, required: true, validate: isUuid, filter: true, sort: true },
    description: { post: true, put: true, default: '', validate: isString(255), filter: true },
  },
};

const badPf = (msg: string) => badResourceRequest('port_forwarding', msg);

export const portForwardingNotFound = (id: string) => notFound('PortForwardingNotFound', `Port Forwarding ${id} could not be found.`);

async function getForwarding(tx: Tx, fipId: string, id: string): Promise<PortForwardingRow> {
  const row = await tx.selectFrom('port_forwardings').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || row.floatingip_id !== fipId) throw portForwardingNotFound(id);
  return row;
}

const pyFixedIps = (ips: Array<{ subnet_id: string; ip_address: string }>) =>
  `[${ips.map((f) => `{'subnet_id': '${f.subnet_id}', 'ip_address': '${f.ip_address}'}`).join(', ')}]`;

/**
 * _find_a_router_for_fip_port_forwarding: the internal address is one of the port's IPv4 addresses
 * (the first when not given), and a router connects its subnet to the floating IP's network.
 */
async function routerForForwarding(
  tx: Tx,
  ctx: AuthContext,
  fip: FloatingIpRow,
  pf: Pick<PortForwardingRow, 'internal_port_id' | 'internal_ip_address'>,
) {
  const { port } = await getVisiblePort(tx, ctx, pf.internal_port_id);
  const fixed = await tx.selectFrom('ip_allocations').select(['subnet_id', 'ip_address']).where('port_id', '=', port.id).execute();
  const v4 = fixed.filter((f) => parseIp(f.ip_address)?.version === 4);
  if (!v4.length) throw badPf(`Requested internal port ${port.id} must allocate an IPv4 address at least.`);
  const chosen = v4.find((f) => f.ip_address === pf.internal_ip_address);
  if (!chosen) {
    throw badPf(
      `Requested internal IP address ${pf.internal_ip_address} is not suitable for internal neutron port ${port.id}, as its fixed_ips are ${pyFixedIps(v4)}`,
    );
  }
  try {
    return await routerForFloatingIp(tx, port, chosen.subnet_id, fip.floating_network_id);
  } catch (e) {
    if (!(e instanceof NeutronError) || e.type !== 'ExternalGatewayForFloatingIPNotFound') throw e;
    throw badPf(
      `External network ${fip.floating_network_id} is not reachable from subnet ${chosen.subnet_id}. Cannot set Port forwarding for port ${port.id} with Floating IP ${fip.id}`,
    );
  }
}

/** _check_router_match: a floating IP already serving a router keeps it. */
function checkRouterMatch(fip: FloatingIpRow, routerId: string, portId: string): void {
  if (fip.router_id && fip.router_id !== routerId) {
    throw badPf(`The Floating IP ${fip.id} had been set on router ${fip.router_id}, the internal Neutron port ${portId} can not reach it`);
  }
}

/** _check_port_has_binding_floating_ip: a port with a floating IP of its own gets no forwardings. */
async function checkPortHasNoFloatingIp(tx: Tx, pf: Pick<PortForwardingRow, 'internal_port_id' | 'internal_ip_address'>): Promise<void> {
  const f = await tx
    .selectFrom('floatingips')
    .select(['id', 'floating_ip_address'])
    .where('fixed_port_id', '=', pf.internal_port_id)
    .executeTakeFirst();
  if (f) {
    throw conflict(
      'PortHasBindingFloatingIP',
      `Cannot create port forwarding to floating IP ${f.floating_ip_address} (${f.id}) with port ${pf.internal_port_id} using fixed IP ${pf.internal_ip_address}, as that port already has a binding floating IP.`,
    );
  }
}

/** _check_port_collisions (single ports): one external port per floating IP and protocol, one internal socket per protocol. */
async function checkCollisions(tx: Tx, pf: PortForwardingRow): Promise<void> {
  const external = await tx
    .selectFrom('port_forwardings')
    .select('external_port')
    .where('floatingip_id', '=', pf.floatingip_id)
    .where('protocol', '=', pf.protocol)
    .where('external_port', '=', pf.external_port)
    .where('id', '!=', pf.id)
    .executeTakeFirst();
  if (external) {
    throw badPf(
      `There is a port collision with the external_port_range. The following ranges collide: ${external.external_port}:${external.external_port} and ${pf.external_port}:${pf.external_port}`,
    );
  }
  const internal = await tx
    .selectFrom('port_forwardings')
    .select('internal_port')
    .where('internal_port_id', '=', pf.internal_port_id)
    .where('protocol', '=', pf.protocol)
    .where('internal_ip_address', '=', pf.internal_ip_address)
    .where('internal_port', '=', pf.internal_port)
    .where('id', '!=', pf.id)
    .executeTakeFirst();
  if (internal) {
    throw badPf(
      `There is a port collision with the internal_port_range. The following ranges collide: ${internal.internal_port}:${internal.internal_port} and ${pf.internal_port}:${pf.internal_port}`,
    );
  }
}

/** A caller's view of a floating IP's forwardings: the floating IP must be visible (get_floatingip's policy). */
export async function listPortForwardings(tx: Tx, ctx: AuthContext, fipId: string): Promise<Item[]> {
  await getVisibleFloatingIp(tx, ctx, fipId);
  const rows = await tx.selectFrom('port_forwardings').selectAll().where('floatingip_id', '=', fipId).orderBy('id').execute();
  return rows.map(portForwardingToApi);
}

export async function showPortForwarding(tx: Tx, ctx: AuthContext, fipId: string, id: string): Promise<Item> {
  await getVisibleFloatingIp(tx, ctx, fipId);
  return portForwardingToApi(await getForwarding(tx, fipId, id));
}

export async function createPortForwarding(tx: Tx, ctx: AuthContext, fipId: string, a: Item): Promise<Item> {
  const fip = await getVisibleFloatingIp(tx, ctx, fipId);
  const row: PortForwardingRow = {
    id: newId(),
    floatingip_id: fip.id,
    internal_port_id: a.internal_port_id as string,
    internal_ip_address: canonicalIpOrNull(a.internal_ip_address as string)!,
    protocol: a.protocol as string,
    external_port: a.external_port as number,
    internal_port: a.internal_port as number,
    description: (a.description as string) ?? '',
    created_at: timestamp(),
  };
  await checkCollisions(tx, row);
  await checkPortHasNoFloatingIp(tx, row);
  if (fip.fixed_port_id) {
    throw conflict(
      'FloatingIPPortAlreadyAssociated',
      `Cannot associate floating IP ${fip.floating_ip_address} (${fip.id}) with port ${row.internal_port_id} using fixed IP ${row.internal_ip_address}, as that fixed IP already has a floating IP on external network ${fip.floating_network_id}.`,
    );
  }
  const routerId = await routerForForwarding(tx, ctx, fip, row);
  checkRouterMatch(fip, routerId, row.internal_port_id);
  await setFloatingIpRouter(tx, fip, routerId);
  await tx.insertInto('port_forwardings').values(row).execute();
  await notifyRouter(tx, routerId);
  return portForwardingToApi(row);
}

/** _check_port_forwarding_update: the internal address is the port's, and no other forwarding has the same sockets. */
async function checkUpdated(tx: Tx, fip: FloatingIpRow, pf: PortForwardingRow): Promise<void> {
  const fixed = await tx
    .selectFrom('ip_allocations')
    .select(['subnet_id', 'ip_address'])
    .where('port_id', '=', pf.internal_port_id)
    .execute();
  if (!fixed.some((f) => f.ip_address === pf.internal_ip_address)) {
    throw badPf(`The internal IP does not correspond to an address on the internal port, which has fixed_ips ${pyFixedIps(fixed)}`);
  }
  const others = await tx
    .selectFrom('port_forwardings')
    .selectAll()
    .where('floatingip_id', '=', pf.floatingip_id)
    .where('protocol', '=', pf.protocol)
    .where('id', '!=', pf.id)
    .execute();
  const fail = (conflicting: string) =>
    badPf(`Another port forwarding entry with the same attributes already exists, conflicting values are {${conflicting}}`);
  for (const o of others) {
    if (o.external_port === pf.external_port)
      throw fail(`'floating_ip_address': '${fip.floating_ip_address}', 'external_port': ${o.external_port}`);
    if (
      o.internal_port_id === pf.internal_port_id &&
      o.internal_ip_address === pf.internal_ip_address &&
      o.internal_port === pf.internal_port
    ) {
      throw fail(
        `'internal_port_id': '${o.internal_port_id}', 'internal_ip_address': '${o.internal_ip_address}', 'internal_port': ${o.internal_port}`,
      );
    }
  }
}

export async function updatePortForwarding(tx: Tx, ctx: AuthContext, fipId: string, id: string, a: Item): Promise<Item> {
  const fip = await getVisibleFloatingIp(tx, ctx, fipId);
  const old = await getForwarding(tx, fipId, id);
  const next: PortForwardingRow = { ...old };
  for (const k of ['internal_port_id', 'protocol', 'external_port', 'internal_port', 'description'] as const) {
    if (k in a) (next as unknown as Item)[k] = a[k];
  }
  if ('internal_ip_address' in a) next.internal_ip_address = canonicalIpOrNull(a.internal_ip_address as string)!;
  if (a.internal_port_id) await checkPortHasNoFloatingIp(tx, next);
  if (a.internal_port_id && a.internal_port_id !== old.internal_port_id) {
    checkRouterMatch(fip, await routerForForwarding(tx, ctx, fip, next), next.internal_port_id);
  }
  await checkUpdated(tx, fip, next);
  await checkCollisions(tx, next);
  const { id: _id, floatingip_id: _f, created_at: _c, ...values } = next;
  await tx.updateTable('port_forwardings').set(values).where('id', '=', id).execute();
  await notifyRouter(tx, fip.router_id);
  return portForwardingToApi(next);
}

export async function deletePortForwarding(tx: Tx, ctx: AuthContext, fipId: string, id: string): Promise<void> {
  await getVisibleFloatingIp(tx, ctx, fipId);
  await removeForwardings(tx, [await getForwarding(tx, fipId, id)]);
}
