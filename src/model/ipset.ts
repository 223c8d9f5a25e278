// Sets of addresses of one family, as netaddr.IPSet serves Neutron's subnet pools: union,
// difference and intersection of prefixes, and the set back as the fewest CIDRs in address order
// (iter_cidrs after compact). Pure.
import { addressBits, type Cidr, type IpVersion } from './ip.ts';

/** Inclusive address ranges, sorted, disjoint and not adjacent. */
export type IpRanges = ReadonlyArray<{ start: bigint; end: bigint }>;

/** The union of the prefixes (all of one family) as merged ranges. */
export function rangesOf(cidrs: readonly Cidr[]): IpRanges {
  const sorted = cidrs.map((c) => ({ start: c.network, end: c.last })).sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: Array<{ start: bigint; end: bigint }> = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end + 1n) last.end = r.end > last.end ? r.end : last.end;
    else out.push({ ...r });
  }
  return out;
}

/** The addresses of `a` that are not in `b`. */
export function subtract(a: IpRanges, b: IpRanges): IpRanges {
  const out: Array<{ start: bigint; end: bigint }> = [];
  for (const r of a) {
    let start = r.start;
    for (const cut of b) {
      if (cut.end < start || cut.start > r.end) continue;
      if (cut.start > start) out.push({ start, end: cut.start - 1n });
      start = cut.end + 1n;
      if (start > r.end) break;
    }
    if (start <= r.end) out.push({ start, end: r.end });
  }
  return out;
}

/** Whether the two sets share an address. */
export function intersects(a: IpRanges, b: IpRanges): boolean {
  return a.some((x) => b.some((y) => x.start <= y.end && y.start <= x.end));
}

/** Whether every address of `a` is in `b`. */
export const isSubset = (a: IpRanges, b: IpRanges): boolean => subtract(a, b).length === 0;

/** The set as the fewest CIDRs, in address order (netaddr's iter_cidrs). */
export function toCidrs(version: IpVersion, ranges: IpRanges): Cidr[] {
  const bits = addressBits(version);
  const out: Cidr[] = [];
  for (const r of ranges) {
    let start = r.start;
    while (start <= r.end) {
      // The largest block aligned at `start` that stays within the range.
      let hostBits = 0;
      while (hostBits < bits) {
        const size = 1n << BigInt(hostBits + 1);
        if (start % size !== 0n || start + size - 1n > r.end) break;
        hostBits++;
      }
      const last = start + (1n << BigInt(hostBits)) - 1n;
      out.push({ version, network: start, prefixLength: bits - hostBits, last });
      start = last + 1n;
    }
  }
  return out;
}
