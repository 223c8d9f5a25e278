// Neutron's names, the 15-character limit, and the validators every name passes before a command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertInterfaceName,
  bridgeName,
  deviceSysctl,
  dhcpNamespace,
  InvalidName,
  isInterfaceName,
  isNamespaceName,
  nsName,
  qgName,
  qrName,
  routerNamespace,
  sgChains,
  tapName,
  vxlanName,
  wrapChain,
} from '../../src/kernel/names.ts';
import { canonicalCidr, canonicalDst, canonicalIpOrThrow, canonicalMac, canonicalNet } from '../../src/kernel/values.ts';

test("the scenario's names (docs/scenario.md)", () => {
  assert.equal(bridgeName('e6e37ba0-3b7c-4f2e-9d1a-2f3c4b5a6d7e'), 'brqe6e37ba0-3b');
  assert.equal(tapName('3c338602-d806-488a-ae66-c4c8f8d13b9b'), 'tap3c338602-d8');
  assert.equal(tapName('37720f0a-f07b-45c6-a07b-cfb26a947fa8'), 'tap37720f0a-f0');
  assert.equal(qrName('37720f0a-f07b-45c6-a07b-cfb26a947fa8'), 'qr-37720f0a-f0');
  assert.equal(qgName('cb7d0d9a-3d21-49b4-bd1c-eca02895b05d'), 'qg-cb7d0d9a-3d');
  assert.equal(nsName('3c338602-d806-488a-ae66-c4c8f8d13b9b'), 'ns-3c338602-d8');
  assert.equal(vxlanName(41), 'vxlan-41');
  assert.equal(vxlanName(16777215), 'vxlan-16777215');
  assert.equal(routerNamespace('9bebc2e0-15de-48ef-991f-9659978384ba'), 'qrouter-9bebc2e0-15de-48ef-991f-9659978384ba');
  assert.equal(dhcpNamespace('e6e37ba0-3b7c-4f2e-9d1a-2f3c4b5a6d7e'), 'qdhcp-e6e37ba0-3b7c-4f2e-9d1a-2f3c4b5a6d7e');
});

test('iptables chain names: wrap prefix + chain cut to 11, port chains with 10 characters of the id', () => {
  assert.deepEqual(sgChains('3c338602-d806-488a-ae66-c4c8f8d13b9b'), {
    ingress: 'neutron-linuxbri-i3c338602-d',
    egress: 'neutron-linuxbri-o3c338602-d',
    spoof: 'neutron-linuxbri-s3c338602-d',
  });
  assert.equal(wrapChain('l3', 'float-snat'), 'neutron-l3-agent-float-snat');
  assert.equal(wrapChain('dhcp', 'POSTROUTING'), 'neutron-dhcp-age-POSTROUTING');
});

test('names that would break a command or the kernel are refused', () => {
  for (const bad of ['', 'a'.repeat(16), 'a b', 'a/b', 'x;rm', '-n', '.', '..', 'é']) assert.equal(isInterfaceName(bad), false, bad);
  for (const good of ['eth1', 'eth1.100', 'brqe6e37ba0-3b', 'a'.repeat(15), 'vxlan-41']) assert.equal(isInterfaceName(good), true, good);
  assert.equal(isNamespaceName('qrouter-9bebc2e0-15de-48ef-991f-9659978384ba'), true);
  assert.equal(isNamespaceName('../etc'), false);
  assert.equal(isNamespaceName('-x'), false);
  assert.throws(() => assertInterfaceName('tap; reboot'), InvalidName);
  assert.throws(() => vxlanName(2 ** 24), InvalidName);
  assert.throws(() => vxlanName(1.5), InvalidName);
  assert.throws(() => tapName('../../x'), InvalidName);
  // Names are kept once made: a refused id is refused every time, a good one gives the same name.
  assert.throws(() => tapName('../../x'), InvalidName);
  assert.equal(tapName('3c338602-d8a0-4a8e-9b1f-000000000001'), 'tap3c338602-d8');
  assert.equal(tapName('3c338602-d8a0-4a8e-9b1f-000000000001'), 'tap3c338602-d8');
  assert.equal(qrName('3c338602-d8a0-4a8e-9b1f-000000000001'), 'qr-3c338602-d8', 'another prefix, another name');
});

test("sysctl keys for devices with a dot use sysctl(8)'s slash", () => {
  assert.equal(deviceSysctl('ipv6', 'eth1.100', 'disable_ipv6'), 'net.ipv6.conf.eth1/100.disable_ipv6');
  assert.equal(deviceSysctl('ipv6', 'vxlan-41', 'disable_ipv6'), 'net.ipv6.conf.vxlan-41.disable_ipv6');
});

test('canonical forms match what iproute2 prints', () => {
  assert.equal(canonicalIpOrThrow('FD00:0:0::0001'), 'fd00::1');
  assert.equal(canonicalCidr('fd00:41:0::3/64'), 'fd00:41::3/64');
  assert.equal(canonicalCidr('fd00:41:0::3/64'), 'fd00:41::3/64', 'the kept form, asked again');
  assert.throws(() => canonicalCidr('10.0.0.1'), InvalidName, 'no length: refused unless a host default is asked for');
  assert.equal(canonicalDst('10.0.0.1'), '10.0.0.1/32');
  assert.throws(() => canonicalCidr('10.0.0.1'), InvalidName, 'still refused once the host form was made');
  assert.equal(canonicalDst('10.0.0.1'), '10.0.0.1/32');
  assert.equal(canonicalDst('default'), 'default');
  assert.equal(canonicalMac('FA:16:3E:A7:F7:5A'), 'fa:16:3e:a7:f7:5a');
  assert.throws(() => canonicalCidr('10.0.0.0/33'), InvalidName);
  assert.throws(() => canonicalMac('fa:16:3e:a7:f7'), InvalidName);
  assert.throws(() => canonicalIpOrThrow('010.0.0.1'), InvalidName);
  assert.throws(() => canonicalIpOrThrow('fe80::1%eth0'), InvalidName);
  assert.throws(() => canonicalCidr('10.0.0.1'), InvalidName);
  assert.equal(canonicalCidr('2001:DB8::1', true), '2001:db8::1/128');
  assert.throws(() => canonicalCidr('10.0.0.0/24/1', true), InvalidName);
});

test('ipset members as ipset save prints them: host bits cleared, full-length prefixes bare, /0 refused', () => {
  assert.equal(canonicalNet('172.16.1.3/32'), '172.16.1.3');
  assert.equal(canonicalNet('172.16.1.3/24'), '172.16.1.0/24');
  assert.equal(canonicalNet('10.255.255.255/1'), '0.0.0.0/1');
  assert.equal(canonicalNet('FD00:0:0:1::5/64'), 'fd00:0:0:1::/64');
  assert.equal(canonicalNet('fd00::5/128'), 'fd00::5');
  assert.equal(canonicalNet('fd00::5'), 'fd00::5');
  assert.throws(() => canonicalNet('10.0.0.0/0'), InvalidName);
  assert.throws(() => canonicalNet('10.0.0.0/33'), InvalidName);
  assert.throws(() => canonicalNet('fd00::/x'), InvalidName);
});
