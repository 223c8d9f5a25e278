import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isFixedIps, isHostRoutes, isMac, isNameservers, isSubnetCidr, toBoolean, Invalid } from '../../src/model/validators.ts';
import { canonicalIpOrNull, cidrsOverlap, formatCidr, parsePrefix } from '../../src/model/ip.ts';

test('CIDRs: host bits must be zero, prefix in range', () => {
  assert.equal(isSubnetCidr('10.0.0.0/24'), undefined);
  assert.equal(isSubnetCidr('10.0.0.0/33'), "'10.0.0.0/33' is not a valid IP subnet");
  assert.equal(isSubnetCidr('10.0.0.5/24'), "'10.0.0.5/24' isn't a recognized IP subnet cidr, '10.0.0.0/24' is recommended");
  assert.equal(isSubnetCidr('10.0.0.0'), "'10.0.0.0' is not a valid IP subnet");
  assert.equal(isSubnetCidr(42), "'42' is not a valid IP subnet");
});

test('booleans convert like neutron-lib', () => {
  assert.equal(toBoolean('True'), true);
  assert.equal(toBoolean('0'), false);
  assert.throws(() => toBoolean('yes'), Invalid);
});

test('MACs: format, all-zero and broadcast refused', () => {
  assert.equal(isMac('fa:16:3e:00:00:01'), undefined);
  assert.ok(isMac('00:00:00:00:00:00'));
  assert.ok(isMac('ff:ff:ff:ff:ff:ff'));
  assert.ok(isMac('fa:16:3e:00:00'));
});

test('fixed_ips: known keys only, valid and unique addresses', () => {
  assert.equal(isFixedIps([{ ip_address: '10.0.0.3' }, { subnet_id: '3c338602-d806-488a-ae66-c4c8f8d13b9b' }]), undefined);
  assert.equal(isFixedIps([{ ip_address: '10.0.0.3' }, { ip_address: '10.0.0.3' }]), "Duplicate IP address '10.0.0.3'");
  assert.equal(isFixedIps([{ ip_address: '10.0.0.300' }]), "'10.0.0.300' is not a valid IP address");
  assert.match(isFixedIps([{ foo: 1 }]) ?? '', /Invalid data format for fixed IP/);
});

test('nameservers and host routes', () => {
  assert.equal(isNameservers(5)(['8.8.8.8']), undefined);
  assert.match(isNameservers(5)(['8.8.8.8', '8.8.8.8']) ?? '', /duplicate/);
  assert.equal(isHostRoutes([{ destination: '10.1.0.0/16', nexthop: '10.0.0.9' }]), undefined);
  assert.ok(isHostRoutes([{ destination: '10.1.0.1/16', nexthop: '10.0.0.9' }]));
});

test('IP math: canonical forms and overlap', () => {
  assert.equal(canonicalIpOrNull('2001:DB8:0:0::1'), '2001:db8::1');
  assert.equal(canonicalIpOrNull('10.0.0'), null);
  assert.equal(formatCidr(parsePrefix('172.16.1.77/24')!), '172.16.1.0/24');
  assert.ok(cidrsOverlap(parsePrefix('10.0.0.0/8')!, parsePrefix('10.1.0.0/16')!));
  assert.ok(!cidrsOverlap(parsePrefix('10.0.0.0/24')!, parsePrefix('10.0.1.0/24')!));
});
