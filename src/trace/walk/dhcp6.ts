// The DHCPv6 leg of a port: which of its IPv6 subnets Neutron's dnsmasq serves (DHCPv6-stateful:
// an address by the port's MAC; DHCPv6-stateless: options only; no mode: as stateful), the router's
// advertisements that tell the instance to ask (radvd's Managed / Other flags), then the exchange
// (udp 546 → 547 to ff02::1:2, and back). On SLAAC subnets there is no DHCPv6 exchange: the
// instance forms its address from the router's advertisements, so radvd is checked instead. Pure.
import { IPV6_SLAAC, DHCPV6_STATEFUL, AGENT_L3 } from '../../model/neutron.ts';
import { rangeMode } from '../../planner/dhcp.ts';
import { byId, fixedIps, str, type TraceContext } from '../context.ts';
import { apiHop, result, type HopDraft } from '../checks/checks.ts';
import { radvdHop } from '../checks/ipv6.ts';
import { agentHop, portRef } from '../checks/l2.ts';
import { routerRef } from '../checks/router.ts';
import type { ApiObject } from '../snapshot.ts';
import { routerHostOf, routerNotHosted } from '../checks/ha.ts';
import { dhcpDisabledHop, exchangeHops } from './dhcp-exchange.ts';
import { routerOn } from './port.ts';

const subnetName = (s: ApiObject) => `${str(s, 'name') || s.id} (${str(s, 'cidr')})`;
const mode = (s: ApiObject, key: 'ipv6_address_mode' | 'ipv6_ra_mode') => (str(s, key) || null) as string | null;

/** Whether dnsmasq serves the subnet over DHCPv6 (a dhcp-range: stateful, stateless, or no mode). */
const servedByDhcpv6 = (s: ApiObject) =>
  s['enable_dhcp'] !== false &&
  rangeMode({ ip_version: 6, ipv6_address_mode: mode(s, 'ipv6_address_mode'), ipv6_ra_mode: mode(s, 'ipv6_ra_mode') }) !== null;

/** Addresses dnsmasq leases by MAC: those of stateful subnets and of subnets without modes (Dnsmasq._output_hosts_file). */
const leasedOn = (s: ApiObject) => {
  const addr = mode(s, 'ipv6_address_mode');
  return addr === DHCPV6_STATEFUL || (!addr && !mode(s, 'ipv6_ra_mode'));
};

/**
 * The router's advertisements on `subnet` (radvd in its namespace with the subnet's block), when
 * Neutron runs them (ipv6_ra_mode set). A subnet with a mode but no router interface gets none.
 */
function advertisementHops(ctx: TraceContext, port: ApiObject, subnet: ApiObject, why: string): HopDraft[] {
  if (!mode(subnet, 'ipv6_ra_mode')) return [];
  const on = routerOn(ctx, subnet.id);
  if (!on)
    return [
      result(
        apiHop('router interface', { type: 'subnet', id: subnet.id, name: str(subnet, 'name') }),
        { router_interface: subnet.id },
        null,
        [],
        {
          status: 'missing',
          reason: 'NO_ROUTER_INTERFACE',
          cause: `subnet ${subnetName(subnet)} has ipv6_ra_mode ${mode(subnet, 'ipv6_ra_mode')} but no router interface: no Neutron router advertises it, so port ${port.id} ${why} (openstack router add subnet ROUTER ${str(subnet, 'name') || subnet.id})`,
        },
      ),
    ];
  const routerHost = routerHostOf(ctx, on.router);
  if (!routerHost)
    return [
      result(
        apiHop('router hosted', routerRef(on.router)),
        { l3_agent: `a live ${AGENT_L3}` },
        { l3_agents: [] },
        [],
        routerNotHosted(
          ctx,
          on.router,
          `router ${str(on.router, 'name') || on.router.id} is not hosted by any L3 agent: no radvd advertises subnet ${subnetName(subnet)}, so port ${port.id} ${why}`,
        ),
      ),
    ];
  const radvd = radvdHop(ctx, routerHost, on.router, on.intf, subnet, 'request');
  return [agentHop(ctx, routerHost, AGENT_L3, 'request'), ...(radvd ? [radvd] : [])];
}

/** The DHCPv6 leg's hops, and notes for the report (what is not a DHCPv6 exchange and why). */
export function dhcp6LegHops(ctx: TraceContext, port: ApiObject): { hops: HopDraft[]; notes: string[] } {
  const v6 = fixedIps(port).filter((f) => f.ip_address.includes(':'));
  if (!v6.length)
    return {
      hops: [
        result(apiHop('IPv6 address', portRef(port)), { fixed_ips: 'an IPv6 address' }, { fixed_ips: fixedIps(port) }, [], {
          status: 'missing',
          reason: 'ADDRESS_MISSING',
          cause: `port ${port.id} has no IPv6 fixed IP: DHCPv6 has nothing to give it`,
        }),
      ],
      notes: [],
    };
  const subnets = [...new Set(v6.map((f) => f.subnet_id))].map((id) => byId(ctx.api.subnets, id)).filter((s): s is ApiObject => !!s);
  const served = subnets.filter(servedByDhcpv6);
  if (!served.length) {
    const off = subnets.find((s) => s['enable_dhcp'] === false);
    if (off) return { hops: [dhcpDisabledHop(port, off, 'DHCPv6')], notes: [] };
    // SLAAC only: say so, and check what gives the address instead.
    const hops: HopDraft[] = [];
    const notes: string[] = [];
    for (const s of subnets) {
      const evidence = [
        {
          command: `GET /v2.0/subnets/${s.id}`,
          line: `ipv6_address_mode: ${mode(s, 'ipv6_address_mode')}, ipv6_ra_mode: ${mode(s, 'ipv6_ra_mode')}`,
        },
      ];
      hops.push(
        result(
          apiHop('DHCPv6', { type: 'subnet', id: s.id, name: str(s, 'name') }),
          { dhcpv6: 'none: addresses by SLAAC' },
          { ipv6_address_mode: mode(s, 'ipv6_address_mode'), ipv6_ra_mode: mode(s, 'ipv6_ra_mode') },
          evidence,
        ),
      );
      hops.push(...advertisementHops(ctx, port, s, 'forms no address and learns no IPv6 default route'));
      notes.push(
        `no DHCPv6 exchange on subnet ${subnetName(s)}: its ipv6_address_mode is ${mode(s, 'ipv6_address_mode') ?? IPV6_SLAAC}, so the instance forms its address from the router's advertisements (${mode(s, 'ipv6_ra_mode') ? 'radvd checked instead' : 'no Neutron router advertises it: ipv6_ra_mode is unset'}); trace instance --ipv6 walks its IPv6 path`,
      );
    }
    return { hops, notes };
  }
  const hops = served.flatMap((s) => advertisementHops(ctx, port, s, 'is never told to ask DHCPv6 (no Managed / Other flag)'));
  const leased = v6.filter((f) => served.some((s) => s.id === f.subnet_id && leasedOn(s))).map((f) => f.ip_address);
  const notes = served
    .filter((s) => !leasedOn(s))
    .map(
      (s) => `subnet ${subnetName(s)} is DHCPv6-stateless: dnsmasq gives options only (no address, no host entry); the address is SLAAC's`,
    );
  return { hops: [...hops, ...exchangeHops(ctx, port, 6, leased)], notes };
}
