// Root test of the security group firewall: a node namespace with a flat network's bridge and two
// veth "instances" plugged the way the lab plugs them (the veth made by hand, enslaved by the plan),
// the planner's chains applied through RealKernel + diff; real traffic checks what passes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { RealKernel } from '../../src/exec/real.ts';
import { reconcile } from '../../src/exec/reconcile.ts';
import { run } from '../../src/exec/run.ts';
import { bridgeName, tapName } from '../../src/kernel/names.ts';
import { HOST } from '../../src/kernel/types.ts';
import type { PortView } from '../../src/model/hostview.ts';
import { planFirewall } from '../../src/planner/firewall.ts';
import { planFirewall6 } from '../../src/planner/firewall6.ts';
import { planNode } from '../../src/planner/index.ts';
import { parseNetnsList } from '../../src/observe/netns.ts';
import {
  computeFacts,
  FLAT,
  INSTANCE,
  makeFirewallNode,
  OTHER,
  plugInstance as plugSgInstance,
  rule,
  scenarioGroup,
  sgPort,
  sgView,
} from '../helpers/sg-view.ts';
import { isRoot } from './sandbox.ts';

const prefix = `ntfw-${randomBytes(2).toString('hex')}-`;
const node = `${prefix}node`;
const vm = (p: PortView) => `${prefix}vm-${p.id.slice(0, 8)}${p.id.slice(-2)}`;
const listeners: ChildProcess[] = [];

/** What the agent passes to planNode (a flat network on a hand-made dummy NIC). */
const facts = computeFacts;
const flat = FLAT;

const plugInstance = (p: PortView) => plugSgInstance(node, vm(p), p);

/** `nc -z -w1`: whether a TCP connection is accepted within a second. */
async function connects(from: string, ip: string, port: number): Promise<boolean> {
  return run(['nc', '-z', '-w1', ip, String(port)], { netns: from, timeoutMs: 5000 }).then(
    () => true,
    () => false,
  );
}

async function pings(from: string, ip: string, extra: string[] = []): Promise<boolean> {
  for (let i = 0; i < 2; i++) {
    const ok = await run(['ping', '-c', '1', '-W', '1', ...extra, ip], { netns: from, timeoutMs: 5000 }).then(
      () => true,
      () => false,
    );
    if (ok) return true;
  }
  return false;
}

function listen(netns: string, port: number): void {
  const child = spawn('nsenter', [`--net=/run/netns/${netns}`, '--', 'nc', '-l', '-k', '-p', String(port)], { stdio: 'ignore' });
  listeners.push(child);
}

describe('security group firewall against the real kernel', { skip: isRoot() ? false : 'needs root (namespaces, iptables)' }, () => {
  const k = new RealKernel({ hostNetns: node });

  before(async () => {
    await makeFirewallNode(node);
    await plugInstance(INSTANCE);
    await plugInstance(OTHER);
    for (const port of [22, 8080]) listen(vm(INSTANCE), port);
  });

  after(async () => {
    for (const c of listeners) if (c.pid !== undefined) c.kill('SIGKILL');
    if (!/^ntfw-[0-9a-f]{4}-$/.test(prefix)) return;
    const names = parseNetnsList((await run(['ip', '-j', 'netns', 'list'])).stdout).filter((n) => n.startsWith(prefix));
    for (const ns of names) await run(['ip', 'netns', 'del', ns]).catch(() => undefined);
  });

  test('ICMP and tcp/22 pass, tcp/8080 is refused, a spoofed source is dropped; the second diff is empty', async () => {
    const { desired } = planNode(sgView([INSTANCE, OTHER], [scenarioGroup()], flat), facts([INSTANCE, OTHER]));
    const r = await reconcile(k, desired);
    assert.ok(r.converged, JSON.stringify(r.remaining, null, 1));
    const br = r.observed.namespaces[HOST]!.links.find((l) => l.name === tapName(INSTANCE.id));
    assert.equal(br?.master, bridgeName(INSTANCE.network_id));
    const saved = (await run(['iptables-save', '-t', 'filter'], { netns: node })).stdout;
    assert.match(saved, /-A neutron-linuxbri-i3c338602-d -p tcp -m tcp --dport 22 -j RETURN/);

    const from = vm(OTHER);
    assert.ok(await pings(from, '172.16.1.3'), 'ICMP allowed');
    assert.ok(await connects(from, '172.16.1.3', 22), 'tcp/22 allowed');
    assert.equal(await connects(from, '172.16.1.3', 8080), false, 'tcp/8080 not allowed');

    // A source address that is not the port's: the other instance's anti-spoofing chain drops it.
    await run(['ip', 'addr', 'add', '172.16.1.99/24', 'dev', 'eth0'], { netns: from });
    assert.equal(await pings(from, '172.16.1.3', ['-I', '172.16.1.99']), false, 'spoofed source dropped');
    await run(['ip', 'addr', 'del', '172.16.1.99/24', 'dev', 'eth0'], { netns: from });

    const again = await reconcile(k, desired);
    assert.equal(again.plan.ops.length, 0, JSON.stringify(again.plan.ops));
  });

  test('a rule added opens the port, removed closes it again; an allowed address pair admits its source', async () => {
    const open = scenarioGroup([
      rule({ id: 'web', protocol: 'tcp', port_range_min: 8000, port_range_max: 8080, remote_ip_prefix: '172.16.1.0/24' }),
    ]);
    const withPair = { ...OTHER, allowed_address_pairs: [{ ip_address: '172.16.1.99', mac_address: '' }] };
    let r = await reconcile(k, planNode(sgView([INSTANCE, withPair], [open], flat), facts([INSTANCE, OTHER])).desired);
    assert.ok(r.converged, JSON.stringify(r.remaining, null, 1));
    const from = vm(OTHER);
    assert.ok(await connects(from, '172.16.1.3', 8080), 'tcp/8080 allowed by the new rule');
    await run(['ip', 'addr', 'add', '172.16.1.99/24', 'dev', 'eth0'], { netns: from });
    assert.ok(await pings(from, '172.16.1.3', ['-I', '172.16.1.99']), 'the pair address is allowed');
    await run(['ip', 'addr', 'del', '172.16.1.99/24', 'dev', 'eth0'], { netns: from });
    r = await reconcile(k, planNode(sgView([INSTANCE, OTHER], [scenarioGroup()], flat), facts([INSTANCE, OTHER])).desired);
    assert.ok(r.converged);
    assert.equal(await connects(from, '172.16.1.3', 8080), false, 'tcp/8080 closed again');
  });

  test('port security disabled: no chains, everything passes', async () => {
    const open = { ...INSTANCE, port_security_enabled: false, security_groups: [] };
    const r = await reconcile(k, planNode(sgView([open, OTHER], [scenarioGroup()], flat), facts([INSTANCE, OTHER])).desired);
    assert.ok(r.converged, JSON.stringify(r.remaining, null, 1));
    const saved = (await run(['iptables-save', '-t', 'filter'], { netns: node })).stdout;
    assert.doesNotMatch(saved, /neutron-linuxbri-i3c338602-d/);
    assert.ok(await connects(vm(OTHER), '172.16.1.3', 8080), 'tcp/8080 passes without port security');
  });

  test('no window: a tap in the bridge with no chains passes nothing (default drop), then its own rules apply', async () => {
    const late = sgPort('9a1b2c3d-0000-4000-8000-000000000001', '172.16.1.5', 'fa:16:3e:00:00:05');
    await plugInstance(late);
    // Enslaved by hand before neutrino knows the port (as a hypervisor does): nothing gets through.
    await run(['ip', 'link', 'set', tapName(late.id), 'master', bridgeName(INSTANCE.network_id)], { netns: node });
    await reconcile(k, planNode(sgView([INSTANCE, OTHER], [scenarioGroup()], flat), facts([INSTANCE, OTHER])).desired);
    assert.equal(await pings(vm(late), '172.16.1.3'), false, 'from an unknown tap: dropped');
    assert.equal(await connects(vm(late), '172.16.1.3', 8080), false);
    assert.equal(await pings(vm(OTHER), '172.16.1.5'), false, 'to an unknown tap: dropped');
    // Once the port is bound here its chains apply: ICMP and SSH in, 8080 still refused.
    const r = await reconcile(
      k,
      planNode(sgView([INSTANCE, OTHER, late], [scenarioGroup()], flat), facts([INSTANCE, OTHER, late])).desired,
    );
    assert.ok(r.converged, JSON.stringify(r.remaining, null, 1));
    assert.ok(await pings(vm(late), '172.16.1.3'));
    assert.ok(await connects(vm(late), '172.16.1.3', 22));
    assert.equal(await connects(vm(late), '172.16.1.3', 8080), false);
  });

  test('no window: probing a forbidden port while the agent plugs an instance never connects', async () => {
    const fresh = sgPort('7e2f4a10-0000-4000-8000-000000000002', '172.16.1.6', 'fa:16:3e:00:00:06');
    const late = sgPort('9a1b2c3d-0000-4000-8000-000000000001', '172.16.1.5', 'fa:16:3e:00:00:05');
    await plugInstance(fresh); // its tap exists, not in the bridge: the agent enslaves it below
    for (const port of [22, 8080]) listen(vm(fresh), port);
    const probe = spawn(
      'nsenter',
      [`--net=/run/netns/${vm(OTHER)}`, '--', 'sh', '-c', 'while :; do timeout 0.3 nc -z -w1 172.16.1.6 8080 && echo OPEN; done'],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    listeners.push(probe);
    let out = '';
    probe.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((res) => setTimeout(res, 300));
    // One pass: the port is bound and its tap present — chains and enslavement in the same pass.
    const ports = [INSTANCE, OTHER, late, fresh];
    const r = await reconcile(k, planNode(sgView(ports, [scenarioGroup()], flat), facts(ports)).desired);
    assert.ok(r.converged, JSON.stringify(r.remaining, null, 1));
    await new Promise((res) => setTimeout(res, 1500));
    probe.kill('SIGKILL');
    assert.equal(out, '', 'tcp/8080 of the new instance never answered');
    assert.ok(await connects(vm(OTHER), '172.16.1.6', 22), 'the instance is plugged: tcp/22 answers');
  });

  test("a big node's layout (node-wide chains split by digit): the same verdicts; back to the long chains converges too", async () => {
    const late = sgPort('9a1b2c3d-0000-4000-8000-000000000001', '172.16.1.5', 'fa:16:3e:00:00:05');
    const fresh = sgPort('7e2f4a10-0000-4000-8000-000000000002', '172.16.1.6', 'fa:16:3e:00:00:06');
    const ports = [INSTANCE, OTHER, late, fresh];
    const view = sgView(ports, [scenarioGroup()], flat);
    const { desired } = planNode(view, facts(ports));
    // The split planNode makes above BUCKET_ABOVE taps, here with four.
    desired.namespaces[HOST]!.iptables.filter = planFirewall(view, [], { bucketAbove: 0 }).filter!;
    desired.namespaces[HOST]!.ip6tables!.filter = planFirewall6(view, [], { bucketAbove: 0 }).filter!;
    const r = await reconcile(k, desired);
    assert.ok(r.converged, JSON.stringify(r.remaining, null, 1));
    const saved = (await run(['iptables-save', '-t', 'filter'], { netns: node })).stdout;
    // INSTANCE (3c…) and OTHER (37…) share a digit; late (9a…) and fresh (7e…) each have their own.
    assert.match(saved, /-A neutron-linuxbri-FORWARD -m physdev --physdev-out tap3\+ --physdev-is-bridged -j neutron-linuxbri-FORWARD-3/);
    assert.match(saved, /-A neutron-linuxbri-unknown-in -m physdev --physdev-in tap9\+ -g neutron-linuxbri-unknown-i-9/);
    assert.doesNotMatch(saved, /-A neutron-linuxbri-FORWARD -m physdev --physdev-out tap3c338602-d8/);

    // Within one digit and across digits: ICMP and SSH in, 8080 refused, a spoofed source dropped.
    for (const from of [vm(OTHER), vm(late)]) {
      assert.ok(await pings(from, '172.16.1.3'), `ICMP from ${from}`);
      assert.ok(await connects(from, '172.16.1.3', 22), `tcp/22 from ${from}`);
      assert.equal(await connects(from, '172.16.1.3', 8080), false, `tcp/8080 from ${from}`);
    }
    assert.ok(await connects(vm(INSTANCE), '172.16.1.6', 22), 'to another digit');
    await run(['ip', 'addr', 'add', '172.16.1.99/24', 'dev', 'eth0'], { netns: vm(late) });
    assert.equal(await pings(vm(late), '172.16.1.3', ['-I', '172.16.1.99']), false, 'spoofed source dropped');
    await run(['ip', 'addr', 'del', '172.16.1.99/24', 'dev', 'eth0'], { netns: vm(late) });
    // An unknown tap in the bridge, under a digit that has ports and under one that has none: dropped.
    const strays = [
      sgPort('3e000000-0000-4000-8000-000000000003', '172.16.1.7', 'fa:16:3e:00:00:07'),
      sgPort('b0000000-0000-4000-8000-000000000004', '172.16.1.8', 'fa:16:3e:00:00:08'),
    ];
    for (const stray of strays) {
      await plugInstance(stray);
      await run(['ip', 'link', 'set', tapName(stray.id), 'master', bridgeName(INSTANCE.network_id)], { netns: node });
      assert.equal(await pings(vm(stray), '172.16.1.3'), false, `from unknown ${tapName(stray.id)}: dropped`);
      assert.equal(await pings(vm(OTHER), stray.fixed_ips[0]!.ip_address), false, `to unknown ${tapName(stray.id)}: dropped`);
    }
    const again = await reconcile(k, desired);
    assert.equal(again.plan.ops.length, 0, JSON.stringify(again.plan.ops));

    // Back to the long chains (a node whose ports went below the threshold): converges, and the sub-chains are gone.
    const back = await reconcile(k, planNode(view, facts(ports)).desired);
    assert.ok(back.converged, JSON.stringify(back.remaining, null, 1));
    assert.doesNotMatch((await run(['iptables-save', '-t', 'filter'], { netns: node })).stdout, /neutron-linuxbri-FORWARD-3/);
    assert.ok(await connects(vm(OTHER), '172.16.1.3', 22));
  });
});
