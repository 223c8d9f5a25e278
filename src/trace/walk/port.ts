// `neutrino trace port PORT --to ADDRESS|PORT`: from an instance's port to another port (east-west,
// on the same network or through a router) or to an address outside (through the router's SNAT),
// and the reply leg back. Same hops and checks as the floating-IP walk, in the other direction. Pure.
import { AGENT_L2, AGENT_L3, COMPUTE_OWNER_PREFIX, FLOATINGIP_OWNER, ROUTER_GW_OWNER, ROUTER_INTF_OWNER } from '../../model/neutron.js';
import { qgName, qrName, routerNamespace, wrapChain } from '../../kernel/names.js';
import { cidrContains, parseIp, parsePrefix } from '../../model/ip.js';
import { agentNote, byId, fixedIps, str, type TraceContext } from '../context.js';
import { apiHop, checkRule, result, type HopDraft } from '../checks/checks.js';
import { finish } from '../finish.js';
import { instanceHop } from '../checks/instance.js';
import { agentHop, fdbHop, portRef, segmentHops, segmentOf, tapHop, vtepOf } from '../checks/l2.js';
import type { Hop, TraceReport, TraceTarget } from '../report.js';
import { forwardingHop, routeHop, routerAddressHop, routerPortHops, routerRef, subnetOf } from '../checks/router.js';
import { sgHop } from '../checks/sg.js';
import type { ApiObject } from '../snapshot.js';

export interface PortTraceOptions {
  flow: TraceTarget['flow'];
}

const v4Of = (p: ApiObject) => fixedIps(p).find((f) => parseIp(f.ip_address)?.version === 4);
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
function routerOn(ctx: TraceContext, subnetId: string): { router: ApiObject; intf: ApiObject } | null {
  for (const p of ctx.api.ports) {
    if (!String(p['device_owner'] ?? '').startsWith(ROUTER_INTF_OWNER)) continue;
    if (!fixedIps(p).some((f) => f.subnet_id === subnetId)) continue;
    const router = byId(ctx.api.routers, p['device_id']);
    if (router) return { router, intf: p };
  }
  return null;
}

export function tracePort(ctx: TraceContext, portQuery: string, to: string, o: PortTraceOptions, started = Date.now()): TraceReport {
  const target: TraceTarget = { kind: 'port', query: `${portQuery} → ${to}`, flow: o.flow };
  const hops: HopDraft[] = [];
  const done = () => finish(ctx, target, hops, started);
  const port = ctx.api.ports.find((p) => p.id === portQuery || (portQuery.length >= 8 && p.id.startsWith(portQuery)));
  if (!port) {
    hops.push(
      result(
        apiHop('port exists', { type: 'port', id: portQuery }),
        { port: portQuery },
        null,
        [{ command: `GET /v2.0/ports/${portQuery}` }],
        { status: 'missing', reason: 'PORT_NOT_BOUND', cause: `no port ${portQuery} exists (openstack port list)` },
      ),
    );
    return done();
  }
  const net = byId(ctx.api.networks, port['network_id'])!;
  const src = v4Of(port);
  const host = str(port, 'binding:host_id');
  const mac = str(port, 'mac_address').toLowerCase();
  target.port = { id: port.id, fixed_ip: src?.ip_address ?? null, mac, host, network_id: net.id };
  target.network = { id: net.id, name: str(net, 'name'), type: segmentOf(net).type, segmentation_id: segmentOf(net).vni };
  if (!host) {
    hops.push(
      result(apiHop('port bound', portRef(port)), { 'binding:host_id': 'a host' }, { 'binding:host_id': '' }, [], {
        status: 'missing',
        reason: 'PORT_NOT_BOUND',
        cause: `port ${port.id} is bound to no host: no node has plugged it`,
      }),
    );
    return done();
  }
  const dstPort = ctx.api.ports.find(
    (p) => p.id === to || fixedIps(p).some((f) => f.ip_address === to && p['device_owner'] !== FLOATINGIP_OWNER),
  );
  const dstIp = dstPort ? (fixedIps(dstPort).find((f) => f.ip_address === to)?.ip_address ?? v4Of(dstPort)?.ip_address ?? null) : to;
  if (!dstIp || !parseIp(dstIp)) {
    hops.push(
      result(apiHop('destination', { type: 'port', id: to }), { to }, null, [], {
        status: 'missing',
        reason: 'PORT_NOT_BOUND',
        cause: `'${to}' is neither a port nor an IPv4 address`,
      }),
    );
    return done();
  }
  target.destination = dstIp;
  const srcIp = src?.ip_address ?? null;
  const self = { mac, ip: srcIp, what: `port ${port.id}` };

  // The sending side, on the port's node.
  hops.push(agentHop(ctx, host, AGENT_L2, 'request'));
  if (String(port['device_owner'] ?? '').startsWith(COMPUTE_OWNER_PREFIX)) hops.push(instanceHop(ctx, host, port, net, 'request'));
  hops.push(
    tapHop(ctx, host, port, net, 'request'),
    sgHop(ctx, host, port, o.flow, dstIp, 'request', 'egress'),
    bridgeHop(ctx, host, net, 'request'),
  );

  // East-west on the same network.
  if (dstPort && dstPort['network_id'] === net.id) {
    const dstHost = str(dstPort, 'binding:host_id');
    const dstMac = str(dstPort, 'mac_address').toLowerCase();
    if (!dstHost) {
      hops.push(
        result(apiHop('port bound', portRef(dstPort)), { 'binding:host_id': 'a host' }, { 'binding:host_id': '' }, [], {
          status: 'missing',
          reason: 'PORT_NOT_BOUND',
          cause: `port ${dstPort.id} is bound to no host`,
        }),
      );
      return done();
    }
    target.router = undefined;
    hops.push(...crossNodes(ctx, net, host, dstHost, { mac: dstMac, ip: dstIp, what: `port ${dstPort.id}` }, 'request'));
    hops.push(sgHop(ctx, dstHost, dstPort, o.flow, srcIp, 'request'), tapHop(ctx, dstHost, dstPort, net, 'request'));
    if (String(dstPort['device_owner'] ?? '').startsWith(COMPUTE_OWNER_PREFIX))
      hops.push(instanceHop(ctx, dstHost, dstPort, net, 'request'));
    hops.push(...replyFdb(ctx, net, dstHost, host, self));
    return done();
  }

  // Through the router on the port's subnet.
  const via = src ? routerOn(ctx, src.subnet_id) : null;
  if (!via) {
    hops.push(
      result(
        apiHop('router interface', { type: 'subnet', id: src?.subnet_id ?? '' }),
        { router_interface: "on the port's subnet" },
        { router_interface: null },
        [],
        {
          status: 'missing',
          reason: 'NO_ROUTER_INTERFACE',
          cause: `no router has an interface on the subnet of ${srcIp ?? port.id}: ${dstIp} is not reachable from network ${str(net, 'name') || net.id}`,
        },
      ),
    );
    return done();
  }
  const { router, intf } = via;
  const rHost = (ctx.api.router_hosts[router.id] ?? [])[0] ?? null;
  target.router = { id: router.id, name: str(router, 'name'), host: rHost };
  if (!rHost) {
    hops.push(
      result(apiHop('router hosted', routerRef(router)), { l3_agent: `a live ${AGENT_L3}` }, { l3_agents: [] }, [], {
        status: 'missing',
        reason: 'ROUTER_NOT_SCHEDULED',
        cause: `router ${str(router, 'name') || router.id} is not hosted by any L3 agent`,
      }),
    );
    return done();
  }
  const gwIp = v4Of(intf)?.ip_address ?? null;
  const intfMac = str(intf, 'mac_address').toLowerCase();
  hops.push(
    ...crossNodes(
      ctx,
      net,
      host,
      rHost,
      { mac: intfMac, ip: gwIp, what: `router ${str(router, 'name') || router.id}'s interface ${gwIp}` },
      'request',
    ),
  );
  hops.push(agentHop(ctx, rHost, AGENT_L3, 'request'));
  const [qrTap, qrDev] = routerPortHops(ctx, rHost, router, intf, net, 'qr', true, 'request');
  hops.push(qrTap!, qrDev!, routerAddressHop(ctx, rHost, router, intf, qrName(intf.id), 'request'));
  hops.push(forwardingHop(ctx, rHost, router, 'request'));

  const dstNet = dstPort ? byId(ctx.api.networks, dstPort['network_id']) : undefined;
  const dstSubnet = dstPort && dstNet ? subnetOf(ctx, dstNet.id, dstIp) : undefined;
  const intf2 = dstSubnet
    ? ctx.api.ports.find((p) => p['device_id'] === router.id && fixedIps(p).some((f) => f.subnet_id === dstSubnet.id))
    : undefined;
  if (dstPort && dstNet && intf2) {
    // Another tenant network behind the same router.
    const dstHost = str(dstPort, 'binding:host_id');
    const qr2 = qrName(intf2.id);
    const [qr2Dev, qr2Tap] = routerPortHops(ctx, rHost, router, intf2, dstNet, 'qr', false, 'request');
    hops.push(qr2Dev!, routerAddressHop(ctx, rHost, router, intf2, qr2, 'request'));
    hops.push(routeHop(ctx, rHost, router, dstIp, qr2, null, `subnet ${dstSubnet!['cidr']} behind ${qr2}`, 'request'));
    hops.push(qr2Tap!, bridgeHop(ctx, rHost, dstNet, 'request'));
    hops.push(
      ...crossNodes(
        ctx,
        dstNet,
        rHost,
        dstHost,
        { mac: str(dstPort, 'mac_address').toLowerCase(), ip: dstIp, what: `port ${dstPort.id}` },
        'request',
      ),
    );
    hops.push(sgHop(ctx, dstHost, dstPort, o.flow, srcIp, 'request'), tapHop(ctx, dstHost, dstPort, dstNet, 'request'));
    if (String(dstPort['device_owner'] ?? '').startsWith(COMPUTE_OWNER_PREFIX))
      hops.push(instanceHop(ctx, dstHost, dstPort, dstNet, 'request'));
    hops.push(
      ...replyFdb(ctx, dstNet, dstHost, rHost, {
        mac: str(intf2, 'mac_address').toLowerCase(),
        ip: v4Of(intf2)?.ip_address ?? null,
        what: `router ${str(router, 'name') || router.id}'s interface`,
      }),
    );
    hops.push(
      routeHop(ctx, rHost, router, srcIp ?? '0.0.0.0', qrName(intf.id), null, `subnet of ${srcIp} behind ${qrName(intf.id)}`, 'reply'),
    );
    hops.push(...replyFdb(ctx, net, rHost, host, self));
    return done();
  }

  // Outside: SNAT to the floating IP or the gateway address, out through qg- to the provider network.
  const gwPort = ctx.api.ports.find((p) => p['device_id'] === router.id && p['device_owner'] === ROUTER_GW_OWNER);
  if (!gwPort) {
    hops.push(
      result(apiHop('router gateway', routerRef(router)), { external_gateway_info: 'set' }, { external_gateway_info: null }, [], {
        status: 'missing',
        reason: 'NO_ROUTER_GATEWAY',
        cause: `router ${str(router, 'name') || router.id} has no external gateway: ${dstIp} outside is not reachable`,
      }),
    );
    return done();
  }
  const extNet = byId(ctx.api.networks, gwPort['network_id'])!;
  const extSubnet = subnetOf(ctx, extNet.id, v4Of(gwPort)?.ip_address ?? '');
  const qg = qgName(gwPort.id);
  const fip = ctx.api.floatingips.find((f) => f['port_id'] === port.id && f['router_id'] === router.id);
  const ns = routerNamespace(router.id);
  const l3Owner = `the ${AGENT_L3} on ${rHost} adds it for router ${str(router, 'name') || router.id}; ${agentNote(ctx, rHost, AGENT_L3)}`;
  const snatBase = { leg: 'request' as const, node: rHost, namespace: ns, device: null };
  if (fip) {
    const address = String(fip['floating_ip_address']);
    hops.push(
      checkRule(
        ctx.nodes[rHost],
        { ...snatBase, resource: { type: 'floatingip', id: fip.id, name: address }, check: 'SNAT' },
        'nat',
        wrapChain('l3', 'float-snat'),
        `-s ${srcIp}/32 -j SNAT --to-source ${address} --random-fully`,
        l3Owner,
        `the SNAT rule ${srcIp} → ${address} (floating IP) is missing in ${ns} on ${rHost}`,
      ),
    );
  } else if (router['external_gateway_info'] && (router['external_gateway_info'] as { enable_snat?: boolean }).enable_snat !== false) {
    const gwAddr = v4Of(gwPort)?.ip_address ?? '?';
    hops.push(
      checkRule(
        ctx.nodes[rHost],
        { ...snatBase, resource: routerRef(router), check: 'SNAT' },
        'nat',
        wrapChain('l3', 'snat'),
        `-o ${qg} -j SNAT --to-source ${gwAddr} --random-fully`,
        l3Owner,
        `the router's SNAT rule to ${gwAddr} is missing in ${ns} on ${rHost}: the instance's traffic leaves with its private address`,
      ),
    );
  } else {
    hops.push(
      result(
        { ...snatBase, resource: routerRef(router), check: 'SNAT' },
        { snat: 'enable_snat or a floating IP' },
        { enable_snat: false },
        [],
        {
          status: 'mismatch',
          reason: 'NAT_RULE_MISSING',
          cause: `router ${str(router, 'name') || router.id} has enable_snat false and port ${port.id} has no floating IP: its traffic leaves with ${srcIp}, which the outside cannot answer`,
        },
      ),
    );
  }
  const extCidr = extSubnet ? parsePrefix(String(extSubnet['cidr'])) : null;
  const dst = parseIp(dstIp)!;
  const extGw = extSubnet ? str(extSubnet, 'gateway_ip') || null : null;
  hops.push(routeHop(ctx, rHost, router, dstIp, qg, extCidr && cidrContains(extCidr, dst) ? null : extGw, `${dstIp} outside`, 'request'));
  const [qgDev, qgTap] = routerPortHops(ctx, rHost, router, gwPort, extNet, 'qg', false, 'request');
  hops.push(qgDev!, routerAddressHop(ctx, rHost, router, gwPort, qg, 'request'), qgTap!);
  const [extBridge, extUplink] = segmentHops(ctx, rHost, extNet, 'request');
  hops.push(extBridge!, extUplink!);
  hops.push(
    routeHop(ctx, rHost, router, srcIp ?? '0.0.0.0', qrName(intf.id), null, `the instance's subnet behind ${qrName(intf.id)}`, 'reply'),
  );
  hops.push(...replyFdb(ctx, net, rHost, host, self));
  return done();
}
