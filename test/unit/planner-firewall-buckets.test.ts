// The node-wide chains of a big node split by digit (planner/firewall-buckets.ts): the same verdicts
// as the long chains, checked by walking both layouts for every pair of taps, and the split only
// above the threshold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sgChains, tapName } from '../../src/kernel/names.ts';
import type { ChainSpec } from '../../src/kernel/types.ts';
import { BUCKET_ABOVE, splitByDigit, tapDigit } from '../../src/planner/firewall-buckets.ts';
import { planFirewall } from '../../src/planner/firewall.ts';
import { planFirewall6 } from '../../src/planner/firewall6.ts';
import type { PortView } from '../../src/model/hostview.ts';
import { scenarioGroup, sgPort, sgView } from '../helpers/sg-view.ts';

/** Ports whose ids start with several digits, some sharing one; one without port security, one trusted. */
const ids = ['0a', '0b', '3c', '3d', '7f', 'a0', 'f1', 'f2'];
const PORTS: PortView[] = ids.map((p, i) =>
  sgPort(
    `${p}${'0'.repeat(6)}-0000-4000-8000-0000000000${i.toString().padStart(2, '0')}`,
    `172.16.1.${10 + i}`,
    `fa:16:3e:00:00:${10 + i}`,
    {
      ...(i === 2 ? { port_security_enabled: false, security_groups: [] } : {}),
      ...(i === 5 ? { device_owner: 'network:dhcp' } : {}),
    },
  ),
);
const SERVICE = '5e000000-0000-4000-8000-000000000099'; // a DHCP port of this node the view does not list
const UNKNOWN = ['tap3e000000-00', 'tap99000000-00', 'tapzz'];

type Verdict = 'ACCEPT' | 'DROP' | 'CONTINUE';
interface Packet {
  in: string | null;
  out: string | null;
}

/** What a rule's physdev match asks, with iptables' `+` wildcard. */
function matches(rule: string, p: Packet): boolean {
  for (const dir of ['in', 'out'] as const) {
    const m = new RegExp(`--physdev-${dir} (\\S+)`).exec(rule);
    if (!m) continue;
    const dev = p[dir];
    const want = m[1]!;
    if (dev === null) return false;
    if (want.endsWith('+') ? !dev.startsWith(want.slice(0, -1)) : dev !== want) return false;
  }
  return true;
}

/**
 * Walks `chain` as the kernel would for the packet, with the per-port chains as leaves: each
 * records its visit and gives the verdict `leaf` says. Returns the verdict and the leaves visited.
 */
function walk(table: Map<string, string[]>, p: Packet, leaf: (chain: string) => Verdict): { verdict: Verdict; visited: Set<string> } {
  const visited = new Set<string>();
  const isLeaf = (c: string) => /^neutron-linuxbri-[ios][0-9a-f-]{10}$/.test(c);
  // 'RETURN' ends this chain; a goto's chain returns to the caller's caller.
  const run = (name: string): Verdict | 'RETURN' => {
    if (isLeaf(name)) {
      visited.add(name);
      const v = leaf(name);
      return v === 'CONTINUE' ? 'RETURN' : v;
    }
    const rules = table.get(name);
    assert.ok(rules, `chain ${name} exists`);
    for (const rule of rules) {
      if (!matches(rule, p)) continue;
      const target = / -([jg]) (\S+)$/.exec(rule) ?? /^-([jg]) (\S+)$/.exec(rule);
      assert.ok(target, rule);
      const [, how, to] = target;
      if (to === 'ACCEPT' || to === 'DROP') return to;
      if (to === 'RETURN') return 'RETURN';
      const v = run(to!);
      if (how === 'g') return v === 'RETURN' ? 'RETURN' : v;
      if (v !== 'RETURN') return v;
    }
    return 'RETURN';
  };
  const v = run('neutron-linuxbri-FORWARD');
  return { verdict: v === 'RETURN' ? 'CONTINUE' : v, visited };
}

const table = (chains: ChainSpec[] | undefined) => new Map((chains ?? []).map((c) => [c.name, [...c.rules]]));

test('split by digit: for every pair of taps, known or not, the same verdict and the same port chains as the long chains', () => {
  const view = sgView(PORTS, [scenarioGroup()]);
  for (const plan of [planFirewall, planFirewall6]) {
    const long = table(plan(view, [SERVICE], { bucketAbove: 1000 }).filter);
    const split = table(plan(view, [SERVICE], { bucketAbove: 0 }).filter);
    assert.ok(split.has('neutron-linuxbri-FORWARD-3'), 'split');
    assert.ok(!long.has('neutron-linuxbri-FORWARD-3'), 'not split');
    const taps = [...PORTS.map((p) => tapName(p.id)), tapName(SERVICE), ...UNKNOWN];
    let pairs = 0;
    // Each port's own chains in turn let through or drop, so that the order of the checks shows.
    for (const dropping of [null, ...PORTS.map((p) => sgChains(p.id).ingress), ...PORTS.map((p) => sgChains(p.id).egress)]) {
      const leaf = (c: string): Verdict => (c === dropping ? 'DROP' : 'CONTINUE');
      for (const from of [null, ...taps])
        for (const to of [null, ...taps]) {
          if (from === to) continue;
          const p = { in: from, out: to };
          const a = walk(long, p, leaf);
          const b = walk(split, p, leaf);
          assert.equal(b.verdict, a.verdict, `${from} → ${to} (${dropping} drops)`);
          assert.deepEqual([...b.visited].sort(), [...a.visited].sort(), `${from} → ${to}: port chains visited`);
          pairs++;
        }
    }
    assert.ok(pairs > 1000);
  }
});

test('split by digit: only above the threshold; sub-chains only for digits with ports; a tap without a digit stays in the chain', () => {
  const few = planFirewall(sgView(PORTS, [scenarioGroup()])).filter!;
  assert.ok(
    few.every((c) => !/-(FORWARD|INPUT|sg-chain|unknown-[io])-[0-9a-f]$/.test(c.name)),
    'no split below BUCKET_ABOVE',
  );
  assert.ok(BUCKET_ABOVE >= PORTS.length + 1);
  const split = new Map(planFirewall(sgView(PORTS, [scenarioGroup()]), [], { bucketAbove: 0 }).filter!.map((c) => [c.name, c.rules]));
  assert.deepEqual(
    [...split.keys()].filter((n) => n.startsWith('neutron-linuxbri-FORWARD-')),
    ['0', '3', '7', 'a', 'f'].map((d) => `neutron-linuxbri-FORWARD-${d}`),
  );
  assert.deepEqual(split.get('neutron-linuxbri-FORWARD')!.slice(2, 4), [
    '-m physdev --physdev-out tap0+ --physdev-is-bridged -j neutron-linuxbri-FORWARD-0',
    '-m physdev --physdev-in tap0+ --physdev-is-bridged -j neutron-linuxbri-FORWARD-0',
  ]);
  assert.deepEqual(split.get('neutron-linuxbri-unknown-in')!.slice(0, 2), [
    '-m physdev --physdev-in tap0+ -g neutron-linuxbri-unknown-i-0',
    '-m physdev --physdev-in tap3+ -g neutron-linuxbri-unknown-i-3',
  ]);
  assert.equal(split.get('neutron-linuxbri-sg-chain')!.at(-1), '-j ACCEPT');
  // Every chain name fits iptables' 28 characters (wrapChain asserts it).
  assert.ok([...split.keys()].every((n) => n.length <= 28));

  assert.equal(tapDigit('tap3c338602-d8'), '3');
  assert.equal(tapDigit('tapzz'), null);
  const r = splitByDigit(
    [
      { tap: 'tapZZ', rules: ['z'] },
      { tap: 'tap1a', rules: ['a', 'b'] },
      { tap: 'tap1b', rules: ['c'] },
    ],
    (d) => `sub-${d}`,
    (d, c) => [`to ${c}`],
    ['end'],
  );
  assert.deepEqual(r, { rules: ['z', 'to sub-1'], chains: [{ name: 'sub-1', rules: ['a', 'b', 'c', 'end'] }] });
});
