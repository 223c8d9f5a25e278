// The DHCP exchange of either family, once the port's addresses say there is one: the client's
// side (NIC, tap, the egress DHCP rules, bridge), across to each DHCP node of its network (VXLAN or
// the flat uplinks), into the DHCP port's veth and qdhcp- namespace, to a dnsmasq that serves the
// subnets and knows the port's MAC; and the reply back, through the port's ingress DHCP rules. Pure.
import { HOST } from '../../kernel/types.ts';
import { byId, fixedIpOf, str, type IpFamily, type TraceContext } from '../context.ts';
import { apiHop, result, type HopDraft } from '../checks/checks.ts';
import {
  dhcpAgentHop,
  dhcpNotHosted,
  dhcpPortHops,
  dnsmasqHop,
  dnsmasqOptionsHop,
  hostEntryHop,
  sgDhcpHop,
} from '../checks/dhcp-checks.ts';
import { instanceHop } from '../checks/instance.ts';
import { agentHop, portUnboundHop, netRef, segmentHops, tapHop } from '../checks/l2.ts';
import { crossNodes, replyFdb } from './port.ts';
import type { ApiObject } from '../snapshot.ts';
import { AGENT_DHCP, AGENT_L2, COMPUTE_OWNER_PREFIX, DHCP_OWNER } from '../../model/neutron.ts';

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

/** A subnet of the port's with enable_dhcp false: no DHCP server answers. */
export function dhcpDisabledHop(port: ApiObject, off: ApiObject, what: 'DHCP' | 'DHCPv6'): HopDraft {
  return result(
    apiHop('DHCP enabled', { type: 'subnet', id: off.id, name: str(off, 'name') }),
    { enable_dhcp: true },
    { enable_dhcp: false },
    [{ command: `GET /v2.0/subnets/${off.id}` }],
    {
      status: 'mismatch',
      reason: 'DHCP_DISABLED',
      cause: `subnet ${str(off, 'name') || off.id} (${str(off, 'cidr')}) has enable_dhcp false: no ${what} server answers port ${port.id}; configure the instance another way (config drive) or openstack subnet set --dhcp ${str(off, 'name') || off.id}`,
    },
  );
}

/**
 * The exchange itself, for one family: the client's side (NIC, tap, the egress DHCP rules, bridge),
 * across to each DHCP node of the network (its agent, namespace, DHCP port, dnsmasq with the
 * subnets' options and a host entry for each of `leased`), and the reply through the ingress rules.
 */
export function exchangeHops(ctx: TraceContext, port: ApiObject, family: IpFamily, leased: string[]): HopDraft[] {
  const net = byId(ctx.api.networks, port['network_id'])!;
  const host = str(port, 'binding:host_id');
  const mac = str(port, 'mac_address').toLowerCase();
  const hops: HopDraft[] = [];
  const dhcpHosts = dhcpHostsOf(ctx, net);
  if (!dhcpHosts.length) {
    hops.push(
      result(
        apiHop('DHCP agent hosting', netRef(net)),
        { dhcp_agents: 'at least one' },
        { dhcp_agents: [] },
        [{ command: `GET /v2.0/networks/${net.id}/dhcp-agents` }],
        dhcpNotHosted(ctx, net, {
          status: 'missing',
          reason: 'NO_DHCP_AGENT',
          cause: `no ${AGENT_DHCP} hosts network ${str(net, 'name') || net.id}: nothing answers the ${family === 6 ? 'DHCPv6 Solicit' : 'DHCPDISCOVER'} of port ${port.id} (openstack network agent add network --dhcp AGENT ${str(net, 'name') || net.id})`,
        }),
      ),
    );
    return hops;
  }
  if (!host) {
    hops.push(portUnboundHop(port, `port ${port.id} is bound to no host: no node has plugged it`));
    return hops;
  }
  const self = { mac, ip: fixedIpOf(port, family)?.ip_address ?? null, what: `port ${port.id}` };
  // The client's side: its NIC, tap, egress DHCP rules, bridge.
  hops.push(agentHop(ctx, host, AGENT_L2, 'request'));
  if (str(port, 'device_owner').startsWith(COMPUTE_OWNER_PREFIX)) hops.push(instanceHop(ctx, host, port, net, 'request'));
  hops.push(
    tapHop(ctx, host, port, net, 'request'),
    sgDhcpHop(ctx, host, port, 'egress', 'request', family),
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
    const dhcpIp = fixedIpOf(dhcpPort, family)?.ip_address ?? null;
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
    hops.push(...dhcpPortHops(ctx, dhcpHost, net, dhcpPort, 'request', family));
    const { hop, running } = dnsmasqHop(ctx, dhcpHost, net, 'request');
    hops.push(hop);
    if (running) {
      hops.push(dnsmasqOptionsHop(ctx, dhcpHost, net, running, 'request'));
      for (const ip of leased) hops.push(hostEntryHop(ctx, dhcpHost, net, port, ip, running, 'request'));
    }
    hops.push(...replyFdb(ctx, net, dhcpHost, host, self));
  }
  hops.push(sgDhcpHop(ctx, host, port, 'ingress', 'reply', family));
  return hops;
}
