// Address scopes in a router's namespace: interfaces marked with their scope, traffic leaving by an
// interface of another scope dropped (not by the gateway while SNAT is on), no SNAT for the
// gateway's own scope, floating IPs of another scope marked across; nothing for unscoped routers;
// IPv6 marked and filtered alike in ip6tables, the gateway included (no NAT, nothing saved); and
// the whole converging on the fake kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planNode } from '../../src/planner/index.ts';
import { controllerFacts, dualStack, NS, qg, qr, router, routerSubnet, EXT_SUB, SELF_SUB, view } from '../helpers/router-view.ts';
import { diff } from '../../src/kernel/diff.ts';
import { FakeKernel } from '../../src/exec/fake.ts';
import { scopeFor } from '../../src/kernel/scope.ts';
import type { AddressScopesView, HostView, RouterView } from '../../src/model/hostview.ts';

const facts = controllerFacts(['l2', 'dhcp', 'l3']);
const QR = 'qr-0b1c2d3e-4f';
const QG = 'qg-7a8b9c0d-1e';
const SCOPE = 'a5c0pe00-0000-4000-8000-000000000001';
const OTHER_SCOPE = '0a5c0pe0-0000-4000-8000-000000000002';
const scopes = (v4: string | null) => ({ '4': v4, '6': null });

function scopedRouter(internal: string | null, external: string | null, over: Partial<RouterView> = {}): RouterView {
  return router({
    gateway: { port: qg, subnets: [routerSubnet(EXT_SUB, '10.123.123.0/24', '10.123.123.1')], address_scopes: scopes(external) },
    interfaces: [{ port: qr, subnets: [routerSubnet(SELF_SUB, '172.16.1.0/24', '172.16.1.1')], address_scopes: scopes(internal) }],
    ...over,
  });
}

const tables = (r: RouterView) => {
  const spec = planNode(view([r]), facts).desired.namespaces[NS]!.iptables;
  const chain = (table: 'filter' | 'nat' | 'mangle', name: string) => spec[table]?.find((c) => c.name === name)?.rules;
  return { spec, chain };
};

test('same scope inside and out: marked by interface, no SNAT to the gateway for that scope, cross-scope drops', () => {
  const { chain } = tables(scopedRouter(SCOPE, SCOPE, { floating_ips: [] }));
  // No scope is mark 1024 (0x4000000); the one scope 1025 (0x4010000).
  const mark = '0x4010000/0xffff0000';
  assert.deepEqual(chain('mangle', 'neutron-l3-agent-scope'), [
    `-i ${QR} -j MARK --set-xmark ${mark}`,
    `-i ${QG} -j MARK --set-xmark ${mark}`,
  ]);
  assert.deepEqual(chain('mangle', 'neutron-l3-agent-PREROUTING'), [
    '-j neutron-l3-agent-mark',
    '-j neutron-l3-agent-scope',
    '-m connmark ! --mark 0x0/0xffff0000 -j CONNMARK --restore-mark --nfmask 0xffff0000 --ctmask 0xffff0000',
    '-j neutron-l3-agent-floatingip',
  ]);
  assert.deepEqual(chain('mangle', 'neutron-l3-agent-POSTROUTING'), [
    `-o ${QG} -m connmark --mark 0x0/0xffff0000 -j CONNMARK --save-mark --nfmask 0xffff0000 --ctmask 0xffff0000`,
  ]);
  assert.deepEqual(chain('nat', 'neutron-l3-agent-snat')?.slice(0, 2), [
    '-j neutron-l3-agent-float-snat',
    `-o ${QG} -m connmark --mark ${mark} -j ACCEPT`,
  ]);
  assert.deepEqual(chain('filter', 'neutron-l3-agent-scope'), [`-o ${QR} -m mark ! --mark ${mark} -j DROP`]);
});

test('a scoped interface behind an unscoped gateway: SNAT as before, its floating IP marked into its scope', () => {
  const { chain } = tables(scopedRouter(SCOPE, null));
  const none = '0x4000000/0xffff0000';
  const inner = '0x4010000/0xffff0000';
  assert.ok(chain('nat', 'neutron-l3-agent-snat')?.includes(`-o ${QG} -j SNAT --to-source 10.123.123.102 --random-fully`));
  assert.ok(!chain('nat', 'neutron-l3-agent-snat')?.some((r) => r.includes('ACCEPT')));
  assert.deepEqual(chain('mangle', 'neutron-l3-agent-floatingip'), [`-d 10.123.123.104/32 -j MARK --set-xmark ${inner}`]);
  assert.deepEqual(chain('mangle', 'neutron-l3-agent-FORWARD'), ['-s 172.16.1.3/32 -j neutron-l3-agent-float-snat']);
  assert.deepEqual(chain('mangle', 'neutron-l3-agent-float-snat'), [
    '-m connmark --mark 0x0/0xffff0000 -j CONNMARK --save-mark --nfmask 0xffff0000 --ctmask 0xffff0000',
    `-o ${QG} -j MARK --set-xmark ${none}`,
  ]);
  // With SNAT on, the gateway takes every scope's traffic.
  assert.deepEqual(chain('filter', 'neutron-l3-agent-scope'), [`-o ${QR} -m mark ! --mark ${inner} -j DROP`]);
  const noSnat = tables(scopedRouter(SCOPE, OTHER_SCOPE, { enable_snat: false, floating_ips: [] })).chain(
    'filter',
    'neutron-l3-agent-scope',
  );
  // Scopes numbered in the order of their ids: OTHER_SCOPE (0a5…) is 1025, SCOPE (a5c…) 1026.
  assert.deepEqual(noSnat, [
    `-o ${QR} -m mark ! --mark 0x4020000/0xffff0000 -j DROP`,
    `-o ${QG} -m mark ! --mark 0x4010000/0xffff0000 -j DROP`,
  ]);
});

test('an unscoped router has none of it', () => {
  const { spec, chain } = tables(router());
  assert.equal(chain('mangle', 'neutron-l3-agent-scope'), undefined);
  assert.equal(spec.filter, undefined);
  assert.ok(!spec.nat?.some((c) => c.rules.some((r) => r.includes('connmark'))));
});

test('address-scope rules converge on the fake kernel (canonical form)', async () => {
  const desired = planNode(view([scopedRouter(SCOPE, null)]), facts).desired;
  const fake = new FakeKernel();
  await fake.apply(diff(desired, await fake.observe(scopeFor(desired))).ops);
  assert.deepEqual(diff(desired, await fake.observe(scopeFor(desired))).ops, []);
});

/** The dual-stack router with these scopes on its interface and gateway. */
function dualStackScoped(internal: AddressScopesView, external: AddressScopesView): { view: HostView; r: RouterView } {
  const { view: v, router: r } = dualStack('slaac', '2001:db8:e::1');
  r.interfaces[0]!.address_scopes = internal;
  r.gateway!.address_scopes = external;
  return { view: v, r };
}

const tables6 = (v: HostView, over: Partial<typeof facts> = {}) => {
  const spec = planNode(v, { ...facts, ...over }).desired.namespaces[NS]!.ip6tables;
  return { spec, chain: (table: 'filter' | 'nat' | 'mangle', name: string) => spec?.[table]?.find((c) => c.name === name)?.rules };
};

test('IPv6 scopes: each device with an IPv6 address marked, the gateway held to its scope too, no connection mark saved', () => {
  const { view: v } = dualStackScoped({ '4': null, '6': SCOPE }, { '4': null, '6': OTHER_SCOPE });
  const { spec, chain } = tables6(v);
  // OTHER_SCOPE (0a5…) is 1025, SCOPE (a5c…) 1026; IPv4 has no scope here, so no IPv4 rules.
  assert.deepEqual(chain('mangle', 'neutron-l3-agent-scope'), [
    `-i ${QR} -j MARK --set-xmark 0x4020000/0xffff0000`,
    `-i ${QG} -j MARK --set-xmark 0x4010000/0xffff0000`,
  ]);
  assert.deepEqual(chain('mangle', 'neutron-l3-agent-PREROUTING'), [
    '-j neutron-l3-agent-scope',
    '-m connmark ! --mark 0x0/0xffff0000 -j CONNMARK --restore-mark --nfmask 0xffff0000 --ctmask 0xffff0000',
  ]);
  // Unlike IPv4 with SNAT on, traffic of another scope never leaves by the gateway.
  assert.deepEqual(chain('filter', 'neutron-l3-agent-scope'), [
    `-o ${QR} -m mark ! --mark 0x4020000/0xffff0000 -j DROP`,
    `-o ${QG} -m mark ! --mark 0x4010000/0xffff0000 -j DROP`,
  ]);
  assert.deepEqual(chain('filter', 'neutron-l3-agent-FORWARD'), ['-j neutron-l3-agent-scope']);
  assert.equal(spec?.nat, undefined, 'no IPv6 NAT without the metadata proxy');
  assert.ok(!JSON.stringify(spec).includes('--save-mark'));
  assert.equal(
    planNode(v, facts).desired.namespaces[NS]!.iptables.mangle?.find((c) => c.name === 'neutron-l3-agent-scope'),
    undefined,
  );
});

test('IPv6 scopes with the metadata proxy: the scope rules before its mark, its drop first in the scope chain', () => {
  const { view: v } = dualStackScoped({ '4': SCOPE, '6': OTHER_SCOPE }, { '4': SCOPE, '6': OTHER_SCOPE });
  const metadata = {
    socket: '/s',
    user: 'u',
    group: 'g',
    enableIsolatedMetadata: false,
    forceMetadata: false,
    enableMetadataProxy: true,
    rateLimit: null,
  };
  const { chain } = tables6(v, { metadata });
  const mark = '0x4010000/0xffff0000';
  assert.deepEqual(chain('mangle', 'neutron-l3-agent-PREROUTING')?.slice(0, 2), [
    '-j neutron-l3-agent-scope',
    '-m connmark ! --mark 0x0/0xffff0000 -j CONNMARK --restore-mark --nfmask 0xffff0000 --ctmask 0xffff0000',
  ]);
  assert.match(chain('mangle', 'neutron-l3-agent-PREROUTING')![2]!, /-d fe80::a9fe:a9fe\/128 -i qr-\+ .* -j MARK --set-xmark 0x1\/0xffff/);
  assert.deepEqual(chain('filter', 'neutron-l3-agent-scope'), [
    '-m mark --mark 0x1/0xffff -j DROP',
    `-o ${QR} -m mark ! --mark ${mark} -j DROP`,
    `-o ${QG} -m mark ! --mark ${mark} -j DROP`,
  ]);
  assert.ok(chain('nat', 'neutron-l3-agent-PREROUTING')?.some((r) => r.includes('REDIRECT')));
});

test('IPv6 scopes: a router with IPv4 scopes only, or a kernel without IPv6, gets no IPv6 scope rules', () => {
  const v4Only = dualStackScoped({ '4': SCOPE, '6': null }, { '4': SCOPE, '6': null }).view;
  assert.equal(tables6(v4Only).spec, undefined);
  const v6 = dualStackScoped({ '4': null, '6': SCOPE }, { '4': null, '6': SCOPE }).view;
  assert.equal(tables6(v6, { ipv6: false }).spec, undefined);
  // An IPv4-only interface of an IPv6-scoped router is not marked in ip6tables.
  const { view: mixed, r } = dualStackScoped({ '4': null, '6': SCOPE }, { '4': null, '6': SCOPE });
  r.interfaces.push({
    port: { ...qr, id: '1c2d3e4f-5061-4728-93a4-b5c6d7e8f9a0' },
    subnets: [routerSubnet(SELF_SUB, '172.16.1.0/24', '172.16.1.1')],
    address_scopes: { '4': null, '6': null },
  });
  assert.deepEqual(tables6(mixed).chain('mangle', 'neutron-l3-agent-scope'), [
    `-i ${QR} -j MARK --set-xmark 0x4010000/0xffff0000`,
    `-i ${QG} -j MARK --set-xmark 0x4010000/0xffff0000`,
  ]);
});

test('IPv6 address-scope rules converge on the fake kernel (canonical form)', async () => {
  const desired = planNode(dualStackScoped({ '4': null, '6': SCOPE }, { '4': null, '6': OTHER_SCOPE }).view, facts).desired;
  const fake = new FakeKernel();
  await fake.apply(diff(desired, await fake.observe(scopeFor(desired))).ops);
  assert.deepEqual(diff(desired, await fake.observe(scopeFor(desired))).ops, []);
});
