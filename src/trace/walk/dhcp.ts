// The DHCP leg of a port (`neutrino trace dhcp PORT`, and the first leg of `trace instance`): the
// instance's DHCPDISCOVER out through its tap, security group and bridge, across to each DHCP node
// of its network (VXLAN or the flat uplinks), into the DHCP port's veth and qdhcp- namespace, to a
// dnsmasq that serves the subnet and knows the port's MAC; and the DHCPOFFER back, through the
// port's security group. Pure.
import { HOST } from '../../kernel/types.js';
import { byId, fixedIps, str, type TraceContext } from '../context.js';
import { apiHop, result, type HopDraft } from '../checks/checks.js';
import { dhcpAgentHop, dhcpPortHops, dnsmasqHop, dnsmasqOptionsHop, hostEntryHop, sgDhcpHop } from '../checks/dhcp-checks.js';
import { finish, isHopWarning } from '../finish.js';
import { refinish } from '../probe/probe-locate.js';
import { instanceHop } from '../checks/instance.js';
import { agentHop, portUnboundHop, netRef, portRef, segmentHops, segmentOf, tapHop } from '../checks/l2.js';
import { crossNodes, replyFdb } from './port.js';
import type { TraceReport, TraceTarget } from '../report.js';
import type { ApiObject } from '../snapshot.js';
import { AGENT_DHCP, AGENT_L2, COMPUTE_OWNER_PREFIX, DHCP_OWNER, NO_DHCP_OWNERS } from '../../model/neutron.js';

/** The network's DHCP nodes: the agents hosting it, else (a reader refused the scheduler call) its DHCP ports' hosts. */
export function dhcpHostsOf(ctx: TraceContext, net: ApiObject): string[] {
  const hosted = ctx.api.dhcp_hosts[net.id];
  if (hosted) return hosted;
  return [
    ...new Set(
      ctx.api.ports
        .filter((p) => p['network_id'] === net.id && p['device_owner'] === DHCP_OWNER)
        .map((p) => str(p, 'binding:host_id'))
        .filter(Boolean),
    ),
  ];
}

/** The hops of `port`'s DHCP exchange. */
export function dhcpLegHops(ctx: TraceContext, port: ApiObject): HopDraft[] {
  const net = byId(ctx.api.networks, port['network_id'])!;
  const host = str(port, 'binding:host_id');
  const mac = str(port, 'mac_address').toLowerCase();
  const v4 = fixedIps(port).filter((f) => !f.ip_address.includes(':'));
  const hops: HopDraft[] = [];
  const subnets = v4.map((f) => byId(ctx.api.subnets, f.subnet_id)).filter((s): s is ApiObject => !!s);
  if (!v4.length) {
    hops.push(
      result(apiHop('IPv4 address', portRef(port)), { fixed_ips: 'an IPv4 address' }, { fixed_ips: fixedIps(port) }, [], {
        status: 'missing',
        reason: 'ADDRESS_MISSING',
        cause: `port ${port.id} has no IPv4 fixed IP: DHCP has nothing to give it`,
      }),
    );
    return hops;
  }
  const off = subnets.find((s) => s['enable_dhcp'] === false);
  if (off) {
    hops.push(
      result(
        apiHop('DHCP enabled', { type: 'subnet', id: off.id, name: str(off, 'name') }),
        { enable_dhcp: true },
        { enable_dhcp: false },
        [{ command: `GET /v2.0/subnets/${off.id}` }],
        {
          status: 'mismatch',
          reason: 'DHCP_DISABLED',
          cause: `subnet ${str(off, 'name') || off.id} (${str(off, 'cidr')}) has enable_dhcp false: no DHCP server answers port ${port.id}; configure the instance another way (config drive) or openstack subnet set --dhcp ${str(off, 'name') || off.id}`,
        },
      ),
    );
    return hops;
  }
  const dhcpHosts = dhcpHostsOf(ctx, net);
  if (!dhcpHosts.length) {
    hops.push(
      result(
        apiHop('DHCP agent hosting', netRef(net)),
        { dhcp_agents: 'at least one' },
        { dhcp_agents: [] },
        [{ command: `GET /v2.0/networks/${net.id}/dhcp-agents` }],
        {
          status: 'missing',
          reason: 'NO_DHCP_AGENT',
          cause: `no ${AGENT_DHCP} hosts network ${str(net, 'name') || net.id}: nothing answers the DHCPDISCOVER of port ${port.id} (openstack network agent add network --dhcp AGENT ${str(net, 'name') || net.id})`,
        },
      ),
    );
    return hops;
  }
  if (!host) {
    hops.push(portUnboundHop(port, `port ${port.id} is bound to no host: no node has plugged it`));
    return hops;
  }
  const self = { mac, ip: v4[0]!.ip_address, what: `port ${port.id}` };
  // The client's side: its NIC, tap, egress DHCP rules, bridge.
  hops.push(agentHop(ctx, host, AGENT_L2, 'request'));
  if (str(port, 'device_owner').startsWith(COMPUTE_OWNER_PREFIX)) hops.push(instanceHop(ctx, host, port, net, 'request'));
  hops.push(
    tapHop(ctx, host, port, net, 'request'),
    sgDhcpHop(ctx, host, port, 'egress', 'request'),
    segmentHops(ctx, host, net, 'request')[0]!,
  );
  for (const dhcpHost of dhcpHosts) {
    const dhcpPort = ctx.api.ports.find(
      (p) => p['network_id'] === net.id && p['device_owner'] === DHCP_OWNER && p['binding:host_id'] === dhcpHost,
    );
    if (!dhcpPort) {
      hops.push(dhcpAgentHop(ctx, dhcpHost, net, 'request'));
      hops.push(
        result(
          { leg: 'request', node: dhcpHost, namespace: HOST, device: null, resource: netRef(net), check: 'DHCP port' },
          { device_owner: DHCP_OWNER, 'binding:host_id': dhcpHost },
          null,
          [{ command: `GET /v2.0/ports?network_id=${net.id}&device_owner=network:dhcp` }],
          {
            status: 'missing',
            reason: 'DHCP_NAMESPACE_MISSING',
            cause: `the ${AGENT_DHCP} on ${dhcpHost} hosts network ${str(net, 'name') || net.id} but has no DHCP port on it: it has not set the network up (no qdhcp- namespace, no dnsmasq; see its log)`,
          },
        ),
      );
      continue;
    }
    const dhcpIp = fixedIps(dhcpPort).find((f) => !f.ip_address.includes(':'))?.ip_address ?? null;
    hops.push(
      ...crossNodes(
        ctx,
        net,
        host,
        dhcpHost,
        { mac: str(dhcpPort, 'mac_address').toLowerCase(), ip: dhcpIp, what: `the DHCP port of network ${str(net, 'name') || net.id}` },
        'request',
      ),
    );
    hops.push(dhcpAgentHop(ctx, dhcpHost, net, 'request'));
    hops.push(...dhcpPortHops(ctx, dhcpHost, net, dhcpPort, 'request'));
    const { hop, running } = dnsmasqHop(ctx, dhcpHost, net, 'request');
    hops.push(hop);
    if (running) {
      hops.push(dnsmasqOptionsHop(ctx, dhcpHost, net, running, 'request'));
      for (const f of v4) hops.push(hostEntryHop(ctx, dhcpHost, net, port, f.ip_address, running, 'request'));
    }
    hops.push(...replyFdb(ctx, net, dhcpHost, host, self));
  }
  hops.push(sgDhcpHop(ctx, host, port, 'ingress', 'reply'));
  return hops;
}

export class DhcpTraceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DhcpTraceError';
  }
}

/** The port a DHCP trace is about: by id or an 8+ character id prefix; one Neutron serves DHCP to. */
export function dhcpClientPort(ctx: TraceContext, query: string): ApiObject {
  const port = ctx.api.ports.find((p) => p.id === query || (query.length >= 8 && p.id.startsWith(query)));
  if (!port) throw new DhcpTraceError(`no port ${query} exists (openstack port list)`);
  const owner = str(port, 'device_owner');
  if (NO_DHCP_OWNERS.includes(owner))
    throw new DhcpTraceError(`port ${port.id} is a ${owner} port: Neutron serves it no DHCP (trace an instance's port)`);
  return port;
}

/** The target of a trace about one port's IPv4 traffic on its own network (its DHCP, its metadata). */
export function ipv4PortTarget(
  ctx: TraceContext,
  port: ApiObject,
  o: Pick<TraceTarget, 'kind' | 'query' | 'flow' | 'destination'>,
): TraceTarget {
  const net = byId(ctx.api.networks, port['network_id'])!;
  const v4 = fixedIps(port).find((f) => !f.ip_address.includes(':'));
  return {
    kind: o.kind,
    query: o.query,
    port: {
      id: port.id,
      fixed_ip: v4?.ip_address ?? null,
      mac: str(port, 'mac_address').toLowerCase(),
      host: str(port, 'binding:host_id'),
      network_id: net.id,
    },
    network: { id: net.id, name: str(net, 'name'), type: segmentOf(net).type, segmentation_id: segmentOf(net).vni },
    flow: o.flow,
    ...(o.destination ? { destination: o.destination } : {}),
  };
}

export function traceDhcp(ctx: TraceContext, portQuery: string, started = Date.now()): TraceReport {
  const port = dhcpClientPort(ctx, portQuery);
  const target = ipv4PortTarget(ctx, port, { kind: 'dhcp', query: portQuery, flow: { protocol: 'udp', port: 67 } });
  return finish(ctx, target, dhcpLegHops(ctx, port), started);
}

/**
 * `report` with the DHCP leg (a `traceDhcp` report, probed or not) before its hops: an instance gets
 * its address first. Renumbered and summarized again; the leg's probe kept as `dhcpProbe`.
 */
export function withDhcpLeg(leg: TraceReport, report: TraceReport): TraceReport {
  const hops = [...leg.hops, ...report.hops].map(({ index: _index, ...h }, i) => ({ index: i + 1, ...h }));
  const merged = refinish({ ...report, hops, warnings: [...leg.warnings.filter((w) => !isHopWarning(w)), ...report.warnings] });
  return leg.probe ? { ...merged, dhcpProbe: leg.probe } : merged;
}
