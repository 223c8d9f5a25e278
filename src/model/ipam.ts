// Pure IPAM: default gateway and pools of a subnet, pool validation, and the choice of a free
// address (neutron/ipam/utils.py, neutron/ipam/drivers/neutrondb_ipam/driver.py).
import { conflict, invalidInput, NeutronError } from './errors.js';
import { cidrContains, formatCidr, hostRange, ipAt, parseIp, type Cidr } from './ip.js';

export interface Pool {
  start: string;
  end: string;
}

interface Range {
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

/** How many addresses the random choice draws from (Neutron's window). */
export const ALLOCATION_WINDOW = 1000;

/**
 * Picks a free address from the pools: the lowest for `network:dhcp` ports, otherwise a random one
 * among the first ALLOCATION_WINDOW free addresses of the first pool with space. `random(n)` returns
 * an integer in [0, n) and is passed in so this stays pure. Null when the pools are full.
 */
export function chooseAddress(
  c: Cidr,
  pools: Pool[],
  used: ReadonlySet<string>,
  lowest: boolean,
  random: (n: number) => number,
): string | null {
  for (const p of pools) {
    const s = parseIp(p.start)!.value;
    const e = parseIp(p.end)!.value;
    const free: string[] = [];
    for (let v = s; v <= e && free.length < (lowest ? 1 : ALLOCATION_WINDOW); v++) {
      const text = ipAt(c, v);
      if (!used.has(text)) free.push(text);
    }
    if (free.length) return lowest ? free[0] : free[random(free.length)];
  }
  return null;
}
