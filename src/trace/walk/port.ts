// `neutrino trace port PORT --to ADDRESS|PORT`: from an instance's port to another port (east-west,
// on the same network or through a router) or to an address outside (through the router's SNAT),
// and the reply leg back. Same hops and checks as the floating-IP walk, in the other direction; the
// walk is a list of steps (steps.ts), with a branch for each way the destination is reached. Pure.
import {
  AGENT_L2,
  AGENT_L3,
  COMPUTE_OWNER_PREFIX,
  FLOATINGIP_OWNER,
  ROUTER_GW_OWNER,
  ROUTER_INTERFACE_OWNERS,
} from '../../model/neutron.ts';
import { qgName, qrName, routerNamespace, wrapChain } from '../../kernel/names.ts';
import { cidrContains, parseIp, parsePrefix } from '../../model/ip.ts';
import { agentNote, byId, fixedIpOf, fixedIps, str, type IpFamily, type TraceContext } from '../context.ts';
import { apiHop, checkRule, result, type HopDraft } from '../checks/checks.ts';
import { instanceHop } from '../checks/instance.ts';
import { ndHop, radvdHop, slaacAddressHop } from '../checks/ipv6.ts';
import { agentHop, portRef, portUnboundHop, fdbHop, segmentHops, segmentOf, tapHop, vtepOf } from '../checks/l2.ts';
import type { Hop, TraceReport, TraceTarget } from '../report.ts';
import {
  extraRouteTo,
  floatingIpHopBase,
  forwardingHop,
  routeHop,
  routerAddressHop,
  routerPortHops,
  routerRef,
  subnetOf,
} from '../checks/router.ts';
import { sgHop } from '../checks/sg.ts';
import { haHops, isHaRouter, routerHostOf, routerNotHosted } from '../checks/ha.ts';
import type { ApiObject } from '../snapshot.ts';
import { branch, gate, hops, pass, stop, walk, type Step } from './steps.ts';

export interface PortTraceOptions {
  flow: TraceTarget['flow'];
}

const v4Of = (p: ApiObject) => fixedIpOf(p, 4);
const bridgeHop = (ctx: TraceContext, host: string, net: ApiObject, leg: Hop['leg']) => segmentHops(ctx, host, net, leg)[0]!;

/** From `from` to `to` over network `net`: the VXLAN tunnel (or the flat uplinks) between two nodes, then the far bridge. */
export function crossNodes(
  ctx: TraceContext,
  net: ApiObject,
  from: string,
  to: string,
  target: { mac: string; ip: string | null; what: string },
  leg: Hop['leg'],
): HopDraft[] {
  if (from === to) return [];
  const [, fromUplink] = segmentHops(ctx, from, net, leg);
  const [toBridge, toUplink] = segmentHops(ctx, to, net, leg);
  const hops: HopDraft[] = [fromUplink!];
  if (segmentOf(net).type === 'vxlan') hops.push(fdbHop(ctx, from, net, { ...target, host: to, vtep: vtepOf(ctx, to) }, leg));
  hops.push(agentHop(ctx, to, AGENT_L2, leg), toUplink!, toBridge!);
  return hops;
}

/** The reply leg's l2population entry on `from` toward `to` (nothing on one node or a flat network). */
export function replyFdb(
  ctx: TraceContext,
  net: ApiObject,
  from: string,
  to: string,
  target: { mac: string; ip: string | null; what: string },
): HopDraft[] {
  if (from === to || segmentOf(net).type !== 'vxlan') return [];
  return [fdbHop(ctx, from, net, { ...target, host: to, vtep: vtepOf(ctx, to) }, 'reply')];
}

/** The router connecting subnet `subnetId` (its interface port there), if any. */
export function routerOn(ctx: TraceContext, subnetId: string): { router: ApiObject; intf: ApiObject } | null {
  for (const p of ctx.api.ports) {
    if (!ROUTER_INTERFACE_OWNERS.includes(String(p['device_owner'] ?? ''))) continue;
    if (!fixedIps(p).some((f) => f.subnet_id === subnetId)) continue;
    const router = byId(ctx.api.routers, p['device_id']);
    if (router) return { router, intf: p };
  }
  return null;
}

/** The walk's state: what it was asked, then what the gates find (each filled before any step reads it). */
interface PortWalk {
  ctx: TraceContext;
  target: TraceTarget;
  portQuery: string;
  to: string;
  o: PortTraceOptions;
  /** the destination's address family: the source address, router addresses, routes and tables are of it */
  family: IpFamily;
  port: ApiObject;
  net: ApiObject;
  src: { subnet_id: string; ip_address: string } | undefined;
  srcIp: string | null;
  host: string;
  /** the port as the reply's l2population entries name it */
  self: { mac: string; ip: string | null; what: string };
  dstPort: ApiObject | undefined;
  dstIp: string;
  /** the destination port's host ('' when it has none, or the destination is no port) */
  dstHost: string;
  router: ApiObject;
  intf: ApiObject;
  routerHost: string;
  /** the destination's network and the router's interface there, when it is another network behind the router */
  dstNet: ApiObject;
  dstSubnet: ApiObject;
  intf2: ApiObject | undefined;
  gwPort: ApiObject;
}

const routerName = (w: PortWalk) => str(w.router, 'name') || w.router.id;
const isInstance = (p: ApiObject) => String(p['device_owner'] ?? '').startsWith(COMPUTE_OWNER_PREFIX);
const dstIsInstance = (w: PortWalk) => isInstance(w.dstPort!);
const dstMac = (w: PortWalk) => str(w.dstPort!, 'mac_address').toLowerCase();
const addrOf = (w: PortWalk, p: ApiObject) => fixedIpOf(p, w.family);
const isV6 = (w: PortWalk) => w.family === 6;
const extNetOf = (w: PortWalk) => byId(w.ctx.api.networks, w.gwPort['network_id'])!;

// ---- the gates

const portExists = gate<PortWalk>('port exists', (w) => {
  const { ctx, portQuery, target } = w;
  const port = ctx.api.ports.find((p) => p.id === portQuery || (portQuery.length >= 8 && p.id.startsWith(portQuery)));
  if (!port)
    return stop(
      result(
        apiHop('port exists', { type: 'port', id: portQuery }),
        { port: portQuery },
        null,
        [{ command: `GET /v2.0/ports/${portQuery}` }],
        { status: 'missing', reason: 'PORT_NOT_BOUND', cause: `no port ${portQuery} exists (openstack port list)` },
      ),
    );
  const net = byId(ctx.api.networks, port['network_id'])!;
  const src = v4Of(port);
  const host = str(port, 'binding:host_id');
  const mac = str(port, 'mac_address').toLowerCase();
  target.port = { id: port.id, fixed_ip: src?.ip_address ?? null, mac, host, network_id: net.id };
  target.network = { id: net.id, name: str(net, 'name'), type: segmentOf(net).type, segmentation_id: segmentOf(net).vni };
  const srcIp = src?.ip_address ?? null;
  Object.assign(w, { port, net, src, host, srcIp, self: { mac, ip: srcIp, what: `port ${port.id}` } });
  return pass();
});

const portBound = gate<PortWalk>('port bound', (w) =>
  w.host ? pass() : stop(portUnboundHop(w.port, `port ${w.port.id} is bound to no host: no node has plugged it`)),
);

const destination = gate<PortWalk>('destination', (w) => {
  const { ctx, to } = w;
  const dstPort = ctx.api.ports.find(
    (p) => p.id === to || fixedIps(p).some((f) => f.ip_address === to && p['device_owner'] !== FLOATINGIP_OWNER),
  );
  const dstIp = dstPort
    ? (fixedIps(dstPort).find((f) => f.ip_address === to)?.ip_address ??
      v4Of(dstPort)?.ip_address ??
      fixedIpOf(dstPort, 6)?.ip_address ??
      null)
    : to;
  if (!dstIp || !parseIp(dstIp))
    return stop(
      result(apiHop('destination', { type: 'port', id: to }), { to }, null, [], {
        status: 'missing',
        reason: 'PORT_NOT_BOUND',
        cause: `'${to}' is neither a port nor an IP address`,
      }),
    );
  w.target.destination = dstIp;
  Object.assign(w, { dstPort, dstIp, dstHost: dstPort ? str(dstPort, 'binding:host_id') : '' });
  return pass();
});

/** An IPv6 destination is reached from the port's IPv6 address: it must have one. */
const sourceOfFamily = gate<PortWalk>('source address', (w) => {
  w.family = parseIp(w.dstIp)!.version as IpFamily;
  if (w.family === 4) return pass();
  const src = fixedIpOf(w.port, 6);
  if (!src)
    return stop(
      result(apiHop('IPv6 address', portRef(w.port), w.host), { fixed_ip: 'an IPv6 address' }, { fixed_ips: fixedIps(w.port) }, [], {
        status: 'missing',
        reason: 'ADDRESS_MISSING',
        cause: `port ${w.port.id} has no IPv6 address (no fixed IP on an IPv6 subnet of network ${str(w.net, 'name') || w.net.id}): it cannot reach ${w.dstIp}`,
      }),
    );
  const srcIp = src.ip_address;
  Object.assign(w, { src, srcIp, self: { ...w.self, ip: srcIp } });
  w.target.port = { ...w.target.port!, fixed_ip: srcIp };
  return pass();
});

/** The IPv6 hops of a port on its node: the SLAAC address Neutron expects and the neighbour-discovery rules. */
const portV6Hops = (w: PortWalk, h: string, port: ApiObject, leg: Hop['leg']): HopDraft[] => {
  const ip = fixedIpOf(port, 6);
  const slaac = ip ? slaacAddressHop(w.ctx, port, h, ip.ip_address, ip.subnet_id) : null;
  return [...(slaac ? [slaac] : []), ndHop(w.ctx, h, port, leg)];
};

const destinationBound = gate<PortWalk>('destination port bound', (w) => {
  if (!w.dstHost) return stop(portUnboundHop(w.dstPort!, `port ${w.dstPort!.id} is bound to no host`));
  w.target.router = undefined;
  return pass();
});

const routerInterface = gate<PortWalk>('router interface', (w) => {
  const via = w.src ? routerOn(w.ctx, w.src.subnet_id) : null;
  if (!via)
    return stop(
      result(
        apiHop('router interface', { type: 'subnet', id: w.src?.subnet_id ?? '' }),
        { router_interface: "on the port's subnet" },
        { router_interface: null },
        [],
        {
          status: 'missing',
          reason: 'NO_ROUTER_INTERFACE',
          cause: `no router has an interface on the subnet of ${w.srcIp ?? w.port.id}: ${w.dstIp} is not reachable from network ${str(w.net, 'name') || w.net.id}`,
        },
      ),
    );
  Object.assign(w, via);
  return pass();
});

const routerHosted = gate<PortWalk>('router hosted', (w) => {
  const { ctx, router } = w;
  const routerHost = routerHostOf(ctx, router);
  w.target.router = { id: router.id, name: str(router, 'name'), host: routerHost };
  if (!routerHost)
    return stop(
      result(
        apiHop('router hosted', routerRef(router)),
        { l3_agent: `a live ${AGENT_L3}` },
        { l3_agents: [] },
        [],
        routerNotHosted(ctx, router, `router ${routerName(w)} is not hosted by any L3 agent`),
      ),
    );
  w.routerHost = routerHost;
  return pass();
});

/** Finds whether the destination is on another network behind the same router (never stops the walk). */
const behindRouter = gate<PortWalk>('destination behind the router', (w) => {
  const { ctx, dstPort, router } = w;
  const dstNet = dstPort ? byId(ctx.api.networks, dstPort['network_id']) : undefined;
  const dstSubnet = dstPort && dstNet ? subnetOf(ctx, dstNet.id, w.dstIp) : undefined;
  const intf2 = dstSubnet
    ? ctx.api.ports.find((p) => p['device_id'] === router.id && fixedIps(p).some((f) => f.subnet_id === dstSubnet.id))
    : undefined;
  Object.assign(w, { dstNet, dstSubnet, intf2 });
  return pass();
});

const routerGateway = gate<PortWalk>('router gateway', (w) => {
  const gwPort = w.ctx.api.ports.find((p) => p['device_id'] === w.router.id && p['device_owner'] === ROUTER_GW_OWNER);
  if (!gwPort)
    return stop(
      result(apiHop('router gateway', routerRef(w.router)), { external_gateway_info: 'set' }, { external_gateway_info: null }, [], {
        status: 'missing',
        reason: 'NO_ROUTER_GATEWAY',
        cause: `router ${routerName(w)} has no external gateway: ${w.dstIp} outside is not reachable`,
      }),
    );
  w.gwPort = gwPort;
  return pass();
});

// ---- the hops

/** The SNAT rule the traffic leaves by: the port's floating IP's, else the router's gateway address. */
function snatHop(w: PortWalk, host: string): HopDraft {
  const { ctx, router, srcIp } = w;
  const qg = qgName(w.gwPort.id);
  const fip = ctx.api.floatingips.find((f) => f['port_id'] === w.port.id && f['router_id'] === router.id);
  const ns = routerNamespace(router.id);
  const l3Owner = `the ${AGENT_L3} on ${host} adds it for router ${routerName(w)}; ${agentNote(ctx, host, AGENT_L3)}`;
  if (fip) {
    const address = String(fip['floating_ip_address']);
    return checkRule(
      ctx.nodes[host],
      floatingIpHopBase(host, router, fip, 'SNAT', 'request'),
      'nat',
      wrapChain('l3', 'float-snat'),
      `-s ${srcIp}/32 -j SNAT --to-source ${address} --random-fully`,
      l3Owner,
      `the SNAT rule ${srcIp} → ${address} (floating IP) is missing in ${ns} on ${host}`,
    );
  }
  const base = { leg: 'request' as const, node: host, namespace: ns, device: null, resource: routerRef(router), check: 'SNAT' };
  if (router['external_gateway_info'] && (router['external_gateway_info'] as { enable_snat?: boolean }).enable_snat !== false) {
    const gwAddr = v4Of(w.gwPort)?.ip_address ?? '?';
    return checkRule(
      ctx.nodes[host],
      base,
      'nat',
      wrapChain('l3', 'snat'),
      `-o ${qg} -j SNAT --to-source ${gwAddr} --random-fully`,
      l3Owner,
      `the router's SNAT rule to ${gwAddr} is missing in ${ns} on ${host}: the instance's traffic leaves with its private address`,
    );
  }
  return result(base, { snat: 'enable_snat or a floating IP' }, { enable_snat: false }, [], {
    status: 'mismatch',
    reason: 'NAT_RULE_MISSING',
    cause: `router ${routerName(w)} has enable_snat false and port ${w.port.id} has no floating IP: its traffic leaves with ${srcIp}, which the outside cannot answer`,
  });
}

/** The route out to the destination: through the external subnet's gateway, unless the destination is on that subnet. */
function routeOutHop(w: PortWalk, host: string): HopDraft {
  const { ctx, dstIp } = w;
  const extSubnet = subnetOf(ctx, extNetOf(w).id, addrOf(w, w.gwPort)?.ip_address ?? '');
  const extCidr = extSubnet ? parsePrefix(String(extSubnet['cidr'])) : null;
  const extGw = extSubnet ? str(extSubnet, 'gateway_ip') || null : null;
  const onLink = extCidr && cidrContains(extCidr, parseIp(dstIp)!);
  // An extra route the kernel prefers (longer than the external subnet's connected route) leads the way.
  const extra = extraRouteTo(ctx, w.router, dstIp);
  if (extra && !(onLink && extCidr.prefixLength >= extra.prefixLength)) {
    const what = `${dstIp} by the extra route ${extra.destination} via ${extra.via}`;
    return routeHop(ctx, host, w.router, dstIp, extra.dev, extra.via, what, 'request');
  }
  return routeHop(ctx, host, w.router, dstIp, qgName(w.gwPort.id), onLink ? null : extGw, `${dstIp} outside`, 'request');
}

/** The reply's route back into the port's subnet, behind the router's interface there. */
const replyRouteHop = (w: PortWalk, host: string, what: string) =>
  routeHop(w.ctx, host, w.router, w.srcIp ?? '0.0.0.0', qrName(w.intf.id), null, what, 'reply');

/** The destination port's side: its security group, tap and instance. */
const destinationHops = (dstNet: (w: PortWalk) => ApiObject): Step<PortWalk>[] => [
  hops('IPv6 neighbour discovery', 'dstHost', (w, h) => portV6Hops(w, h, w.dstPort!, 'request'), isV6),
  hops('security group', 'dstHost', (w, h) => sgHop(w.ctx, h, w.dstPort!, w.o.flow, w.srcIp, 'request')),
  hops('tap', 'dstHost', (w, h) => tapHop(w.ctx, h, w.dstPort!, dstNet(w), 'request')),
  hops('instance NIC', 'dstHost', (w, h) => instanceHop(w.ctx, h, w.dstPort!, dstNet(w), 'request'), dstIsInstance),
];

const PORT_WALK: Step<PortWalk>[] = [
  portExists,
  portBound,
  destination,
  sourceOfFamily,
  // The sending side, on the port's node.
  hops('L2 agent', 'host', (w, h) => agentHop(w.ctx, h, AGENT_L2, 'request')),
  hops(
    'instance NIC',
    'host',
    (w, h) => instanceHop(w.ctx, h, w.port, w.net, 'request'),
    (w) => isInstance(w.port),
  ),
  hops('IPv6 neighbour discovery', 'host', (w, h) => portV6Hops(w, h, w.port, 'request'), isV6),
  hops('tap', 'host', (w, h) => tapHop(w.ctx, h, w.port, w.net, 'request')),
  hops('security group', 'host', (w, h) => sgHop(w.ctx, h, w.port, w.o.flow, w.dstIp, 'request', 'egress')),
  hops('bridge', 'host', (w, h) => bridgeHop(w.ctx, h, w.net, 'request')),
  branch(
    'east-west on the same network',
    (w) => !!w.dstPort && w.dstPort['network_id'] === w.net.id,
    [
      destinationBound,
      hops('across to the destination', 'host', (w, h) =>
        crossNodes(w.ctx, w.net, h, w.dstHost, { mac: dstMac(w), ip: w.dstIp, what: `port ${w.dstPort!.id}` }, 'request'),
      ),
      ...destinationHops((w) => w.net),
      hops('l2population entry back', 'dstHost', (w, h) => replyFdb(w.ctx, w.net, h, w.host, w.self)),
    ],
    true,
  ),
  // Through the router on the port's subnet.
  routerInterface,
  routerHosted,
  hops('across to the router', 'host', (w, h) => {
    const gwIp = addrOf(w, w.intf)?.ip_address ?? null;
    const intfMac = str(w.intf, 'mac_address').toLowerCase();
    return crossNodes(
      w.ctx,
      w.net,
      h,
      w.routerHost,
      { mac: intfMac, ip: gwIp, what: `router ${routerName(w)}'s interface ${gwIp}` },
      'request',
    );
  }),
  hops('L3 agent', 'routerHost', (w, h) => agentHop(w.ctx, h, AGENT_L3, 'request')),
  hops(
    'HA router',
    'routerHost',
    (w, h) => haHops(w.ctx, w.router, h, 'request'),
    (w) => isHaRouter(w.router),
  ),
  hops('router interface', 'routerHost', (w, h) => [
    ...routerPortHops(w.ctx, h, w.router, w.intf, w.net, 'qr', true, 'request'),
    routerAddressHop(w.ctx, h, w.router, w.intf, qrName(w.intf.id), 'request', w.family),
  ]),
  hops('forwarding', 'routerHost', (w, h) => forwardingHop(w.ctx, h, w.router, 'request', w.family)),
  hops(
    'radvd',
    'routerHost',
    (w, h) => radvdHop(w.ctx, h, w.router, w.intf, byId(w.ctx.api.subnets, w.src!.subnet_id)!, 'request') ?? [],
    isV6,
  ),
  behindRouter,
  branch(
    'another tenant network behind the same router',
    (w) => !!(w.dstPort && w.dstNet && w.intf2),
    [
      hops('router interface to the destination', 'routerHost', (w, h) => {
        const qr2 = qrName(w.intf2!.id);
        const [device, tap] = routerPortHops(w.ctx, h, w.router, w.intf2!, w.dstNet, 'qr', false, 'request');
        return [
          device!,
          routerAddressHop(w.ctx, h, w.router, w.intf2!, qr2, 'request', w.family),
          routeHop(w.ctx, h, w.router, w.dstIp, qr2, null, `subnet ${w.dstSubnet['cidr']} behind ${qr2}`, 'request'),
          tap!,
          bridgeHop(w.ctx, h, w.dstNet, 'request'),
        ];
      }),
      hops('across to the destination', 'routerHost', (w, h) =>
        crossNodes(w.ctx, w.dstNet, h, w.dstHost, { mac: dstMac(w), ip: w.dstIp, what: `port ${w.dstPort!.id}` }, 'request'),
      ),
      ...destinationHops((w) => w.dstNet),
      hops('l2population entry back to the router', 'dstHost', (w, h) =>
        replyFdb(w.ctx, w.dstNet, h, w.routerHost, {
          mac: str(w.intf2!, 'mac_address').toLowerCase(),
          ip: addrOf(w, w.intf2!)?.ip_address ?? null,
          what: `router ${routerName(w)}'s interface`,
        }),
      ),
      hops('route back', 'routerHost', (w, h) => replyRouteHop(w, h, `subnet of ${w.srcIp} behind ${qrName(w.intf.id)}`)),
      hops('l2population entry back', 'routerHost', (w, h) => replyFdb(w.ctx, w.net, h, w.host, w.self)),
    ],
    true,
  ),
  // Outside: SNAT to the floating IP or the gateway address, out through qg- to the provider network
  // (IPv6 is routed as it is: Neutron has no NAT for it).
  routerGateway,
  hops('SNAT', 'routerHost', snatHop, (w) => !isV6(w)),
  hops('route out', 'routerHost', routeOutHop),
  hops('gateway port', 'routerHost', (w, h) => {
    const [device, tap] = routerPortHops(w.ctx, h, w.router, w.gwPort, extNetOf(w), 'qg', false, 'request');
    return [device!, routerAddressHop(w.ctx, h, w.router, w.gwPort, qgName(w.gwPort.id), 'request', w.family), tap!];
  }),
  hops('provider bridge and uplink', 'routerHost', (w, h) => {
    const [bridge, uplink] = segmentHops(w.ctx, h, extNetOf(w), 'request');
    return [bridge!, uplink!];
  }),
  hops('route back', 'routerHost', (w, h) => replyRouteHop(w, h, `the instance's subnet behind ${qrName(w.intf.id)}`)),
  hops('l2population entry back', 'routerHost', (w, h) => replyFdb(w.ctx, w.net, h, w.host, w.self)),
];

export function tracePort(ctx: TraceContext, portQuery: string, to: string, o: PortTraceOptions, started = Date.now()): TraceReport {
  const target: TraceTarget = { kind: 'port', query: `${portQuery} → ${to}`, flow: o.flow };
  return walk(PORT_WALK, { ctx, target, portQuery, to, o, family: 4 } as PortWalk, started);
}
