// The canonical scenario's router as the controller's HostView sees it (selfservice VXLAN 41 and the
// flat provider network, the router's qr-/qg- ports, a floating IP), for the L3 planner's tests.
import { NO_ADDRESS_SCOPES } from '../../src/model/router-view.ts';
import type { NodeFacts } from '../../src/planner/index.ts';
import type { HostView, PortView, RouterSubnetView, RouterView, SubnetView } from '../../src/model/hostview.ts';
import { emptyObservedNamespace, type ObservedNamespace } from '../../src/kernel/types.ts';

export const SELF = 'e6e37ba0-3b3f-4d4f-9a1b-2c3d4e5f6a7b';
export const SELF_SUB = '11111111-2222-3333-4444-555555555555';
export const EXT = '5b3c1f0e-8d2a-4e6b-9c7d-0a1b2c3d4e5f';
export const EXT_SUB = '66666666-7777-8888-9999-000000000000';
export const ROUTER = '9e1e1c2d-4f5a-4b6c-8d7e-1f2a3b4c5d6e';
export const NS = `qrouter-${ROUTER}`;

const port = (id: string, net: string, sub: string, owner: string, ip: string, mac: string): PortView => ({
  id,
  network_id: net,
  mac_address: mac,
  fixed_ips: [{ subnet_id: sub, ip_address: ip }],
  device_owner: owner,
  device_id: ROUTER,
  admin_state_up: true,
  port_security_enabled: false,
  security_groups: [],
  allowed_address_pairs: [],
  extra_dhcp_opts: [],
  binding_host_id: 'controller',
});
export const qr = port(
  '0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9',
  SELF,
  SELF_SUB,
  'network:router_interface',
  '172.16.1.1',
  'fa:16:3e:00:01:01',
);
export const qg = port(
  '7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d',
  EXT,
  EXT_SUB,
  'network:router_gateway',
  '10.123.123.102',
  'fa:16:3e:00:01:02',
);

/** The floating IP 10.123.123.104 associated to `fixed`. */
export const fip = (fixed = '172.16.1.3') => ({
  id: 'f1f1f1f1-0000-4000-8000-000000000001',
  floating_ip_address: '10.123.123.104',
  fixed_ip_address: fixed,
  port_id: '3c338602-d806-488a-ae66-c4c8f8d13b9b',
});

/** A router port's subnet as the L3 RPC gives it (IPv4 unless modes say otherwise). */
export const routerSubnet = (
  id: string,
  cidr: string,
  gateway_ip: string | null,
  over: Partial<RouterSubnetView> = {},
): RouterSubnetView => ({
  id,
  ip_version: cidr.includes(':') ? 6 : 4,
  cidr,
  gateway_ip,
  ipv6_ra_mode: null,
  ipv6_address_mode: null,
  dns_nameservers: [],
  ...over,
});

export const router = (over: Partial<RouterView> = {}): RouterView => ({
  id: ROUTER,
  name: 'router',
  admin_state_up: true,
  enable_snat: true,
  gateway: { port: qg, subnets: [routerSubnet(EXT_SUB, '10.123.123.0/24', '10.123.123.1')], address_scopes: NO_ADDRESS_SCOPES },
  interfaces: [{ port: qr, subnets: [routerSubnet(SELF_SUB, '172.16.1.0/24', '172.16.1.1')], address_scopes: NO_ADDRESS_SCOPES }],
  floating_ips: [fip()],
  routes: [],
  ...over,
});

/** The scenario's selfservice network (VXLAN 41) as a host view carries it. */
export const selfserviceNetwork = (id: string): HostView['networks'][number] => ({
  id,
  name: 'selfservice',
  network_type: 'vxlan',
  physical_network: null,
  segmentation_id: 41,
  mtu: 1450,
  admin_state_up: true,
  router_external: false,
});

export const view = (routers: RouterView[]): HostView => ({
  host: 'controller',
  revision: 9,
  networks: [
    selfserviceNetwork(SELF),
    {
      id: EXT,
      name: 'provider',
      network_type: 'flat',
      physical_network: 'provider',
      segmentation_id: null,
      mtu: 1500,
      admin_state_up: true,
      router_external: true,
    },
  ],
  subnets: [
    {
      id: SELF_SUB,
      network_id: SELF,
      ip_version: 4,
      cidr: '172.16.1.0/24',
      gateway_ip: '172.16.1.1',
      ipv6_ra_mode: null,
      ipv6_address_mode: null,
      enable_dhcp: true,
      dns_nameservers: [],
      host_routes: [],
      allocation_pools: [],
    },
    {
      id: EXT_SUB,
      network_id: EXT,
      ip_version: 4,
      cidr: '10.123.123.0/24',
      gateway_ip: '10.123.123.1',
      ipv6_ra_mode: null,
      ipv6_address_mode: null,
      enable_dhcp: false,
      dns_nameservers: [],
      host_routes: [],
      allocation_pools: [],
    },
  ],
  ports: [qr, qg],
  remote_ports: [],
  remote_vteps: [],
  security_groups: [],
  dhcp_networks: [],
  dhcp_ports: [],
  routers,
});

export const SELF6 = 'aaaaaaaa-0000-4000-8000-000000000006';
export const EXT6 = 'bbbbbbbb-0000-4000-8000-000000000006';

export const subnet6 = (id: string, network_id: string, cidr: string, gateway_ip: string | null, mode: string | null): SubnetView => ({
  id,
  network_id,
  ip_version: 6,
  cidr,
  gateway_ip,
  ipv6_ra_mode: mode,
  ipv6_address_mode: mode,
  enable_dhcp: true,
  dns_nameservers: ['2001:db8::53'],
  host_routes: [],
  allocation_pools: [],
});

/** The canonical router with an IPv6 subnet on the self-service interface and, optionally, on the gateway. */
export function dualStack(mode: string | null, extGateway: string | null, routerId = ROUTER): { view: HostView; router: RouterView } {
  const s6 = subnet6(SELF6, SELF, 'fd00:1::/64', 'fd00:1::1', mode);
  const e6 = subnet6(EXT6, EXT, '2001:db8:e::/64', extGateway, null);
  const qr6 = { ...qr, fixed_ips: [...qr.fixed_ips, { subnet_id: SELF6, ip_address: 'fd00:1::1' }] };
  const qg6 = { ...qg, fixed_ips: [...qg.fixed_ips, { subnet_id: EXT6, ip_address: '2001:db8:e::5' }] };
  const rs = (s: SubnetView) =>
    routerSubnet(s.id, s.cidr, s.gateway_ip, {
      ipv6_ra_mode: s.ipv6_ra_mode,
      ipv6_address_mode: s.ipv6_address_mode,
      dns_nameservers: s.dns_nameservers,
    });
  const r = router({
    id: routerId,
    gateway: { port: qg6, subnets: [routerSubnet(EXT_SUB, '10.123.123.0/24', '10.123.123.1'), rs(e6)], address_scopes: NO_ADDRESS_SCOPES },
    interfaces: [
      { port: qr6, subnets: [routerSubnet(SELF_SUB, '172.16.1.0/24', '172.16.1.1'), rs(s6)], address_scopes: NO_ADDRESS_SCOPES },
    ],
  });
  const v = view([r]);
  v.subnets.push(s6, e6);
  v.ports = [qr6, qg6];
  return { view: v, router: r };
}

export const controllerFacts = (roles: NodeFacts['roles']): NodeFacts => ({
  host: 'controller',
  roles,
  localIp: '192.168.0.104',
  localIpDevice: 'eth1',
  physicalInterfaceMappings: { provider: 'eth2' },
  statePath: '/var/lib/neutrino',
  presentTaps: new Set(),
});

/** The controller's HOST as observed before the first pass: `lo` and its NICs eth1 and eth2, up. */
export function controllerHost(): ObservedNamespace {
  const host = emptyObservedNamespace();
  for (const [i, name] of ['lo', 'eth1', 'eth2'].entries()) {
    const ifindex = i + 1;
    host.links.push({
      ifindex,
      name,
      kind: 'device',
      mtu: 1500,
      up: true,
      operstate: 'UP',
      master: null,
      mac: `02:00:00:00:00:0${ifindex}`,
      alias: null,
    });
  }
  return host;
}
