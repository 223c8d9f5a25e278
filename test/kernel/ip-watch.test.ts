// Root tests of the ip watch: a full observation of a node whose links, addresses, routes and
// neutrino's neighbour entries nobody has touched since the last one takes the last `ip` output
// again; a change by hand, by anyone, or by neutrino's own apply makes the next one read, and it sees
// the change. Neighbour churn on devices that are not neutrino's does not; a change the kernel does
// not announce is read once the kept output is older than the bound. What is kept is the parsed
// state, frozen.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { MARK } from '../../src/kernel/mark.ts';
import { emptyDesiredNamespace, HOST, type DesiredNode, type ObservedNode } from '../../src/kernel/types.ts';
import type { ObserveScope } from '../../src/kernel/scope.ts';
import { RealKernel } from '../../src/exec/real.ts';
import { reconcile } from '../../src/exec/reconcile.ts';
import { ipLineCounts, joinsIpMonitorGroups } from '../../src/exec/ip-watch.ts';
import { run, type Runner } from '../../src/exec/run.ts';
import { isRoot, removeAll, uniquePrefix } from './sandbox.ts';
import { AgentMetrics } from '../../src/agent/metrics.ts';
import { family, parsePrometheus, value } from '../helpers/prometheus.ts';
import { hostScope, observeKept as keptObservation, reconcileUntilPlanned } from './watch.ts';

const prefix = uniquePrefix();

test('which lines of ip monitor count as a change', () => {
  const ours = new Set(['vxlan-41', 'brq1']);
  const counts = (line: string) => ipLineCounts(line, ours);
  assert.equal(
    counts('[LINK]4: tap1@if2: <BROADCAST,MULTICAST,UP> mtu 1450 master brq1 state UP \\    link/ether fe:16:3e:00:00:01'),
    true,
  );
  assert.equal(counts('[ADDR]2: eth0    inet 10.9.9.1/24 scope global eth0\\       valid_lft forever preferred_lft forever'), true);
  assert.equal(counts('[ROUTE]2001:db8::/64 dev eth0 metric 1024 pref medium'), true);
  assert.equal(counts('[NSID]nsid 3 (iproute2 netns name: qrouter-1)'), true);
  assert.equal(counts('[NEIGH]172.16.1.4 dev vxlan-41 lladdr fa:16:3e:11:22:33 PERMANENT '), true, 'one of ours');
  assert.equal(counts('[NEIGH]Deleted 172.16.1.4 dev vxlan-41 FAILED '), true, 'ours deleted (no PERMANENT in the line)');
  assert.equal(counts('[NEIGH]192.168.0.104 dev eth0 lladdr c2:cd:fc:6e:3b:91 STALE '), false, 'the uplink');
  assert.equal(counts('[NEIGH]Deleted ff02::2 dev tap1 lladdr 33:33:00:00:00:02 NOARP '), false, "an instance's tap");
  assert.equal(counts('[NEIGH]dev brq1 lladdr d6:1e:0d:bb:7f:61 PERMANENT '), false, 'a bridge fdb entry');
  assert.equal(counts('[NEIGH]Deleted dev vxlan-41 lladdr 00:00:00:00:00:00 PERMANENT '), false, 'an fdb entry, read apart');
  assert.equal(counts('[NEIGH]192.168.0.105 dev vxlan-41 lladdr fa:16:3e:5a:74:ad NOARP PERMANENT '), false, "l2population's fdb entry");
  assert.equal(counts('[NEIGH]Deleted 192.168.0.105 dev vxlan-41 lladdr 00:00:00:00:00:00 NOARP PERMANENT '), false, 'and its deletion');
  assert.equal(counts('[NEIGH]172.16.1.9 dev vxlan-41 lladdr fa:16:3e:11:22:33 NOARP '), true, 'a neighbour entry of ours, NOARP');
  assert.equal(counts(''), false);

  const table = [
    'sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode',
    '000000004cf7d598 0   18662      0c000555 0        0        0     2        0        14806662',
    '0000000011111111 0   18663      00000555 0        0        0     2        0        14806663',
    '0000000022222222 12  18664      0c000555 0        0        0     2        0        14806664',
  ].join('\n');
  assert.equal(joinsIpMonitorGroups(table, new Set([14806662])), true);
  assert.equal(joinsIpMonitorGroups(table, new Set([14806663])), false, 'not yet in the nsid group');
  assert.equal(joinsIpMonitorGroups(table, new Set([14806664])), false, 'a netfilter socket');
});

describe('full observations and the ip watch', { skip: isRoot() ? false : 'needs root (namespaces)' }, () => {
  const node = `${prefix}ipw`;
  const reads: string[][] = [];
  const linkLists: string[][] = [];
  /** The namespace of each `ip` batch read outside HOST. */
  const nsBatches: string[] = [];
  const counting: Runner = (argv, opts) => {
    if (argv[0] === 'ip' && argv.includes('-batch') && opts?.netns !== node) nsBatches.push(opts?.netns ?? '');
    if (argv[0] === 'ip' && argv.includes('-batch') && opts?.netns === node) reads.push([...argv]);
    if (argv.join(' ') === 'ip -o link show') linkLists.push([...argv]);
    return run(argv, opts);
  };
  // Long enough that every change below is seen through the monitor, not because the bound ran out.
  const BOUND_MS = 5000;
  let k: RealKernel;
  const inNode = (...argv: string[]) => run(argv, { netns: node });
  const scope = hostScope;

  before(async () => {
    await run(['ip', 'netns', 'add', node]);
    k = new RealKernel({ hostNetns: node, run: counting, watchIp: true, watchNamespacesIp: true, ipKeptAtMostMs: BOUND_MS });
    // No duplicate address detection: its end, a second or so after a link is up, would make a read by itself.
    await inNode('sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0');
    // neutrino's bridge (marked) and a port that is not neutrino's, both up.
    await inNode('ip', 'link', 'add', 'brq-w', 'type', 'bridge');
    await inNode('ip', 'link', 'set', 'brq-w', 'alias', MARK, 'up');
    await inNode('ip', 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up1');
    await inNode('ip', 'link', 'set', 'up0', 'up');
    await inNode('ip', 'link', 'set', 'up1', 'up');
    // A veth whose other end is in another namespace: observations resolve its peer's namespace.
    await run(['ip', 'netns', 'add', `${prefix}ipp`]);
    await inNode('ip', 'link', 'add', 'xp0', 'type', 'veth', 'peer', 'name', 'xp1', 'netns', `${prefix}ipp`);
  });

  after(async () => {
    await k?.close();
    await removeAll(prefix);
  });

  const observeKept = () => keptObservation(k, () => k.ipReads);

  /** Observes until `seen` holds (the monitor's line may come a moment after the change), well within the bound. */
  const observeUntil = (what: string, seen: (o: ObservedNode) => boolean) => observeUntilIn(what, scope, seen);

  /** Observes with `scopeOf` until `seen` holds, well within the bound. */
  async function observeUntilIn(what: string, scopeOf: () => ObserveScope, seen: (o: ObservedNode) => boolean): Promise<ObservedNode> {
    const start = Date.now();
    let o = await k.observe(scopeOf());
    while (!seen(o) && Date.now() - start < BOUND_MS / 2) {
      await sleep(20);
      o = await k.observe(scopeOf());
    }
    assert.ok(seen(o), what);
    return o;
  }

  const host = (o: ObservedNode) => o.namespaces[HOST]!;
  const hasLink = (name: string) => (o: ObservedNode) => host(o).links.some((l) => l.name === name);

  test('untouched, the ip output is taken again; a link, an address and a route made by hand are seen', async () => {
    const first = await observeKept();
    assert.ok(hasLink('brq-w')(first));
    const readsBefore = reads.length;
    const again = await observeKept();
    assert.equal(reads.length, readsBefore, 'no ip read while nothing changed');
    assert.deepEqual(
      host(again).links.map((l) => l.name),
      host(first).links.map((l) => l.name),
    );
    // A full pass asks for the link names first: they come from the kept read too.
    const listsBefore = linkLists.length;
    assert.deepEqual(
      await k.linkNames(),
      host(again).links.map((l) => l.name),
    );
    assert.equal(linkLists.length, listsBefore, 'no ip link show while the read is kept');

    await inNode('ip', 'link', 'add', 'by-hand', 'type', 'bridge');
    await observeUntil('a link made by another process is read', hasLink('by-hand'));
    assert.ok((await k.linkNames()).includes('by-hand'));
    await observeKept();
    await inNode('ip', 'address', 'add', '10.77.0.1/24', 'dev', 'up0');
    await observeUntil('an address', (o) => host(o).addresses.some((a) => a.address.startsWith('10.77.0.1/')));
    await observeKept();
    await inNode('ip', '-6', 'route', 'add', '2001:db8:77::/64', 'dev', 'up0');
    await observeUntil('an IPv6 route', (o) => host(o).routes.some((r) => r.dst === '2001:db8:77::/64'));
  });

  test('the kept state is frozen; each observation resolves veth peers on links of its own', async () => {
    const one = await observeKept();
    const two = await observeKept();
    const xp0 = (o: ObservedNode) => host(o).links.find((l) => l.name === 'xp0')!;
    assert.equal(xp0(one).peer?.netns, `${prefix}ipp`);
    assert.equal(xp0(two).peer?.netns, `${prefix}ipp`);
    assert.notEqual(xp0(one), xp0(two), 'a veth end is copied for each observation');
    assert.notEqual(xp0(one).peer, xp0(two).peer);
    assert.ok(Object.isFrozen(host(two).addresses) && Object.isFrozen(host(two).routes[0]));
    assert.throws(() => (host(two).addresses as unknown[]).push({}), TypeError);
  });

  test("neighbour churn on a device that is not neutrino's, or its VXLAN fdb, keeps the read; an entry of neutrino's device is read", async () => {
    await observeKept();
    await inNode('ip', 'neigh', 'add', '10.77.0.9', 'dev', 'up0', 'lladdr', '02:00:00:00:77:09', 'nud', 'reachable');
    // Give the monitor time to print its line: it must not count.
    await sleep(200);
    const before = k.ipReads.read;
    const kept = await k.observe(scope());
    assert.equal(k.ipReads.read, before, "a neighbour on a device that is not neutrino's does not make a read");
    assert.ok(!host(kept).neigh.some((n) => n.ip === '10.77.0.9'), 'the kept read is what was read before');

    await inNode('ip', 'neigh', 'add', '10.78.0.9', 'dev', 'brq-w', 'lladdr', '02:00:00:00:78:09', 'nud', 'permanent');
    await observeUntil("a neighbour on neutrino's device", (o) => host(o).neigh.some((n) => n.ip === '10.78.0.9'));
    await observeKept();
    await inNode('ip', 'neigh', 'del', '10.78.0.9', 'dev', 'brq-w');
    await observeUntil('and its removal', (o) => !host(o).neigh.some((n) => n.ip === '10.78.0.9'));

    // neutrino's VXLAN device: its fdb entries (l2population's, read apart) do not make a read.
    await inNode('ip', 'link', 'add', 'vxw', 'type', 'vxlan', 'id', '77', 'dstport', '4789', 'nolearning');
    await inNode('ip', 'link', 'set', 'vxw', 'alias', MARK, 'up');
    await observeKept();
    await inNode('bridge', 'fdb', 'append', 'fa:16:3e:00:77:01', 'dev', 'vxw', 'dst', '10.79.0.5');
    await inNode('bridge', 'fdb', 'del', 'fa:16:3e:00:77:01', 'dev', 'vxw', 'dst', '10.79.0.5');
    await sleep(200);
    const beforeFdb = k.ipReads.read;
    await k.observe(scope());
    assert.equal(k.ipReads.read, beforeFdb, "an fdb entry of neutrino's VXLAN device does not make a read");
    await inNode('ip', 'neigh', 'replace', '10.79.0.9', 'dev', 'vxw', 'lladdr', 'fa:16:3e:00:77:09', 'nud', 'permanent');
    await observeUntil('a neighbour entry on it does', (o) => host(o).neigh.some((n) => n.ip === '10.79.0.9'));
  });

  test('a change the kernel does not announce is read once the kept output is older than the bound', async () => {
    // A namespace and a kernel of its own: nothing else in it may make a read meanwhile.
    const quiet = `${prefix}ipq`;
    const bound = 1500;
    await run(['ip', 'netns', 'add', quiet]);
    const q = new RealKernel({ hostNetns: quiet, watchIp: true, ipKeptAtMostMs: bound });
    try {
      const alias = (o: ObservedNode) => host(o).links.find((l) => l.name === 'quiet0')?.alias;
      await run(['ip', 'link', 'add', 'quiet0', 'type', 'bridge'], { netns: quiet });
      await keptObservation(q, () => q.ipReads);
      // A device that is down announces no alias change.
      await run(['ip', 'link', 'set', 'quiet0', 'alias', 'renamed-quietly'], { netns: quiet });
      const changed = Date.now();
      let o = await q.observe(scope());
      assert.notEqual(alias(o), 'renamed-quietly', 'taken again within the bound');
      while (alias(o) !== 'renamed-quietly' && Date.now() - changed < 4 * bound) {
        await sleep(100);
        o = await q.observe(scope());
      }
      assert.equal(alias(o), 'renamed-quietly', 'read again after the bound');
    } finally {
      await q.close();
    }
  });

  test('a named namespace with an id in HOST is kept while quiet; a change in it, or the name made again, is read', async () => {
    const peerNs = `${prefix}ipn`;
    const loneNs = `${prefix}ipl`;
    await run(['ip', 'netns', 'add', peerNs]);
    await run(['ip', 'netns', 'add', loneNs]);
    // A veth between HOST and peerNs gives peerNs an id in HOST; loneNs has none.
    await inNode('ip', 'link', 'add', 'np0', 'type', 'veth', 'peer', 'name', 'np1', 'netns', peerNs);
    const nsScope = () => ({ ...scope(), namespaces: [peerNs, loneNs] });
    const batchesIn = (netns: string) => nsBatches.filter((n) => n === netns).length;
    const observeNsKept = () => keptObservation(k, () => k.namespaceIpReads, nsScope);
    const links = (o: ObservedNode, ns: string) => o.namespaces[ns]!.links.map((l) => l.name);

    const first = await observeNsKept();
    assert.ok(links(first, peerNs).includes('np1'));
    const peerBefore = batchesIn(peerNs);
    const loneBefore = batchesIn(loneNs);
    const again = await k.observe(nsScope());
    assert.equal(batchesIn(peerNs), peerBefore, 'no ip read of the quiet namespace');
    assert.equal(batchesIn(loneNs), loneBefore + 1, 'a namespace without an id in HOST is read every time');
    assert.deepEqual(links(again, peerNs), links(first, peerNs));
    // Without watchNamespacesIp (a compute node) HOST's read is kept, the namespaces' never are.
    const plain = new RealKernel({ hostNetns: node, run: counting, watchIp: true });
    try {
      await keptObservation(plain, () => plain.ipReads);
      const plainBefore = batchesIn(peerNs);
      await plain.observe(nsScope());
      await plain.observe(nsScope());
      assert.equal(batchesIn(peerNs), plainBefore + 2);
    } finally {
      await plain.close();
    }
    assert.equal(again.namespaces[HOST]!.links.find((l) => l.name === 'np0')?.peer?.netns, peerNs, 'peers still resolved');

    // A change inside it, where nothing of HOST changes.
    await run(['ip', 'address', 'add', '10.79.0.1/24', 'dev', 'np1'], { netns: peerNs });
    await observeUntilIn('an address added in the namespace', nsScope, (o) =>
      o.namespaces[peerNs]!.addresses.some((a) => a.address.startsWith('10.79.0.1/')),
    );
    await observeNsKept();
    await run(['ip', 'link', 'set', 'np1', 'up'], { netns: peerNs });
    await observeUntilIn(
      'a link set up in the namespace',
      nsScope,
      (o) => o.namespaces[peerNs]!.links.find((l) => l.name === 'np1')?.up === true,
    );

    // The name made again (a new namespace, same name) while a process keeps the old one alive, so
    // HOST keeps its id and hears nothing: never the old one's read.
    await observeNsKept();
    const holder = spawn('ip', ['netns', 'exec', peerNs, 'sleep', '60'], { stdio: 'ignore' });
    try {
      await sleep(100);
      await run(['ip', 'netns', 'del', peerNs]);
      await run(['ip', 'netns', 'add', peerNs]);
      await run(['ip', 'link', 'add', 'fresh0', 'type', 'veth', 'peer', 'name', 'fresh1'], { netns: peerNs });
      const remade = await k.observe(nsScope());
      assert.ok(links(remade, peerNs).includes('fresh0'), JSON.stringify(links(remade, peerNs)));
      assert.ok(!links(remade, peerNs).includes('np1'));
    } finally {
      holder.kill();
    }
    await run(['ip', 'netns', 'del', peerNs]);
    await run(['ip', 'netns', 'del', loneNs]);
  });

  test("the agent's metrics serve the kernel's counts of reads made and kept", async () => {
    const metrics = new AgentMetrics();
    metrics.watchKernelReads(() => k.readCounts());
    await observeKept();
    const reads = family(parsePrometheus(await metrics.registry.metrics()), 'neutrino_agent_kernel_reads_total', 'COUNTER');
    const counts = k.readCounts();
    assert.ok(counts.ip.kept > 0 && counts.namespace_ip.kept > 0, JSON.stringify(counts));
    for (const [state, c] of Object.entries(counts)) {
      assert.equal(value(reads, { state, outcome: 'read' }), c.read, state);
      assert.equal(value(reads, { state, outcome: 'kept' }), c.kept, state);
    }
    await observeKept();
    const again = family(parsePrometheus(await metrics.registry.metrics()), 'neutrino_agent_kernel_reads_total', 'COUNTER');
    assert.equal(value(again, { state: 'ip', outcome: 'kept' }), k.ipReads.kept, 'as they are at each scrape');
  });

  test("neutrino's own apply is read back at once, and a link deleted by hand is made again", async () => {
    const ns = emptyDesiredNamespace();
    ns.links.push({ kind: 'bridge', name: 'brq-own', up: true });
    const want: DesiredNode = { namespaces: { [HOST]: ns } };
    await observeKept();
    const first = await reconcile(k, want);
    assert.ok(first.converged, JSON.stringify(first.remaining));
    assert.ok(first.plan.ops.length > 0);
    await observeKept();
    assert.deepEqual((await reconcile(k, want)).plan.ops, []);

    await inNode('ip', 'link', 'del', 'brq-own');
    const r = await reconcileUntilPlanned(k, want);
    assert.ok(r.plan.ops.length > 0, 'the deleted bridge is seen');
    assert.ok(r.converged, JSON.stringify(r.remaining));
    assert.match((await inNode('ip', '-o', 'link', 'show', 'brq-own')).stdout, /brq-own/);
  });

  test('close() ends the monitor: observations read every time after it', async () => {
    await k.close();
    const before = k.ipReads.read;
    await k.observe(scope());
    await k.observe(scope());
    assert.equal(k.ipReads.read, before + 2);
  });
});
