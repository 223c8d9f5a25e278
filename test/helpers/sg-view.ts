// A host view for security group tests: one network, the scenario's instance (ICMP + SSH allowed in,
// everything out) and a second instance in the same group, optionally a port without port security.
import type { HostView, NetworkView, PortView, SecurityGroupRuleView, SecurityGroupView } from '../../src/model/hostview.ts';
import type { NodeFacts } from '../../src/planner/index.ts';
import { tapName } from '../../src/kernel/names.ts';
import { run } from '../../src/exec/run.ts';
import { emptyObservedNamespace, type ObservedNamespace } from '../../src/kernel/types.ts';

export const SG_NET = 'e6e37ba0-3b7c-4f2e-9d1a-2f3c4b5a6d7e';
export const SG_SUBNET = '11111111-2222-3333-4444-555555555555';
export const SG_ID = '5b2b8d0c-1c7e-4d0a-9a36-0e6f1d3c9a11';

export function sgPort(id: string, ip: string, mac: string, over: Partial<PortView> = {}): PortView {
  return {
    id,
    network_id: SG_NET,
    mac_address: mac,
    fixed_ips: [{ subnet_id: SG_SUBNET, ip_address: ip }],
    device_owner: 'compute:nova',
    device_id: 'vm',
    admin_state_up: true,
    port_security_enabled: true,
    security_groups: [SG_ID],
    allowed_address_pairs: [],
    extra_dhcp_opts: [],
    binding_host_id: 'compute1',
    ...over,
  };
}

export const INSTANCE = sgPort('3c338602-d806-488a-ae66-c4c8f8d13b9b', '172.16.1.3', 'fa:16:3e:a7:f7:5a');
export const OTHER = sgPort('37720f0a-f07b-45c6-a07b-cfb26a947fa8', '172.16.1.4', 'fa:16:3e:11:22:33');

export const rule = (over: Partial<SecurityGroupRuleView>): SecurityGroupRuleView => ({
  id: 'r',
  direction: 'ingress',
  ethertype: 'IPv4',
  protocol: null,
  port_range_min: null,
  port_range_max: null,
  remote_ip_prefix: null,
  remote_group_id: null,
  ...over,
});

/** The scenario's group: ICMP and SSH in; Neutron's default egress rules (IPv4 and IPv6 any). */
export function scenarioGroup(extra: SecurityGroupRuleView[] = []): SecurityGroupView {
  return {
    id: SG_ID,
    name: 'default',
    stateful: true,
    member_ips: ['172.16.1.3', '172.16.1.4'],
    rules: [
      rule({ id: 'e4', direction: 'egress' }),
      rule({ id: 'e6', direction: 'egress', ethertype: 'IPv6' }),
      rule({ id: 'icmp', protocol: 'icmp', remote_ip_prefix: '0.0.0.0/0' }),
      rule({ id: 'ssh', protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '0.0.0.0/0' }),
      ...extra,
    ],
  };
}

export function sgView(ports: PortView[], groups: SecurityGroupView[] = [scenarioGroup()], network: Partial<NetworkView> = {}): HostView {
  return {
    host: 'compute1',
    revision: 1,
    networks: [
      {
        id: SG_NET,
        name: 'selfservice',
        network_type: 'vxlan',
        physical_network: null,
        segmentation_id: 41,
        mtu: 1450,
        admin_state_up: true,
        router_external: false,
        ...network,
      },
    ],
    subnets: [
      {
        id: SG_SUBNET,
        network_id: SG_NET,
        ip_version: 4,
        cidr: '172.16.1.0/24',
        gateway_ip: '172.16.1.1',
        ipv6_ra_mode: null,
        ipv6_address_mode: null,
        enable_dhcp: true,
        dns_nameservers: [],
        host_routes: [],
        allocation_pools: [{ start: '172.16.1.2', end: '172.16.1.254' }],
      },
    ],
    ports,
    remote_ports: [],
    remote_vteps: [],
    security_groups: groups,
    dhcp_networks: [],
    dhcp_ports: [],
    routers: [],
  };
}

/** compute1 with the L2 role and a VXLAN underlay on eth0 (the views' network is VXLAN 41), the given taps present. */
export const vxlanComputeFacts = (taps: string[]): NodeFacts => ({
  host: 'compute1',
  roles: ['l2'],
  localIp: '192.168.0.105',
  localIpDevice: 'eth0',
  physicalInterfaceMappings: {},
  statePath: '/var/lib/neutrino',
  presentTaps: new Set(taps),
});

/** compute1 with the L2 role on a flat provider network (eth1), the given instances' taps present. */
export const computeFacts = (present: PortView[]): NodeFacts => ({
  host: 'compute1',
  roles: ['l2'],
  localIp: null,
  localIpDevice: null,
  physicalInterfaceMappings: { provider: 'eth1' },
  statePath: '/nonexistent',
  presentTaps: new Set(present.map((p) => tapName(p.id))),
});
export const FLAT = { network_type: 'flat', physical_network: 'provider', segmentation_id: null, mtu: 1500 };

/** An instance as the lab makes one: namespace `ns` with eth0 (the port's MAC and address), its veth peer the port's tap in `node`. */
export async function plugInstance(node: string, ns: string, p: PortView): Promise<void> {
  await run(['ip', 'netns', 'add', ns]);
  await run(['ip', 'link', 'add', tapName(p.id), 'netns', node, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  await run(['ip', '-batch', '-'], {
    netns: ns,
    stdin: `link set lo up\nlink set eth0 address ${p.mac_address} up\naddr add ${p.fixed_ips[0]!.ip_address}/24 dev eth0\n`,
  });
  await run(['ip', 'link', 'set', tapName(p.id), 'up'], { netns: node });
}

/** An observed HOST with `lo`, the uplink `eth0` and the given taps (by name), all up, none enslaved. */
export function observedHostWithTaps(taps: string[]): ObservedNamespace {
  const host = emptyObservedNamespace();
  const nic = (ifindex: number, name: string, kind: string) => ({
    ifindex,
    name,
    kind,
    mtu: 1500,
    up: true,
    operstate: 'UP',
    master: null,
    mac: `02:00:00:00:00:0${ifindex}`,
    alias: null,
  });
  host.links.push(nic(1, 'lo', 'device'), nic(2, 'eth0', 'device'), ...taps.map((t, i) => nic(3 + i, t, 'tun')));
  return host;
}

/**
 * A node namespace for firewall tests: `lo` up, the provider NIC eth1 made by hand as a real one
 * (not neutrino's; no dummy module here, so one end of a veth), bridged traffic through iptables
 * and ip6tables.
 */
export async function makeFirewallNode(node: string): Promise<void> {
  await run(['ip', 'netns', 'add', node]);
  await run(['ip', '-batch', '-'], {
    netns: node,
    stdin: 'link set lo up\nlink add eth1 type veth peer name eth1p\nlink set eth1 up\nlink set eth1p up\n',
  });
  for (const proto of ['iptables', 'ip6tables'])
    await run(['sysctl', '-q', '-w', `net.bridge.bridge-nf-call-${proto}=1`], { netns: node }).catch(() => undefined);
}
