// Floating IP port forwardings (neutron/services/portforwarding/pf_plugin.py): a sub-resource of a
// floating IP that is associated with no port. (floating IP, protocol, external port or range) is
// DNAT'd to (internal address, internal port or range) by the router connecting the internal subnet
// to the floating IP's network; the first forwarding sets the floating IP's router, the last one
// removed clears it. Ranges map N:N (port by port) or N:1 (floating-ip-port-forwarding-port-ranges).
import type { ResourceSpec } from '../model/attributes.ts';
import type { AuthContext } from '../model/context.ts';
import { badRequest, conflict, NeutronError, notFound } from '../model/errors.ts';
import { canonicalIpOrNull, parseIp } from '../model/ip.ts';
import { inRange, isIp, isOneOf, isString, isUuid, toIntOrNull, type Validator } from '../model/validators.ts';
import type { FloatingIpRow, PortForwardingRow } from '../store/schema/index.ts';
import { newId, timestamp, type Item, type Tx } from './common.ts';
import { notifyRouter, portForwardingToApi, removeForwardings, setFloatingIpRouter } from './port-forwarding-store.ts';
import { routerForFloatingIp } from './floatingip-association.ts';
import { getVisibleFloatingIp } from './floatingips.ts';
import { getVisiblePort } from './ports.ts';
import { badResourceRequest } from './router-common.ts';
import { formatPortRange, isPortRangeOrNull, parsePortRange, rangesCollide, rangesRelate, type PortRange } from './port-ranges.ts';

/** neutron_lib.constants.IPTABLES_PROTOCOL_MAP's keys, the protocols the API accepts. */
const PROTOCOLS = ['dccp', 'icmp', 'ipv6-icmp', 'sctp', 'tcp', 'udp'];
const inPortRange = inRange(1, 65535);
/** type:range_or_none (1, 65535): with port ranges, a side may be given as a range instead. */
const isPortOrNull: Validator = (v) => (v === null ? undefined : inPortRange(v));
const toPort = { convert: toIntOrNull, validate: isPortOrNull, default: null };
const toRange = { validate: isPortRangeOrNull, default: null };

export const portForwardingSpec: ResourceSpec = {
  singular: 'port_forwarding',
  plural: 'port_forwardings',
  attributes: {
    id: { filter: true, sort: true },
    external_port: { post: true, put: true, ...toPort, filter: true, sort: true },
    internal_port: { post: true, put: true, ...toPort, filter: false },
    external_port_range: { post: true, put: true, ...toRange, filter: true, sort: true },
    internal_port_range: { post: true, put: true, ...toRange, filter: false },
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

const externalRange = (pf: PortForwardingRow): PortRange => ({ start: pf.external_port, end: pf.external_port_end });
const internalRange = (pf: PortForwardingRow): PortRange => ({ start: pf.internal_port, end: pf.internal_port_end });

/**
 * One side of a request: a single port (which wins, as Neutron stores it) or a range; null when
 * neither is given.
 */
function sideOf(a: Item, key: 'external_port' | 'internal_port'): PortRange | null {
  const single = a[key];
  if (typeof single === 'number') return { start: single, end: single };
  const range = a[`${key}_range`];
  return range === null || range === undefined ? null : parsePortRange(range as string);
}

/** Sets a side of the row from the request when given. */
function applySide(row: PortForwardingRow, a: Item, key: 'external_port' | 'internal_port'): void {
  const side = sideOf(a, key);
  if (!side) return;
  row[key] = side.start;
  row[`${key}_end`] = side.end;
}

/**
 * _check_port_collisions: the internal and external ranges relate N:N or N:1; no other forwarding
 * of the protocol shares an external port of the floating IP, nor an internal port of the socket.
 */
async function checkCollisions(tx: Tx, pf: PortForwardingRow): Promise<void> {
  if (!rangesRelate(internalRange(pf), externalRange(pf)))
    throw badPf('Invalid ranges of internal and/or external ports. The relation between internal and external ports must be N-N or 1-N');
  const collide = (key: string, existing: PortRange, mine: PortRange) =>
    badPf(
      `There is a port collision with the ${key}. The following ranges collide: ${formatPortRange(existing)} and ${formatPortRange(mine)}`,
    );
  const others = await tx
    .selectFrom('port_forwardings')
    .selectAll()
    .where('protocol', '=', pf.protocol)
    .where('id', '!=', pf.id)
    .where((eb) => eb.or([eb('internal_port_id', '=', pf.internal_port_id), eb('floatingip_id', '=', pf.floatingip_id)]))
    .execute();
  const internal = others.find(
    (o) =>
      o.internal_port_id === pf.internal_port_id &&
      o.internal_ip_address === pf.internal_ip_address &&
      rangesCollide(internalRange(o), internalRange(pf)),
  );
  if (internal) throw collide('internal_port_range', internalRange(internal), internalRange(pf));
  const external = others.find((o) => o.floatingip_id === pf.floatingip_id && rangesCollide(externalRange(o), externalRange(pf)));
  if (external) throw collide('external_port_range', externalRange(external), externalRange(pf));
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
  const external = sideOf(a, 'external_port');
  const internal = sideOf(a, 'internal_port');
  for (const [side, key] of [
    [external, 'external_port'],
    [internal, 'internal_port'],
  ] as const) {
    if (!side) throw badRequest(`Failed to parse request. Required attribute '${key}' or '${key}_range' not specified`);
  }
  const row: PortForwardingRow = {
    id: newId(),
    floatingip_id: fip.id,
    internal_port_id: a.internal_port_id as string,
    internal_ip_address: canonicalIpOrNull(a.internal_ip_address as string)!,
    protocol: a.protocol as string,
    external_port: external!.start,
    external_port_end: external!.end,
    internal_port: internal!.start,
    internal_port_end: internal!.end,
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

/** A side in a conflict message: the port, or the range when it is one. */
const portsShown = (r: PortRange) => (r.start === r.end ? String(r.start) : `'${formatPortRange(r)}'`);

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
  const same = (x: PortRange, y: PortRange) => x.start === y.start && x.end === y.end;
  for (const o of others) {
    if (same(externalRange(o), externalRange(pf)))
      throw fail(`'floating_ip_address': '${fip.floating_ip_address}', 'external_port': ${portsShown(externalRange(o))}`);
    if (
      o.internal_port_id === pf.internal_port_id &&
      o.internal_ip_address === pf.internal_ip_address &&
      same(internalRange(o), internalRange(pf))
    ) {
      throw fail(
        `'internal_port_id': '${o.internal_port_id}', 'internal_ip_address': '${o.internal_ip_address}', 'internal_port': ${portsShown(internalRange(o))}`,
      );
    }
  }
}

export async function updatePortForwarding(tx: Tx, ctx: AuthContext, fipId: string, id: string, a: Item): Promise<Item> {
  const fip = await getVisibleFloatingIp(tx, ctx, fipId);
  const old = await getForwarding(tx, fipId, id);
  const next: PortForwardingRow = { ...old };
  for (const k of ['internal_port_id', 'protocol', 'description'] as const) {
    if (k in a) (next as unknown as Item)[k] = a[k];
  }
  applySide(next, a, 'external_port');
  applySide(next, a, 'internal_port');
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
