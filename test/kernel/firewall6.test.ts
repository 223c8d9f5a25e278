// Root test of the IPv6 half of the security group firewall: a node namespace with a flat network's
// bridge and two dual-stack veth "instances" (static IPv6 addresses; link-local from the MAC, as a
// VM's), the planner's iptables and ip6tables applied through RealKernel + diff; real traffic
// checks neighbour discovery, what a rule opens, what stays closed and that a spoofed source drops.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { RealKernel } from '../../src/exec/real.ts';
import { reconcile } from '../../src/exec/reconcile.ts';
import { run } from '../../src/exec/run.ts';
import { HOST } from '../../src/kernel/types.ts';
import type { PortView, SecurityGroupView } from '../../src/model/hostview.ts';
import { planNode } from '../../src/planner/index.ts';
import { parseNetnsList } from '../../src/observe/netns.ts';
import {
  computeFacts,
  FLAT,
  INSTANCE,
  makeFirewallNode,
  OTHER,
  plugInstance,
  rule,
  scenarioGroup,
  SG_ID,
  sgView,
} from '../helpers/sg-view.ts';
import { isRoot } from './sandbox.ts';

const prefix = `ntfw6-${randomBytes(2).toString('hex')}-`;
const node = `${prefix}node`;
const vm = (p: PortView) => `${prefix}vm-${p.id.slice(0, 8)}${p.id.slice(-2)}`;
const listeners: ChildProcess[] = [];

const V6_SUBNET = '66666666-2222-3333-4444-555555555555';
const IP6 = { [INSTANCE.id]: '2001:db8:0:1::3', [OTHER.id]: '2001:db8:0:1::4' };
const dual = (p: PortView): PortView => ({ ...p, fixed_ips: [...p.fixed_ips, { subnet_id: V6_SUBNET, ip_address: IP6[p.id]! }] });
const A = dual(INSTANCE);
const B = dual(OTHER);

/** The scenario's group (IPv4 ICMP + SSH in) with ICMPv6 echo and SSH over IPv6 from the subnet, plus `extra`. */
function group(extra: SecurityGroupView['rules'] = []): SecurityGroupView {
  return {
    ...scenarioGroup([
      rule({ id: 'ping6', ethertype: 'IPv6', protocol: 'ipv6-icmp', port_range_min: 128, port_range_max: null }),
      rule({
        id: 'ssh6',
        ethertype: 'IPv6',
        protocol: 'tcp',
        port_range_min: 22,
        port_range_max: 22,
        remote_ip_prefix: '2001:db8:0:1::/64',
      }),
      ...extra,
    ]),
    member_ips: ['172.16.1.3', '172.16.1.4', IP6[INSTANCE.id]!, IP6[OTHER.id]!],
  };
}
const plan = (ports: PortView[], g = group()) => planNode(sgView(ports, [g], FLAT), computeFacts([INSTANCE, OTHER])).desired;

async function connects(from: string, ip: string, port: number, source?: string): Promise<boolean> {
  return run(['nc', '-z', '-w1', ...(source ? ['-s', source] : []), ip, String(port)], { netns: from, timeoutMs: 5000 }).then(
    () => true,
    () => false,
  );
}

async function pings6(from: string, ip: string, source?: string): Promise<boolean> {
  for (let i = 0; i < 3; i++) {
    const ok = await run(['ping', '-6', '-c', '1', '-W', '1', ...(source ? ['-I', source] : []), ip], {
      netns: from,
      timeoutMs: 5000,
    }).then(
      () => true,
      () => false,
    );
    if (ok) return true;
  }
  return false;
}

const save6 = async () => (await run(['ip6tables-save', '-t', 'filter'], { netns: node })).stdout;

describe('IPv6 security groups against the real kernel', { skip: isRoot() ? false : 'needs root (namespaces, ip6tables)' }, () => {
  const k = new RealKernel({ hostNetns: node });

  before(async () => {
    await makeFirewallNode(node);
    for (const p of [A, B]) {
      await plugInstance(node, vm(p), p);
      // Static addresses (no DHCPv6/SLAAC here); nodad: usable at once. The link-local address is the kernel's EUI-64 one.
      await run(['ip', '-6', 'addr', 'add', `${IP6[p.id]!}/64`, 'dev', 'eth0', 'nodad'], { netns: vm(p) });
    }
    for (const port of [22, 8080]) {
      const child = spawn('nsenter', [`--net=/run/netns/${vm(A)}`, '--', 'nc', '-6', '-l', '-k', '-p', String(port)], { stdio: 'ignore' });
      listeners.push(child);
    }
  });

  after(async () => {
    for (const c of listeners) if (c.pid !== undefined) c.kill('SIGKILL');
    if (!/^ntfw6-[0-9a-f]{4}-$/.test(prefix)) return;
    const names = parseNetnsList((await run(['ip', '-j', 'netns', 'list'])).stdout).filter((n) => n.startsWith(prefix));
    for (const ns of names) await run(['ip', 'netns', 'del', ns]).catch(() => undefined);
  });

  test('neighbour discovery and ICMPv6 echo pass, tcp/22 opens, tcp/8080 stays closed, a spoofed source drops; converged', async () => {
    const desired = plan([A, B]);
    const r = await reconcile(k, desired);
    assert.ok(r.converged, JSON.stringify(r.remaining, null, 1));
    assert.match(await save6(), /-A neutron-linuxbri-i3c338602-d -s 2001:db8:0:1::\/64 -p tcp -m tcp --dport 22 -j RETURN/);
    assert.match(await save6(), /-A neutron-linuxbri-s37720f0a-f -s fe80::f816:3eff:fe11:2233\/128 -m mac --mac-source fa:16:3e:11:22:33/);

    const from = vm(B);
    // The first ping needs neighbour solicitation/advertisement through both ports' chains.
    assert.ok(await pings6(from, IP6[INSTANCE.id]!), 'ICMPv6 echo (and neighbour discovery) allowed');
    const neigh = (await run(['ip', '-6', 'neigh', 'show', IP6[INSTANCE.id]!], { netns: from })).stdout;
    assert.match(neigh, /lladdr fa:16:3e:a7:f7:5a/, 'the neighbour was resolved');
    assert.ok(await connects(from, IP6[INSTANCE.id]!, 22), 'tcp/22 over IPv6 allowed');
    assert.equal(await connects(from, IP6[INSTANCE.id]!, 8080), false, 'tcp/8080 over IPv6 not allowed');
    // IPv4 works next to it, under its own rules.
    assert.ok(await pings6(from, IP6[INSTANCE.id]!));
    await run(['ping', '-c', '1', '-W', '2', '172.16.1.3'], { netns: from, timeoutMs: 5000 });

    // An IPv6 source address that is not the port's: its anti-spoofing chain drops it.
    await run(['ip', '-6', 'addr', 'add', '2001:db8:0:1::99/64', 'dev', 'eth0', 'nodad'], { netns: from });
    assert.equal(await pings6(from, IP6[INSTANCE.id]!, '2001:db8:0:1::99'), false, 'spoofed IPv6 source dropped');
    assert.equal(await connects(from, IP6[INSTANCE.id]!, 22, '2001:db8:0:1::99'), false, 'spoofed IPv6 source dropped (tcp)');
    await run(['ip', '-6', 'addr', 'del', '2001:db8:0:1::99/64', 'dev', 'eth0'], { netns: from });

    const again = await reconcile(k, desired);
    assert.equal(again.plan.ops.length, 0, JSON.stringify(again.plan.ops));
  });

  test('a remote-group IPv6 rule matches the NIPv6 set; an IPv6 allowed address pair admits its source', async () => {
    const web = rule({
      id: 'web6',
      ethertype: 'IPv6',
      protocol: 'tcp',
      port_range_min: 8080,
      port_range_max: 8080,
      remote_group_id: SG_ID,
    });
    const withPair = { ...B, allowed_address_pairs: [{ ip_address: '2001:db8:0:1::99', mac_address: '' }] };
    const r = await reconcile(k, plan([A, withPair], group([web])));
    assert.ok(r.converged, JSON.stringify(r.remaining, null, 1));
    const sets = (await run(['ipset', 'save'], { netns: node })).stdout;
    assert.match(sets, /^create NIPv65b2b8d0c-1c7e-4d0a-9a36- hash:net family inet6 /m);
    assert.match(sets, /^add NIPv65b2b8d0c-1c7e-4d0a-9a36- 2001:db8:0:1::4$/m);
    const from = vm(B);
    assert.ok(await connects(from, IP6[INSTANCE.id]!, 8080), 'tcp/8080 from a member of the remote group');
    await run(['ip', '-6', 'addr', 'add', '2001:db8:0:1::99/64', 'dev', 'eth0', 'nodad'], { netns: from });
    assert.ok(await pings6(from, IP6[INSTANCE.id]!, '2001:db8:0:1::99'), 'the pair address is allowed');
    // Not a member of the group: the set does not hold it.
    assert.equal(await connects(from, IP6[INSTANCE.id]!, 8080, '2001:db8:0:1::99'), false, 'tcp/8080 from outside the group');
    await run(['ip', '-6', 'addr', 'del', '2001:db8:0:1::99/64', 'dev', 'eth0'], { netns: from });
  });

  test('drift in ip6tables is repaired; a port that goes takes its IPv6 chains and the unused NIPv6 set with it', async () => {
    const desired = plan([A, B]);
    let r = await reconcile(k, desired);
    assert.ok(r.converged, JSON.stringify(r.remaining, null, 1));
    assert.doesNotMatch((await run(['ipset', 'save'], { netns: node })).stdout, /NIPv6/, 'no IPv6 remote-group rule, no set');
    await run(
      ['ip6tables', '-w', '-D', 'neutron-linuxbri-i3c338602-d', '-p', 'ipv6-icmp', '-m', 'icmp6', '--icmpv6-type', '135', '-j', 'RETURN'],
      {
        netns: node,
      },
    );
    r = await reconcile(k, desired);
    assert.ok(r.converged, JSON.stringify(r.remaining, null, 1));
    assert.match(await save6(), /-A neutron-linuxbri-i3c338602-d -p ipv6-icmp -m icmp6 --icmpv6-type 135 -j RETURN/);

    r = await reconcile(k, plan([A]));
    assert.ok(r.converged, JSON.stringify(r.remaining, null, 1));
    const saved = await save6();
    assert.doesNotMatch(saved, /neutron-linuxbri-[ios]37720f0a-f/);
    assert.match(saved, /neutron-linuxbri-i3c338602-d/);
    const observed = r.observed.namespaces[HOST]!;
    assert.ok(!(observed.ip6tables?.filter ?? []).some((c) => c.name.includes('37720f0a')));
  });
});
