// Targeted passes: the slice one change concerns (kernel/slice.ts), chains edited in place
// (diff-iptables chainEdit), link events, and agent passes on a fake node with many ports: a
// targeted pass converges the node as a full pass would and touches nothing outside its slice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLinkEvent } from '../../src/agent/link-monitor.ts';
import { agentPass, tapsAfter, type Facts, type PriorPass } from '../../src/agent/pass.ts';
import { FakeKernel } from '../../src/exec/fake.ts';
import { diff } from '../../src/kernel/diff.ts';
import { chainEdit, MIN_RULES_FOR_EDIT } from '../../src/kernel/diff-iptables.ts';
import { bridgeName, sgChains, tapName } from '../../src/kernel/names.ts';
import { renderTable } from '../../src/kernel/render-iptables.ts';
import { scopeFor } from '../../src/kernel/scope.ts';
import { sameValue, sliceBetween, sliceDesired, type Slice } from '../../src/kernel/slice.ts';
import { emptyObservedNamespace, HOST, type ObservedLink, type ObservedNode } from '../../src/kernel/types.ts';
import type { PortView } from '../../src/model/hostview.ts';
import { planNode } from '../../src/planner/index.ts';
import { computeFacts, FLAT, SG_NET, sgPort, sgView } from '../helpers/sg-view.ts';

const N = 40;
const hex = (i: number) => i.toString(16).padStart(4, '0');
const port = (i: number): PortView =>
  sgPort(`${hex(i)}aaaa-0000-4000-8000-00000000${hex(i)}`, `172.16.1.${i + 2}`, `fa:16:3e:00:${hex(i).slice(0, 2)}:${hex(i).slice(2)}`);
const PORTS = Array.from({ length: N }, (_, i) => port(i));
const NEW = port(N);
const { presentTaps: _unused, ...facts } = computeFacts([]);
const FACTS: Facts = facts;

const device = (ifindex: number, name: string, kind = 'device', alias: string | null = null): ObservedLink => ({
  ifindex,
  name,
  kind,
  mtu: 1500,
  up: true,
  operstate: 'UP',
  master: null,
  mac: `02:00:00:00:${hex(ifindex).slice(0, 2)}:${hex(ifindex).slice(2)}`,
  alias,
});

/** A node with `lo`, the provider NIC and the given ports' taps (made by a hypervisor: unmarked). */
function node(ports: PortView[]): ObservedNode {
  const host = emptyObservedNamespace();
  host.links.push(device(1, 'lo'), device(2, 'eth1'), ...ports.map((p, i) => device(10 + i, tapName(p.id), 'tap')));
  return { namespaces: { [HOST]: host } };
}

/** The same kernel state with one more link in HOST, as a hypervisor plugging a tap leaves it. */
function plugged(kernel: FakeKernel, link: ObservedLink): FakeKernel {
  const state = kernel.dump();
  state.namespaces[HOST]!.links.push(link);
  return new FakeKernel(state);
}

const view = (ports: PortView[]) => sgView(ports, undefined, FLAT);
const prior = (r: Awaited<ReturnType<typeof agentPass>>, events: PriorPass['events'] = new Map()): PriorPass => ({
  desired: r.desired,
  presentTaps: r.presentTaps,
  portStatus: r.portStatus,
  events,
});
const asSlice = (s: unknown): Slice => {
  assert.equal(typeof s, 'object', `a targeted pass, not ${String(s)}`);
  return s as Slice;
};
const fullDiff = async (kernel: FakeKernel, ports: PortView[], taps: PortView[] = ports) => {
  const { desired } = planNode(view(ports), { ...FACTS, presentTaps: new Set(taps.map((p) => tapName(p.id))) });
  desired.owner = (await agentPass(new FakeKernel(), view([]), FACTS)).desired.owner;
  return diff(desired, await kernel.observe(scopeFor(desired, { prefixes: ['qrouter-', 'qdhcp-'] })));
};

test("one more port: the slice is its tap, its bridge (the tap's master) and chains, and nothing of the other ports", () => {
  const taps = (ports: PortView[]) => ({ ...FACTS, presentTaps: new Set(ports.map((p) => tapName(p.id))) });
  const before = planNode(view(PORTS), taps(PORTS)).desired;
  const after = planNode(view([...PORTS, NEW]), taps([...PORTS, NEW])).desired;
  const slice = asSlice(sliceBetween(before, after));
  assert.deepEqual([...slice.links].sort(), [bridgeName(SG_NET), tapName(NEW.id)].sort());
  const { ingress, egress, spoof } = sgChains(NEW.id);
  const shared = ['FORWARD', 'INPUT', 'sg-chain', 'unknown-in', 'unknown-out'].map((c) => `neutron-linuxbri-${c}`);
  assert.deepEqual([...slice.chains.filter!].sort(), [ingress, egress, spoof, ...shared].sort());
  assert.deepEqual(slice.namespaces.size, 0);
  // The cut desired state holds only those objects.
  const cut = sliceDesired(after, slice).namespaces[HOST]!;
  assert.deepEqual(cut.links.map((l) => l.name).sort(), [...slice.links].sort());
  assert.equal(cut.iptables.filter!.length, 8);
});

test('a slice is refused when a full pass is needed: no previous state, HOST routes changed, too many links', () => {
  const d = planNode(view(PORTS), { ...FACTS, presentTaps: new Set(PORTS.map((p) => tapName(p.id))) }).desired;
  assert.equal(sliceBetween(null, d), 'no-previous-state');
  const routed = structuredClone(d);
  routed.namespaces[HOST]!.routes.push({ dst: '10.0.0.0/8', dev: 'eth1' });
  assert.equal(sliceBetween(d, routed), 'host-routes');
  const none = planNode(view(PORTS), { ...FACTS, presentTaps: new Set() }).desired;
  assert.equal(sliceBetween(none, d, [], { maxLinks: 10 }), 'too-large');
  // Nothing changed and no event: an empty slice.
  const same = asSlice(sliceBetween(d, structuredClone(d)));
  assert.equal(same.links.size + Object.keys(same.chains).length + same.ipsets.size + same.namespaces.size, 0);
});

test('a per-device HOST sysctl rides with its link in a slice; a namespace-wide one needs a full pass', () => {
  const d = planNode(view(PORTS), { ...FACTS, presentTaps: new Set(PORTS.map((p) => tapName(p.id))) }).desired;
  const bridge = bridgeName(SG_NET);
  const key = `net.ipv6.conf.${bridge}.disable_ipv6`;
  assert.ok(
    d.namespaces[HOST]!.sysctls.some((x) => x.key === key && x.value === '1'),
    'IPv6 off on the bridge',
  );
  const changed = structuredClone(d);
  changed.namespaces[HOST]!.sysctls = changed.namespaces[HOST]!.sysctls.map((x) => (x.key === key ? { ...x, value: '0' } : x));
  const slice = asSlice(sliceBetween(d, changed));
  assert.ok(slice.links.has(bridge));
  assert.deepEqual(sliceDesired(changed, slice).namespaces[HOST]!.sysctls, [{ key, value: '0' }]);
  const global = structuredClone(d);
  global.namespaces[HOST]!.sysctls.push({ key: 'net.ipv4.ip_forward', value: '1' });
  assert.equal(sliceBetween(d, global), 'host-sysctls');
});

test('targeted passes on a node with many ports: plug, then delete, one port; the node ends as a full pass leaves it', async () => {
  let kernel = new FakeKernel(node(PORTS));
  const first = await agentPass(kernel, view(PORTS), FACTS);
  assert.ok(first.converged, JSON.stringify(first.unresolved));
  assert.equal(first.scope, 'full');
  assert.ok(PORTS.every((p) => first.portStatus[p.id] === 'ACTIVE'));

  // The port is bound (chains planned before the tap exists), then its tap is plugged.
  const bound = await agentPass(kernel, view([...PORTS, NEW]), FACTS, prior(first));
  assert.ok(bound.converged);
  assert.deepEqual([...asSlice(bound.scope).links], []);
  assert.equal(bound.portStatus[NEW.id], 'DOWN');
  const before = kernel.dump();
  kernel = plugged(kernel, device(999, tapName(NEW.id), 'tap'));
  const plug = await agentPass(kernel, view([...PORTS, NEW]), FACTS, prior(bound, new Map([[tapName(NEW.id), true]])));
  assert.ok(plug.converged, JSON.stringify(plug.unresolved));
  const slice = asSlice(plug.scope);
  assert.deepEqual([...slice.links].sort(), [bridgeName(SG_NET), tapName(NEW.id)].sort());
  assert.equal(plug.ops, 1, 'the tap joins its bridge: one link-set');
  assert.equal(plug.portStatus[NEW.id], 'ACTIVE');
  assert.ok(
    PORTS.every((p) => plug.portStatus[p.id] === 'ACTIVE'),
    'the other ports keep their status',
  );
  assert.deepEqual((await fullDiff(kernel, [...PORTS, NEW])).ops, [], 'a full pass finds nothing left to do');
  // Nothing but the new tap changed.
  const after = kernel.dump();
  const others = (n: ObservedNode) => n.namespaces[HOST]!.links.filter((l) => l.name !== tapName(NEW.id));
  assert.deepEqual(others(after), others(before));

  // The port is deleted: its chains go, every other chain stays as it was.
  const gone = await agentPass(kernel, view(PORTS), FACTS, prior(plug));
  assert.ok(gone.converged);
  // Its tap is the hypervisor's and stays as it is until the instance goes: not even read.
  assert.deepEqual([...asSlice(gone.scope).links], []);
  assert.equal(kernel.dump().namespaces[HOST]!.links.find((l) => l.name === tapName(NEW.id))?.master, bridgeName(SG_NET));
  const chains = (n: ObservedNode) => new Map(n.namespaces[HOST]!.iptables.filter!.map((c) => [c.name, c.rules]));
  const was = chains(after);
  const now = chains(kernel.dump());
  const { ingress, egress, spoof } = sgChains(NEW.id);
  for (const c of [ingress, egress, spoof]) assert.ok(was.has(c) && !now.has(c), c);
  for (const [name, rules] of now) {
    if (name.startsWith('neutron-linuxbri-') && !/-(FORWARD|INPUT|sg-chain|unknown-in|unknown-out)$/.test(name)) {
      assert.deepEqual(rules, was.get(name), name);
    }
  }
  assert.ok(![...now.values()].flat().some((r) => r.includes(tapName(NEW.id))), 'no rule names the deleted port');
  assert.deepEqual((await fullDiff(kernel, PORTS, [...PORTS, NEW])).ops, []);
});

test('a targeted pass never removes what lies outside its slice; the next full pass does', async () => {
  const start = node(PORTS);
  start.namespaces[HOST]!.links.push(device(500, 'brqstale-00', 'bridge', 'neutrino'));
  let kernel = new FakeKernel(start);
  const first = await agentPass(kernel, view(PORTS), FACTS);
  assert.ok(!kernel.dump().namespaces[HOST]!.links.some((l) => l.name === 'brqstale-00'), 'the full pass removes the stale bridge');
  // Drift no event reports: a stale marked bridge appears again, and a port's chain loses its rules.
  const drifted = kernel.dump();
  drifted.namespaces[HOST]!.links.push(device(501, 'brqstale-00', 'bridge', 'neutrino'));
  const egress = sgChains(PORTS[0]!.id).egress;
  drifted.namespaces[HOST]!.iptables.filter!.find((c) => c.name === egress)!.rules = [];
  kernel = new FakeKernel(drifted);
  kernel = plugged(kernel, device(999, tapName(NEW.id), 'tap'));
  const plug = await agentPass(kernel, view([...PORTS, NEW]), FACTS, prior(first, new Map([[tapName(NEW.id), true]])));
  assert.ok(plug.converged);
  const host = kernel.dump().namespaces[HOST]!;
  assert.ok(
    host.links.some((l) => l.name === 'brqstale-00'),
    'outside the slice: left alone',
  );
  assert.deepEqual(host.iptables.filter!.find((c) => c.name === egress)!.rules, []);
  const full = await agentPass(kernel, view([...PORTS, NEW]), FACTS);
  assert.ok(full.converged);
  assert.ok(!kernel.dump().namespaces[HOST]!.links.some((l) => l.name === 'brqstale-00'));
  assert.ok(kernel.dump().namespaces[HOST]!.iptables.filter!.find((c) => c.name === egress)!.rules.length > 0);
});

test('chainEdit: a long chain changed by a few rules is edited in place, by position', () => {
  const rules = Array.from({ length: MIN_RULES_FOR_EDIT + 8 }, (_, i) => `-m physdev --physdev-in tap${hex(i)} -j RETURN`);
  const want = [...rules.slice(0, 5), '-j NEW1', ...rules.slice(6, 20), '-j NEW2', ...rules.slice(20)];
  const edit = chainEdit('neutron-x', rules, want)!;
  assert.deepEqual(edit.deleteAt, [6]);
  assert.deepEqual(edit.insert, [
    { at: 6, rule: '-j NEW1' },
    { at: 21, rule: '-j NEW2' },
  ]);
  // Replayed as the kernel runs it (deletions first, descending; then insertions, ascending).
  const replay = [...rules];
  for (const at of edit.deleteAt) replay.splice(at - 1, 1);
  for (const { at, rule } of edit.insert) replay.splice(at - 1, 0, rule);
  assert.deepEqual(replay, want);
  assert.match(
    renderTable('filter', { write: [], builtins: [], delete: [], edit: [edit] }),
    /-D neutron-x 6\n-I neutron-x 6 -j NEW1\n-I neutron-x 21 -j NEW2\n/,
  );
  // Rewritten instead: short chains, other orders, repeated rules, many changes.
  assert.equal(chainEdit('c', rules.slice(0, 4), ['-j X', ...rules.slice(0, 4)]), undefined);
  assert.equal(chainEdit('c', rules, [rules[1]!, rules[0]!, ...rules.slice(2)]), undefined);
  assert.equal(chainEdit('c', [...rules, rules[0]!], rules), undefined);
  assert.equal(
    chainEdit(
      'c',
      rules,
      rules.map((r) => `${r} x`),
    ),
    undefined,
  );
});

test('a long chain edited in place on the fake kernel ends as desired', async () => {
  const taps = Array.from({ length: 60 }, (_, i) => port(100 + i)).map((p) => ({ ...p, port_security_enabled: false }));
  const kernel = new FakeKernel(node(taps));
  const r1 = await agentPass(kernel, view(taps), FACTS);
  assert.ok(r1.converged);
  const more = [...taps.slice(0, 30), ...taps.slice(31), { ...NEW, port_security_enabled: false }];
  const k2 = plugged(kernel, device(999, tapName(NEW.id), 'tap'));
  const r2 = await agentPass(k2, view(more), FACTS, prior(r1, new Map([[tapName(NEW.id), true]])));
  assert.ok(r2.converged, JSON.stringify(r2.unresolved));
  assert.deepEqual((await fullDiff(k2, more, [...taps, NEW])).ops, []);
});

test('a long chain the last pass left is edited without being read, its rules deleted by text; drift there fails the pass, a full pass repairs it', async () => {
  const taps = Array.from({ length: 60 }, (_, i) => port(200 + i)).map((p) => ({ ...p, port_security_enabled: false }));
  let kernel = new FakeKernel(node(taps));
  const r1 = await agentPass(kernel, view(taps), FACTS);
  assert.ok(r1.converged);
  // One port deleted: its rules go from the node-wide chains, by their text.
  const fewer = taps.filter((_, i) => i !== 30);
  const r2 = await agentPass(kernel, view(fewer), FACTS, prior(r1));
  assert.ok(r2.converged, JSON.stringify(r2.unresolved));
  const unknownIn = 'neutron-linuxbri-unknown-in';
  assert.ok(asSlice(r2.scope).chains.filter!.has(unknownIn));
  assert.deepEqual((await fullDiff(kernel, fewer, taps)).ops, []);
  const gone = `-m physdev --physdev-in ${tapName(taps[30]!.id)} -j RETURN`;
  const text = renderTable('filter', {
    write: [],
    builtins: [],
    delete: [],
    edit: [
      chainEdit(
        unknownIn,
        r1.desired.namespaces[HOST]!.iptables.filter!.find((c) => c.name === unknownIn)!.rules,
        r2.desired.namespaces[HOST]!.iptables.filter!.find((c) => c.name === unknownIn)!.rules,
        true,
      )!,
    ],
  });
  assert.match(text, new RegExp(`\n-D ${unknownIn} ${gone.replace(/[-+]/g, '\\$&')}\n`));

  // Drift inside the next slice: the rule the next deletion expects is gone already.
  const drifted = kernel.dump();
  const chain = drifted.namespaces[HOST]!.iptables.filter!.find((c) => c.name === unknownIn)!;
  chain.rules = chain.rules.filter((r) => !r.includes(tapName(taps[31]!.id)));
  kernel = new FakeKernel(drifted);
  const fewest = fewer.filter((p) => p.id !== taps[31]!.id);
  const r3 = await agentPass(kernel, view(fewest), FACTS, prior(r2));
  assert.equal(r3.converged, false, 'the transaction fails: nothing else is deleted in its stead');
  assert.equal(kernel.dump().namespaces[HOST]!.iptables.filter!.find((c) => c.name === unknownIn)!.rules.length, chain.rules.length);
  const full = await agentPass(kernel, view(fewest), FACTS);
  assert.ok(full.converged);
  assert.deepEqual((await fullDiff(kernel, fewest, taps)).ops, []);
});

test('sameValue: equal as JSON prints them, whatever the order of keys; an undefined key counts as absent', () => {
  assert.ok(sameValue({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 }));
  assert.ok(sameValue({ a: 1, m: undefined }, { a: 1 }));
  assert.ok(sameValue(null, null));
  assert.ok(!sameValue({ a: 1 }, { a: 2 }));
  assert.ok(!sameValue({ a: 1 }, { a: 1, b: null }));
  assert.ok(!sameValue([1, 2], [2, 1]));
  assert.ok(!sameValue([1], { 0: 1 }));
  assert.ok(!sameValue({ a: null }, { a: undefined }));
  assert.ok(!sameValue('1', 1));
});

test('link events: names and presence from `ip -o monitor link` lines; the taps they leave present', () => {
  assert.deepEqual(parseLinkEvent('3: tapabc@tapdef: <BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state DOWN'), {
    name: 'tapabc',
    present: true,
  });
  assert.deepEqual(parseLinkEvent('Deleted 3: tapabc@NONE: <BROADCAST,MULTICAST> mtu 1500 master brqx'), {
    name: 'tapabc',
    present: false,
  });
  assert.deepEqual(parseLinkEvent('4: brqx: <BROADCAST,MULTICAST> mtu 1500 qdisc noop'), { name: 'brqx', present: true });
  assert.equal(parseLinkEvent('    link/ether 6a:3d:14:67:42:e0'), null);
  const taps = tapsAfter(
    new Set(['tapa', 'tapb']),
    new Map([
      ['tapa', false],
      ['tapc', true],
      ['brqx', true],
    ]),
  );
  assert.deepEqual([...taps].sort(), ['tapb', 'tapc']);
});
