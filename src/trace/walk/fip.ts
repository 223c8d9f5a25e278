// `neutrino trace fip ADDRESS`: the scenario's walk (docs/scenario.md, steps 1–10) from the provider
// network's upstream to the instance behind a floating IP, and the reply leg back. Every hop
// compares what the planner wants on that node with what the node's kernel shows. Pure.
import { AGENT_L2, AGENT_L3, COMPUTE_OWNER_PREFIX, ROUTER_GW_OWNER } from '../../model/neutron.js';
import { qgName, qrName, routerNamespace } from '../../kernel/names.js';
import { HOST } from '../../kernel/types.js';
import { agentNote, byId, fixedIps, str, type TraceContext } from '../context.js';
import { checkAddress, result, type HopDraft } from '../checks/checks.js';
import { cidrContains, parseIp, parsePrefix } from '../../model/ip.js';
import { instanceHop } from '../checks/instance.js';
import { agentHop, fdbHop, portRef, segmentHops, segmentOf, tapHop, vtepOf } from '../checks/l2.js';
import {
  conntrackHop,
  dnatHop,
  forwardingHop,
  routeHop,
  routerAddressHop,
  routerPortHops,
  routerRef,
  snatHop,
  subnetOf,
} from '../checks/router.js';
import { sgHop } from '../checks/sg.js';
import { finish } from '../finish.js';
import type { TraceReport, TraceTarget } from '../report.js';
import type { ApiObject } from '../snapshot.js';

export interface FipOptions {
  flow: TraceTarget['flow'];
  /** the source of the traced traffic; default: anywhere outside (security-group rules must admit 0.0.0.0/0, the reply takes the default route) */
  source?: string;
}

const api = (
  check: string,
  resource: HopDraft['resource'],
  node = '',
): Omit<HopDraft, 'expected' | 'observed' | 'status' | 'evidence'> => ({
  leg: 'request',
  node,
  namespace: HOST,
  device: null,
  resource,
  check,
});

export function traceFip(ctx: TraceContext, address: string, o: FipOptions, started = Date.now()): TraceReport {
  const target: TraceTarget = { kind: 'floatingip', query: address, flow: o.flow };
  const hops: HopDraft[] = [];
  const done = () => finish(ctx, target, hops, started);

  const fip = ctx.api.floatingips.find((f) => f['floating_ip_address'] === address);
  if (!fip) {
    hops.push(
      result(
        api('floating IP exists', { type: 'floatingip', id: '', name: address }),
        { floating_ip_address: address },
        null,
        [{ command: `GET /v2.0/floatingips?floating_ip_address=${address}` }],
        { status: 'missing', reason: 'FIP_NOT_FOUND', cause: `no floating IP ${address} exists (openstack floating ip list)` },
      ),
    );
    return done();
  }
  target.floatingip = { id: fip.id, address };
  const fipRef = { type: 'floatingip' as const, id: fip.id, name: address };
  const fipEvidence = [
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
  const port = byId(ctx.api.ports, fip['port_id']);
  if (!fip['port_id'] || !port) {
    hops.push(
      result(
        api('floating IP associated', fipRef),
        { port_id: 'a port' },
        { port_id: fip['port_id'] ?? null, status: fip['status'] },
        fipEvidence,
        {
          status: 'missing',
          reason: 'FIP_NOT_ASSOCIATED',
          cause: `floating IP ${address} is not associated with any port: nothing answers on it (openstack floating ip set --port PORT ${address})`,
        },
      ),
    );
    return done();
  }
  const net = byId(ctx.api.networks, port['network_id'])!;
  const fixed = String(fip['fixed_ip_address'] ?? fixedIps(port)[0]?.ip_address ?? '');
  const portHost = str(port, 'binding:host_id');
  target.port = { id: port.id, fixed_ip: fixed || null, mac: str(port, 'mac_address').toLowerCase(), host: portHost, network_id: net.id };
  target.network = { id: net.id, name: str(net, 'name'), type: segmentOf(net).type, segmentation_id: segmentOf(net).vni };
  hops.push(
    result(
      api('floating IP associated', fipRef),
      { port_id: port.id },
      { port_id: port.id, fixed_ip_address: fixed, status: fip['status'] },
      fipEvidence,
    ),
  );

  const router = byId(ctx.api.routers, fip['router_id']);
  const routerHost = router ? ((ctx.api.router_hosts[router.id] ?? [])[0] ?? null) : null;
  if (router) target.router = { id: router.id, name: str(router, 'name'), host: routerHost };
  if (!router) {
    hops.push(
      result(api('router', fipRef), { router_id: 'a router' }, { router_id: null }, fipEvidence, {
        status: 'missing',
        reason: 'NO_ROUTER_INTERFACE',
        cause: `floating IP ${address} has no router: no router connects network ${str(net, 'name') || net.id} to the floating IP's network`,
      }),
    );
    return done();
  }
  const agents = ctx.api.agents.filter((a) => a['agent_type'] === AGENT_L3);
  if (!routerHost) {
    hops.push(
      result(
        api('router hosted', routerRef(router)),
        { l3_agent: `a live ${AGENT_L3}` },
        { l3_agents: [] },
        [{ command: `GET /v2.0/routers/${router.id}/l3-agents` }],
        {
          status: 'missing',
          reason: 'ROUTER_NOT_SCHEDULED',
          cause: `router ${str(router, 'name') || router.id} is not hosted by any L3 agent (${agents.length ? `L3 agents: ${agents.map((a) => `${a['host']} ${a['alive'] ? 'alive' : 'down'}`).join(', ')}` : 'no L3 agent is registered'})`,
        },
      ),
    );
    return done();
  }
  hops.push(
    result(api('router hosted', routerRef(router), routerHost), { l3_agent: `a live ${AGENT_L3}` }, { host: routerHost }, [
      { command: `GET /v2.0/routers/${router.id}/l3-agents`, line: routerHost },
    ]),
  );

  const routerPorts = ctx.api.ports.filter((p) => p['device_id'] === router.id);
  const gwPort = routerPorts.find((p) => p['device_owner'] === ROUTER_GW_OWNER);
  const subnet = subnetOf(ctx, net.id, fixed);
  const intfPort = routerPorts.find((p) => p['device_owner'] !== ROUTER_GW_OWNER && fixedIps(p).some((f) => f.subnet_id === subnet?.id));
  if (!gwPort) {
    hops.push(
      result(
        api('router gateway', routerRef(router), routerHost),
        { external_gateway_info: 'set' },
        { external_gateway_info: router['external_gateway_info'] ?? null },
        [],
        {
          status: 'missing',
          reason: 'NO_ROUTER_GATEWAY',
          cause: `router ${str(router, 'name') || router.id} has no external gateway (openstack router set --external-gateway NETWORK ${str(router, 'name') || router.id})`,
        },
      ),
    );
    return done();
  }
  if (!intfPort || !subnet) {
    hops.push(
      result(
        api('router interface', routerRef(router), routerHost),
        { subnet: subnet?.id ?? fixed },
        {
          interfaces: routerPorts
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
          cause: `router ${str(router, 'name') || router.id} has no interface on subnet ${subnet ? `${str(subnet, 'name') || subnet.id} (${subnet['cidr']})` : `of ${fixed}`}: the instance's network is not connected to it (openstack router add subnet ${str(router, 'name') || router.id} ${subnet ? str(subnet, 'name') || subnet.id : 'SUBNET'})`,
        },
      ),
    );
    return done();
  }
  const extNet = byId(ctx.api.networks, gwPort['network_id'])!;
  const extSubnet = subnetOf(ctx, extNet.id, fixedIps(gwPort)[0]?.ip_address ?? '');
  const source = o.source ?? null;
  if (!portHost) {
    hops.push(
      result(api('port bound', portRef(port)), { 'binding:host_id': 'a host' }, { 'binding:host_id': '' }, [], {
        status: 'missing',
        reason: 'PORT_NOT_BOUND',
        cause: `port ${port.id} is bound to no host: no node has plugged it (its instance is not running, or nova never bound it)`,
      }),
    );
    return done();
  }
  const qg = qgName(gwPort.id);
  const qr = qrName(intfPort.id);
  const sameNode = portHost === routerHost;
  const routerVtep = vtepOf(ctx, routerHost);
  const portVtep = vtepOf(ctx, portHost);

  // ---- request: upstream → router (on the router's node) → tenant network → instance
  hops.push(agentHop(ctx, routerHost, AGENT_L3, 'request'), agentHop(ctx, routerHost, AGENT_L2, 'request'));
  const [extBridge, extUplink] = segmentHops(ctx, routerHost, extNet, 'request');
  hops.push(extUplink!, extBridge!);
  hops.push(...routerPortHops(ctx, routerHost, router, gwPort, extNet, 'qg', true, 'request'));
  hops.push(routerAddressHop(ctx, routerHost, router, gwPort, qg, 'request'));
  hops.push(fipAddressHop(ctx, routerHost, router, fip, qg));
  hops.push(dnatHop(ctx, routerHost, router, fip, 'request'));
  hops.push(forwardingHop(ctx, routerHost, router, 'request'));
  // The device and its address before the route: a missing qr- also takes its connected route away.
  const [qrDevice, qrTap] = routerPortHops(ctx, routerHost, router, intfPort, net, 'qr', false, 'request');
  hops.push(qrDevice!, routerAddressHop(ctx, routerHost, router, intfPort, qr, 'request'));
  hops.push(routeHop(ctx, routerHost, router, fixed, qr, null, `subnet ${subnet['cidr']} behind ${qr}`, 'request'));
  hops.push(qrTap!);
  const [intBridge, intUplink] = segmentHops(ctx, routerHost, net, 'request');
  hops.push(intBridge!);
  if (!sameNode) {
    hops.push(intUplink!);
    hops.push(
      fdbHop(ctx, routerHost, net, { mac: target.port.mac, ip: fixed, host: portHost, vtep: portVtep, what: `port ${port.id}` }, 'request'),
    );
    hops.push(agentHop(ctx, portHost, AGENT_L2, 'request'));
    const [b, u] = segmentHops(ctx, portHost, net, 'request');
    hops.push(u!, b!);
  }
  hops.push(sgHop(ctx, portHost, port, o.flow, source, 'request'));
  hops.push(tapHop(ctx, portHost, port, net, 'request'));
  if (String(port['device_owner'] ?? '').startsWith(COMPUTE_OWNER_PREFIX)) hops.push(instanceHop(ctx, portHost, port, net, 'request'));

  // ---- reply: instance → its gateway (the router's qr-) → un-DNAT → out through qg-
  if (!sameNode) {
    const gw = fixedIps(intfPort)[0]?.ip_address ?? null;
    hops.push(
      fdbHop(
        ctx,
        portHost,
        net,
        {
          mac: str(intfPort, 'mac_address').toLowerCase(),
          ip: gw,
          host: routerHost,
          vtep: routerVtep,
          what: `router ${str(router, 'name') || router.id}'s interface ${gw}`,
        },
        'reply',
      ),
    );
  }
  hops.push(snatHop(ctx, routerHost, router, fip, 'reply'));
  hops.push(conntrackHop(ctx, routerHost, router, fip, 'reply'));
  // Back to the source: on the external subnet directly, else (the outside) through its gateway.
  const extGw = extSubnet ? str(extSubnet, 'gateway_ip') || null : null;
  const extCidr = extSubnet ? parsePrefix(String(extSubnet['cidr'])) : null;
  const srcIp = source ? parseIp(source) : null;
  const onLink = !!(srcIp && extCidr && cidrContains(extCidr, srcIp));
  hops.push(
    onLink
      ? routeHop(ctx, routerHost, router, source!, qg, null, `the source ${source} on the external subnet`, 'reply')
      : routeHop(
          ctx,
          routerHost,
          router,
          source ?? 'default',
          qg,
          extGw,
          `${source ? `the source ${source}, ` : 'the outside, '}through the external subnet's gateway ${extGw ?? '(none)'}`,
          'reply',
        ),
  );
  return done();
}

/** The floating IP's /32 on the gateway device (the L3 agent adds it so the router answers ARP for it). */
function fipAddressHop(ctx: TraceContext, host: string, router: ApiObject, fip: ApiObject, qg: string): HopDraft {
  const address = String(fip['floating_ip_address']);
  const base = {
    leg: 'request' as const,
    node: host,
    namespace: routerNamespace(router.id),
    device: qg,
    resource: { type: 'floatingip' as const, id: fip.id, name: address },
    check: 'floating IP address',
  };
  return checkAddress(
    ctx.nodes[host],
    base,
    qg,
    `${address}/32`,
    `the ${AGENT_L3} on ${host} adds it so the router answers ARP for the floating IP; ${agentNote(ctx, host, AGENT_L3)}`,
  );
}
