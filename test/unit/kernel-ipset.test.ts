// IP sets in the kernel model: parse (`ipset save` captured on this machine), validate, diff, render,
// scope, and the fake kernel; the planner's remote-group sets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FakeKernel } from '../../src/exec/fake.ts';
import { reconcile } from '../../src/exec/reconcile.ts';
import { diff } from '../../src/kernel/diff.ts';
import { ruleIpsets } from '../../src/kernel/mark.ts';
import { remoteGroupIpset } from '../../src/kernel/names.ts';
import type { Op } from '../../src/kernel/ops.ts';
import { render } from '../../src/kernel/render.ts';
import { scopeFor } from '../../src/kernel/scope.ts';
import {
  emptyDesiredNamespace,
  emptyObservedNamespace,
  HOST,
  type DesiredNode,
  type IpsetSpec,
  type ObservedNamespace,
} from '../../src/kernel/types.ts';
import { InvalidDesired, normalizeDesired } from '../../src/kernel/validate.ts';
import { parseIpsetSave } from '../../src/observe/ipset.ts';
import { parseIptablesSave } from '../../src/observe/iptables.ts';
import { parseNamespace } from '../../src/observe/node.ts';
import { planIpsets } from '../../src/planner/firewall.ts';
import { INSTANCE, OTHER, rule, scenarioGroup, SG_ID, sgView } from '../helpers/sg-view.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/kernel/${name}`, import.meta.url), 'utf8');

const G = 'NIPv45b2b8d0c-1c7e-4d0a-9a36-';
const F = 'NIPv4f00dcafe-0000-4000-8000-';
const CHAIN = 'neutron-linuxbri-i3c338602-d';

/** HOST with one owned chain matching `sets` (ingress tcp/22 from each) and the sets themselves. */
function node(sets: IpsetSpec[], matched = sets.map((s) => s.name)): DesiredNode {
  const host = emptyDesiredNamespace();
  host.ipsets = sets;
  host.iptables = {
    filter: [{ name: CHAIN, rules: matched.map((n) => `-p tcp -m tcp --dport 22 -m set --match-set ${n} src -j RETURN`) }],
  };
  return { namespaces: { [HOST]: host } };
}
const set = (name: string, members: string[], over: Partial<IpsetSpec> = {}): IpsetSpec => ({
  name,
  type: 'hash:net',
  family: 'inet',
  members,
  ...over,
});

const opLabels = (ops: Op[]) =>
  ops.map((o) =>
    o.op === 'ipset' ? `ipset:${o.change.mode}:${o.change.name}` : o.op === 'ipset-destroy' ? `ipset-destroy:${o.name}` : o.op,
  );

test('parse `ipset save`: sets with type, family, options and members; a rule names its sets', () => {
  const sets = parseIpsetSave(fixture('node1-ipset-save.txt'));
  assert.deepEqual(
    sets.map((s) => [s.name, s.type, s.family, s.members]),
    [
      [G, 'hash:net', 'inet', ['172.16.1.3', '10.9.8.0/24', '172.16.1.4']],
      [F, 'hash:net', 'inet', []],
      ['NIPv65b2b8d0c-1c7e-4d0a-9a36-', 'hash:net', 'inet6', ['fd00:41::3', 'fd00:42::/64']],
      ['handset', 'hash:ip', 'inet', ['192.0.2.1']],
    ],
  );
  assert.match(sets[3]!.options, /^hashsize 1024 maxelem 65536 timeout 600 comment bucketsize 12 initval 0x[0-9a-f]+$/);
  assert.deepEqual(parseIpsetSave(''), []);
  assert.throws(() => parseIpsetSave('add nosuch 1.2.3.4\n'), /undeclared set/);
  assert.throws(() => parseIpsetSave('flush x\n'), /unexpected line/);
  const fwd = parseIptablesSave(fixture('node1-ipset-iptables-save.txt')).filter!.find((c) => c.name === 'FORWARD')!;
  assert.deepEqual(fwd.rules.map(ruleIpsets), [[G], ['handset']]);
  // Wired into the namespace parser: read only where asked for.
  const raw = {
    ip: fixture('node1-ip-batch.jsonl'),
    route6: fixture('node1-route6.json'),
    fdb: fixture('node1-fdb.json'),
    iptablesSave: '',
    sysctl: '',
  };
  assert.deepEqual(parseNamespace(HOST, raw).state.ipsets, []);
  assert.equal(parseNamespace(HOST, { ...raw, ipset: fixture('node1-ipset-save.txt') }).state.ipsets.length, 4);
});

test("names: Neutron's NIPv4/NIPv6 + group id cut to 29 characters", () => {
  assert.equal(remoteGroupIpset(SG_ID, 'IPv4'), G);
  assert.equal(remoteGroupIpset(SG_ID, 'IPv6'), 'NIPv65b2b8d0c-1c7e-4d0a-9a36-');
  assert.equal(G.length, 29);
  assert.throws(() => remoteGroupIpset('x y', 'IPv4'), { name: 'InvalidName', message: 'invalid resource id: "x y"' });
});

test('validate: members canonical as ipset prints them; foreign names, unknown types, undeclared or IPv6 sets in iptables refused', () => {
  const host = normalizeDesired(node([set(G, ['172.16.1.4/32', '172.16.1.3', '10.9.8.7/24', '172.16.1.3'])])).namespaces[HOST]!;
  assert.deepEqual(host.ipsets, [set(G, ['10.9.8.0/24', '172.16.1.3', '172.16.1.4'])]);
  const bad = (d: DesiredNode, re: RegExp) =>
    assert.throws(
      () => normalizeDesired(d),
      (e: unknown) => e instanceof InvalidDesired && re.test(e.message),
    );
  bad(node([set('handset', [])]), /not neutrino's/);
  bad(node([set(G, [], { type: 'list:set' })]), /unsupported type/);
  bad(node([set(G, ['0.0.0.0/0'])]), /set member/);
  bad(node([set(G, ['fd00::1'])]), /not of family inet/);
  bad(node([set(G, [])], [G, F]), /undeclared ipset NIPv4f00dcafe/);
  bad(node([set(G, [], { family: 'inet6' })]), /of family inet6/);
  bad(node([set(G, []), set(G, [])]), /listed twice/);
  // A rule matching a set that is not neutrino's is the operator's business, not checked.
  assert.doesNotThrow(() => normalizeDesired(node([], ['handset'])));
});

test('diff: a new set is created before the rules that match it; members change in place, nothing else', () => {
  const want = node([set(G, ['172.16.1.3', '172.16.1.4']), set(F, [])]);
  const fresh = diff(want, { namespaces: { [HOST]: emptyObservedNamespace() } });
  assert.deepEqual(opLabels(fresh.ops), [`ipset:create:${G}`, `ipset:create:${F}`, 'iptables']);
  const have = emptyObservedNamespace();
  have.iptables = { filter: [{ name: CHAIN, policy: null, rules: want.namespaces[HOST]!.iptables.filter![0]!.rules }] };
  have.ipsets = [
    { name: G, type: 'hash:net', family: 'inet', options: '', members: ['172.16.1.3', '172.16.1.9'] },
    { name: F, type: 'hash:net', family: 'inet', options: '', members: [] },
  ];
  const plan = diff(want, { namespaces: { [HOST]: have } });
  assert.deepEqual(plan.ops, [
    {
      op: 'ipset',
      ns: HOST,
      change: { name: G, type: 'hash:net', family: 'inet', mode: 'update', add: ['172.16.1.4'], del: ['172.16.1.9'] },
    },
  ]);
});

test('diff: owned sets nobody wants are destroyed after the rules that matched them; others are left alone', () => {
  const have = emptyObservedNamespace();
  have.iptables = {
    filter: [
      {
        name: 'FORWARD',
        policy: 'ACCEPT',
        rules: ['-m set ! --match-set handset dst -j ACCEPT', `-m set --match-set NIPv4usedbyhand src -j ACCEPT`],
      },
      { name: CHAIN, policy: null, rules: [`-p tcp -m tcp --dport 22 -m set --match-set ${G} src -j RETURN`] },
    ],
  };
  have.ipsets = [G, 'NIPv4usedbyhand', 'handset', 'NIPv4stale', 'NIPv6stale'].map((name) => ({
    name,
    type: 'hash:net',
    family: name.startsWith('NIPv6') ? 'inet6' : 'inet',
    options: '',
    members: [],
  }));
  const plan = diff(node([], []), { namespaces: { [HOST]: have } });
  // NIPv6stale stays: only ip6tables could match it, and ip6tables was not observed here.
  assert.deepEqual(opLabels(plan.ops), ['iptables', `ipset-destroy:${G}`, 'ipset-destroy:NIPv4stale']);
  assert.deepEqual(plan.unresolved, []);
});

test('diff: a set of the wrong type is recreated when no rule matches it, reported unresolved when one does', () => {
  const want = node([set(G, ['172.16.1.3'])]);
  const wrong = (): ObservedNamespace => {
    const have = emptyObservedNamespace();
    have.ipsets = [{ name: G, type: 'hash:ip', family: 'inet', options: '', members: ['172.16.1.3'] }];
    return have;
  };
  const free = diff(want, { namespaces: { [HOST]: wrong() } });
  assert.deepEqual(opLabels(free.ops), [`ipset:recreate:${G}`, 'iptables']);
  const used = wrong();
  used.iptables = { filter: [{ name: CHAIN, policy: null, rules: want.namespaces[HOST]!.iptables.filter![0]!.rules }] };
  const stuck = diff(want, { namespaces: { [HOST]: used } });
  assert.deepEqual(stuck.ops, []);
  assert.equal(stuck.unresolved.length, 1);
  assert.match(stuck.unresolved[0]!.reason, /hash:ip family inet, not hash:net family inet, and iptables rules match it/);
});

test('render: `ipset restore -exist` batches, one per namespace and phase, argv only', () => {
  const ops: Op[] = [
    {
      op: 'ipset',
      ns: HOST,
      change: { name: G, type: 'hash:net', family: 'inet', mode: 'create', add: ['172.16.1.3', '10.0.0.0/8'], del: [] },
    },
    {
      op: 'ipset',
      ns: HOST,
      change: { name: F, type: 'hash:net', family: 'inet', mode: 'update', add: ['172.16.1.5'], del: ['172.16.1.9'] },
    },
    { op: 'ipset', ns: HOST, change: { name: 'NIPv4x', type: 'hash:net', family: 'inet', mode: 'recreate', add: [], del: [] } },
    { op: 'iptables', ns: HOST, table: 'filter', change: { write: [], builtins: [], delete: ['neutron-linuxbri-x'] } },
    { op: 'ipset-destroy', ns: HOST, name: 'NIPv4old' },
  ];
  const cmds = render(ops);
  assert.deepEqual(
    cmds.map((c) => (c.kind === 'run' ? c.argv : [])),
    [
      ['ipset', 'restore', '-exist'],
      ['iptables-restore', '-w', '--noflush'],
      ['ipset', 'restore', '-exist'],
    ],
  );
  const stdin = (i: number) => (cmds[i]!.kind === 'run' ? (cmds[i] as { stdin?: string }).stdin : undefined);
  assert.equal(
    stdin(0),
    [
      `create ${G} hash:net family inet`,
      `add ${G} 172.16.1.3`,
      `add ${G} 10.0.0.0/8`,
      `del ${F} 172.16.1.9`,
      `add ${F} 172.16.1.5`,
      'destroy NIPv4x',
      'create NIPv4x hash:net family inet',
    ].join('\n') + '\n',
  );
  assert.equal(stdin(2), 'destroy NIPv4old\n');
  assert.throws(
    () =>
      render([
        {
          op: 'ipset',
          ns: HOST,
          change: { name: G, type: 'hash:net', family: 'inet', mode: 'update', add: ['1.2.3.4\ndestroy x'], del: [] },
        },
      ]),
    /bad ipset member/,
  );
  assert.throws(() => render([{ op: 'ipset-destroy', ns: HOST, name: 'a name' }]), /invalid ipset name/);
});

test('scope: sets are read in HOST and where they are desired; the fake kernel reports none elsewhere', async () => {
  const d = node([set(G, [])]);
  d.namespaces['qrouter-x'] = { ...emptyDesiredNamespace(), ipsets: [set(F, [])] };
  d.namespaces['qdhcp-y'] = emptyDesiredNamespace();
  assert.deepEqual(scopeFor(d).ipsets, [HOST, 'qrouter-x']);
  assert.deepEqual(scopeFor(d, { host: false }).ipsets, ['qrouter-x']);
  const fake = new FakeKernel();
  await fake.apply([
    { op: 'ipset', ns: HOST, change: { name: G, type: 'hash:net', family: 'inet', mode: 'create', add: ['172.16.1.3'], del: [] } },
  ]);
  const blind = await fake.observe({ host: true, namespaces: [], prefixes: [], sysctls: {}, processes: {} });
  assert.deepEqual(blind.namespaces[HOST]!.ipsets, []);
  assert.equal((await fake.observe(scopeFor(d))).namespaces[HOST]!.ipsets[0]!.name, G);
});

test('fake kernel: converges, a membership change touches the set alone, removal destroys after the rules; refusals as the kernel', async () => {
  const fake = new FakeKernel();
  let r = await reconcile(fake, node([set(G, ['172.16.1.3'])]));
  assert.ok(r.converged, JSON.stringify(r.remaining));
  assert.deepEqual((await reconcile(fake, node([set(G, ['172.16.1.3'])]))).plan.ops, [], 'the second pass plans nothing');
  r = await reconcile(fake, node([set(G, ['172.16.1.4', '10.9.8.7/24'])]));
  assert.ok(r.converged);
  assert.deepEqual(opLabels(r.plan.ops), [`ipset:update:${G}`]);
  assert.deepEqual(fake.dump().namespaces[HOST]!.ipsets[0]!.members.sort(), ['10.9.8.0/24', '172.16.1.4']);
  r = await reconcile(fake, node([], []));
  assert.ok(r.converged, JSON.stringify(r));
  assert.deepEqual(opLabels(r.plan.ops), ['iptables', `ipset-destroy:${G}`]);
  assert.deepEqual(fake.dump().namespaces[HOST]!.ipsets, []);
  // What the kernel refuses, the fake refuses: a rule matching a missing set, destroying a set in use.
  const matchMissing: Op = {
    op: 'iptables',
    ns: HOST,
    table: 'filter',
    change: { write: [{ name: CHAIN, rules: [`-m set --match-set ${G} src -j RETURN`] }], builtins: [], delete: [] },
  };
  await assert.rejects(fake.apply([matchMissing]), /Set NIPv4.* doesn't exist/);
  await reconcile(fake, node([set(G, [])]));
  await assert.rejects(fake.apply([{ op: 'ipset-destroy', ns: HOST, name: G }]), /in use by a kernel component/);
});

test('planner: one set per remote group of a filtered port, members sanitized like IpsetManager; none for unfiltered ports', () => {
  const remote = {
    id: 'f00dcafe-0000-4000-8000-000000000000',
    name: 'web',
    stateful: true,
    rules: [],
    member_ips: ['10.0.0.7', '10.0.0.5', 'fd00::5', '0.0.0.0/0'],
  };
  const empty = { id: 'e0e0e0e0-0000-4000-8000-000000000000', name: 'none', stateful: true, rules: [], member_ips: [] };
  const group = scenarioGroup([
    rule({ protocol: 'tcp', port_range_min: 443, port_range_max: 443, remote_group_id: remote.id }),
    rule({ direction: 'egress', remote_group_id: empty.id }),
    rule({ ethertype: 'IPv6', remote_group_id: SG_ID }),
  ]);
  assert.deepEqual(planIpsets(sgView([INSTANCE, OTHER], [group, remote, empty])), [
    set('NIPv4e0e0e0e0-0000-4000-8000-', []),
    set(F, ['0.0.0.0/1', '10.0.0.5/32', '10.0.0.7/32', '128.0.0.0/1']),
  ]);
  const unfiltered = [
    { ...INSTANCE, port_security_enabled: false },
    { ...OTHER, device_owner: 'network:dhcp' },
  ];
  assert.deepEqual(planIpsets(sgView(unfiltered, [group, remote, empty])), []);
});
