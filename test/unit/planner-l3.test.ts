// The L3 role of the planner: qrouter-<id> with qr-/qg- veths, addresses, default route, forwarding,
// and Neutron's NAT chains (SNAT, floating IP DNAT/SNAT), converging on the fake kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planNode } from '../../src/planner/index.ts';
import { controllerFacts, controllerHost, NS, qg, qr, router, view } from '../helpers/router-view.ts';
import { HOST, type VethSpec } from '../../src/kernel/types.ts';
import { diff } from '../../src/kernel/diff.ts';
import { FakeKernel } from '../../src/exec/fake.ts';
import { scopeFor } from '../../src/kernel/scope.ts';

const facts = controllerFacts(['l2', 'dhcp', 'l3']);
const chains = (t: { name: string; rules: string[] }[] | undefined) => Object.fromEntries((t ?? []).map((c) => [c.name, c.rules]));

test('the router namespace: lo, qr-/qg- veths with the ports’ MACs and networks’ MTUs, addresses, default route, forwarding', () => {
  const { desired, plugged } = planNode(view([router()]), facts);
  const ns = desired.namespaces[NS];
  assert.ok(ns, 'qrouter namespace');
  assert.deepEqual(ns.links, [
    { kind: 'device', name: 'lo', up: true },
    { kind: 'veth', name: 'qr-0b1c2d3e-4f', mac: 'fa:16:3e:00:01:01', mtu: 1450, up: true, peer: { name: 'tap0b1c2d3e-4f', netns: HOST } },
    { kind: 'veth', name: 'qg-7a8b9c0d-1e', mac: 'fa:16:3e:00:01:02', mtu: 1500, up: true, peer: { name: 'tap7a8b9c0d-1e', netns: HOST } },
  ]);
  assert.deepEqual(ns.addresses, [
    { dev: 'qr-0b1c2d3e-4f', address: '172.16.1.1/24' },
    { dev: 'qg-7a8b9c0d-1e', address: '10.123.123.102/24' },
    { dev: 'qg-7a8b9c0d-1e', address: '10.123.123.104/32' },
  ]);
  assert.deepEqual(ns.routes, [{ dst: 'default', via: '10.123.123.1', dev: 'qg-7a8b9c0d-1e' }]);
  assert.ok(ns.sysctls.some((s) => s.key === 'net.ipv4.ip_forward' && s.value === '1'));
  const host = desired.namespaces[HOST];
  const tapQr = host.links.find((l) => l.name === 'tap0b1c2d3e-4f') as VethSpec;
  assert.deepEqual(tapQr, {
    kind: 'veth',
    name: 'tap0b1c2d3e-4f',
    mtu: 1450,
    up: true,
    master: 'brqe6e37ba0-3b',
    peer: { name: 'qr-0b1c2d3e-4f', netns: NS },
  });
  const tapQg = host.links.find((l) => l.name === 'tap7a8b9c0d-1e') as VethSpec;
  assert.equal(tapQg.master, 'brq5b3c1f0e-8d');
  // L2 wires both networks: the external one on eth2, the self-service one on vxlan-41.
  assert.equal(host.links.find((l) => l.name === 'eth2')?.master, 'brq5b3c1f0e-8d');
  assert.equal(host.links.find((l) => l.name === 'vxlan-41')?.master, 'brqe6e37ba0-3b');
  assert.deepEqual(plugged.map((p) => p.id).sort(), [qr.id, qg.id].sort());
});

test("NAT in Neutron's chains: SNAT to the gateway address, DNAT and SNAT per floating IP", () => {
  const ns = planNode(view([router()]), facts).desired.namespaces[NS];
  const nat = chains(ns.iptables.nat);
  assert.deepEqual(nat['PREROUTING'], ['-j neutron-l3-agent-PREROUTING']);
  assert.deepEqual(nat['OUTPUT'], ['-j neutron-l3-agent-OUTPUT']);
  assert.deepEqual(nat['POSTROUTING'], ['-j neutron-l3-agent-POSTROUTING', '-j neutron-postrouting-bottom']);
  assert.deepEqual(nat['neutron-l3-agent-PREROUTING'], ['-d 10.123.123.104/32 -j DNAT --to-destination 172.16.1.3']);
  assert.deepEqual(nat['neutron-l3-agent-OUTPUT'], ['-d 10.123.123.104/32 -j DNAT --to-destination 172.16.1.3']);
  assert.deepEqual(nat['neutron-l3-agent-POSTROUTING'], ['! -o qg-7a8b9c0d-1e -m conntrack ! --ctstate DNAT -j ACCEPT']);
  assert.deepEqual(nat['neutron-l3-agent-float-snat'], ['-s 172.16.1.3/32 -j SNAT --to-source 10.123.123.104 --random-fully']);
  assert.deepEqual(nat['neutron-l3-agent-snat'], [
    '-j neutron-l3-agent-float-snat',
    '-m mark ! --mark 0x2/0xffff -m conntrack --ctstate DNAT -j SNAT --to-source 10.123.123.102 --random-fully',
    '-o qg-7a8b9c0d-1e -j SNAT --to-source 10.123.123.102 --random-fully',
  ]);
  assert.deepEqual(nat['neutron-postrouting-bottom'], [
    '-m comment --comment "Perform source NAT on outgoing traffic." -j neutron-l3-agent-snat',
  ]);
  assert.deepEqual(chains(ns.iptables.mangle)['neutron-l3-agent-mark'], ['-i qg-7a8b9c0d-1e -j MARK --set-xmark 0x2/0xffff']);
});

test('without SNAT, floating IPs or gateway: only what remains', () => {
  const noSnat = chains(planNode(view([router({ enable_snat: false, floating_ips: [] })]), facts).desired.namespaces[NS].iptables.nat);
  assert.deepEqual(noSnat['neutron-l3-agent-snat'], [
    '-j neutron-l3-agent-float-snat',
    '-m mark ! --mark 0x2/0xffff -m conntrack --ctstate DNAT -j SNAT --to-source 10.123.123.102 --random-fully',
  ]);
  assert.deepEqual(noSnat['neutron-l3-agent-PREROUTING'], []);
  assert.deepEqual(noSnat['neutron-l3-agent-float-snat'], []);
  const ns = planNode(view([router({ gateway: null })]), facts).desired.namespaces[NS];
  assert.deepEqual(ns.routes, []);
  assert.deepEqual(
    ns.links.map((l) => l.name),
    ['lo', 'qr-0b1c2d3e-4f'],
  );
  assert.deepEqual(chains(ns.iptables.nat)['neutron-l3-agent-snat'], ['-j neutron-l3-agent-float-snat']);
});

test('no l3 role, router down, or an external network this node cannot wire', () => {
  assert.equal(planNode(view([router()]), { ...facts, roles: ['l2'] }).desired.namespaces[NS], undefined);
  assert.equal(planNode(view([router({ admin_state_up: false })]), facts).desired.namespaces[NS], undefined);
  const { desired, plugged } = planNode(view([router()]), { ...facts, physicalInterfaceMappings: {} });
  assert.deepEqual(
    desired.namespaces[NS].links.map((l) => l.name),
    ['lo', 'qr-0b1c2d3e-4f'],
  );
  assert.ok(!desired.namespaces[HOST].links.some((l) => l.name === 'tap7a8b9c0d-1e'));
  assert.deepEqual(
    plugged.map((p) => p.id),
    [qr.id],
  );
});

test('apply to the FakeKernel: the second diff is empty', async () => {
  const { desired } = planNode(view([router()]), facts);
  const host = controllerHost();
  const kernel = new FakeKernel({ namespaces: { [HOST]: host } });
  const scope = scopeFor(desired, { prefixes: ['qrouter-', 'qdhcp-'] });
  const first = diff(desired, await kernel.observe(scope));
  assert.deepEqual(first.unresolved, []);
  await kernel.apply(first.ops);
  assert.deepEqual(diff(desired, await kernel.observe(scope)).ops, []);
  // Disassociating the floating IP removes exactly its address and rules.
  const after = planNode(view([router({ floating_ips: [] })]), facts).desired;
  const plan = diff(after, await kernel.observe(scopeFor(after, { prefixes: ['qrouter-', 'qdhcp-'] })));
  assert.ok(
    plan.ops.some((o) => o.op === 'addr-del' || JSON.stringify(o).includes('10.123.123.104/32')),
    JSON.stringify(plan.ops),
  );
  await kernel.apply(plan.ops);
  const seen = await kernel.observe(scopeFor(after, { prefixes: ['qrouter-', 'qdhcp-'] }));
  assert.ok(!seen.namespaces[NS]!.addresses.some((a) => a.address === '10.123.123.104/32'));
  assert.deepEqual(diff(after, seen).ops, []);
});
