import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePrefix } from '../../src/model/ip.js';
import { chooseAddress, defaultGateway, defaultPools, validateGateway, validatePools } from '../../src/model/ipam.js';
import { NeutronError } from '../../src/model/errors.js';

const c24 = parsePrefix('10.0.0.0/24')!;
const first = () => 0;

test('default gateway is the first host and pools are the rest of the subnet', () => {
  assert.equal(defaultGateway(c24), '10.0.0.1');
  assert.deepEqual(defaultPools(c24, '10.0.0.1'), [{ start: '10.0.0.2', end: '10.0.0.254' }]);
});

test('a gateway in the middle splits the default pool; no gateway keeps it whole', () => {
  assert.deepEqual(defaultPools(c24, '10.0.0.100'), [
    { start: '10.0.0.1', end: '10.0.0.99' },
    { start: '10.0.0.101', end: '10.0.0.254' },
  ]);
  assert.deepEqual(defaultPools(c24, null), [{ start: '10.0.0.1', end: '10.0.0.254' }]);
});

test('pool validation: out of bounds, inverted, overlapping, gateway conflict', () => {
  const err = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof NeutronError);
      return [e.status, e.type];
    }
    assert.fail('expected an error');
  };
  assert.deepEqual(
    err(() => validatePools(c24, [{ start: '10.0.0.2', end: '10.0.1.5' }], null)),
    [400, 'OutOfBoundsAllocationPool'],
  );
  assert.deepEqual(
    err(() => validatePools(c24, [{ start: '10.0.0.9', end: '10.0.0.2' }], null)),
    [400, 'InvalidAllocationPool'],
  );
  assert.deepEqual(
    err(() =>
      validatePools(
        c24,
        [
          { start: '10.0.0.2', end: '10.0.0.50' },
          { start: '10.0.0.40', end: '10.0.0.60' },
        ],
        null,
      ),
    ),
    [409, 'OverlappingAllocationPools'],
  );
  assert.deepEqual(
    err(() => validatePools(c24, [{ start: '10.0.0.1', end: '10.0.0.9' }], '10.0.0.5')),
    [409, 'GatewayConflictWithAllocationPools'],
  );
  assert.deepEqual(
    err(() => validateGateway(c24, '10.0.0.255')),
    [400, 'InvalidInput'],
  );
  assert.deepEqual(validatePools(c24, [{ start: '10.0.0.10', end: '10.0.0.20' }], '10.0.0.1'), [{ start: '10.0.0.10', end: '10.0.0.20' }]);
});

test('lowest choice skips used addresses and moves to the next pool', () => {
  const pools = [
    { start: '10.0.0.2', end: '10.0.0.3' },
    { start: '10.0.0.10', end: '10.0.0.11' },
  ];
  assert.equal(chooseAddress(c24, pools, new Set(['10.0.0.2']), true, first), '10.0.0.3');
  assert.equal(chooseAddress(c24, pools, new Set(['10.0.0.2', '10.0.0.3']), true, first), '10.0.0.10');
  assert.equal(chooseAddress(c24, pools, new Set(['10.0.0.2', '10.0.0.3', '10.0.0.10', '10.0.0.11']), true, first), null);
});

test('random choice draws from the free addresses of the first pool with space', () => {
  const pools = [{ start: '10.0.0.2', end: '10.0.0.6' }];
  const seen: number[] = [];
  const pick = (n: number) => {
    seen.push(n);
    return n - 1;
  };
  assert.equal(chooseAddress(c24, pools, new Set(['10.0.0.6']), false, pick), '10.0.0.5');
  assert.deepEqual(seen, [4]);
});

test('the random window is capped at 1000 free addresses', () => {
  const big = parsePrefix('10.0.0.0/16')!;
  let window = 0;
  chooseAddress(big, defaultPools(big, '10.0.0.1'), new Set(), false, (n) => ((window = n), 0));
  assert.equal(window, 1000);
});

test('IPv6: the default gateway is the subnet-router anycast address and the pool starts after it', () => {
  const c64 = parsePrefix('2001:db8::/64')!;
  assert.equal(defaultGateway(c64), '2001:db8::');
  assert.deepEqual(defaultPools(c64, '2001:db8::'), [{ start: '2001:db8::1', end: '2001:db8::ffff:ffff:ffff:ffff' }]);
  // a gateway at ::1 is cut out of the pool, as generate_pools does
  assert.deepEqual(defaultPools(c64, '2001:db8::1'), [{ start: '2001:db8::2', end: '2001:db8::ffff:ffff:ffff:ffff' }]);
  // any address of an IPv6 subnet may be its gateway (only IPv4 refuses network and broadcast)
  validateGateway(c64, '2001:db8::');
  validateGateway(c64, '2001:db8::ffff:ffff:ffff:ffff');
});
