// Pure IPAM: default gateway and pools of a subnet, pool validation, and the choice of a free
// address (neutron/ipam/utils.py, neutron/ipam/drivers/neutrondb_ipam/driver.py).
import { conflict, invalidInput, NeutronError } from './errors.ts';
import { cidrContains, formatCidr, hostRange, ipAt, parseIp, type Cidr } from './ip.ts';

export interface Pool {
  start: string;
  end: string;
}

export interface Range {
  start: bigint;
  end: bigint;
}

/**
 * The gateway Neutron picks when none is given (ipam_backend_mixin._gateway_ip_str): IPv4 network + 1;
 * IPv6 the network address itself, the subnet-router anycast address, which routers answer.
 */
export function defaultGateway(c: Cidr): string | null {
  return ipAt(c, c.version === 6 ? c.network : hostRange(c).start);
}

/** Default pools: the usable range with the gateway cut out (ipam/utils.py::generate_pools). */
export function defaultPools(c: Cidr, gateway: string | null): Pool[] {
  const r = hostRange(c);
  if (r.start > r.end) return [];
  const gw = gateway ? parseIp(gateway) : null;
  const ranges: Range[] = [];
  if (gw && gw.version === c.version && gw.value >= r.start && gw.value <= r.end) {
    if (gw.value > r.start) ranges.push({ start: r.start, end: gw.value - 1n });
    if (gw.value < r.end) ranges.push({ start: gw.value + 1n, end: r.end });
  } else {
    ranges.push(r);
  }
  return ranges.map((x) => ({ start: ipAt(c, x.start), end: ipAt(c, x.end) }));
}

const poolText = (p: Pool) => `${p.start}-${p.end}`;

/** Validates user-given pools against the subnet and the gateway; returns them in canonical form. */
export function validatePools(c: Cidr, pools: Pool[], gateway: string | null): Pool[] {
  const ranges: Array<Range & { pool: Pool }> = [];
  for (const p of pools) {
    const s = parseIp(p.start);
    const e = parseIp(p.end);
    if (!s || !e || s.version !== c.version || e.version !== c.version || s.value > e.value) {
      throw new NeutronError(400, 'InvalidAllocationPool', `The allocation pool ${poolText(p)} is not valid.`);
    }
    if (!cidrContains(c, s) || !cidrContains(c, e)) {
      throw new NeutronError(
        400,
        'OutOfBoundsAllocationPool',
        `The allocation pool ${poolText(p)} spans beyond the subnet cidr ${formatCidr(c)}.`,
      );
    }
    ranges.push({ start: s.value, end: e.value, pool: { start: ipAt(c, s.value), end: ipAt(c, e.value) } });
  }
  ranges.sort((a, b) => (a.start < b.start ? -1 : 1));
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i].start <= ranges[i - 1].end) {
      throw conflict(
        'OverlappingAllocationPools',
        `Found overlapping allocation pools: ${poolText(ranges[i - 1].pool)} and ${poolText(ranges[i].pool)} for subnet ${formatCidr(c)}.`,
      );
    }
  }
  const gw = gateway ? parseIp(gateway) : null;
  if (gw) {
    const hit = ranges.find((r) => gw.value >= r.start && gw.value <= r.end);
    if (hit) {
      throw conflict('GatewayConflictWithAllocationPools', `Gateway ip ${gateway} conflicts with allocation pool ${poolText(hit.pool)}`);
    }
  }
  return pools.map((p) => ranges.find((r) => r.pool.start === ipAt(c, parseIp(p.start)!.value))!.pool);
}

/**
 * An IPv4 gateway inside the subnet must not be its network or broadcast address; any IPv6 address
 * will do (ipam/utils.py::check_gateway_invalid_in_subnet). Neutron allows a gateway outside the subnet.
 */
export function validateGateway(c: Cidr, gateway: string): void {
  const gw = parseIp(gateway);
  if (!gw || gw.version !== c.version) throw invalidInput(`Gateway is not valid on subnet`);
  if (!cidrContains(c, gw) || c.version === 6) return;
  const r = hostRange(c);
  if (gw.value < r.start || gw.value > r.end) throw invalidInput('Gateway is not valid on subnet');
}

export function inPools(c: Cidr, pools: Pool[], ip: string): boolean {
  const v = parseIp(ip);
  if (!v) return false;
  return pools.some((p) => {
    const s = parseIp(p.start)!;
    const e = parseIp(p.end)!;
    return v.value >= s.value && v.value <= e.value && cidrContains(c, v);
  });
}

/** How many addresses, from the lowest free one, the random choice draws from (Neutron's window). */
export const ALLOCATION_WINDOW = 1000;
/** Allocated addresses read by the lowest-free search's first step (it usually ends there), doubling up to WALK_MAX. */
const WALK_FIRST = 8;
const WALK_MAX = 256;
/** Random addresses of the window tried at once before reading the whole window. */
const PROBES = 16;
/** Free addresses a dense window is widened to hold, at least. */
const MIN_CANDIDATES = 100;
/** Probes per batch, and batches, of the draw from a window known to hold MIN_CANDIDATES free addresses. */
const PROBE_BATCH = 64;
const PROBE_BATCHES = 4;

/** The sortable form of an address value that ip_allocations.ip_key holds (migration 004). */
export const ipamKey = (value: bigint): string => value.toString().padStart(39, '0');

/** A subnet's allocated address values, as the search reads them (an index of the database). */
export interface AllocatedIndex {
  /** The allocated values in [from, to], ascending, at most `limit` of them. */
  inRange(from: bigint, to: bigint, limit: number): Promise<bigint[]>;
  /** Which of `values` are allocated. */
  among(values: bigint[]): Promise<Set<bigint>>;
  /** How many values in [from, to] are allocated (counted by the database, no values read). */
  count(from: bigint, to: bigint): Promise<number>;
}

export interface AddressSearch {
  /** Every pool address below it is known to be allocated. */
  floor: bigint;
  /** The lowest free address, or one at random near it. */
  lowest: boolean;
  /** Addresses this request has already chosen: not free, though not yet stored. */
  taken: ReadonlySet<bigint>;
  /** An integer in [0, n): passed in so that tests can choose. */
  random: (n: number) => number;
}

export interface AddressChoice {
  value: bigint;
  /** A higher floor that the search proved, if any: every pool address below it is allocated. */
  floor: bigint | null;
}

/** The lowest value in [from, to] neither allocated nor taken; reads only up to the first gap. */
async function lowestFree(index: AllocatedIndex, from: bigint, to: bigint, taken: ReadonlySet<bigint>): Promise<bigint | null> {
  let v = from;
  for (let step = WALK_FIRST; v <= to; step = Math.min(step * 2, WALK_MAX)) {
    const used = await index.inRange(v, to, step);
    for (const k of used) {
      for (; v < k; v++) if (!taken.has(v)) return v;
      v = k + 1n;
    }
    if (used.length < step) {
      for (; v <= to; v++) if (!taken.has(v)) return v;
    }
  }
  return null;
}

/** The window's end one window further, up to `last`. */
const widen = (end: bigint, last: bigint) => (end + BigInt(ALLOCATION_WINDOW) < last ? end + BigInt(ALLOCATION_WINDOW) : last);

/**
 * The end of the window [from, …] that randomFree's read settles on — `to`, widened by whole windows
 * up to `last` until it holds MIN_CANDIDATES free values — by counting; null when even [from, last]
 * holds fewer.
 */
async function widenedByCount(index: AllocatedIndex, from: bigint, to: bigint, last: bigint, taken: ReadonlySet<bigint>) {
  let allocated = 0;
  for (let start = from, end = to; ; start = end + 1n, end = widen(end, last)) {
    allocated += await index.count(start, end);
    let takenHere = 0;
    for (const v of taken) if (v >= from && v <= end) takenHere++;
    if (Number(end - from) + 1 - allocated - takenHere >= MIN_CANDIDATES) return end;
    if (end === last) return null;
  }
}

/**
 * A value drawn uniformly from the free ones of the window [from, to] (`from` is free), widened by
 * whole windows up to `last` while it holds fewer than MIN_CANDIDATES free values, so that concurrent
 * allocators do not all meet on a full window: a few random probes; else probes over the widened
 * window; else one read of it.
 */
async function randomFree(index: AllocatedIndex, from: bigint, to: bigint, last: bigint, s: AddressSearch): Promise<bigint> {
  const isFree = (used: ReadonlySet<bigint>) => (v: bigint) => !used.has(v) && !s.taken.has(v);
  const probe = async (end: bigint, n: number) => {
    const probes = Array.from({ length: n }, () => from + BigInt(s.random(Number(end - from) + 1)));
    return probes.find(isFree(await index.among(probes)));
  };
  const hit = await probe(to, PROBES);
  if (hit !== undefined) return hit;
  // A dense window. Counting its allocations costs far less than reading them: widen it as the read
  // below would, then draw by probes, each of which now hits with a chance of at least
  // MIN_CANDIDATES / the window's size. Uniform among the free addresses of the same window as the
  // read's; should every batch miss (or a concurrent writer fill the window meanwhile), the read decides.
  const end = await widenedByCount(index, from, to, last, s.taken);
  for (let batch = 0; end !== null && batch < PROBE_BATCHES; batch++) {
    const hit = await probe(end, PROBE_BATCH);
    if (hit !== undefined) return hit;
  }
  for (let end = to; ; end = widen(end, last)) {
    const free: bigint[] = [];
    const freeHere = isFree(new Set(await index.inRange(from, end, Number(end - from) + 1)));
    for (let v = from; v <= end; v++) if (freeHere(v)) free.push(v);
    if (free.length >= MIN_CANDIDATES || (end === last && free.length)) return free[s.random(free.length)];
    // A concurrent writer took the rest since `from` was read free (PostgreSQL reads each statement's
    // own snapshot): `from` it is — its insert then meets the unique key and the unit of work retries.
    if (end === last) return from;
  }
}

/**
 * Picks a free address from the pools, in their order: the lowest free one (for `network:dhcp`
 * ports), or one at random among the free addresses of the ALLOCATION_WINDOW addresses that start at
 * the lowest free one of the first pool with space (widened while it is nearly full). Neutron draws
 * from the first 1,000 free addresses instead, which needs every allocation read, since the holes a
 * random choice leaves low in the pool last; on pools of up to 1,000 addresses the two are the same.
 * Reads start at the floor, so the cost does not grow with the addresses allocated below it. Null
 * when the pools are full.
 */
export async function chooseAddress(pools: Range[], index: AllocatedIndex, s: AddressSearch): Promise<AddressChoice | null> {
  const full: Range[] = [];
  for (const p of pools) {
    const from = p.start > s.floor ? p.start : s.floor;
    const low = from <= p.end ? await lowestFree(index, from, p.end, s.taken) : null;
    if (low === null) {
      full.push(p);
      continue;
    }
    // `low` is a floor for the whole subnet once every pool that starts lower is known full.
    const floor = pools.every((q) => q.start >= p.start || full.includes(q)) ? low : null;
    if (s.lowest) return { value: low, floor };
    const windowEnd = low + BigInt(ALLOCATION_WINDOW - 1);
    return { value: await randomFree(index, low, windowEnd < p.end ? windowEnd : p.end, p.end, s), floor };
  }
  return null;
}

/** The pools as ranges of address values. */
export const poolRanges = (pools: Pool[]): Range[] => pools.map((p) => ({ start: parseIp(p.start)!.value, end: parseIp(p.end)!.value }));
