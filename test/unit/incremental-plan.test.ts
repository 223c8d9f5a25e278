// Planning with reuse (a port's chains, node-wide rules and tap links kept while the port's object
// stays the same, the slice's indexes kept with each desired state) must give exactly what planning
// anew gives. Random changes, applied the way a host view delta applies them (unchanged entries keep
// their objects), each planned both ways and compared, and so is the slice between consecutive states.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tapName } from '../../src/kernel/names.ts';
import { sliceBetween, type Slice } from '../../src/kernel/slice.ts';
import { emptyDesiredNamespace, HOST, type DesiredNode } from '../../src/kernel/types.ts';
import type { HostView, PortView, SecurityGroupView } from '../../src/model/hostview.ts';
import { planNode } from '../../src/planner/index.ts';
import { PortChainMemo } from '../../src/planner/port-memo.ts';
import { computeFacts, FLAT, rule, scenarioGroup, SG_ID, sgPort, sgView } from '../helpers/sg-view.ts';

const PEERS = '7e1f0c55-5d7e-4c1a-9a2b-3c4d5e6f7a8b';
const STATELESS = '8f2a1d66-6e8f-4d2b-8b3c-4d5e6f7a8b9c';

/** A small deterministic generator (mulberry32): the same changes on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (i: number) => i.toString(16).padStart(4, '0');

interface State {
  ports: PortView[];
  groups: SecurityGroupView[];
  taps: Set<string>;
  /** The host view of ports and groups, kept while only taps change (as the agent keeps its view object). */
  view?: HostView;
}

function initialState(): State {
  const groups: SecurityGroupView[] = [
    scenarioGroup(),
    { id: PEERS, name: 'peers', stateful: true, member_ips: ['172.16.9.1'], rules: [rule({ id: 'p', remote_group_id: PEERS })] },
    { id: STATELESS, name: 'open', stateful: false, member_ips: [], rules: [rule({ id: 's', direction: 'egress' })] },
  ];
  return { ports: [], groups, taps: new Set() };
}

/** One random change; every entry it leaves alone keeps its object, as in a host view after a delta. */
function change(s: State, next: () => number, n: number): { state: State; events: Map<string, boolean> } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const events = new Map<string, boolean>();
  const kind = s.ports.length < 5 ? 'add' : pick(['add', 'add', 'remove', 'port', 'copy', 'group', 'members', 'plug', 'unplug']);
  let { ports, groups, taps } = s;
  if (kind === 'add') {
    const groupIds = pick([[SG_ID], [PEERS], [SG_ID, PEERS], [STATELESS]]);
    const p = sgPort(
      `${hex(n)}dddd-0000-4000-8000-00000000${hex(n)}`,
      `172.16.${n >> 8}.${(n & 255) + 2}`,
      `fa:16:3e:03:${hex(n).slice(0, 2)}:${hex(n).slice(2)}`,
      {
        security_groups: groupIds,
        port_security_enabled: next() < 0.7,
      },
    );
    const at = Math.floor(next() * (ports.length + 1));
    ports = [...ports.slice(0, at), p, ...ports.slice(at)];
  } else if (kind === 'remove') {
    const gone = pick(ports);
    ports = ports.filter((p) => p !== gone);
  } else if (kind === 'port' || kind === 'copy') {
    const old = pick(ports);
    const changed: PortView =
      kind === 'copy'
        ? { ...old } // the same port as a new object (a whole view fetched again)
        : pick([
            { ...old, admin_state_up: !old.admin_state_up },
            { ...old, port_security_enabled: !old.port_security_enabled },
            { ...old, allowed_address_pairs: [{ ip_address: `10.9.${n & 255}.1`, mac_address: '' }] },
            { ...old, security_groups: old.security_groups.includes(PEERS) ? [SG_ID] : [SG_ID, PEERS] },
          ]);
    ports = ports.map((p) => (p === old ? changed : p));
  } else if (kind === 'group') {
    const g = pick(groups);
    const extra = rule({ id: `r${n}`, protocol: 'tcp', port_range_min: n, port_range_max: n });
    groups = groups.map((x) => (x === g ? { ...g, rules: [...g.rules, extra] } : x));
  } else if (kind === 'members') {
    groups = groups.map((x) => (x.id === PEERS ? { ...x, member_ips: [...x.member_ips, `172.16.9.${(n & 127) + 2}`] } : x));
  } else {
    const tap = tapName(pick(ports).id);
    taps = new Set(taps);
    if (kind === 'plug') taps.add(tap);
    else taps.delete(tap);
    events.set(tap, kind === 'plug');
    return { state: { ports, groups, taps, view: s.view }, events };
  }
  return { state: { ports, groups, taps }, events };
}

const planOf = (s: State, memo?: PortChainMemo): DesiredNode => {
  const { presentTaps: _none, ...facts } = computeFacts([]);
  s.view ??= sgView(s.ports, s.groups, FLAT);
  return planNode(s.view, { ...facts, presentTaps: s.taps }, memo).desired;
};

test('planning with reuse gives what planning anew gives, and so does the slice, over random changes', () => {
  let wholeReused = 0;
  for (const seed of [1, 2, 3]) {
    const next = random(seed);
    const memo = new PortChainMemo();
    let state = initialState();
    let before = planOf(state, memo);
    for (let n = 1; n <= 100; n++) {
      const step = change(state, next, n);
      state = step.state;
      const reused = planOf(state, memo);
      // Anew: fresh objects everywhere, so nothing kept with the old ones can be taken.
      const anew = planOf(structuredClone(state));
      assert.deepEqual(reused, anew, `seed ${seed}, change ${n}`);
      assert.deepEqual(
        sliceBetween(before, reused, step.events.keys()),
        sliceBetween(structuredClone(before), anew, step.events.keys()),
        `seed ${seed}, slice of change ${n}`,
      );
      before = reused;
    }
    wholeReused += memo.stats.wholeReused;
  }
  // The plugs and unplugs among the changes planned from the view before them.
  assert.ok(wholeReused > 10, `whole firewall plans taken again: ${wholeReused}`);
});

test('a tap plugged into an unchanged view takes the whole firewall plan again, and the next change still reuses each port', () => {
  const memo = new PortChainMemo();
  const ports = Array.from({ length: 50 }, (_, i) =>
    sgPort(`${hex(i)}ffff-0000-4000-8000-00000000${hex(i)}`, `172.16.6.${i + 2}`, `fa:16:3e:06:00:${hex(i).slice(2)}`),
  );
  const state: State = { ports, groups: [scenarioGroup()], taps: new Set() };
  const first = planOf(state, memo);
  const planned = memo.stats.planned;
  const plugged = planOf({ ...state, taps: new Set([tapName(ports[0]!.id)]) }, memo);
  assert.equal(memo.stats.wholeReused, 1);
  assert.equal(memo.stats.planned, planned, 'no port planned again');
  assert.equal(plugged.namespaces[HOST]!.iptables.filter![0], first.namespaces[HOST]!.iptables.filter![0], 'the same chain objects');
  assert.ok(
    plugged.namespaces[HOST]!.links.some((l) => l.name === tapName(ports[0]!.id)),
    'the plugged tap is wired',
  );
  // After an empty delta: a new view object at a new revision, every section the same object.
  planNode({ ...state.view!, revision: state.view!.revision + 1 }, { ...computeFacts([]), presentTaps: new Set() }, memo);
  assert.equal(memo.stats.wholeReused, 2);
  // A section that is a new array (a delta touched it) is planned again, even with equal content.
  planNode({ ...state.view!, ports: [...ports] }, { ...computeFacts([]), presentTaps: new Set() }, memo);
  assert.equal(memo.stats.wholeReused, 2, 'a new ports section: planned anew');
  // A new view with one more port: the other ports' entries survived the passes that asked for none.
  memo.stats.reused = 0;
  memo.stats.planned = 0;
  planOf(
    {
      ports: [...ports, sgPort('ffffffff-0000-4000-8000-00000000ffff', '172.16.7.2', 'fa:16:3e:07:00:01')],
      groups: state.groups,
      taps: new Set(),
    },
    memo,
  );
  assert.equal(memo.stats.planned, 2, 'the new port, in both families');
  assert.equal(memo.stats.reused, 2 * ports.length);
  // The same view object with other settings is planned again.
  const { presentTaps: _none, ...facts } = computeFacts([]);
  planNode(state.view!, { ...facts, presentTaps: new Set(), enableIpset: false }, memo);
  assert.equal(memo.stats.wholeReused, 2, 'another key: planned anew');
});

test('one more port plans that port alone: the others keep their chains, tap links and node-wide rules', () => {
  const memo = new PortChainMemo();
  const ports = Array.from({ length: 200 }, (_, i) =>
    sgPort(`${hex(i)}eeee-0000-4000-8000-00000000${hex(i)}`, `172.16.4.${i + 2}`, `fa:16:3e:04:00:${hex(i).slice(2)}`),
  );
  const taps = new Set(ports.map((p) => tapName(p.id)));
  const first = planOf({ ports, groups: [scenarioGroup()], taps }, memo);
  memo.stats.planned = 0;
  const more = [...ports, sgPort('ffffeeee-0000-4000-8000-00000000ffff', '172.16.5.2', 'fa:16:3e:05:00:01')];
  const second = planOf({ ports: more, groups: [scenarioGroup()], taps: new Set([...taps, tapName(more.at(-1)!.id)]) }, memo);
  assert.equal(memo.stats.planned, 2, 'its chains, in both families');
  const links = (d: DesiredNode) => new Map(d.namespaces[HOST]!.links.map((l) => [l.name, l]));
  const tap0 = tapName(ports[0]!.id);
  assert.equal(links(second).get(tap0), links(first).get(tap0), 'the same tap link object');
});

test('the slice closes over veths both ways: a namespace that changed brings its HOST ends and their bridge, a HOST end brings its namespace', () => {
  const ns = 'qrouter-1';
  const node = (routes: string[], mtu: number): DesiredNode => {
    const host = emptyDesiredNamespace();
    host.links.push(
      { kind: 'bridge', name: 'brqnet', up: true },
      { kind: 'veth', name: 'tapr1', up: true, master: 'brqnet', mtu, peer: { name: 'qr-1', netns: ns } },
      { kind: 'device', name: 'tapother', up: true, master: 'brqother' },
    );
    const router = emptyDesiredNamespace();
    router.routes.push(...routes.map((dst) => ({ dst, via: '10.0.0.1', dev: 'qr-1' })));
    return { namespaces: { [HOST]: host, [ns]: router } };
  };
  const base = node([], 1500);
  const routed = sliceBetween(base, node(['10.9.0.0/16'], 1500)) as Slice;
  assert.deepEqual([...routed.namespaces], [ns]);
  assert.deepEqual([...routed.links].sort(), ['brqnet', 'tapr1']);
  const resized = sliceBetween(base, node([], 1450)) as Slice;
  assert.deepEqual([...resized.namespaces], [ns]);
  assert.deepEqual([...resized.links].sort(), ['brqnet', 'tapr1']);
  // The same slices when nothing was indexed before (fresh copies).
  assert.deepEqual(sliceBetween(structuredClone(base), node(['10.9.0.0/16'], 1500)), routed);
});
