// The L3 role with IPv6 (Neutron's router_info.py, namespaces.py, ra.py): the interfaces' and the
// gateway's IPv6 addresses, the default IPv6 route via the external subnet's gateway, forwarding
// and accept_ra, radvd with Neutron's config while an interface has an IPv6 subnet, and no IPv6 NAT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planNode } from '../../src/planner/index.ts';
import { controllerFacts, dualStack, NS, ROUTER, router, view } from '../helpers/router-view.ts';
import type { HostView } from '../../src/model/hostview.ts';
import { diff } from '../../src/kernel/diff.ts';
import { FakeKernel } from '../../src/exec/fake.ts';
import { scopeFor } from '../../src/kernel/scope.ts';
import { emptyObservedNamespace, HOST } from '../../src/kernel/types.ts';
import { agentPass, type PriorPass } from '../../src/agent/pass.ts';

const facts = { ...controllerFacts(['l2', 'dhcp', 'l3']), radvdUser: 'root' };
const radvdHint = { id: `radvd-${ROUTER}`, pidFile: `/var/lib/neutrino/external/pids/${ROUTER}.pid.radvd`, files: [] };

test('IPv6 addresses on qr- and qg-, the default IPv6 route via the external subnet’s gateway, forwarding on, accept_ra 0, no DAD on the IPv6 qr-', () => {
  const { view: v, router: r } = dualStack('slaac', '2001:db8:e::1');
  const ns = planNode(v, facts).desired.namespaces[NS]!;
  assert.deepEqual(ns.addresses, [
    { dev: 'qr-0b1c2d3e-4f', address: '172.16.1.1/24' },
    { dev: 'qr-0b1c2d3e-4f', address: 'fd00:1::1/64' },
    { dev: 'qg-7a8b9c0d-1e', address: '10.123.123.102/24' },
    { dev: 'qg-7a8b9c0d-1e', address: '2001:db8:e::5/64' },
    { dev: 'qg-7a8b9c0d-1e', address: '10.123.123.104/32' },
  ]);
  assert.deepEqual(ns.routes, [
    { dst: 'default', via: '10.123.123.1', dev: 'qg-7a8b9c0d-1e' },
    { dst: 'default', via: '2001:db8:e::1', dev: 'qg-7a8b9c0d-1e' },
  ]);
  assert.deepEqual(
    ns.sysctls.filter((s) => s.key.startsWith('net.ipv6.')),
    [
      { key: 'net.ipv6.conf.all.forwarding', value: '1' },
      { key: 'net.ipv6.conf.qr-0b1c2d3e-4f.accept_dad', value: '0' },
      { key: 'net.ipv6.conf.qg-7a8b9c0d-1e.accept_ra', value: '0' },
      { key: 'net.ipv6.conf.qg-7a8b9c0d-1e.forwarding', value: '1' },
    ],
  );
  // No IPv6 NAT: the nat table is IPv4 (iptables) only, and names no IPv6 address.
  const rules = Object.values(ns.iptables).flatMap((chains) => chains.flatMap((c) => c.rules));
  assert.ok(rules.length > 0 && !rules.some((rule) => /2001:db8|fd00:/.test(rule)), 'no IPv6 address in the NAT rules');
  assert.equal(r.id, ROUTER);
});

test('radvd runs with Neutron’s config for the IPv6 interface; a v4-only router has none', () => {
  const { view: v } = dualStack('slaac', '2001:db8:e::1');
  const ns = planNode(v, facts).desired.namespaces[NS]!;
  assert.equal(ns.processes.length, 1);
  const radvd = ns.processes[0]!;
  assert.equal(radvd.id, `radvd-${ROUTER}`);
  assert.deepEqual(radvd.argv, [
    'radvd',
    '-C',
    `/var/lib/neutrino/ra/${ROUTER}.radvd.conf`,
    '-p',
    `/var/lib/neutrino/external/pids/${ROUTER}.pid.radvd`,
    '-m',
    'syslog',
    '-u',
    'root',
  ]);
  const conf = radvd.files[0]!.content;
  assert.match(conf, /^interface qr-0b1c2d3e-4f\n/);
  assert.match(conf, /AdvLinkMTU 1450;/);
  assert.match(conf, /RDNSS  2001:db8::53  \{\};/);
  assert.match(conf, /prefix fd00:1::\/64\n   \{\n        AdvOnLink on;\n        AdvAutonomous on;/);
  assert.deepEqual(planNode(view([router()]), facts).desired.namespaces[NS]!.processes, []);
});

test('without an IPv6 gateway on the external subnet, qg- accepts router advertisements (accept_ra 2) and no IPv6 route is set', () => {
  const { view: v } = dualStack('dhcpv6-stateful', null);
  const ns = planNode(v, facts).desired.namespaces[NS]!;
  assert.deepEqual(ns.routes, [{ dst: 'default', via: '10.123.123.1', dev: 'qg-7a8b9c0d-1e' }]);
  assert.ok(ns.sysctls.some((s) => s.key === 'net.ipv6.conf.qg-7a8b9c0d-1e.accept_ra' && s.value === '2'));
  assert.match(ns.processes[0]!.files[0]!.content, /AdvManagedFlag on;[\s\S]*AdvAutonomous off;/);
});

test('an IPv6 gateway outside its subnet is reached on-link first', () => {
  const { view: v } = dualStack('slaac', '2001:db8:f::1');
  const ns = planNode(v, facts).desired.namespaces[NS]!;
  assert.deepEqual(ns.routes.slice(1), [
    { dst: '2001:db8:f::1/128', dev: 'qg-7a8b9c0d-1e' },
    { dst: 'default', via: '2001:db8:f::1', dev: 'qg-7a8b9c0d-1e' },
  ]);
});

test('on the fake kernel: radvd starts, a config change reloads it (SIGHUP), losing the IPv6 interface stops it', async () => {
  const kernel = new FakeKernel();
  const apply = async (v: HostView) => {
    const { desired } = planNode(v, facts);
    const plan = diff(
      desired,
      await kernel.observe(
        scopeFor(desired, {
          processes: { [NS]: [{ id: `radvd-${ROUTER}`, pidFile: `/var/lib/neutrino/external/pids/${ROUTER}.pid.radvd`, files: [] }] },
        }),
      ),
    );
    await kernel.apply(plan.ops);
    return plan.ops.map((o) => o.op).filter((o) => o.startsWith('proc-'));
  };
  const slaac = dualStack('slaac', '2001:db8:e::1');
  assert.deepEqual(await apply(slaac.view), ['proc-start']);
  assert.deepEqual(await apply(slaac.view), []);
  assert.deepEqual(await apply(dualStack('dhcpv6-stateless', '2001:db8:e::1').view), ['proc-reload']);
  assert.deepEqual(await apply(view([router()])), ['proc-stop']);
});

test('agent passes: a targeted pass stops the radvd of a router that keeps its namespace but loses IPv6; a full pass does too', async () => {
  const { presentTaps: _taps, ...agentFacts } = facts;
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
  const kernel = new FakeKernel({ namespaces: { [HOST]: host } });
  const prior = (r: Awaited<ReturnType<typeof agentPass>>): PriorPass => ({
    desired: r.desired,
    presentTaps: r.presentTaps,
    portStatus: r.portStatus,
    events: new Map(),
  });
  const first = await agentPass(kernel, dualStack('slaac', '2001:db8:e::1').view, agentFacts);
  assert.ok(first.converged && first.desired.namespaces[NS]!.processes.length === 1);
  const targeted = await agentPass(kernel, view([router()]), agentFacts, prior(first));
  assert.equal(typeof targeted.scope, 'object', 'a targeted pass');
  assert.ok(targeted.converged, targeted.unresolved.join('; '));
  assert.deepEqual(
    (await kernel.observe(scopeFor(targeted.desired, { processes: { [NS]: [radvdHint] } }))).namespaces[NS]!.processes.filter(
      (p) => p.pid !== null,
    ),
    [],
  );
  // Again with IPv6, then a full pass (which knows nothing of the last one) without it.
  await agentPass(kernel, dualStack('slaac', '2001:db8:e::1').view, agentFacts);
  const full = await agentPass(kernel, view([router()]), agentFacts);
  assert.equal(full.scope, 'full');
  assert.ok(full.converged);
  assert.deepEqual(
    (await kernel.observe(scopeFor(full.desired, { processes: { [NS]: [radvdHint] } }))).namespaces[NS]!.processes.filter(
      (p) => p.pid !== null,
    ),
    [],
  );
});

test('no DAD on an IPv6 qr-: the sysctl comes before the link goes up (radvd can send at once); a v4-only qr- keeps DAD', async () => {
  const { desired } = planNode(dualStack('slaac', '2001:db8:e::1').view, facts);
  const ops = diff(desired, await new FakeKernel().observe(scopeFor(desired, {}))).ops;
  const dad = ops.findIndex((o) => o.op === 'sysctl' && o.key === 'net.ipv6.conf.qr-0b1c2d3e-4f.accept_dad' && o.value === '0');
  const up = ops.findIndex((o) => o.op === 'link-set' && o.name === 'qr-0b1c2d3e-4f' && o.set.up === true);
  assert.ok(dad >= 0 && up > dad, `accept_dad 0 (op ${dad}) before qr- up (op ${up})`);
  const v4 = planNode(view([router()]), facts).desired.namespaces[NS]!;
  assert.ok(!v4.sysctls.some((s) => s.key.endsWith('.accept_dad')));
});
