import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planNode, type NodeFacts } from '../../src/planner/index.ts';
import type { HostView, PortView } from '../../src/model/hostview.ts';
import { emptyObservedNamespace, HOST, type ObservedLink } from '../../src/kernel/types.ts';
import { diff } from '../../src/kernel/diff.ts';
import { FakeKernel } from '../../src/exec/fake.ts';
import { scopeFor } from '../../src/kernel/scope.ts';

// The scenario's ids: network e6e37ba0-3b…, instance port 3c338602-d8…, DHCP port on the controller.
const NET = 'e6e37ba0-3b3f-4d4f-9a1b-2c3d4e5f6a7b';
const SUB = '11111111-2222-3333-4444-555555555555';
const port = (id: string, owner: string, ip: string, mac: string): PortView => ({
  id,
  network_id: NET,
  mac_address: mac,
  fixed_ips: [{ subnet_id: SUB, ip_address: ip }],
  device_owner: owner,
  device_id: 'x',
  admin_state_up: true,
  port_security_enabled: true,
  security_groups: [],
  allowed_address_pairs: [],
  extra_dhcp_opts: [],
  binding_host_id: 'compute1',
});
const instance = port('3c338602-d806-488a-ae66-c4c8f8d13b9b', 'compute:nova', '172.16.1.3', 'fa:16:3e:a7:f7:5a');
const dhcp = {
  ...port('aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', 'network:dhcp', '172.16.1.2', 'fa:16:3e:00:00:02'),
  binding_host_id: 'controller',
};

const view = (host: string, ports: PortView[], dhcpNets: string[]): HostView => ({
  host,
  revision: 7,
  networks: [
    {
      id: NET,
      name: 'selfservice',
      network_type: 'vxlan',
      physical_network: null,
      segmentation_id: 41,
      mtu: 1450,
      admin_state_up: true,
      router_external: false,
    },
  ],
  subnets: [
    {
      id: SUB,
      network_id: NET,
      ip_version: 4,
      cidr: '172.16.1.0/24',
      gateway_ip: '172.16.1.1',
      ipv6_ra_mode: null,
      ipv6_address_mode: null,
      enable_dhcp: true,
      dns_nameservers: ['8.8.4.4'],
      host_routes: [],
      allocation_pools: [{ start: '172.16.1.2', end: '172.16.1.254' }],
    },
  ],
  ports,
  remote_ports:
    host === 'compute1'
      ? [{ network_id: NET, host: 'controller', vtep: '192.168.0.104', mac_address: dhcp.mac_address, ip_addresses: ['172.16.1.2'] }]
      : [],
  remote_vteps: host === 'compute1' ? [{ network_id: NET, host: 'controller', vtep: '192.168.0.104' }] : [],
  security_groups: [],
  dhcp_networks: dhcpNets,
  dhcp_ports: dhcpNets.length ? [instance, dhcp] : [],
  routers: [],
});

const compute: NodeFacts = {
  host: 'compute1',
  roles: ['l2'],
  localIp: '192.168.0.105',
  localIpDevice: 'eth0',
  physicalInterfaceMappings: {},
  statePath: '/var/lib/neutrino',
  presentTaps: new Set(['tap3c338602-d8']),
};

test("compute1: the scenario's bridge, vxlan-41 on eth0, the tap, and l2population entries", () => {
  const { desired, plugged } = planNode(view('compute1', [instance], []), compute);
  const host = desired.namespaces[HOST];
  const byName = Object.fromEntries(host.links.map((l) => [l.name, l]));
  assert.equal(byName['brqe6e37ba0-3b'].kind, 'bridge');
  assert.deepEqual(byName['vxlan-41'], {
    kind: 'vxlan',
    name: 'vxlan-41',
    mtu: 1450,
    up: true,
    master: 'brqe6e37ba0-3b',
    vxlan: { vni: 41, local: '192.168.0.105', dev: 'eth0', dstport: 8472, learning: false, proxy: false },
  });
  assert.equal(byName['tap3c338602-d8'].master, 'brqe6e37ba0-3b');
  assert.equal(byName['tap3c338602-d8'].mtu, 1450);
  assert.deepEqual(host.fdb, [
    { dev: 'vxlan-41', mac: '00:00:00:00:00:00', dst: '192.168.0.104' },
    { dev: 'vxlan-41', mac: 'fa:16:3e:00:00:02', dst: '192.168.0.104' },
  ]);
  // Neutron's default ([vxlan] arp_responder = false): no ARP proxy, ARP is flooded to the VTEPs.
  assert.deepEqual(host.neigh, []);
  assert.deepEqual(
    plugged.map((p) => p.id),
    [instance.id],
  );
});

test('[vxlan] arp_responder: the VXLAN device proxies ARP from a permanent entry per remote address', () => {
  const host = planNode(view('compute1', [instance], []), { ...compute, arpResponder: true }).desired.namespaces[HOST];
  const vx = host.links.find((l) => l.name === 'vxlan-41');
  assert.equal(vx?.kind === 'vxlan' && vx.vxlan.proxy, true);
  assert.deepEqual(host.neigh, [{ dev: 'vxlan-41', ip: '172.16.1.2', lladdr: 'fa:16:3e:00:00:02' }]);
});

test('[vxlan] udp_dstport, ttl and tos: the VXLAN device is made with them; l2population entries unchanged', () => {
  const vxlan = { dstport: 4789, ttl: 32, tos: 16, l2Population: true, group: '224.0.0.1' };
  const host = planNode(view('compute1', [instance], []), { ...compute, vxlan }).desired.namespaces[HOST];
  const vx = host.links.find((l) => l.name === 'vxlan-41');
  assert.deepEqual(vx?.kind === 'vxlan' && vx.vxlan, {
    vni: 41,
    local: '192.168.0.105',
    dev: 'eth0',
    dstport: 4789,
    learning: false,
    proxy: false,
    ttl: 32,
    tos: 16,
  });
  assert.equal(host.fdb.length, 2);
});

test('l2_population = false: the VXLAN device floods to its vxlan_group address and learns; no fdb entries, no ARP responder', () => {
  const vxlan = { dstport: 8472, ttl: null, tos: null, l2Population: false, group: '239.1.0.0/16' };
  const host = planNode(view('compute1', [instance], []), { ...compute, vxlan }).desired.namespaces[HOST];
  const vx = host.links.find((l) => l.name === 'vxlan-41');
  assert.deepEqual(vx?.kind === 'vxlan' && vx.vxlan, {
    vni: 41,
    local: '192.168.0.105',
    dev: 'eth0',
    dstport: 8472,
    learning: true,
    proxy: false,
    group: '239.1.0.41',
  });
  assert.deepEqual(host.fdb, []);
  assert.deepEqual(host.neigh, []);
});

test('a network with no plugged port on the node is not wired there', () => {
  const { desired, plugged } = planNode(view('compute1', [instance], []), { ...compute, presentTaps: new Set() });
  assert.deepEqual(desired.namespaces[HOST].links, []);
  assert.deepEqual(plugged, []);
});

test('controller with the DHCP role: qdhcp namespace, ns- veth, addresses, dnsmasq with static leases', () => {
  const facts: NodeFacts = {
    ...compute,
    host: 'controller',
    roles: ['l2', 'dhcp'],
    localIp: '192.168.0.104',
    localIpDevice: 'eth1',
    presentTaps: new Set(),
  };
  const { desired, plugged } = planNode(view('controller', [dhcp], [NET]), facts);
  const ns = desired.namespaces[`qdhcp-${NET}`];
  assert.ok(ns, 'qdhcp namespace');
  const veth = ns.links.find((l) => l.name === 'ns-aaaaaaaa-bb');
  assert.equal(veth?.kind, 'veth');
  assert.deepEqual(ns.addresses, [{ dev: 'ns-aaaaaaaa-bb', address: '172.16.1.2/24' }]);
  const dnsmasq = ns.processes[0];
  assert.ok(dnsmasq.argv.includes('--dhcp-option-force=option:mtu,1450'));
  const hosts = dnsmasq.files.find((f) => f.path.endsWith('/host'))!.content;
  assert.equal(hosts, 'fa:16:3e:a7:f7:5a,host-172-16-1-3.openstacklocal.,172.16.1.3\n');
  const opts = dnsmasq.files.find((f) => f.path.endsWith('/opts'))!.content;
  assert.match(opts, /option:dns-server,8\.8\.4\.4/);
  assert.match(opts, /option:router,172\.16\.1\.1/);
  const tap = desired.namespaces[HOST].links.find((l) => l.name === 'tapaaaaaaaa-bb');
  assert.equal(tap?.kind === 'veth' && tap.master, 'brqe6e37ba0-3b');
  assert.deepEqual(
    plugged.map((p) => p.id),
    [dhcp.id],
  );
});

/** compute1's links before any pass: lo, the underlay NIC and the instance's tap. */
function compute1Links(): ObservedLink[] {
  const nic = (ifindex: number, name: string, kind: string): ObservedLink => ({
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
  return [nic(1, 'lo', 'device'), nic(2, 'eth0', 'device'), nic(3, 'tap3c338602-d8', 'tun')];
}

test('applying the plan to a fake kernel converges: the second diff is empty', async () => {
  const { desired } = planNode(view('compute1', [instance], []), compute);
  const host = emptyObservedNamespace();
  host.links.push(...compute1Links());
  const kernel = new FakeKernel({ namespaces: { [HOST]: host } });
  const scope = scopeFor(desired);
  await kernel.apply(diff(desired, await kernel.observe(scope)).ops);
  assert.deepEqual(diff(desired, await kernel.observe(scope)).ops, []);
});

test("the fdb entries read are the VXLAN devices' (neutrino's entries are there); a bridge port's own are not read", async () => {
  const { desired } = planNode(view('compute1', [instance], []), compute);
  const scope = scopeFor(desired);
  assert.deepEqual(scope.fdbDevices?.[HOST], ['vxlan-41']);
  const host = emptyObservedNamespace();
  host.links.push(...compute1Links());
  const kernel = new FakeKernel({ namespaces: { [HOST]: host } });
  await kernel.apply(diff(desired, await kernel.observe(scope)).ops);
  // A bridge port's own entry, as the kernel keeps one for every port: not read, so not compared.
  const state = kernel.dump();
  state.namespaces[HOST]!.fdb.push({ dev: 'tap3c338602-d8', mac: 'fa:16:3e:a7:f7:5a', flags: ['self'], state: 'permanent' });
  const seen = (await new FakeKernel(state).observe(scope)).namespaces[HOST]!.fdb;
  assert.ok(seen.length > 0 && seen.every((f) => f.dev === 'vxlan-41'), JSON.stringify(seen));
  assert.deepEqual(diff(desired, await new FakeKernel(state).observe(scope)).ops, []);
  // Without the scope's list, every entry is read.
  const { fdbDevices: _named, ...all } = scope;
  assert.ok((await new FakeKernel(state).observe(all)).namespaces[HOST]!.fdb.some((f) => f.dev === 'tap3c338602-d8'));
});
