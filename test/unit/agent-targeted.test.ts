// The parts of a targeted pass whose cost must not grow with the node: a port's chains planned once
// and reused while it and its groups' rules stay the same (planner/port-memo.ts), the slice's links
// read whole beyond a few dozen (exec/observe-slice.ts), a burst of link events taken in one targeted
// pass, and chains and IP sets taken from the last converged pass instead of read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isFullPass } from '../../src/agent/full-pass.ts';
import { agentPass, type Facts, type PriorPass } from '../../src/agent/pass.ts';
import { withoutEchoes } from '../../src/agent/link-echoes.ts';
import { parseLinkState, type SeenLinks } from '../../src/agent/link-monitor.ts';
import { FakeKernel } from '../../src/exec/fake.ts';
import { FDB_DEVICES_READ_ALONE, LINKS_READ_ALONE, observeHostSlice, readFdb, readLinks } from '../../src/exec/observe-slice.ts';
import type { RunOptions, RunResult } from '../../src/exec/run.ts';
import { ExecError } from '../../src/exec/errors.ts';
import { reconcileSlice } from '../../src/exec/reconcile.ts';
import type { Kernel } from '../../src/exec/kernel.ts';
import { bridgeName, sgChains, tapName } from '../../src/kernel/names.ts';
import { sliceBetween, type Slice } from '../../src/kernel/slice.ts';
import { emptyObservedNamespace, HOST, type ObservedNode } from '../../src/kernel/types.ts';
import type { PortView } from '../../src/model/hostview.ts';
import { planNode } from '../../src/planner/index.ts';
import { PortChainMemo } from '../../src/planner/port-memo.ts';
import { computeFacts, FLAT, rule, scenarioGroup, SG_ID, sgPort, sgView } from '../helpers/sg-view.ts';

const hex = (i: number) => i.toString(16).padStart(4, '0');
const port = (i: number): PortView =>
  sgPort(`${hex(i)}cccc-0000-4000-8000-00000000${hex(i)}`, `172.16.2.${i + 2}`, `fa:16:3e:02:${hex(i).slice(0, 2)}:${hex(i).slice(2)}`);
const PORTS = Array.from({ length: 30 }, (_, i) => port(i));
const { presentTaps: _unused, ...facts } = computeFacts([]);
const FACTS: Facts = facts;
const withTaps = (ports: PortView[]) => ({ ...FACTS, presentTaps: new Set(ports.map((p) => tapName(p.id))) });
const view = (ports: PortView[], groups = [scenarioGroup()]) => sgView(ports, groups, FLAT);
const chainsOf = (ports: PortView[], memo?: PortChainMemo, groups = [scenarioGroup()]) =>
  planNode(view(ports, groups), withTaps(ports), memo).desired;

test('port chain memo: the same plan as without it; only the ports a change concerns are planned again', () => {
  const memo = new PortChainMemo();
  const first = chainsOf(PORTS, memo);
  assert.deepEqual(first, chainsOf(PORTS));
  // Both families: each port with port security has its chains planned once per family.
  assert.equal(memo.stats.planned, 2 * PORTS.length);

  const planned = () => {
    const n = memo.stats.planned;
    memo.stats.planned = 0;
    return n;
  };
  planned();
  // One more port: only it is planned; every other port's chains are the very same objects.
  const more = [...PORTS, port(99)];
  const second = chainsOf(more, memo);
  assert.deepEqual(second, chainsOf(more));
  assert.equal(planned(), 2);
  const byName = (d: typeof first) => new Map(d.namespaces[HOST]!.iptables.filter!.map((c) => [c.name, c]));
  const ingress0 = sgChains(PORTS[0]!.id).ingress;
  assert.equal(byName(second).get(ingress0), byName(first).get(ingress0));

  // A port object made anew (a full view fetched again) and group members change no chain: nothing planned.
  const moved = [{ ...PORTS[0]! }, ...PORTS.slice(1)];
  const members = { ...scenarioGroup(), member_ips: ['172.16.2.200'] };
  assert.deepEqual(chainsOf(moved, memo, [members]), chainsOf(moved, undefined, [members]));
  assert.equal(planned(), 0);

  // A port's own change (an address pair) plans that port again; a group's rules, all its ports.
  const paired = [
    { ...PORTS[3]!, allowed_address_pairs: [{ ip_address: '10.9.9.9', mac_address: '' }] },
    ...PORTS.filter((_, i) => i !== 3),
  ];
  assert.deepEqual(chainsOf(paired, memo), chainsOf(paired));
  assert.equal(planned(), 2);
  const opened = [scenarioGroup([rule({ id: 'http', protocol: 'tcp', port_range_min: 80, port_range_max: 80 })])];
  assert.deepEqual(chainsOf(PORTS, memo, opened), chainsOf(PORTS, undefined, opened));
  assert.equal(planned(), 2 * PORTS.length);

  // Ports no longer planned are forgotten.
  chainsOf(PORTS.slice(0, 5), memo);
  assert.equal(memo.size, 2 * 5);
});

test('a burst of link events (a thousand new taps) is one targeted slice, not a full pass', () => {
  const many = Array.from({ length: 1000 }, (_, i) => ({ ...port(1000 + i), port_security_enabled: false }));
  const before = planNode(view(many), { ...FACTS, presentTaps: new Set() }).desired;
  const after = planNode(view(many), withTaps(many)).desired;
  // The events also name the hypervisor's ends of the veths, which are no concern of neutrino's.
  const events = many.flatMap((p, i) => [tapName(p.id), `bp${i}`]);
  const slice = sliceBetween(before, after, events);
  assert.equal(typeof slice, 'object', String(slice));
  const links = (slice as Slice).links;
  assert.ok(many.every((p) => links.has(tapName(p.id))));
  assert.ok(links.has(bridgeName(many[0]!.network_id)));
});

/** A runner that answers from a table of argv → stdout, and records what ran. */
function fakeRunner(answers: (argv: readonly string[]) => string | ExecError) {
  const ran: string[][] = [];
  const run = async (argv: readonly string[], _opts?: RunOptions): Promise<RunResult> => {
    ran.push([...argv]);
    const out = answers(argv);
    if (out instanceof ExecError) throw out;
    return { stdout: out, stderr: '' };
  };
  return { run, ran };
}

const link = (name: string, i: number) => ({
  ifindex: i,
  ifname: name,
  flags: ['UP'],
  mtu: 1500,
  operstate: 'UP',
  link_type: 'ether',
  address: '02:00:00:00:00:01',
  addr_info: [],
});

test('fdb entries of a few devices: one listing each (a missing device has none); of many, one listing of the namespace, cut', async () => {
  const entry = (dst: string) => ({ mac: '00:00:00:00:00:00', dst, flags: ['self'], state: 'permanent' });
  const r1 = fakeRunner((argv) => {
    const dev = argv.at(-1)!;
    if (dev === 'vxlan-9') throw new ExecError('not-found', argv, 255, `Cannot find device "${dev}"`);
    return JSON.stringify([entry(`10.0.0.${dev.slice(6)}`)]);
  });
  assert.deepEqual(await readFdb(r1.run, 'ns', ['vxlan-1', 'vxlan-9']), [{ ...entry('10.0.0.1'), ifname: 'vxlan-1' }]);
  assert.deepEqual(r1.ran, [
    ['bridge', '-j', 'fdb', 'show', 'dev', 'vxlan-1'],
    ['bridge', '-j', 'fdb', 'show', 'dev', 'vxlan-9'],
  ]);
  const many = Array.from({ length: FDB_DEVICES_READ_ALONE + 1 }, (_, i) => `vxlan-${i + 1}`);
  const r2 = fakeRunner(() =>
    JSON.stringify([
      ...many.map((d, i) => ({ ...entry(`10.0.1.${i}`), ifname: d })),
      { mac: 'fa:16:3e:00:00:01', ifname: 'tapa', flags: ['self'], state: 'permanent' },
    ]),
  );
  assert.deepEqual(
    (await readFdb(r2.run, 'ns', many)).map((e) => e.ifname),
    many,
  );
  assert.deepEqual(r2.ran, [['bridge', '-j', 'fdb', 'show']]);
  assert.deepEqual(await readFdb(r2.run, 'ns', []), []);
  assert.equal(r2.ran.length, 1, 'no device, no command');
});

test('links of a slice: a few read by name in one batch, many read in one dump of the namespace and cut; namespace ids only when needed', async () => {
  const few = ['tapa', 'brqx'];
  const r1 = fakeRunner(() => few.map((n, i) => JSON.stringify([link(n, i + 2)])).join('\n'));
  assert.deepEqual(
    (await readLinks(r1.run, 'ns', few)).map((l) => l.ifname),
    few,
  );
  assert.deepEqual(r1.ran, [['ip', '-j', '-d', '-force', '-batch', '-']]);

  const many = Array.from({ length: LINKS_READ_ALONE + 1 }, (_, i) => `tap${hex(i)}`);
  const r2 = fakeRunner(() => JSON.stringify([...many, 'eth0', 'bp1'].map((n, i) => link(n, i + 2))));
  assert.deepEqual(
    (await readLinks(r2.run, 'ns', many)).map((l) => l.ifname),
    many,
  );
  assert.deepEqual(r2.ran, [['ip', '-j', '-d', 'addr', 'show']]);

  // A plug (a tap and its bridge): one process; namespace ids only when the slice holds a namespace
  // (the other end of one of neutrino's veths).
  const plug: Slice = { links: new Set(few), entryDevs: new Set(), chains: {}, chains6: {}, ipsets: new Set(), namespaces: new Set() };
  const r3 = fakeRunner((argv) => (argv.includes('list-id') ? '[]' : few.map((n, i) => JSON.stringify([link(n, i + 2)])).join('\n')));
  await observeHostSlice(r3.run, undefined, plug);
  assert.deepEqual(r3.ran, [['ip', '-j', '-d', '-force', '-batch', '-']]);
  const r4 = fakeRunner((argv) => (argv.includes('list-id') ? '[]' : few.map((n, i) => JSON.stringify([link(n, i + 2)])).join('\n')));
  await observeHostSlice(r4.run, undefined, { ...plug, namespaces: new Set(['qdhcp-x']) });
  assert.deepEqual(r4.ran, [
    ['ip', '-j', '-d', '-force', '-batch', '-'],
    ['ip', '-j', 'netns', 'list-id'],
  ]);
});

test('chains of a slice: one iptables-save per table and family, cut to the slice (a missing chain left out)', async () => {
  const many = Array.from({ length: 17 }, (_, i) => `neutron-c${i}`);
  const { run, ran } = fakeRunner((argv) => {
    if (argv[0] === 'iptables-save')
      return (
        '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:neutron-x - [0:0]\n:neutron-y - [0:0]\n' +
        '-A FORWARD -j neutron-filter-top\n-A neutron-x -m comment --comment "a b" -j RETURN\n-A neutron-y -j DROP\nCOMMIT\n'
      );
    if (argv[0] === 'ip6tables-save')
      return '*filter\n:INPUT ACCEPT [0:0]\n' + many.map((c) => `:${c} - [0:0]\n-A ${c} -j RETURN\n`).join('') + 'COMMIT\n';
    return '';
  });
  const slice: Slice = {
    links: new Set(),
    entryDevs: new Set(),
    chains: { filter: new Set(['FORWARD', 'neutron-x', 'neutron-gone']) },
    chains6: { filter: new Set(many) },
    ipsets: new Set(),
    namespaces: new Set(),
  };
  const { state } = await observeHostSlice(run, undefined, slice);
  assert.deepEqual(state.iptables.filter, [
    { name: 'FORWARD', policy: 'ACCEPT', rules: ['-j neutron-filter-top'] },
    { name: 'neutron-x', policy: null, rules: ['-m comment --comment "a b" -j RETURN'] },
  ]);
  assert.deepEqual(
    state.ip6tables!.filter!.map((c) => c.name),
    many,
    'cut to the slice: INPUT is left out',
  );
  assert.deepEqual(ran, [
    ['iptables-save', '-t', 'filter'],
    ['ip6tables-save', '-t', 'filter'],
  ]);
});

/** The fake kernel, recording what each slice observation read. */
class CountingKernel extends FakeKernel {
  reads: Slice[] = [];
  override async observeSlice(...args: Parameters<Kernel['observeSlice']>): Promise<ObservedNode> {
    this.reads.push(args[0]);
    return super.observeSlice(...args);
  }
}

test('a targeted pass reads no chains or IP sets: it takes them from the last converged pass; a failed apply is read again whole', async () => {
  const start: ObservedNode = { namespaces: { [HOST]: emptyObservedNamespace() } };
  const k = new CountingKernel(start);
  // A group allowing its members in: its IP set changes with the members.
  const peers = (ips: string[]) => [{ ...scenarioGroup([rule({ id: 'peers', remote_group_id: SG_ID })]), member_ips: ips }];
  const first = await agentPass(k, view(PORTS, peers(['172.16.2.2'])), FACTS);
  assert.ok(first.converged);
  const prior: PriorPass = { desired: first.desired, presentTaps: first.presentTaps, portStatus: first.portStatus, events: new Map() };
  // One more port bound (no tap yet): its chains, the node-wide ones and its group's set change, and none is read.
  const bound = await agentPass(k, view([...PORTS, port(99)], peers(['172.16.2.2', '172.16.2.101'])), FACTS, prior);
  assert.ok(bound.converged, JSON.stringify(bound.unresolved));
  assert.ok(bound.ops > 0);
  assert.ok(Object.keys((bound.scope as Slice).chains).length > 0);
  assert.ok((bound.scope as Slice).ipsets.size > 0);
  const chainsRead = (s: Slice) => Object.keys(s.chains).length + Object.keys(s.chains6).length + s.ipsets.size;
  assert.deepEqual(
    k.reads.map(chainsRead),
    k.reads.map(() => 0),
  );
  // The kernel is as a full pass would leave it.
  const check = await agentPass(k, view([...PORTS, port(99)], peers(['172.16.2.2', '172.16.2.101'])), FACTS);
  assert.equal(check.ops, 0);

  // A failing apply: the chains are read again to see where the node stands.
  const failing = new CountingKernel(k.dump());
  failing.apply = async () => {
    throw new Error('restore failed');
  };
  const slice = bound.scope as Slice;
  const r = await reconcileSlice(failing, planNode(view(PORTS, peers(['172.16.2.2'])), withTaps([])).desired, slice, {
    known: bound.desired,
  });
  assert.equal(r.converged, false);
  assert.deepEqual(failing.reads.at(-1), slice);
});

test('the periodic full pass lets a pending change go first, targeted, unless it is a whole gap late', () => {
  const gapMs = 3000;
  assert.equal(isFullPass(false, { dueInMs: 1000, gapMs }, true), true, 'nothing to build on');
  assert.equal(isFullPass(true, { dueInMs: 1000, gapMs }, false), false, 'not due');
  assert.equal(isFullPass(true, { dueInMs: -1, gapMs }, false), true, 'due, nothing waiting');
  assert.equal(isFullPass(true, { dueInMs: -1, gapMs }, true), false, 'due, a burst of events waiting');
  assert.equal(isFullPass(true, { dueInMs: -gapMs, gapMs }, true), true, 'a whole gap late');
});

test("a pass's own link changes, seen as events, are no change; anything else is", () => {
  const line = (name: string, rest: string) => `7: ${name}@if2: ${rest} \\    link/ether fa:16:3e:00:00:01 brd ff:ff:ff:ff:ff:ff`;
  const p = PORTS[0]!;
  const tap = tapName(p.id);
  const bridge = bridgeName(p.network_id);
  const desired = planNode(view(PORTS), withTaps(PORTS)).desired;
  const base = { desired, presentTaps: new Set(PORTS.map((q) => tapName(q.id))) };
  const wired = parseLinkState(
    line(tap, `<BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master ${bridge} state UP group default`),
  )!;
  assert.deepEqual(wired, { up: true, master: bridge, mtu: 1500, mac: 'fa:16:3e:00:00:01' });
  const unwired = parseLinkState(line(tap, '<BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN group default'))!;
  const names = (events: Map<string, boolean>, seen: SeenLinks) => [...withoutEchoes(events, seen, base).keys()];
  // The tap enslaved and up, as the pass wanted it: an echo; down or without its bridge: a change.
  assert.deepEqual(names(new Map([[tap, true]]), new Map([[tap, wired]])), []);
  assert.deepEqual(names(new Map([[tap, true]]), new Map([[tap, unwired]])), [tap]);
  assert.deepEqual(names(new Map([[tap, true]]), new Map([[tap, { ...wired, master: 'brqother' }]])), [tap]);
  // A tap gone that the pass counted as present, a new tap, a link it never wanted: changes.
  assert.deepEqual(names(new Map([[tap, false]]), new Map()), [tap]);
  const fresh = tapName(port(99).id);
  assert.deepEqual(names(new Map([[fresh, true]]), new Map([[fresh, unwired]])), [fresh]);
  // A link gone that it neither wanted nor counted (the other end of a veth): no change.
  assert.deepEqual(names(new Map([['bp7', false]]), new Map()), []);
  // Without a converged pass to compare with, every event counts.
  assert.deepEqual([...withoutEchoes(new Map([[tap, true]]), new Map([[tap, wired]]), null).keys()], [tap]);
});
