// VLAN networks on a node (Neutron's Linux bridge agent: ensure_vlan_bridge, ensure_vlan): the
// mapped NIC's subinterface `<nic>.<vid>` in brq<net>, its parent up, IPv6 off on it, the kernel
// diff creating it, recreating it with another VLAN id, and removing it when the network goes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planNode, type NodeFacts } from '../../src/planner/index.ts';
import type { HostView, NetworkView, PortView } from '../../src/model/hostview.ts';
import { emptyObservedNamespace, HOST, type DesiredNode, type ObservedLink } from '../../src/kernel/types.ts';
import { diff } from '../../src/kernel/diff.ts';
import { FakeKernel } from '../../src/exec/fake.ts';
import { scopeFor } from '../../src/kernel/scope.ts';
import { linkAddLine } from '../../src/kernel/render-ip.ts';
import { vlanSubinterfaceName } from '../../src/kernel/names.ts';
import { parseLink } from '../../src/observe/link.ts';
import { kernelHasVlan } from '../../src/agent/vlan-support.ts';
import { l2Port } from '../helpers/l2-view.ts';

const NET = 'e6e37ba0-3b3f-4d4f-9a1b-2c3d4e5f6a7b';
const FLAT = 'f1a7f1a7-0000-4000-8000-000000000001';
const network = (id: string, type: string, vid: number | null): NetworkView => ({
  id,
  name: type,
  network_type: type,
  physical_network: 'provider',
  segmentation_id: vid,
  mtu: 1500,
  admin_state_up: true,
  router_external: false,
});
const port = l2Port;
const vm = port('3c338602-d806-488a-ae66-c4c8f8d13b9b', NET);
const vmFlat = port('4d338602-d806-488a-ae66-c4c8f8d13b9b', FLAT);

const view = (networks: NetworkView[], ports: PortView[]): HostView => ({
  host: 'compute1',
  revision: 1,
  networks,
  subnets: [],
  ports,
  remote_ports: [],
  remote_vteps: [],
  security_groups: [],
  dhcp_networks: [],
  dhcp_ports: [],
  routers: [],
});

const compute: NodeFacts = {
  host: 'compute1',
  roles: ['l2'],
  localIp: '192.168.0.105',
  localIpDevice: 'eth0',
  physicalInterfaceMappings: { provider: 'eth1' },
  statePath: '/var/lib/neutrino',
  presentTaps: new Set(['tap3c338602-d8', 'tap4d338602-d8']),
};

const hostLinks = (d: DesiredNode) => Object.fromEntries(d.namespaces[HOST].links.map((l) => [l.name, l]));

test('a VLAN network: eth1.100 on eth1 in brq<net>, eth1 up and left to itself, IPv6 off on the subinterface', () => {
  const { desired, plugged } = planNode(view([network(NET, 'vlan', 100)], [vm]), compute);
  const links = hostLinks(desired);
  assert.deepEqual(links['eth1.100'], {
    kind: 'vlan',
    name: 'eth1.100',
    up: true,
    master: 'brqe6e37ba0-3b',
    vlan: { id: 100, dev: 'eth1' },
  });
  assert.deepEqual(links['eth1'], { kind: 'device', name: 'eth1', up: true });
  assert.equal(links['tap3c338602-d8'].master, 'brqe6e37ba0-3b');
  assert.ok(!('vxlan-100' in links) && !('eth0' in links), 'no VXLAN, no underlay for a VLAN network');
  assert.ok(desired.namespaces[HOST].sysctls.some((s) => s.key === 'net.ipv6.conf.eth1/100.disable_ipv6' && s.value === '1'));
  assert.deepEqual(
    plugged.map((p) => p.id),
    [vm.id],
  );
});

test('a flat and a VLAN network on one physnet: the NIC in the flat bridge, the subinterface in the VLAN one', () => {
  const { desired } = planNode(view([network(NET, 'vlan', 100), network(FLAT, 'flat', null)], [vm, vmFlat]), compute);
  const links = desired.namespaces[HOST].links;
  assert.deepEqual(
    links.filter((l) => l.name === 'eth1'),
    [{ kind: 'device', name: 'eth1', up: true, master: 'brqf1a7f1a7-00' }],
  );
  assert.equal(links.find((l) => l.name === 'eth1.100')?.master, 'brqe6e37ba0-3b');
});

test('a VLAN network on a physnet this node does not map, or on a kernel without 802.1Q, is not wired here', () => {
  for (const node of [
    { ...compute, physicalInterfaceMappings: {} },
    { ...compute, vlan: false },
  ]) {
    const { desired, plugged } = planNode(view([network(NET, 'vlan', 100)], [vm]), node);
    assert.deepEqual(desired.namespaces[HOST].links, []);
    assert.deepEqual(plugged, []);
  }
});

test('802.1Q support: 8021q loaded (/proc/net/vlan, /sys/module/8021q) or its module file present', () => {
  const only = (path: string) => (p: string) => p === path;
  assert.equal(kernelHasVlan(only('/proc/net/vlan'), '6.1.0'), true);
  assert.equal(kernelHasVlan(only('/sys/module/8021q'), '6.1.0'), true);
  assert.equal(kernelHasVlan(only('/lib/modules/6.1.0/kernel/net/8021q'), '6.1.0'), true);
  assert.equal(
    kernelHasVlan(() => false, '6.1.0'),
    false,
  );
});

test("subinterface names: <nic>.<vid>, or a cut NIC name with its hash when that is too long (Neutron's get_subinterface_name)", () => {
  assert.equal(vlanSubinterfaceName('eth1', 4094), 'eth1.4094');
  assert.equal(vlanSubinterfaceName('enp0s31f6', 10), 'enp0s31f6.10');
  // sha1('long_interface')[:6] after the first 4 characters (15 - 5 - 6).
  assert.match(vlanSubinterfaceName('long_interface', 1111), /^long[0-9a-f]{6}\.1111$/);
  assert.throws(() => vlanSubinterfaceName('eth1', 4095), /VLAN id/);
});

test('ip and the kernel: `ip link add link eth1 name eth1.100 type vlan id 100`, and `ip -j -d link` read back', () => {
  assert.equal(
    linkAddLine(HOST, { kind: 'vlan', name: 'eth1.100', vlan: { id: 100, dev: 'eth1' } }),
    'link add link eth1 name eth1.100 type vlan id 100',
  );
  const seen = parseLink({
    ifindex: 7,
    link: 'eth1',
    ifname: 'eth1.100',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    mtu: 1500,
    operstate: 'UP',
    master: 'brqe6e37ba0-3b',
    address: '02:00:00:00:00:07',
    linkinfo: { info_kind: 'vlan', info_data: { protocol: '802.1Q', id: 100, flags: ['REORDER_HDR'] } },
  });
  assert.equal(seen.kind, 'vlan');
  assert.deepEqual(seen.vlan, { id: 100, dev: 'eth1' });
});

const nic = (ifindex: number, name: string, kind: string, up = true): ObservedLink => ({
  ifindex,
  name,
  kind,
  mtu: 1500,
  up,
  operstate: up ? 'UP' : 'DOWN',
  master: null,
  mac: `02:00:00:00:00:0${ifindex}`,
  alias: null,
});

test('the fake kernel: the diff creates the subinterface and brings eth1 up, converges, recreates a wrong VLAN id, removes it with the network', async () => {
  const host = emptyObservedNamespace();
  host.links.push(nic(1, 'lo', 'device'), nic(2, 'eth1', 'device', false), nic(3, 'tap3c338602-d8', 'tun'));
  const kernel = new FakeKernel({ namespaces: { [HOST]: host } });
  const plan = (vid: number) => planNode(view([network(NET, 'vlan', vid)], [vm]), compute).desired;
  const apply = async (desired: DesiredNode) => {
    const ops = diff(desired, await kernel.observe(scopeFor(desired))).ops;
    await kernel.apply(ops);
    return ops;
  };
  const first = await apply(plan(100));
  assert.ok(first.some((o) => o.op === 'link-add' && o.link.kind === 'vlan' && o.link.name === 'eth1.100'));
  assert.ok(first.some((o) => o.op === 'link-set' && o.name === 'eth1' && o.set.up === true));
  assert.deepEqual(diff(plan(100), await kernel.observe(scopeFor(plan(100)))).ops, []);
  const seen = (await kernel.observe(scopeFor(plan(100)))).namespaces[HOST].links.find((l) => l.name === 'eth1.100');
  assert.deepEqual([seen?.master, seen?.up, seen?.vlan], ['brqe6e37ba0-3b', true, { id: 100, dev: 'eth1' }]);

  // Someone recreated eth1.100 with another VLAN id: the diff deletes and recreates it.
  const state = (await kernel.observe(scopeFor(plan(100)))).namespaces[HOST];
  const wrong = state.links.find((l) => l.name === 'eth1.100')!;
  wrong.vlan = { id: 200, dev: 'eth1' };
  const fix = diff(plan(100), { ...(await kernel.observe(scopeFor(plan(100)))), namespaces: { [HOST]: state } }).ops;
  assert.deepEqual(
    fix.filter((o) => o.op === 'link-del' || o.op === 'link-add').map((o) => o.op),
    ['link-del', 'link-add'],
  );

  // The network goes: the subinterface and the bridge go, eth1 stays.
  const empty = planNode(view([], []), compute).desired;
  const removal = diff(empty, await kernel.observe(scopeFor(plan(100)))).ops;
  const deleted = removal.filter((o) => o.op === 'link-del').map((o) => (o.op === 'link-del' ? o.name : ''));
  assert.deepEqual(deleted, ['eth1.100', 'brqe6e37ba0-3b']);
});

test('bridge_mappings: a flat network of a mapped physnet uses that existing bridge — no brq, no NIC, never deleted', async () => {
  const node: NodeFacts = { ...compute, physicalInterfaceMappings: {}, bridgeMappings: { provider: 'br-ex' } };
  const { desired, plugged } = planNode(view([network(FLAT, 'flat', null)], [vmFlat]), node);
  const links = hostLinks(desired);
  assert.deepEqual(links['br-ex'], { kind: 'device', name: 'br-ex', up: true });
  assert.equal(links['tap4d338602-d8'].master, 'br-ex');
  assert.ok(!Object.keys(links).some((n) => n.startsWith('brq')), 'no brq bridge');
  assert.deepEqual(
    plugged.map((p) => p.id),
    [vmFlat.id],
  );
  // A VLAN network is wired through physical_interface_mappings only (Neutron's ensure_vlan needs the NIC).
  assert.deepEqual(planNode(view([network(NET, 'vlan', 100)], [vm]), node).plugged, []);

  const host = emptyObservedNamespace();
  host.links.push(
    nic(1, 'lo', 'device'),
    { ...nic(2, 'br-ex', 'bridge'), bridge: { forwardDelay: 15, stp: true } },
    nic(3, 'tap4d338602-d8', 'tun'),
  );
  const kernel = new FakeKernel({ namespaces: { [HOST]: host } });
  await kernel.apply(diff(desired, await kernel.observe(scopeFor(desired))).ops);
  const seen = (await kernel.observe(scopeFor(desired))).namespaces[HOST].links;
  assert.equal(seen.find((l) => l.name === 'tap4d338602-d8')?.master, 'br-ex');
  assert.deepEqual(
    seen.find((l) => l.name === 'br-ex')?.bridge,
    { forwardDelay: 15, stp: true },
    "the operator's bridge keeps its settings",
  );
  const empty = planNode(view([], []), node).desired;
  assert.ok(!diff(empty, await kernel.observe(scopeFor(desired))).ops.some((o) => o.op === 'link-del' && o.name === 'br-ex'));
});
