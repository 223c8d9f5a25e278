// diff() against the stateful fake kernel: converge from anywhere, repair drift, never touch what is not neutrino's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diff, isConverged } from '../../src/kernel/diff.ts';
import { MARK } from '../../src/kernel/mark.ts';
import type { Op } from '../../src/kernel/ops.ts';
import { scopeFor } from '../../src/kernel/scope.ts';
import { emptyDesiredNamespace, HOST, type DesiredNode, type ObservedNode } from '../../src/kernel/types.ts';
import { FakeKernel } from '../../src/exec/fake.ts';
import { reconcile } from '../../src/exec/reconcile.ts';
import { INSTANCE_1, INSTANCE_2, scenarioNode } from '../kernel/topology.ts';

const VM = 'vm1';
const desired = (over: Partial<Parameters<typeof scenarioNode>[0]> = {}): DesiredNode =>
  scenarioNode({
    mgmtDev: 'eth1',
    localIp: '192.168.0.104',
    remoteIp: '192.168.0.105',
    vmNetns: VM,
    local: INSTANCE_1,
    remote: INSTANCE_2,
    ...over,
  });

/** A fake node that has its management NIC (not neutrino's). */
async function nodeWithNic(): Promise<FakeKernel> {
  const fake = new FakeKernel();
  await fake.apply([
    { op: 'netns-add', ns: 'other' },
    { op: 'link-add', ns: HOST, link: { kind: 'veth', name: 'eth1', peer: { name: 'eth0', netns: 'other' } } },
    { op: 'link-set', ns: HOST, name: 'eth1', set: { up: true } },
    { op: 'addr-add', ns: HOST, addr: { dev: 'eth1', address: '192.168.0.104/24' } },
  ]);
  return fake;
}

const opNames = (ops: Op[]) => ops.map((o) => `${o.op}${'name' in o ? ':' + o.name : ''}${o.op === 'link-add' ? ':' + o.link.name : ''}`);

test('from a bare node: one pass converges and the second diff is empty', async () => {
  const fake = await nodeWithNic();
  const r = await reconcile(fake, desired());
  assert.equal(r.error, undefined);
  assert.deepEqual(r.remaining, { ops: [], unresolved: [] });
  assert.ok(r.converged);
  const again = await reconcile(fake, desired());
  assert.deepEqual(again.plan.ops, [], 'an applied state plans nothing');
});

test('ops come in dependency order: namespace, links (vxlan after the bridge), attributes, then fdb', async () => {
  const fake = await nodeWithNic();
  const plan = diff(desired(), await fake.observe(scopeFor(desired())));
  const names = opNames(plan.ops);
  const at = (s: string) => names.findIndex((n) => n.startsWith(s));
  assert.equal(names[0], 'netns-add');
  assert.ok(at('link-add:brq') < at('link-add:vxlan-41'));
  assert.ok(at('link-add:vxlan-41') < at('link-set:vxlan-41'));
  assert.ok(at('link-set') < at('addr-add') && at('addr-add') < at('route-replace'));
  assert.ok(at('fdb-add') > at('link-set:vxlan-41'));
  assert.equal(plan.ops.filter((o) => o.op === 'link-add' && o.link.kind === 'veth').length, 1, 'a veth pair is created once');
});

test('attribute drift produces link-set ops: mtu, master, down, mac', async () => {
  const fake = await nodeWithNic();
  await reconcile(fake, desired());
  await fake.apply([
    { op: 'link-set', ns: HOST, name: 'vxlan-41', set: { mtu: 1400, up: false } },
    { op: 'link-set', ns: HOST, name: 'tap3c338602-d8', set: { master: null } },
    { op: 'link-set', ns: VM, name: 'ns-3c338602-d8', set: { mac: 'fa:16:3e:00:00:99' } },
  ]);
  const plan = diff(desired(), await fake.observe(scopeFor(desired())));
  assert.deepEqual(plan.ops, [
    { op: 'link-set', ns: HOST, name: 'vxlan-41', set: { mtu: 1450, up: true } },
    { op: 'link-set', ns: HOST, name: 'tap3c338602-d8', set: { master: 'brqe6e37ba0-3b' } },
    { op: 'link-set', ns: VM, name: 'ns-3c338602-d8', set: { mac: 'fa:16:3e:a7:f7:5a' } },
  ]);
});

test('a vxlan with the wrong local or parent device is recreated, and its fdb/neigh entries re-added', async () => {
  const fake = await nodeWithNic();
  await reconcile(fake, desired());
  const moved = desired({ localIp: '192.168.0.114' });
  const names = opNames(diff(moved, await fake.observe(scopeFor(moved))).ops);
  // The per-device sysctl goes with the old device (as in the kernel), so it is set again on the new one.
  assert.deepEqual(names, ['link-del:vxlan-41', 'link-add:vxlan-41', 'sysctl', 'link-set:vxlan-41', 'neigh-replace', 'fdb-add', 'fdb-add']);
  const r = await reconcile(fake, moved);
  assert.ok(r.converged);
});

test('a vxlan deleted by hand is repaired with everything that went with it', async () => {
  const fake = await nodeWithNic();
  await reconcile(fake, desired());
  await fake.apply([{ op: 'link-del', ns: HOST, name: 'vxlan-41' }]);
  const plan = diff(desired(), await fake.observe(scopeFor(desired())));
  assert.deepEqual(opNames(plan.ops), ['link-add:vxlan-41', 'sysctl', 'link-set:vxlan-41', 'neigh-replace', 'fdb-add', 'fdb-add']);
  assert.ok((await reconcile(fake, desired())).converged);
});

test('a veth whose peer moved is recreated from the HOST end', async () => {
  const fake = await nodeWithNic();
  await reconcile(fake, desired());
  const moved = desired({ vmNetns: 'vm9' });
  const plan = diff(moved, await fake.observe(scopeFor(moved, { prefixes: ['vm'] })));
  const names = opNames(plan.ops);
  // The old namespace takes the old pair with it, before the new pair needs the name.
  assert.deepEqual(names.slice(0, 3), ['netns-del', 'netns-add', 'link-add:tap3c338602-d8']);
  assert.ok((await reconcile(fake, moved, { prefixes: ['vm'] })).converged);
  assert.equal(fake.dump().namespaces[VM], undefined);
});

test('objects without the mark are left alone; marked objects nobody wants are removed', async () => {
  const fake = await nodeWithNic();
  await reconcile(fake, desired());
  await fake.apply([
    { op: 'link-add', ns: HOST, link: { kind: 'bridge', name: 'handbr0' } },
    { op: 'addr-add', ns: HOST, addr: { dev: 'handbr0', address: '10.9.9.9/24' } },
    { op: 'link-add', ns: HOST, link: { kind: 'bridge', name: 'brqdeadbeef-00' } },
    { op: 'link-set', ns: HOST, name: 'brqdeadbeef-00', set: { alias: MARK } },
    { op: 'netns-add', ns: 'vm-hand' },
    { op: 'fdb-add', ns: HOST, fdb: { dev: 'vxlan-41', mac: '00:00:00:00:00:00', dst: '192.168.0.200' } },
    { op: 'addr-add', ns: HOST, addr: { dev: 'vxlan-41', address: '10.1.1.1/32' } },
  ]);
  const plan = diff(desired(), await fake.observe(scopeFor(desired(), { prefixes: ['vm'] })));
  assert.deepEqual(opNames(plan.ops), ['addr-del', 'fdb-del', 'link-del:brqdeadbeef-00']);
  await fake.apply(plan.ops);
  const host = fake.dump().namespaces[HOST]!;
  assert.ok(host.links.some((l) => l.name === 'handbr0'));
  assert.ok(host.addresses.some((a) => a.address === '10.9.9.9/24'));
  assert.ok(fake.dump().namespaces['vm-hand'], 'an unmarked namespace stays');
});

test('a device that does not exist is unresolved, not created', async () => {
  const fake = new FakeKernel();
  const plan = diff(desired(), await fake.observe(scopeFor(desired())));
  assert.deepEqual(plan.unresolved[0], { ns: HOST, object: 'link eth1', reason: 'device does not exist' });
  assert.ok(!plan.ops.some((o) => o.op === 'link-add' && o.link.kind === 'vxlan'), 'no vxlan on a missing NIC');
  assert.ok(!plan.ops.some((o) => o.op === 'fdb-add' || o.op === 'neigh-replace'), 'nor entries on it');
  const fake2 = new FakeKernel();
  const r = await reconcile(fake2, desired());
  assert.equal(r.error, undefined, 'what can be built is built');
  assert.equal(r.converged, false);
  assert.equal(isConverged(plan), false);
});

test('iptables: a changed rule rewrites its chain only; a removed port chain is deleted with its jumps', async () => {
  const fake = await nodeWithNic();
  await reconcile(fake, desired());
  const observed = await fake.observe(scopeFor(desired()));
  const changed = desired();
  const ingress = changed.namespaces[HOST]!.iptables.filter!.find((c) => c.name === 'neutron-linuxbri-i3c338602-d')!;
  ingress.rules.splice(2, 1);
  const plan = diff(changed, observed);
  assert.equal(plan.ops.length, 1);
  const op = plan.ops[0]!;
  assert.ok(op.op === 'iptables');
  assert.deepEqual(
    op.change.write.map((c) => c.name),
    ['neutron-linuxbri-i3c338602-d'],
  );
  const off = desired({ firewall: false });
  const gone = diff(off, observed).ops[0]!;
  assert.ok(gone.op === 'iptables');
  assert.equal(gone.change.delete.length, 10);
  assert.deepEqual(
    gone.change.builtins.map((b) => [b.chain, b.remove.length, b.insert.length]),
    [
      ['INPUT', 1, 0],
      ['FORWARD', 2, 0],
      ['OUTPUT', 2, 0],
    ],
  );
  assert.ok((await reconcile(fake, off)).converged);
  assert.deepEqual(
    fake.dump().namespaces[HOST]!.iptables.filter!.map((c) => c.name),
    ['INPUT', 'FORWARD', 'OUTPUT'],
  );
});

test('daemons: started, reloaded on new files, restarted on new argv, stopped when unwanted', async () => {
  const fake = await nodeWithNic();
  const proc = {
    id: 'dnsmasq-net1',
    argv: ['dnsmasq', '--pid-file=/x/pid'],
    pidFile: '/x/pid',
    files: [{ path: '/x/host', content: 'a' }],
  };
  const withProc = (p: typeof proc | undefined): DesiredNode => {
    const d = desired();
    if (p) d.namespaces[VM]!.processes.push(p);
    return d;
  };
  const first = await reconcile(fake, withProc(proc));
  assert.ok(first.converged);
  const reload = diff(withProc({ ...proc, files: [{ path: '/x/host', content: 'b' }] }), first.observed);
  assert.deepEqual(
    reload.ops.map((o) => o.op),
    ['proc-reload'],
  );
  const restart = diff(withProc({ ...proc, argv: ['dnsmasq', '--pid-file=/x/pid', '-q'] }), first.observed);
  assert.deepEqual(
    restart.ops.map((o) => o.op),
    ['proc-stop', 'proc-start'],
  );
  const hints = { [VM]: [{ id: proc.id, pidFile: proc.pidFile, files: [] }] };
  const stop = await reconcile(fake, withProc(undefined), { processes: hints });
  assert.deepEqual(
    stop.plan.ops.map((o) => o.op),
    ['proc-stop'],
  );
  assert.ok(stop.converged);
});

test('an invalid desired state is refused before anything is planned', () => {
  const bad = desired();
  bad.namespaces[HOST]!.links.push({ kind: 'bridge', name: 'brq; rm -rf /' });
  bad.namespaces[VM]!.addresses.push({ dev: 'nope0', address: '10.0.0.1/24' });
  const empty: ObservedNode = { namespaces: {} };
  assert.throws(
    () => diff(bad, empty),
    (e: Error) => e.name === 'InvalidDesired' && /interface name/.test(e.message) && /undeclared link nope0/.test(e.message),
  );
});

test('nodes sharing one /run/netns (the lab) each delete only the namespaces carrying their own mark', async () => {
  const fake = await nodeWithNic();
  const a: DesiredNode = { ...desired({ vmNetns: 'qdhcp-a' }), owner: 'node-a' };
  const b: DesiredNode = { ...desired({ vmNetns: 'qdhcp-b' }), owner: 'node-b' };
  delete b.namespaces[HOST];
  b.namespaces['qdhcp-b']!.links = [];
  b.namespaces['qdhcp-b']!.addresses = [];
  b.namespaces['qdhcp-b']!.routes = [];
  assert.ok((await reconcile(fake, b, { prefixes: ['qdhcp-'] })).converged);
  assert.equal(fake.dump().namespaces['qdhcp-b']!.mark, 'neutrino:node-b');
  const r = await reconcile(fake, a, { prefixes: ['qdhcp-'] });
  assert.ok(r.converged);
  assert.ok(!r.plan.ops.some((o) => o.op === 'netns-del'), "node-a leaves node-b's namespace alone");
  assert.ok(fake.dump().namespaces['qdhcp-b']);
  const bare = emptyDesiredNamespace();
  bare.links.push({ kind: 'device', name: 'eth1' });
  const gone = await reconcile(fake, { owner: 'node-a', namespaces: { [HOST]: bare } }, { prefixes: ['qdhcp-'] });
  assert.deepEqual(
    gone.plan.ops.filter((o) => o.op === 'netns-del').map((o) => o.ns),
    ['qdhcp-a'],
  );
});
