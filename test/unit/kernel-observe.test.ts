// Parsers over output captured from the real kernel on this machine (test/fixtures/kernel/capture.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { HOST, type ObservedNode } from '../../src/kernel/types.ts';
import { parseBridgePorts, parseFdb } from '../../src/observe/bridge.ts';
import { parseIptablesSave } from '../../src/observe/iptables.ts';
import { splitBatchJson } from '../../src/observe/json.ts';
import { parseRoutes } from '../../src/observe/l3.ts';
import { parseNetnsList, parseSysctl } from '../../src/observe/netns.ts';
import { parseNamespace, resolvePeers, type RawNamespace } from '../../src/observe/node.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/kernel/${name}`, import.meta.url), 'utf8');
const raw = (name: string): RawNamespace => ({
  ip: fixture(`${name}-ip-batch.jsonl`),
  route6: fixture(`${name}-route6.json`),
  fdb: fixture(`${name}-fdb.json`),
  iptablesSave: fixture(`${name}-iptables-save.txt`),
  sysctl: 'net.ipv4.ip_forward = 0\nnet.ipv6.conf.vxlan-41.disable_ipv6 = 1\n',
});

function observedNode(): ObservedNode {
  const node1 = parseNamespace(HOST, raw('node1'));
  const vm1 = parseNamespace('nt-vm1', raw('vm1'));
  const node: ObservedNode = { namespaces: { [HOST]: node1.state, 'nt-vm1': vm1.state } };
  // The test plays node1 from outside: its own name maps to HOST.
  resolvePeers(
    node,
    new Map([
      [HOST, node1.nsids],
      ['nt-vm1', vm1.nsids],
    ]),
    'nt-n1',
  );
  return node;
}

test('links: kinds, the mark, bridge and port state, vxlan parameters', () => {
  const links = observedNode().namespaces[HOST]!.links;
  const by = (n: string) => links.find((l) => l.name === n)!;
  assert.deepEqual(
    links.map((l) => [l.name, l.kind]),
    [
      ['lo', 'device'],
      ['eth1', 'veth'],
      ['brqe6e37ba0-3b', 'bridge'],
      ['vxlan-41', 'vxlan'],
      ['tap3c338602-d8', 'veth'],
      ['tap37720f0a-f0', 'tap'],
      ['handbr0', 'bridge'],
    ],
  );
  assert.deepEqual(by('vxlan-41').vxlan, { vni: 41, local: '192.168.0.104', dev: 'eth1', dstport: 4789, learning: false, proxy: true });
  assert.equal(by('vxlan-41').alias, 'neutrino');
  assert.equal(by('vxlan-41').master, 'brqe6e37ba0-3b');
  assert.equal(by('vxlan-41').mtu, 1450);
  assert.equal(by('vxlan-41').up, true);
  assert.deepEqual(by('brqe6e37ba0-3b').bridge, { forwardDelay: 0, stp: false });
  assert.equal(by('handbr0').alias, null);
  assert.deepEqual(by('handbr0').bridge?.forwardDelay, 1500, 'a bridge made by hand keeps the kernel default (15 s)');
  assert.equal(by('tap37720f0a-f0').port?.state, 'disabled', 'a tap without carrier is a disabled port');
  assert.equal(by('tap3c338602-d8').port?.state, 'forwarding');
});

test('veth peers are resolved across namespaces, both ways; a peer in an unobserved namespace keeps its name only', () => {
  const node = observedNode();
  const tap = node.namespaces[HOST]!.links.find((l) => l.name === 'tap3c338602-d8')!;
  assert.deepEqual(tap.peer, { ifindex: 2, netnsid: 1, netns: 'nt-vm1', name: 'ns-3c338602-d8' });
  const inner = node.namespaces['nt-vm1']!.links.find((l) => l.name === 'ns-3c338602-d8')!;
  assert.deepEqual(inner.peer, { ifindex: tap.ifindex, netnsid: 0, netns: HOST, name: 'tap3c338602-d8' });
  assert.equal(inner.mac, 'fa:16:3e:a7:f7:5a');
  const eth1 = node.namespaces[HOST]!.links.find((l) => l.name === 'eth1')!;
  assert.equal(eth1.peer?.netns, 'nt-n2');
  assert.equal(eth1.peer?.name, undefined);
});

test('an agent that does not know its own namespace name (nsenter --net) still pairs its veths', () => {
  const node1 = parseNamespace(HOST, raw('node1'));
  const vm1 = parseNamespace('nt-vm1', raw('vm1'));
  const node: ObservedNode = { namespaces: { [HOST]: node1.state, 'nt-vm1': vm1.state } };
  resolvePeers(
    node,
    new Map([
      [HOST, node1.nsids],
      ['nt-vm1', vm1.nsids],
    ]),
  );
  const inner = node.namespaces['nt-vm1']!.links.find((l) => l.name === 'ns-3c338602-d8')!;
  assert.equal(inner.peer?.netns, HOST);
  assert.equal(inner.peer?.name, 'tap3c338602-d8');
});

test('a namespace is marked by its lo; HOST never is', () => {
  const node = observedNode();
  assert.equal(node.namespaces['nt-vm1']!.mark, 'neutrino');
  assert.equal(node.namespaces[HOST]!.mark, null);
});

test('addresses and routes: families, protocol 149 (the mark), metrics, IPv6 default', () => {
  const vm = observedNode().namespaces['nt-vm1']!;
  assert.deepEqual(
    vm.addresses.map((a) => [a.dev, a.address, a.scope]),
    [
      ['lo', '127.0.0.1/8', 'host'],
      ['lo', '::1/128', 'host'],
      ['ns-3c338602-d8', '172.16.1.3/24', 'global'],
      ['ns-3c338602-d8', 'fd00:41::3/64', 'global'],
      ['ns-3c338602-d8', 'fe80::f816:3eff:fea7:f75a/64', 'link'],
    ],
  );
  const routes = vm.routes.map((r) => [r.family, r.dst, r.via ?? '-', r.protocol, r.metric]);
  assert.deepEqual(routes, [
    [4, 'default', '172.16.1.1', '149', 0],
    [4, '10.9.0.0/16', '172.16.1.2', 'boot', 100],
    [4, '172.16.1.0/24', '-', 'kernel', 0],
    [6, 'fd00:41::/64', '-', 'kernel', 256],
    [6, 'fe80::/64', '-', 'kernel', 256],
    [6, 'default', 'fd00:41::1', '149', 1024],
  ]);
});

test('a multipath route: its paths, no via or dev', () => {
  const [r] = parseRoutes(
    '[{"type":"unicast","dst":"10.8.0.0/24","protocol":"149","scope":"global","flags":[],"nexthops":[{"gateway":"172.16.1.3","dev":"qr-a","weight":1,"flags":[]},{"gateway":"172.16.1.4","dev":"qr-a","weight":1,"flags":[]}]}]',
    4,
  );
  assert.deepEqual(r!.nexthops, [
    { via: '172.16.1.3', dev: 'qr-a' },
    { via: '172.16.1.4', dev: 'qr-a' },
  ]);
  assert.equal(r!.via, undefined);
  assert.equal(r!.dev, undefined);
});

test('only the main table is kept, and a host route gets its /32', () => {
  const routes = parseRoutes(
    '[{"dst":"10.0.0.1","dev":"x","table":"main"},{"dst":"10.0.0.2","dev":"x","table":"local","type":"local"}]',
    4,
  );
  assert.deepEqual(
    routes.map((r) => r.dst),
    ['10.0.0.1/32'],
  );
});

test('neighbours and fdb: permanent ARP entry on vxlan, head-end replication list, learned vs static', () => {
  const host = observedNode().namespaces[HOST]!;
  assert.deepEqual(
    host.neigh.find((n) => n.dev === 'vxlan-41'),
    { ip: '172.16.1.5', dev: 'vxlan-41', lladdr: 'fa:16:3e:11:22:33', state: ['PERMANENT'] },
  );
  assert.deepEqual(
    host.neigh.find((n) => n.ip === '192.168.0.106'),
    { ip: '192.168.0.106', dev: 'eth1', state: ['INCOMPLETE'] },
  );
  const vx = host.fdb.filter((f) => f.dev === 'vxlan-41' && f.flags.includes('self'));
  assert.deepEqual(
    vx.map((f) => [f.mac, f.dst, f.state]),
    [
      ['fa:16:3e:11:22:33', '192.168.0.105', 'permanent'],
      ['00:00:00:00:00:00', '192.168.0.105', 'permanent'],
      ['00:00:00:00:00:00', '192.168.0.106', 'permanent'],
    ],
  );
  const learned = parseFdb(fixture('node1-fdb.json')).filter((f) => f.master === 'brqe6e37ba0-3b' && f.state === '');
  assert.ok(learned.length > 0, 'learned entries have an empty state');
});

test('iptables-save: tables, policies, neutron chains, physdev rules kept verbatim, hand-made rules kept', () => {
  const t = parseIptablesSave(fixture('node1-iptables-save.txt'));
  assert.deepEqual(Object.keys(t).sort(), ['filter', 'nat']);
  const forward = t.filter!.find((c) => c.name === 'FORWARD')!;
  assert.equal(forward.policy, 'ACCEPT');
  assert.deepEqual(forward.rules, [
    '-j neutron-filter-top',
    '-j neutron-linuxbri-FORWARD',
    '-s 10.9.9.0/24 -m comment --comment "by hand" -j ACCEPT',
  ]);
  const sg = t.filter!.find((c) => c.name === 'neutron-linuxbri-sg-chain')!;
  assert.equal(sg.policy, null);
  assert.equal(
    sg.rules[0],
    '-m physdev --physdev-out tap3c338602-d8 --physdev-is-bridged -m comment --comment "Jump to the VM specific chain." -j neutron-linuxbri-i3c338602-d',
  );
  const spoof = t.filter!.find((c) => c.name === 'neutron-linuxbri-s3c338602-d')!;
  assert.match(spoof.rules[0]!, /--mac-source fa:16:3e:a7:f7:5a/, 'iptables-save lower-cases MACs: desired rules must too');
  const l3 = parseIptablesSave(fixture('vm1-iptables-save.txt'));
  const pre = l3.nat!.find((c) => c.name === 'neutron-l3-agent-PREROUTING')!;
  assert.deepEqual(pre.rules, [
    '-d 169.254.169.254/32 -i qr-+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 9697',
    '-d 10.123.123.104/32 -j DNAT --to-destination 172.16.1.3',
  ]);
});

test('iptables-save: malformed input is refused', () => {
  assert.throws(() => parseIptablesSave('*filter\n-A NOPE -j ACCEPT\nCOMMIT\n'), /undeclared chain/);
  assert.throws(() => parseIptablesSave('*filter\n:INPUT ACCEPT [0:0]\n'), /no COMMIT/);
});

test('netns list, sysctl, bridge link, batch splitting', () => {
  assert.deepEqual(parseNetnsList(fixture('netns-list.json')).sort(), ['nt-n1', 'nt-n2', 'nt-vm1']);
  assert.deepEqual(parseNetnsList(''), []);
  assert.deepEqual(parseSysctl('net.ipv4.ip_forward = 1\nnet.ipv6.conf.eth1/100.disable_ipv6 = 1\n'), {
    'net.ipv4.ip_forward': '1',
    'net.ipv6.conf.eth1/100.disable_ipv6': '1',
  });
  const ports = parseBridgePorts(fixture('node1-bridge-link.json'));
  assert.deepEqual(
    ports.map((p) => [p.name, p.master, p.state]),
    [
      ['vxlan-41', 'brqe6e37ba0-3b', 'forwarding'],
      ['tap3c338602-d8', 'brqe6e37ba0-3b', 'forwarding'],
      ['tap37720f0a-f0', 'brqe6e37ba0-3b', 'disabled'],
    ],
  );
  assert.throws(() => splitBatchJson('[]\n', 2, 'x'), /expected 2/);
});
