// What the L3 role does once a router's addresses changed: the addresses a pass added on qg-/qr-
// devices are announced with gratuitous ARP (arping -U/-A in the router namespace, Neutron's
// rounds), the ones it removed from qg- lose their conntrack state. Derived from the applied ops
// and the node observed afterwards, on the fake kernel; the commands checked with a recording runner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Logger } from 'pino';
import { planNode } from '../../src/planner/index.ts';
import { addressesReleased, addressesToAnnounce } from '../../src/planner/l3.ts';
import type { RouterView } from '../../src/model/hostview.ts';
import { controllerFacts, fip, NS, router as baseRouter, view as viewOf } from '../helpers/router-view.ts';
import { emptyObservedNamespace, HOST, type ObservedNode } from '../../src/kernel/types.ts';
import type { Op } from '../../src/kernel/ops.ts';
import { FakeKernel } from '../../src/exec/fake.ts';
import { reconcile } from '../../src/exec/reconcile.ts';
import { ExecError } from '../../src/exec/errors.ts';
import type { Runner } from '../../src/exec/run.ts';
import { announceAddress, ARPING_SLEEP_MS } from '../../src/agent/garp.ts';
import { deleteConntrackState } from '../../src/agent/conntrack.ts';

const QG = 'qg-7a8b9c0d-1e';
const QR = 'qr-0b1c2d3e-4f';
const router = (floating_ips: RouterView['floating_ips']) => baseRouter({ floating_ips });
const view = (r: RouterView) => viewOf([r]);
const facts = controllerFacts(['l2', 'l3']);

function node(): FakeKernel {
  const host = emptyObservedNamespace();
  const nic = (ifindex: number, name: string) => ({
    ifindex,
    name,
    kind: 'device',
    mtu: 1500,
    up: true,
    operstate: 'UP',
    master: null,
    mac: `02:00:00:00:00:0${ifindex}`,
    alias: null,
  });
  host.links.push(nic(1, 'lo'), nic(2, 'eth1'), nic(3, 'eth2'));
  return new FakeKernel({ namespaces: { [HOST]: host } });
}

/** One pass of the L3 role: what it announces and releases. */
async function pass(kernel: FakeKernel, r: RouterView) {
  const res = await reconcile(kernel, planNode(view(r), facts).desired, { prefixes: ['qrouter-'] });
  assert.equal(res.converged, true);
  return { announce: addressesToAnnounce(res.plan.ops, res.observed), released: addressesReleased(res.plan.ops, res.observed) };
}

const at = (dev: string, ip: string) => ({ ns: NS, dev, ip });

test('a new router announces its interface, gateway and floating IP addresses once; a pass that changes nothing announces nothing', async () => {
  const kernel = node();
  const first = await pass(kernel, router([fip('172.16.1.3')]));
  assert.deepEqual(
    first.announce.sort((a, b) => a.ip.localeCompare(b.ip)),
    [at(QG, '10.123.123.102'), at(QG, '10.123.123.104'), at(QR, '172.16.1.1')],
  );
  assert.deepEqual(first.released, []);
  assert.deepEqual(await pass(kernel, router([fip('172.16.1.3')])), { announce: [], released: [] });
});

test('associating announces the floating IP; moving it to another fixed IP only changes rules; disassociating releases it', async () => {
  const kernel = node();
  await pass(kernel, router([]));
  assert.deepEqual(await pass(kernel, router([fip('172.16.1.3')])), { announce: [at(QG, '10.123.123.104')], released: [] });
  // A floating IP moved to another fixed IP keeps its address (Neutron's move_floating_ip: no GARP, no conntrack cleanup).
  assert.deepEqual(await pass(kernel, router([fip('172.16.1.7')])), { announce: [], released: [] });
  assert.deepEqual(await pass(kernel, router([])), { announce: [], released: [at(QG, '10.123.123.104')] });
});

test('an address removed by hand is announced again when the pass puts it back', async () => {
  const kernel = node();
  await pass(kernel, router([fip('172.16.1.3')]));
  await kernel.apply([{ op: 'addr-del', ns: NS, addr: { dev: QG, address: '10.123.123.104/32' } }]);
  assert.deepEqual(await pass(kernel, router([fip('172.16.1.3')])), { announce: [at(QG, '10.123.123.104')], released: [] });
});

test('only IPv4 addresses on qg-/qr- devices of router namespaces, and only what the node now holds (added) or no longer holds (removed)', () => {
  const observed: ObservedNode = { namespaces: { [NS]: emptyObservedNamespace(), [HOST]: emptyObservedNamespace() } };
  observed.namespaces[NS]!.addresses.push({ dev: QG, address: '10.123.123.104/32', family: 4, scope: 'global' });
  observed.namespaces[NS]!.addresses.push({ dev: QG, address: '10.123.123.110/32', family: 4, scope: 'global' });
  const add = (ns: string, dev: string, address: string): Op => ({ op: 'addr-add', ns, addr: { dev, address } });
  const del = (ns: string, dev: string, address: string): Op => ({ op: 'addr-del', ns, addr: { dev, address } });
  const ops: Op[] = [
    add(NS, QG, '10.123.123.104/32'),
    add(NS, QG, '10.123.123.104/32'), // twice in one plan: announced once
    add(NS, QG, '10.123.123.105/32'), // not there after the apply (it failed part-way)
    add(NS, QG, '2001:db8::1/64'),
    add(NS, 'lo', '10.0.0.1/32'),
    add(HOST, 'brqe6e37ba0-3b', '10.1.1.1/24'),
    add('qdhcp-x', 'ns-1234', '172.16.1.2/24'),
    del(NS, QG, '10.123.123.106/32'),
    del(NS, QG, '10.123.123.110/32'), // still there: not released
    del(NS, QR, '172.16.9.1/24'), // interfaces have no NAT state of their own
  ];
  assert.deepEqual(addressesToAnnounce(ops, observed), [at(QG, '10.123.123.104')]);
  assert.deepEqual(addressesReleased(ops, observed), [at(QG, '10.123.123.106')]);
});

/** A runner that records argv and netns, failing the calls `fail` says with that exit code. */
function recorder(fail: (argv: readonly string[], call: number) => number | null = () => null) {
  const calls: string[] = [];
  const run: Runner = async (argv, opts = {}) => {
    calls.push(`${opts.netns ?? '-'}: ${argv.join(' ')}`);
    const code = fail(argv, calls.length);
    if (code !== null) throw new ExecError('failed', argv, code, 'arping: bind: Cannot assign requested address', opts.netns);
    return { stdout: '', stderr: '' };
  };
  return { calls, run };
}
const logs = () => {
  const seen: { level: string; msg: string }[] = [];
  return {
    seen,
    log: {
      warn: (_o: object, msg: string) => void seen.push({ level: 'warn', msg }),
      debug: (_o: object, msg: string) => void seen.push({ level: 'debug', msg }),
    } as Pick<Logger, 'warn' | 'debug'>,
  };
};

test("gratuitous ARP: Neutron's arping -U then -A, one packet each, in the router namespace, rounds 2 s apart; no reply (exit 1) is fine", async () => {
  const { calls, run } = recorder(() => 1);
  const slept: number[] = [];
  const { seen, log } = logs();
  await announceAddress(at(QG, '10.123.123.104'), log, { run, rounds: 3, sleep: async (ms) => void slept.push(ms) });
  const u = `${NS}: arping -U -I ${QG} -c 1 -w 2 10.123.123.104`;
  const a = `${NS}: arping -A -I ${QG} -c 1 -w 2 10.123.123.104`;
  assert.deepEqual(calls, [u, a, u, a, u, a]);
  assert.deepEqual(slept, [ARPING_SLEEP_MS, ARPING_SLEEP_MS]);
  assert.deepEqual(seen, []);
});

test('gratuitous ARP: a failure is logged and ends the announcements of that address, quietly once the address went away', async () => {
  const first = recorder(() => 2);
  const l1 = logs();
  await announceAddress(at(QG, '10.123.123.104'), l1.log, { run: first.run, rounds: 3, sleep: async () => undefined });
  assert.equal(first.calls.length, 1);
  assert.deepEqual(l1.seen, [{ level: 'warn', msg: 'gratuitous ARP failed' }]);
  const later = recorder((_a, call) => (call > 2 ? 2 : null));
  const l2 = logs();
  await announceAddress(at(QG, '10.123.123.104'), l2.log, { run: later.run, rounds: 3, sleep: async () => undefined });
  assert.equal(later.calls.length, 3);
  assert.deepEqual(l2.seen, [{ level: 'debug', msg: 'gratuitous ARP stopped: the address is gone' }]);
});

test('conntrack: the state toward (-d) and back to (-q) each released address is deleted in its namespace; none to delete (exit 1) is fine', async () => {
  const { calls, run } = recorder((argv) => (argv.includes('-q') ? 1 : null));
  const { seen, log } = logs();
  await deleteConntrackState([at(QG, '10.123.123.104')], log, run);
  assert.deepEqual(calls, [`${NS}: conntrack -D -d 10.123.123.104`, `${NS}: conntrack -D -q 10.123.123.104`]);
  assert.deepEqual(seen, []);
});
