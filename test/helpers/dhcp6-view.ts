// A self-service network with an IPv4 subnet and IPv6 subnets of each mode, its DHCP port and an
// instance port (each with an address on every subnet), as the controller's HostView sees it with
// the DHCP role: for the DHCPv6 planner and root tests.
import { selfserviceNetwork } from './router-view.ts';
import type { HostView, PortView, SubnetView } from '../../src/model/hostview.ts';

export const V4 = '11111111-0000-4000-8000-000000000004';
export const SLAAC = '11111111-0000-4000-8000-00000000000a';
export const STATEFUL = '11111111-0000-4000-8000-00000000000f';
export const STATELESS = '11111111-0000-4000-8000-00000000000e';
export const VM_MAC = 'fa:16:3e:a7:f7:5a';

const CIDRS: Record<string, string> = { [V4]: '172.16.1.', [SLAAC]: 'fd00:1::', [STATEFUL]: 'fd00:2::', [STATELESS]: 'fd00:3::' };

export const subnet = (net: string, id: string, cidr: string, gateway_ip: string, mode: string | null, dns: string[] = []): SubnetView => ({
  id,
  network_id: net,
  ip_version: cidr.includes(':') ? 6 : 4,
  cidr,
  gateway_ip,
  ipv6_ra_mode: mode,
  ipv6_address_mode: mode,
  enable_dhcp: true,
  dns_nameservers: dns,
  host_routes: [],
  allocation_pools: [],
});

/** The four subnets of `net`: IPv4, SLAAC, DHCPv6-stateful, DHCPv6-stateless. */
export const subnets = (net: string): SubnetView[] => [
  subnet(net, V4, '172.16.1.0/24', '172.16.1.1', null, ['8.8.4.4']),
  subnet(net, SLAAC, 'fd00:1::/64', 'fd00:1::1', 'slaac', ['2001:db8::1']),
  subnet(net, STATEFUL, 'fd00:2::/64', 'fd00:2::1', 'dhcpv6-stateful', ['2001:db8::53', '2001:db8::54']),
  subnet(net, STATELESS, 'fd00:3::/64', 'fd00:3::1', 'dhcpv6-stateless'),
];

/** A port with the address ending in `last` on each of the subnets. */
const port = (net: string, subs: SubnetView[], id: string, owner: string, mac: string, last: string): PortView => ({
  id,
  network_id: net,
  mac_address: mac,
  fixed_ips: subs.map((s) => ({ subnet_id: s.id, ip_address: `${CIDRS[s.id]}${last}` })),
  device_owner: owner,
  device_id: 'x',
  admin_state_up: true,
  port_security_enabled: false,
  security_groups: [],
  allowed_address_pairs: [],
  extra_dhcp_opts: [],
  binding_host_id: 'controller',
});

export const dhcpPort = (net: string, subs: SubnetView[]) =>
  port(net, subs, 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', 'network:dhcp', 'fa:16:3e:00:00:02', '2');
export const vmPort = (net: string, subs: SubnetView[]) =>
  port(net, subs, '3c338602-d806-488a-ae66-c4c8f8d13b9b', 'compute:nova', VM_MAC, '3');

/** The controller's view: network `net` served by its DHCP role, with `subs` (all four by default). */
export function dhcpView(net: string, subs: SubnetView[] = subnets(net)): HostView {
  const dhcp = dhcpPort(net, subs);
  const vm = vmPort(net, subs);
  return {
    host: 'controller',
    revision: 1,
    networks: [selfserviceNetwork(net)],
    subnets: subs,
    ports: [dhcp, vm],
    remote_ports: [],
    remote_vteps: [],
    security_groups: [],
    dhcp_networks: [net],
    dhcp_ports: [dhcp, vm],
    routers: [],
  };
}
