import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipAt, parseIp, parsePrefix } from '../../src/model/ip.ts';
import {
  chooseAddress,
  defaultGateway,
  defaultPools,
  poolRanges,
  validateGateway,
  validatePools,
  type AddressSearch,
  type Pool,
} from '../../src/model/ipam.ts';
import { NeutronError } from '../../src/model/errors.ts';

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

/** An in-memory AllocatedIndex over addresses of c24 that counts the allocations it returns. */
function memoryIndex(used: string[]) {
  const values = used.map((ip) => parseIp(ip)!.value).sort((x, y) => (x < y ? -1 : 1));
  const index = {
    rowsRead: 0,
    async inRange(from: bigint, to: bigint, limit: number) {
      const rows = values.filter((v) => v >= from && v <= to).slice(0, limit);
      index.rowsRead += rows.length;
      return rows;
    },
    async among(candidates: bigint[]) {
      return new Set(candidates.filter((v) => values.includes(v)));
    },
    async count(from: bigint, to: bigint) {
      return values.filter((v) => v >= from && v <= to).length;
    },
  };
  return index;
}

const search = (over: Partial<AddressSearch> = {}): AddressSearch => ({
  floor: 0n,
  lowest: true,
  taken: new Set(),
  random: first,
  ...over,
});
const choose = async (pools: Pool[], used: string[], over: Partial<AddressSearch> = {}) => {
  const choice = await chooseAddress(poolRanges(pools), memoryIndex(used), search(over));
  return choice && { ip: ipAt(c24, choice.value), floor: choice.floor === null ? null : ipAt(c24, choice.floor) };
};

test('lowest choice skips used addresses and moves to the next pool', async () => {
  const pools = [
    { start: '10.0.0.2', end: '10.0.0.3' },
    { start: '10.0.0.10', end: '10.0.0.11' },
  ];
  assert.equal((await choose(pools, ['10.0.0.2']))?.ip, '10.0.0.3');
  assert.equal((await choose(pools, ['10.0.0.2', '10.0.0.3']))?.ip, '10.0.0.10');
  assert.equal(await choose(pools, ['10.0.0.2', '10.0.0.3', '10.0.0.10', '10.0.0.11']), null);
  // addresses this request already chose count as used
  assert.equal((await choose(pools, ['10.0.0.2'], { taken: new Set([parseIp('10.0.0.3')!.value]) }))?.ip, '10.0.0.10');
});

test('random choice draws from the free addresses of the first pool with space', async () => {
  const pools = [{ start: '10.0.0.2', end: '10.0.0.6' }];
  const seen: number[] = [];
  const last = (n: number) => {
    seen.push(n);
    return n - 1;
  };
  // every probe of the 5-address window meets 10.0.0.6; the choice then reads the 4 free ones
  assert.equal((await choose(pools, ['10.0.0.6'], { lowest: false, random: last }))?.ip, '10.0.0.5');
  assert.deepEqual(seen, [...Array<number>(16).fill(5), 4]);
  // a free probe is taken as it is
  assert.equal((await choose(pools, ['10.0.0.6'], { lowest: false, random: () => 1 }))?.ip, '10.0.0.3');
});

test('the random window is the 1000 addresses from the lowest free one', async () => {
  const big = parsePrefix('10.0.0.0/16')!;
  let window = 0;
  const index = memoryIndex([]);
  const choice = await chooseAddress(
    poolRanges(defaultPools(big, '10.0.0.1')),
    index,
    search({ lowest: false, random: (n) => ((window = n), n - 1) }),
  );
  assert.equal(window, 1000);
  assert.equal(ipAt(big, choice!.value), '10.0.3.233');
});

test('the search reads from the floor and only up to the first free address, and reports the floor it proved', async () => {
  const big = parsePrefix('10.0.0.0/16')!;
  const at = (n: number) => big.network + BigInt(n);
  const used = Array.from({ length: 5000 }, (_, i) => ipAt(big, at(2 + i)));
  const pools = poolRanges(defaultPools(big, '10.0.0.1'));
  const fromStart = memoryIndex(used);
  const low = await chooseAddress(pools, fromStart, search());
  assert.equal(ipAt(big, low!.value), '10.0.19.138');
  assert.equal(low!.floor, at(5002));
  assert.ok(fromStart.rowsRead >= 5000);
  const fromFloor = memoryIndex(used);
  assert.equal((await chooseAddress(pools, fromFloor, search({ floor: at(4990) })))!.value, at(5002));
  assert.equal(fromFloor.rowsRead, 12);
});

test('a floor is proved only when every pool that starts lower is full', async () => {
  const pools = [
    { start: '10.0.0.20', end: '10.0.0.29' },
    { start: '10.0.0.2', end: '10.0.0.9' },
  ];
  assert.deepEqual(await choose(pools, ['10.0.0.20']), { ip: '10.0.0.21', floor: null });
  const full = Array.from({ length: 8 }, (_, i) => `10.0.0.${2 + i}`);
  assert.deepEqual(await choose([...pools].reverse(), [...full, '10.0.0.20']), { ip: '10.0.0.21', floor: '10.0.0.21' });
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

test('a nearly full window is widened until it holds 100 free addresses, counted, not read', async () => {
  const big = parsePrefix('10.0.0.0/16')!;
  const at = (n: number) => big.network + BigInt(n);
  // 10.0.0.2 free, then 1,500 allocated: the first window holds 1 free address, the widened one 500
  const used = Array.from({ length: 1500 }, (_, i) => ipAt(big, at(3 + i)));
  const drawnFrom: number[] = [];
  const random = (n: number) => (drawnFrom.push(n), n - 1);
  const index = memoryIndex(used);
  const choice = await chooseAddress(poolRanges(defaultPools(big, '10.0.0.1')), index, search({ lowest: false, random }));
  // 16 probes of the first window meet allocations; the first probe of the widened one is free
  assert.deepEqual(drawnFrom, [...Array<number>(16).fill(1000), ...Array<number>(64).fill(2000)]);
  assert.equal(choice!.value, at(2001));
  // only the lowest-free search's first step was read
  assert.equal(index.rowsRead, 8);
});

test('when every probe of the widened window misses, one read of it decides', async () => {
  const big = parsePrefix('10.0.0.0/16')!;
  const at = (n: number) => big.network + BigInt(n);
  const used = Array.from({ length: 1500 }, (_, i) => ipAt(big, at(3 + i)));
  let drawnFrom = 0;
  // every probe lands on 10.0.0.3, which is allocated; the read then draws the second of the 500 free
  const random = (n: number) => ((drawnFrom = n), 1);
  const choice = await chooseAddress(poolRanges(defaultPools(big, '10.0.0.1')), memoryIndex(used), search({ lowest: false, random }));
  assert.equal(drawnFrom, 500);
  assert.equal(choice!.value, at(1503));
});

test('random choice when a concurrent writer fills the pool between the reads: the lowest free one read, never a draw from nothing', async () => {
  const pools = [{ start: '10.0.0.2', end: '10.0.0.4' }];
  const index = memoryIndex(['10.0.0.2', '10.0.0.3']);
  // The first read (the lowest free search) sees .4 free; every later read sees the pool full, as
  // PostgreSQL's per-statement snapshots do once another transaction commits .4.
  const full = memoryIndex(['10.0.0.2', '10.0.0.3', '10.0.0.4']);
  let reads = 0;
  const racing = {
    inRange: (from: bigint, to: bigint, limit: number) => (reads++ === 0 ? index : full).inRange(from, to, limit),
    among: (candidates: bigint[]) => full.among(candidates),
    count: (from: bigint, to: bigint) => full.count(from, to),
  };
  const choice = await chooseAddress(
    poolRanges(pools),
    racing,
    search({ lowest: false, random: (n) => (n > 0 ? n - 1 : assert.fail('drew from 0')) }),
  );
  assert.equal(choice && ipAt(c24, choice.value), '10.0.0.4');
});
