// The DHCP role with IPv6 subnets (Neutron's neutron/agent/linux/dhcp.py): dnsmasq's DHCPv6 ranges
// for stateful and stateless subnets and none for SLAAC, static leases by MAC for stateful
// addresses only (tagged, bracketed), options per DHCPv6 subnet, and the namespace's addresses,
// default routes of both families and accept_ra off. IPv4 as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostView, SubnetView } from '../../src/model/hostview.ts';
import { dhcpView, STATEFUL, STATELESS, subnets, V4 } from '../helpers/dhcp6-view.ts';
import { planDnsmasq } from '../../src/planner/dhcp.ts';
import { planDhcpNamespace } from '../../src/planner/dhcp-ns.ts';

const NET = 'e6e37ba0-3b3f-4d4f-9a1b-2c3d4e5f6a7b';
const subs = subnets(NET);
const view = (only: SubnetView[] = subs): HostView => {
  const v = dhcpView(NET, subs);
  // The ports keep their addresses on every subnet; the network has only `only`.
  return { ...v, subnets: only };
};

test('dnsmasq: a static DHCPv6 range for the stateful and the stateless subnet, none for SLAAC; lease cap', () => {
  const plan = planDnsmasq(view(), NET, '/s', 1450)!;
  assert.deepEqual(
    plan.argv.filter((a) => a.startsWith('--dhcp-range') || a.startsWith('--dhcp-lease-max')),
    [
      `--dhcp-range=set:subnet-${V4},172.16.1.0,static,255.255.255.0,86400s`,
      `--dhcp-range=set:subnet-${STATEFUL},fd00:2::,static,64,86400s`,
      `--dhcp-range=set:subnet-${STATELESS},fd00:3::,static,64,86400s`,
      // dnsmasq_lease_max caps 256 + 2 × 2^64
      '--dhcp-lease-max=16777216',
    ],
  );
});

test('hosts file: a static lease by MAC for IPv4 and the stateful address (tag:dhcpv6, bracketed); none for SLAAC or stateless', () => {
  const { files } = planDnsmasq(view(), NET, '/s', 1450)!;
  assert.equal(
    files.host,
    'fa:16:3e:a7:f7:5a,host-172-16-1-3.openstacklocal.,172.16.1.3\n' +
      'fa:16:3e:a7:f7:5a,tag:dhcpv6,host-fd00-2--3.openstacklocal.,[fd00:2::3]\n',
  );
  // Every address has a name; stateless entries come first (Dnsmasq._sort_fixed_ips_for_dnsmasq).
  assert.equal(
    files.addn_hosts,
    'fd00:3::3\thost-fd00-3--3.openstacklocal. host-fd00-3--3\n' +
      '172.16.1.3\thost-172-16-1-3.openstacklocal. host-172-16-1-3\n' +
      'fd00:1::3\thost-fd00-1--3.openstacklocal. host-fd00-1--3\n' +
      'fd00:2::3\thost-fd00-2--3.openstacklocal. host-fd00-2--3\n',
  );
});

test('options file: DHCPv6 name servers (option6, bracketed) and the search domain for stateful and stateless; nothing for SLAAC', () => {
  const { files } = planDnsmasq(view(), NET, '/s', 1450)!;
  assert.equal(
    files.opts,
    [
      `tag:subnet-${V4},option:dns-server,8.8.4.4`,
      `tag:subnet-${V4},option:router,172.16.1.1`,
      `tag:subnet-${STATEFUL},option6:dns-server,[2001:db8::53],[2001:db8::54]`,
      `tag:subnet-${STATEFUL},option6:domain-search,openstacklocal`,
      `tag:subnet-${STATELESS},option6:domain-search,openstacklocal`,
    ].join('\n') + '\n',
  );
});

test('IPv4 only: unchanged (no DHCPv6 range, no v6 option)', () => {
  const plan = planDnsmasq(view([subs[0]!]), NET, '/s', 1450)!;
  assert.equal(plan.argv.filter((a) => a.startsWith('--dhcp-range')).length, 1);
  assert.ok(plan.argv.includes('--dhcp-lease-max=256'));
  assert.doesNotMatch(plan.files.opts, /option6/);
});

test('the namespace: every fixed IP on ns-, default routes of both families, router advertisements ignored', () => {
  const ns = planDhcpNamespace(view(), NET, '/s')!.spec;
  assert.deepEqual(
    ns.addresses.map((a) => a.address),
    ['172.16.1.2/24', 'fd00:1::2/64', 'fd00:2::2/64', 'fd00:3::2/64'],
  );
  assert.deepEqual(ns.routes, [
    { dst: 'default', via: '172.16.1.1', dev: 'ns-aaaaaaaa-bb' },
    { dst: 'default', via: 'fd00:1::1', dev: 'ns-aaaaaaaa-bb' },
  ]);
  assert.deepEqual(ns.sysctls, [
    { key: 'net.ipv6.conf.default.accept_ra', value: '0' },
    { key: 'net.ipv6.conf.ns-aaaaaaaa-bb.accept_ra', value: '0' },
  ]);
});

test('a SLAAC-only network: dnsmasq runs (DNS) but serves no DHCPv6', () => {
  const plan = planDnsmasq(view([subs[1]!]), NET, '/s', 1450)!;
  assert.equal(plan.argv.filter((a) => a.startsWith('--dhcp-range')).length, 0);
  assert.equal(plan.files.host, '');
  assert.equal(plan.files.opts, '\n');
});
