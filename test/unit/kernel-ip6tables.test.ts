// ip6tables in the kernel model: observed with ip6tables-save, validated (sets of family inet6
// only), diffed as its own op after iptables, rendered for ip6tables-restore, sliced, and IPv6 sets
// destroyed only where ip6tables was observed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diff } from '../../src/kernel/diff.ts';
import { sgChains, tapName } from '../../src/kernel/names.ts';
import type { Op } from '../../src/kernel/ops.ts';
import { render } from '../../src/kernel/render.ts';
import { sliceBetween, sliceDesired, sliceObserved, type Slice } from '../../src/kernel/slice.ts';
import { emptyDesiredNamespace, emptyObservedNamespace, HOST, type DesiredNode, type ObservedIpset } from '../../src/kernel/types.ts';
import { InvalidDesired, normalizeDesired } from '../../src/kernel/validate.ts';
import { parseNamespace } from '../../src/observe/node.ts';
import { planNode } from '../../src/planner/index.ts';
import { computeFacts, FLAT, INSTANCE, OTHER, sgView } from '../helpers/sg-view.ts';

const CHAIN = 'neutron-linuxbri-i3c338602-d';
const SET6 = 'NIPv65b2b8d0c-1c7e-4d0a-9a36-';
const SET4 = 'NIPv45b2b8d0c-1c7e-4d0a-9a36-';

function node(rules6: string[], ipsets: DesiredNode['namespaces'][string]['ipsets'] = []): DesiredNode {
  const host = emptyDesiredNamespace();
  host.ip6tables = { filter: [{ name: CHAIN, rules: rules6 }] };
  host.ipsets = ipsets;
  return { namespaces: { [HOST]: host } };
}
const set = (name: string, family: 'inet' | 'inet6', members: string[] = []) => ({ name, type: 'hash:net', family, members });
const observedSet = (name: string, family: string): ObservedIpset => ({ name, type: 'hash:net', family, options: '', members: [] });

test('observe: ip6tables-save parses into `ip6tables`, absent when not read', () => {
  const raw = { ip: '[]\n[]\n[]\n[]\n[]\n', route6: '[]', fdb: '[]', iptablesSave: '', sysctl: '' };
  assert.equal(parseNamespace(HOST, raw).state.ip6tables, undefined);
  const save6 = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    `:${CHAIN} - [0:0]`,
    `-A ${CHAIN} -p ipv6-icmp -m icmp6 --icmpv6-type 130 -j RETURN`,
    'COMMIT',
    '',
  ].join('\n');
  const state = parseNamespace(HOST, { ...raw, ip6tablesSave: save6 }).state;
  assert.deepEqual(state.ip6tables?.filter?.find((c) => c.name === CHAIN)?.rules, ['-p ipv6-icmp -m icmp6 --icmpv6-type 130 -j RETURN']);
  assert.deepEqual(state.iptables, {});
});

test('validate: an ip6tables rule may only match a declared set of family inet6; its rules are checked like iptables ones', () => {
  const match = (name: string) => `-m set --match-set ${name} src -j RETURN`;
  assert.doesNotThrow(() => normalizeDesired(node([match(SET6)], [set(SET6, 'inet6', ['2001:db8::5/128'])])));
  assert.throws(() => normalizeDesired(node([match(SET4)], [set(SET4, 'inet')])), /ip6tables rule matches ipset NIPv4\S+ of family inet/);
  assert.throws(
    () => normalizeDesired(node([match(SET6)])),
    (e) => e instanceof InvalidDesired && /undeclared ipset/.test(e.message),
  );
  assert.throws(() => normalizeDesired(node([], [set(SET6, 'inet6', ['10.0.0.1'])])), /not of family inet6/);
  const bad = node(['-j neutron-linuxbri-x\nCOMMIT']);
  assert.throws(() => normalizeDesired(bad), /bad iptables rule/);
});

test('diff and render: ip6tables changes are their own op, after the iptables ones, applied by ip6tables-restore', () => {
  const want = node(['-p ipv6-icmp -m icmp6 --icmpv6-type 130 -j RETURN']);
  want.namespaces[HOST]!.iptables = { filter: [{ name: CHAIN, rules: ['-j RETURN'] }] };
  const plan = diff(want, { namespaces: { [HOST]: emptyObservedNamespace() } });
  assert.deepEqual(
    plan.ops.map((o) => o.op),
    ['iptables', 'ip6tables'],
  );
  const cmds = render(plan.ops);
  assert.deepEqual(
    cmds.map((c) => (c.kind === 'run' ? c.argv : [])),
    [
      ['iptables-restore', '-w', '--noflush'],
      ['ip6tables-restore', '-w', '--noflush'],
    ],
  );
  const six = cmds[1]!;
  assert.equal(
    six.kind === 'run' ? six.stdin : '',
    `*filter\n:${CHAIN} - [0:0]\n-A ${CHAIN} -p ipv6-icmp -m icmp6 --icmpv6-type 130 -j RETURN\nCOMMIT\n`,
  );
  // Owned chains observed in ip6tables that nobody wants are removed, as in iptables.
  const have = emptyObservedNamespace();
  have.ip6tables = { filter: [{ name: CHAIN, policy: null, rules: ['-j RETURN'] }] };
  const gone = diff({ namespaces: { [HOST]: emptyDesiredNamespace() } }, { namespaces: { [HOST]: have } }).ops;
  assert.deepEqual(
    gone.map((o: Op) => (o.op === 'ip6tables' ? o.change.delete : o.op)),
    [[CHAIN]],
  );
});

test('IPv6 sets nobody wants are destroyed where ip6tables was observed, after the rules; kept where it was not, or where a foreign rule matches them', () => {
  const want: DesiredNode = { namespaces: { [HOST]: emptyDesiredNamespace() } };
  const have = emptyObservedNamespace();
  have.ipsets = [observedSet(SET6, 'inet6'), observedSet('NIPv6byhand', 'inet6')];
  assert.deepEqual(diff(want, { namespaces: { [HOST]: have } }).ops, []);
  have.ip6tables = {
    filter: [
      { name: 'INPUT', policy: 'ACCEPT', rules: ['-m set --match-set NIPv6byhand src -j ACCEPT'] },
      { name: CHAIN, policy: null, rules: [`-m set --match-set ${SET6} src -j RETURN`] },
    ],
  };
  assert.deepEqual(
    diff(want, { namespaces: { [HOST]: have } }).ops.map((o) => (o.op === 'ipset-destroy' ? `destroy ${o.name}` : o.op)),
    ['ip6tables', `destroy ${SET6}`],
  );
});

test('slice: a new port brings its IPv6 chains along; desired and observed are cut alike', () => {
  const before = planNode(sgView([INSTANCE], undefined, FLAT), computeFacts([INSTANCE])).desired;
  const after = planNode(sgView([INSTANCE, OTHER], undefined, FLAT), computeFacts([INSTANCE, OTHER])).desired;
  const slice = sliceBetween(before, after) as Slice;
  assert.equal(typeof slice, 'object');
  const { ingress, egress, spoof } = sgChains(OTHER.id);
  const shared = ['FORWARD', 'INPUT', 'sg-chain', 'unknown-in', 'unknown-out'].map((c) => `neutron-linuxbri-${c}`);
  assert.deepEqual([...slice.chains.filter!].sort(), [ingress, egress, spoof, ...shared].sort());
  // IPv4-only ports have no IPv6 spoof chain (as in Neutron).
  assert.deepEqual([...slice.chains6.filter!].sort(), [ingress, egress, ...shared].sort());
  const cut = sliceDesired(after, slice).namespaces[HOST]!;
  assert.deepEqual(cut.ip6tables?.filter?.map((c) => c.name).sort(), [ingress, egress, ...shared].sort());
  const observed = emptyObservedNamespace();
  observed.ip6tables = { filter: [{ name: sgChains(INSTANCE.id).ingress, policy: null, rules: [] }] };
  assert.deepEqual(sliceObserved({ namespaces: { [HOST]: observed } }, slice).namespaces[HOST]!.ip6tables, { filter: [] });
  assert.ok(slice.links.has(tapName(OTHER.id)));
});
