// `neutrino trace fip ADDRESS`: the scenario's walk (docs/scenario.md, steps 1–10) from the provider
// network's upstream to the instance behind a floating IP, and the reply leg back. Every hop
// compares what the planner wants on that node with what the node's kernel shows. The walk is a
// list of steps (steps.ts): the API's gates, then the hops in the packet's order. Pure.
import { AGENT_L2, AGENT_L3, COMPUTE_OWNER_PREFIX, ROUTER_GW_OWNER } from '../../model/neutron.ts';
import { qgName, qrName } from '../../kernel/names.ts';
import { agentNote, agentsUnreadable, byId, fixedIps, str, type TraceContext } from '../context.ts';
import { apiHop, checkAddress, result, type HopDraft } from '../checks/checks.ts';
import { cidrContains, parseIp, parsePrefix } from '../../model/ip.ts';
import { instanceHop } from '../checks/instance.ts';
import { agentHop, portUnboundHop, fdbHop, segmentHops, segmentOf, tapHop, vtepOf } from '../checks/l2.ts';
import {
  conntrackHop,
  extraRouteTo,
  dnatHop,
  floatingIpHopBase,
  forwardingDnatHop,
  forwardingHop,
  routeHop,
  routerAddressHop,
  routerPortHops,
  routerRef,
  snatHop,
  subnetOf,
} from '../checks/router.ts';
import { sgHop } from '../checks/sg.ts';
import { haHops, isHaRouter, routerHostOf, routerNotHosted } from '../checks/ha.ts';
import type { EvidenceLine, ResourceRef, TraceReport, TraceTarget } from '../report.ts';
import type { ApiObject } from '../snapshot.ts';
import { floatingIpForwardings, internalPortOf, type ForwardingOfFip } from '../expect/forwardings.ts';
import { gate, hops, pass, stop, walk, type Step } from './steps.ts';

export interface FipOptions {
  flow: TraceTarget['flow'];
  /** the source of the traced traffic; default: anywhere outside (security-group rules must admit 0.0.0.0/0, the reply takes the default route) */
  source?: string;
}

/** The walk's state: what it was asked, then what the gates find (each filled before any step reads it). */
interface FipWalk {
  ctx: TraceContext;
  target: TraceTarget;
  address: string;
  o: FipOptions;
  fip: ApiObject;
  fipRef: ResourceRef;
  fipEvidence: EvidenceLine[];
  port: ApiObject;
  net: ApiObject;
  /** the fixed IP behind the floating IP */
  fixed: string;
  portHost: string;
  router: ApiObject;
  routerHost: string;
  routerPorts: ApiObject[];
  gwPort: ApiObject;
  intfPort: ApiObject;
  subnet: ApiObject;
  /** the port forwarding walked when the floating IP serves forwardings instead of a port */
  forwarding?: ForwardingOfFip;
}

/**
 * The forwarding a flow takes: the one of its protocol whose external port or range holds the
 * flow's port, else the first.
 */
function forwardingFor(ctx: TraceContext, fip: ApiObject, flow: FipOptions['flow']): ForwardingOfFip | undefined {
  const all = floatingIpForwardings(ctx.api, fip);
  const port = flow.port;
  return all.find((f) => f.protocol === flow.protocol && port !== undefined && internalPortOf(f, port) !== null) ?? all[0];
}

/** The flow as it reaches the instance: through a forwarding, to the internal port its external port maps to. */
const innerFlow = (w: FipWalk): FipOptions['flow'] => {
  const f = w.forwarding;
  if (!f) return w.o.flow;
  const port = (w.o.flow.port !== undefined ? internalPortOf(f, w.o.flow.port) : null) ?? f.internal_port;
  return { protocol: f.protocol as FipOptions['flow']['protocol'], port };
};

const fip0PortId = (w: FipWalk) => w.fip['port_id'];
const routerName = (w: FipWalk) => str(w.router, 'name') || w.router.id;
const extNetOf = (w: FipWalk) => byId(w.ctx.api.networks, w.gwPort['network_id'])!;
const qgOf = (w: FipWalk) => qgName(w.gwPort.id);
const crossing = (w: FipWalk) => w.portHost !== w.routerHost;
/** Between two nodes over VXLAN: l2population's entries carry the frames (a flat or VLAN network has none). */
const tunnelled = (w: FipWalk) => crossing(w) && segmentOf(w.net).type === 'vxlan';

// ---- the gates: what the API must show before any node can be checked

const fipExists = gate<FipWalk>('floating IP exists', (w) => {
  const fip = w.ctx.api.floatingips.find((f) => f['floating_ip_address'] === w.address);
  if (!fip)
    return stop(
      result(
        apiHop('floating IP exists', { type: 'floatingip', id: '', name: w.address }),
        { floating_ip_address: w.address },
        null,
        [{ command: `GET /v2.0/floatingips?floating_ip_address=${w.address}` }],
        { status: 'missing', reason: 'FIP_NOT_FOUND', cause: `no floating IP ${w.address} exists (openstack floating ip list)` },
      ),
    );
  w.target.floatingip = { id: fip.id, address: w.address };
  w.fip = fip;
  w.fipRef = { type: 'floatingip', id: fip.id, name: w.address };
  w.fipEvidence = [
    {
      command: `GET /v2.0/floatingips/${fip.id}`,
      line: JSON.stringify({
        port_id: fip['port_id'],
        fixed_ip_address: fip['fixed_ip_address'],
        router_id: fip['router_id'],
        status: fip['status'],
      }),
    },
  ];
  return pass();
});

const fipAssociated = gate<FipWalk>('floating IP associated', (w) => {
  const { ctx, target } = w;
  // A floating IP serving port forwardings is walked to the forwarding's internal port and address.
  const forwarding = fip0PortId(w) ? undefined : forwardingFor(ctx, w.fip, w.o.flow);
  if (forwarding) {
    w.forwarding = forwarding;
    w.fip = { ...w.fip, port_id: forwarding.internal_port_id, fixed_ip_address: forwarding.internal_ip_address };
  }
  const fip = w.fip;
  const port = byId(ctx.api.ports, fip['port_id']);
  if (!fip['port_id'] || !port)
    return stop(
      result(
        apiHop('floating IP associated', w.fipRef),
        { port_id: 'a port' },
        { port_id: fip['port_id'] ?? null, status: fip['status'] },
        w.fipEvidence,
        {
          status: 'missing',
          reason: 'FIP_NOT_ASSOCIATED',
          cause: `floating IP ${w.address} is not associated with any port: nothing answers on it (openstack floating ip set --port PORT ${w.address})`,
        },
      ),
    );
  const net = byId(ctx.api.networks, port['network_id'])!;
  const fixed = String(fip['fixed_ip_address'] ?? fixedIps(port)[0]?.ip_address ?? '');
  const portHost = str(port, 'binding:host_id');
  target.port = { id: port.id, fixed_ip: fixed || null, mac: str(port, 'mac_address').toLowerCase(), host: portHost, network_id: net.id };
  target.network = { id: net.id, name: str(net, 'name'), type: segmentOf(net).type, segmentation_id: segmentOf(net).vni };
  Object.assign(w, { port, net, fixed, portHost });
  return pass(
    result(
      apiHop('floating IP associated', w.fipRef),
      { port_id: port.id },
      { port_id: port.id, fixed_ip_address: fixed, status: fip['status'] },
      w.fipEvidence,
    ),
  );
});

const hasRouter = gate<FipWalk>('router', (w) => {
  const router = byId(w.ctx.api.routers, w.fip['router_id']);
  if (!router)
    return stop(
      result(apiHop('router', w.fipRef), { router_id: 'a router' }, { router_id: null }, w.fipEvidence, {
        status: 'missing',
        reason: 'NO_ROUTER_INTERFACE',
        cause: `floating IP ${w.address} has no router: no router connects network ${str(w.net, 'name') || w.net.id} to the floating IP's network`,
      }),
    );
  w.router = router;
  w.target.router = { id: router.id, name: str(router, 'name'), host: routerHostOf(w.ctx, router) };
  return pass();
});

const routerHosted = gate<FipWalk>('router hosted', (w) => {
  const { ctx, router } = w;
  const routerHost = routerHostOf(ctx, router);
  if (!routerHost) {
    const agents = ctx.api.agents.filter((a) => a['agent_type'] === AGENT_L3);
    return stop(
      result(
        apiHop('router hosted', routerRef(router)),
        { l3_agent: `a live ${AGENT_L3}` },
        { l3_agents: [] },
        [{ command: `GET /v2.0/routers/${router.id}/l3-agents` }],
        routerNotHosted(
          ctx,
          router,
          `router ${routerName(w)} is not hosted by any L3 agent (${agents.length ? `L3 agents: ${agents.map((a) => `${a['host']} ${a['alive'] ? 'alive' : 'down'}`).join(', ')}` : (agentsUnreadable(ctx) ?? 'no L3 agent is registered')})`,
        ),
      ),
    );
  }
  w.routerHost = routerHost;
  return pass(
    result(apiHop('router hosted', routerRef(router), routerHost), { l3_agent: `a live ${AGENT_L3}` }, { host: routerHost }, [
      { command: `GET /v2.0/routers/${router.id}/l3-agents`, line: routerHost },
    ]),
  );
});

const routerGateway = gate<FipWalk>('router gateway', (w) => {
  const { ctx, router } = w;
  w.routerPorts = ctx.api.ports.filter((p) => p['device_id'] === router.id);
  const gwPort = w.routerPorts.find((p) => p['device_owner'] === ROUTER_GW_OWNER);
  if (!gwPort)
    return stop(
      result(
        apiHop('router gateway', routerRef(router), w.routerHost),
        { external_gateway_info: 'set' },
        { external_gateway_info: router['external_gateway_info'] ?? null },
        [],
        {
          status: 'missing',
          reason: 'NO_ROUTER_GATEWAY',
          cause: `router ${routerName(w)} has no external gateway (openstack router set --external-gateway NETWORK ${routerName(w)})`,
        },
      ),
    );
  w.gwPort = gwPort;
  return pass();
});

const routerInterface = gate<FipWalk>('router interface', (w) => {
  const { ctx, router, gwPort, fixed } = w;
  const subnet = subnetOf(ctx, w.net.id, fixed);
  const intfPort = w.routerPorts.find((p) => p['device_owner'] !== ROUTER_GW_OWNER && fixedIps(p).some((f) => f.subnet_id === subnet?.id));
  if (!intfPort || !subnet)
    return stop(
      result(
        apiHop('router interface', routerRef(router), w.routerHost),
        { subnet: subnet?.id ?? fixed },
        {
          interfaces: w.routerPorts
            .filter((p) => p !== gwPort)
            .map((p) =>
              fixedIps(p)
                .map((f) => f.ip_address)
                .join(','),
            ),
        },
        [{ command: `GET /v2.0/ports?device_id=${router.id}` }],
        {
          status: 'missing',
          reason: 'NO_ROUTER_INTERFACE',
          cause: `router ${routerName(w)} has no interface on subnet ${subnet ? `${str(subnet, 'name') || subnet.id} (${subnet['cidr']})` : `of ${fixed}`}: the instance's network is not connected to it (openstack router add subnet ${routerName(w)} ${subnet ? str(subnet, 'name') || subnet.id : 'SUBNET'})`,
        },
      ),
    );
  Object.assign(w, { subnet, intfPort });
  return pass();
});

const portBound = gate<FipWalk>('port bound', (w) =>
  w.portHost
    ? pass()
    : stop(
        portUnboundHop(
          w.port,
          `port ${w.port.id} is bound to no host: no node has plugged it (its instance is not running, or nova never bound it)`,
        ),
      ),
);

// ---- the hops

/** The floating IP's /32 on the gateway device (the L3 agent adds it so the router answers ARP for it). */
function fipAddressHop(ctx: TraceContext, host: string, router: ApiObject, fip: ApiObject, qg: string): HopDraft {
  return checkAddress(
    ctx.nodes[host],
    floatingIpHopBase(host, router, fip, 'floating IP address', 'request', qg),
    qg,
    `${String(fip['floating_ip_address'])}/32`,
    `the ${AGENT_L3} on ${host} adds it so the router answers ARP for the floating IP; ${agentNote(ctx, host, AGENT_L3)}`,
  );
}

/** The way back to the source: on the external subnet directly, else (the outside) through its gateway. */
function replyRouteHop(w: FipWalk, host: string): HopDraft {
  const { ctx, router } = w;
  const source = w.o.source ?? null;
  const qg = qgOf(w);
  const extSubnet = subnetOf(ctx, extNetOf(w).id, fixedIps(w.gwPort)[0]?.ip_address ?? '');
  const extGw = extSubnet ? str(extSubnet, 'gateway_ip') || null : null;
  const extCidr = extSubnet ? parsePrefix(String(extSubnet['cidr'])) : null;
  const srcIp = source ? parseIp(source) : null;
  const onLink = !!(srcIp && extCidr && cidrContains(extCidr, srcIp));
  // An extra route the kernel prefers (longer than the external subnet's connected route) leads the way back.
  const extra = source ? extraRouteTo(ctx, router, source) : null;
  if (extra && !(onLink && extCidr!.prefixLength >= extra.prefixLength)) {
    const what = `the source ${source}, by the extra route ${extra.destination} via ${extra.via}`;
    return routeHop(ctx, host, router, source!, extra.dev, extra.via, what, 'reply');
  }
  return onLink
    ? routeHop(ctx, host, router, source!, qg, null, `the source ${source} on the external subnet`, 'reply')
    : routeHop(
        ctx,
        host,
        router,
        source ?? 'default',
        qg,
        extGw,
        `${source ? `the source ${source}, ` : 'the outside, '}through the external subnet's gateway ${extGw ?? '(none)'}`,
        'reply',
      );
}

const FIP_WALK: Step<FipWalk>[] = [
  fipExists,
  fipAssociated,
  hasRouter,
  routerHosted,
  routerGateway,
  routerInterface,
  portBound,
  // ---- request: upstream → router (on the router's node) → tenant network → instance
  hops('L3 agent', 'routerHost', (w, h) => agentHop(w.ctx, h, AGENT_L3, 'request')),
  // An HA router: the walk goes through its primary; keepalived and VRRP on each of its nodes first.
  hops(
    'HA router',
    'routerHost',
    (w, h) => haHops(w.ctx, w.router, h, 'request'),
    (w) => isHaRouter(w.router),
  ),
  hops('L2 agent', 'routerHost', (w, h) => agentHop(w.ctx, h, AGENT_L2, 'request')),
  hops('provider uplink and bridge', 'routerHost', (w, h) => {
    const [bridge, uplink] = segmentHops(w.ctx, h, extNetOf(w), 'request');
    return [uplink!, bridge!];
  }),
  hops('gateway port', 'routerHost', (w, h) => routerPortHops(w.ctx, h, w.router, w.gwPort, extNetOf(w), 'qg', true, 'request')),
  hops('gateway address', 'routerHost', (w, h) => routerAddressHop(w.ctx, h, w.router, w.gwPort, qgOf(w), 'request')),
  hops('floating IP address', 'routerHost', (w, h) => fipAddressHop(w.ctx, h, w.router, w.fip, qgOf(w))),
  hops('DNAT', 'routerHost', (w, h) =>
    w.forwarding
      ? forwardingDnatHop(w.ctx, h, w.router, w.fip, w.forwarding, 'request', w.o.flow.port)
      : dnatHop(w.ctx, h, w.router, w.fip, 'request'),
  ),
  hops('forwarding', 'routerHost', (w, h) => forwardingHop(w.ctx, h, w.router, 'request')),
  // The device and its address before the route: a missing qr- also takes its connected route away.
  hops('router interface', 'routerHost', (w, h) => {
    const qr = qrName(w.intfPort.id);
    const [device, tap] = routerPortHops(w.ctx, h, w.router, w.intfPort, w.net, 'qr', false, 'request');
    return [
      device!,
      routerAddressHop(w.ctx, h, w.router, w.intfPort, qr, 'request'),
      routeHop(w.ctx, h, w.router, w.fixed, qr, null, `subnet ${w.subnet['cidr']} behind ${qr}`, 'request'),
      tap!,
    ];
  }),
  hops('tenant bridge', 'routerHost', (w, h) => segmentHops(w.ctx, h, w.net, 'request')[0]!),
  hops('tenant uplink', 'routerHost', (w, h) => segmentHops(w.ctx, h, w.net, 'request')[1]!, crossing),
  hops(
    'l2population entry toward the port',
    'routerHost',
    (w, h) =>
      fdbHop(
        w.ctx,
        h,
        w.net,
        { mac: w.target.port!.mac, ip: w.fixed, host: w.portHost, vtep: vtepOf(w.ctx, w.portHost), what: `port ${w.port.id}` },
        'request',
      ),
    tunnelled,
  ),
  hops('L2 agent', 'portHost', (w, h) => agentHop(w.ctx, h, AGENT_L2, 'request'), crossing),
  hops(
    'tenant uplink and bridge',
    'portHost',
    (w, h) => {
      const [bridge, uplink] = segmentHops(w.ctx, h, w.net, 'request');
      return [uplink!, bridge!];
    },
    crossing,
  ),
  hops('security group', 'portHost', (w, h) => sgHop(w.ctx, h, w.port, innerFlow(w), w.o.source ?? null, 'request')),
  hops('tap', 'portHost', (w, h) => tapHop(w.ctx, h, w.port, w.net, 'request')),
  hops(
    'instance NIC',
    'portHost',
    (w, h) => instanceHop(w.ctx, h, w.port, w.net, 'request'),
    (w) => String(w.port['device_owner'] ?? '').startsWith(COMPUTE_OWNER_PREFIX),
  ),
  // ---- reply: instance → its gateway (the router's qr-) → un-DNAT → out through qg-
  hops(
    'l2population entry toward the router',
    'portHost',
    (w, h) => {
      const gw = fixedIps(w.intfPort)[0]?.ip_address ?? null;
      return fdbHop(
        w.ctx,
        h,
        w.net,
        {
          mac: str(w.intfPort, 'mac_address').toLowerCase(),
          ip: gw,
          host: w.routerHost,
          vtep: vtepOf(w.ctx, w.routerHost),
          what: `router ${routerName(w)}'s interface ${gw}`,
        },
        'reply',
      );
    },
    tunnelled,
  ),
  // A forwarding's reply is un-DNAT'd by conntrack alone: no SNAT rule to the floating IP.
  hops(
    'SNAT',
    'routerHost',
    (w, h) => snatHop(w.ctx, h, w.router, w.fip, 'reply'),
    (w) => !w.forwarding,
  ),
  hops('conntrack', 'routerHost', (w, h) => conntrackHop(w.ctx, h, w.router, w.fip, 'reply')),
  hops('route back to the source', 'routerHost', replyRouteHop),
];

export function traceFip(ctx: TraceContext, address: string, o: FipOptions, started = Date.now()): TraceReport {
  const target: TraceTarget = { kind: 'floatingip', query: address, flow: o.flow };
  return walk(FIP_WALK, { ctx, target, address, o } as FipWalk, started);
}
