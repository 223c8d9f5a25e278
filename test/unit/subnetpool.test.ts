// The pure subnet pool model: IP sets as netaddr.IPSet gives them (union, difference, CIDRs), Neutron's
// reading of a pool's prefixes and bounds, and the choice of a new subnet's CIDR.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCidr, parsePrefix } from '../../src/model/ip.ts';
import { intersects, isSubset, rangesOf, subtract, toCidrs } from '../../src/model/ipset.ts';
import {
  availablePrefixes,
  checkPoolQuota,
  checkSpecificSubnet,
  chooseAnySubnet,
  compactPrefixes,
  readPool,
} from '../../src/model/subnetpool.ts';
import { NeutronError } from '../../src/model/errors.ts';

const set = (...cidrs: string[]) => rangesOf(cidrs.map((c) => parsePrefix(c)!));
const text = (version: 4 | 6, r: ReturnType<typeof set>) => toCidrs(version, r).map(formatCidr);

test('IP sets: union and compaction into the fewest CIDRs, in address order', () => {
  assert.deepEqual(text(4, set('10.0.1.0/24', '10.0.0.0/24', '10.0.2.0/23')), ['10.0.0.0/22']);
  assert.deepEqual(text(4, set('10.0.0.0/24', '10.0.0.128/25')), ['10.0.0.0/24']);
  assert.deepEqual(text(4, set('10.0.1.0/24', '10.0.2.0/24')), ['10.0.1.0/24', '10.0.2.0/24']);
  assert.deepEqual(compactPrefixes(6, ['2001:db8::/49', '2001:db8:0:8000::/49']), ['2001:db8::/48']);
});

test('IP sets: difference, intersection, subset', () => {
  assert.deepEqual(text(4, subtract(set('10.0.0.0/24'), set('10.0.0.64/26'))), ['10.0.0.0/26', '10.0.0.128/25']);
  assert.deepEqual(text(4, subtract(set('10.0.0.0/24'), set('10.0.0.0/24'))), []);
  assert.deepEqual(text(4, subtract(set('10.0.0.0/24'), set('10.0.0.1/32', '10.0.0.254/32'))), [
    '10.0.0.0/32',
    '10.0.0.2/31',
    '10.0.0.4/30',
    '10.0.0.8/29',
    '10.0.0.16/28',
    '10.0.0.32/27',
    '10.0.0.64/26',
    '10.0.0.128/26',
    '10.0.0.192/27',
    '10.0.0.224/28',
    '10.0.0.240/29',
    '10.0.0.248/30',
    '10.0.0.252/31',
    '10.0.0.255/32',
  ]);
  assert.equal(intersects(set('10.0.0.0/16'), set('10.0.200.0/24')), true);
  assert.equal(intersects(set('10.0.0.0/16'), set('10.1.0.0/24')), false);
  assert.equal(isSubset(set('10.0.1.0/24'), set('10.0.0.0/16')), true);
  assert.equal(isSubset(set('10.0.0.0/16'), set('10.0.1.0/24')), false);
});

test('readPool: family, bounds with their defaults, and Neutron’s refusals', () => {
  assert.deepEqual(readPool({ prefixes: ['10.0.0.0/24', '10.0.1.0/24'] }), {
    ip_version: 4,
    prefixes: ['10.0.0.0/23'],
    min_prefixlen: 8,
    max_prefixlen: 32,
    default_prefixlen: 8,
  });
  assert.deepEqual(readPool({ prefixes: ['2001:db8::/32'], min_prefixlen: 48 }), {
    ip_version: 6,
    prefixes: ['2001:db8::/32'],
    min_prefixlen: 48,
    max_prefixlen: 128,
    default_prefixlen: 48,
  });
  const refused = (f: () => unknown, type: string) => assert.throws(f, (e: unknown) => e instanceof NeutronError && e.type === type);
  refused(() => readPool({ prefixes: [] }), 'EmptySubnetPoolPrefixList');
  refused(() => readPool({ prefixes: ['10.0.0.0/8', '::/0'] }), 'PrefixVersionMismatch');
  refused(() => readPool({ prefixes: ['10.0.0.0/8'], min_prefixlen: 20, max_prefixlen: 10 }), 'IllegalSubnetPoolPrefixBounds');
  refused(() => readPool({ prefixes: ['2001:db8::/32'], max_prefixlen: 129 }), 'IllegalSubnetPoolPrefixBounds');
});

test('allocation: the smallest free block that holds the size, a specific CIDR within one free block, the quota', () => {
  const free = availablePrefixes(4, ['10.0.0.0/24', '10.1.0.0/28'], ['10.0.0.0/26']);
  assert.deepEqual(free.map(formatCidr), ['10.1.0.0/28', '10.0.0.64/26', '10.0.0.128/25']);
  assert.equal(formatCidr(chooseAnySubnet(free, 28)), '10.1.0.0/28');
  assert.equal(formatCidr(chooseAnySubnet(free, 27)), '10.0.0.64/27');
  assert.equal(formatCidr(chooseAnySubnet(free, 25)), '10.0.0.128/25');
  assert.throws(() => chooseAnySubnet(free, 24), /Insufficient prefix space to allocate subnet size \/24/);
  checkSpecificSubnet(free, parsePrefix('10.0.0.96/27')!);
  assert.throws(() => checkSpecificSubnet(free, parsePrefix('10.0.0.32/27')!), /Cannot allocate requested subnet/);
  assert.throws(() => checkSpecificSubnet(free, parsePrefix('10.0.0.0/24')!), /Cannot allocate requested subnet/);
  checkPoolQuota(4, 0, ['10.0.0.0/8'], 8);
  checkPoolQuota(4, 256, ['10.0.0.0/25'], 25);
  assert.throws(() => checkPoolQuota(4, 256, ['10.0.0.0/25'], 24), /Per-project subnet pool prefix quota exceeded/);
  assert.throws(() => checkPoolQuota(6, 1, ['2001:db8::/64'], 64), /quota exceeded/);
});
