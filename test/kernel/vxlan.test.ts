// Root test: two nodes in namespaces, each with brq + vxlan-41 + an instance; ping across VXLAN, repair by diff, leave the unmarked alone.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { diff } from '../../src/kernel/diff.ts';
import { scopeFor, type ScopeOptions } from '../../src/kernel/scope.ts';
import { HOST, type DesiredNode } from '../../src/kernel/types.ts';
import { RealKernel } from '../../src/exec/real.ts';
import { reconcile } from '../../src/exec/reconcile.ts';
import { run } from '../../src/exec/run.ts';
import { INSTANCE_1, INSTANCE_2, scenarioNode } from './topology.ts';
import { isRoot, ping, removeAll, twoNodes, uniquePrefix } from './sandbox.ts';

const prefix = uniquePrefix();

describe('two nodes joined by VXLAN 41', { skip: isRoot() ? false : 'needs root (namespaces, bridges, vxlan)' }, () => {
  let node1 = '';
  let node2 = '';
  const vm1 = `${prefix}node1-vm`;
  const vm2 = `${prefix}node2-vm`;
  const k1 = () => new RealKernel({ hostNetns: node1 });
  const k2 = () => new RealKernel({ hostNetns: node2 });
  // Each node owns the namespaces under its own prefix (so it may delete marked ones it no longer wants).
  const opts1: ScopeOptions = { prefixes: [`${prefix}node1-`] };
  const opts2: ScopeOptions = { prefixes: [`${prefix}node2-`] };
  let want1: DesiredNode;
  let want2: DesiredNode;

  before(async () => {
    ({ node1, node2 } = await twoNodes(prefix));
    want1 = scenarioNode({
      mgmtDev: 'eth1',
      localIp: '192.168.0.104',
      remoteIp: '192.168.0.105',
      vmNetns: vm1,
      local: INSTANCE_1,
      remote: INSTANCE_2,
    });
    want2 = scenarioNode({
      mgmtDev: 'eth1',
      localIp: '192.168.0.105',
      remoteIp: '192.168.0.104',
      vmNetns: vm2,
      local: INSTANCE_2,
      remote: INSTANCE_1,
    });
  });

  after(async () => {
    await removeAll(prefix);
  });

  test('applying each node converges: the second diff is empty', async () => {
    for (const [k, want, opts] of [
      [k1(), want1, opts1],
      [k2(), want2, opts2],
    ] as const) {
      const r = await reconcile(k, want, opts);
      assert.equal(r.error, undefined, String(r.error));
      assert.deepEqual(r.remaining, { ops: [], unresolved: [] });
    }
  });

  test('the kernel holds what was asked: vxlan on eth1 with local, dstport 4789, nolearning, proxy; veth peer in the instance', async () => {
    const seen = await k1().observe(scopeFor(want1, opts1));
    const host = seen.namespaces[HOST]!;
    const vx = host.links.find((l) => l.name === 'vxlan-41')!;
    assert.deepEqual(vx.vxlan, { vni: 41, local: '192.168.0.104', dev: 'eth1', dstport: 4789, learning: false, proxy: true });
    assert.equal(vx.master, 'brqe6e37ba0-3b');
    const tap = host.links.find((l) => l.name === 'tap3c338602-d8')!;
    assert.deepEqual({ netns: tap.peer?.netns, name: tap.peer?.name }, { netns: vm1, name: 'ns-3c338602-d8' });
    const inner = seen.namespaces[vm1]!.links.find((l) => l.name === 'ns-3c338602-d8')!;
    assert.deepEqual({ netns: inner.peer?.netns, name: inner.peer?.name }, { netns: HOST, name: 'tap3c338602-d8' });
    assert.equal(seen.namespaces[vm1]!.mark, 'neutrino');
    assert.ok(host.fdb.some((f) => f.dev === 'vxlan-41' && f.mac === '00:00:00:00:00:00' && f.dst === '192.168.0.105'));
  });

  test('the instances ping each other across VXLAN', async () => {
    assert.ok(await ping(vm1, INSTANCE_2.ip), 'vm1 → vm2');
    assert.ok(await ping(vm2, INSTANCE_1.ip), 'vm2 → vm1');
  });

  test('a vxlan deleted by hand: diff yields the repair, apply restores traffic', async () => {
    await run(['ip', 'link', 'del', 'vxlan-41'], { netns: node1 });
    assert.equal(await ping(vm1, INSTANCE_2.ip, 1), false, 'traffic stops');
    const plan = diff(want1, await k1().observe(scopeFor(want1, opts1)));
    const kinds = plan.ops.map((o) => o.op);
    // The per-device sysctl went with the device, so it is set again too.
    assert.deepEqual(kinds, ['link-add', 'sysctl', 'link-set', 'neigh-replace', 'fdb-add', 'fdb-add']);
    const r = await reconcile(k1(), want1, opts1);
    assert.ok(r.converged, JSON.stringify(r.remaining));
    assert.ok(await ping(vm1, INSTANCE_2.ip), 'traffic is back');
  });

  test('drift of attributes is repaired: MTU, master, down', async () => {
    await run(['ip', '-batch', '-'], {
      netns: node2,
      stdin: 'link set vxlan-41 mtu 1400\nlink set tap37720f0a-f0 nomaster\nlink set brqe6e37ba0-3b down\n',
    });
    const plan = diff(want2, await k2().observe(scopeFor(want2, opts2)));
    assert.deepEqual(
      plan.ops.map((o) => (o.op === 'link-set' ? [o.name, o.set] : o.op)),
      [
        ['brqe6e37ba0-3b', { up: true }],
        ['vxlan-41', { mtu: 1450 }],
        ['tap37720f0a-f0', { master: 'brqe6e37ba0-3b' }],
      ],
    );
    assert.ok((await reconcile(k2(), want2, opts2)).converged);
    assert.ok(await ping(vm2, INSTANCE_1.ip));
  });

  test('objects made by hand without the mark are left alone; marked ones nobody wants are removed', async () => {
    const hand = `${prefix}node1-hand`;
    await run(['ip', 'netns', 'add', hand]);
    await run(['ip', '-batch', '-'], {
      netns: node1,
      stdin:
        'link add handbr0 type bridge\naddr add 10.9.9.9/24 dev handbr0\nlink add brqdeadbeef-00 type bridge\nlink set brqdeadbeef-00 alias neutrino\n',
    });
    await run(['iptables', '-A', 'FORWARD', '-s', '10.9.9.0/24', '-j', 'ACCEPT'], { netns: node1 });
    await run(['ip', 'route', 'add', '10.8.0.0/16', 'via', '172.16.1.1'], { netns: vm1 });
    const r = await reconcile(k1(), want1, opts1);
    assert.deepEqual(r.plan.ops, [{ op: 'link-del', ns: HOST, name: 'brqdeadbeef-00' }]);
    assert.ok(r.converged);
    const links = (await run(['ip', '-o', 'link', 'show'], { netns: node1 })).stdout;
    assert.match(links, /handbr0/);
    assert.doesNotMatch(links, /brqdeadbeef-00/);
    assert.match((await run(['iptables-save', '-t', 'filter'], { netns: node1 })).stdout, /-A FORWARD -s 10\.9\.9\.0\/24 -j ACCEPT/);
    assert.match((await run(['ip', 'route'], { netns: vm1 })).stdout, /10\.8\.0\.0\/16/);
    assert.deepEqual((await run(['ip', 'netns', 'list'])).stdout.includes(hand), true, 'an unmarked namespace stays');
  });

  test('the whole node state can be taken down: marked namespaces and links go, the NIC stays', async () => {
    const empty: DesiredNode = {
      namespaces: {
        [HOST]: { ...want1.namespaces[HOST]!, links: [{ kind: 'device', name: 'eth1' }], fdb: [], neigh: [], sysctls: [], iptables: {} },
      },
    };
    const r = await reconcile(k1(), empty, opts1);
    assert.ok(r.converged, JSON.stringify(r.remaining));
    const links = (await run(['ip', '-o', 'link', 'show'], { netns: node1 })).stdout;
    assert.doesNotMatch(links, /brq|vxlan-41|tap3c/);
    assert.match(links, /eth1/);
    assert.ok(!(await run(['ip', 'netns', 'list'])).stdout.includes(vm1));
    assert.doesNotMatch((await run(['iptables-save'], { netns: node1 })).stdout, /neutron-/);
  });
});
