// Subnet pools as Neutron reads and allocates them (neutron/ipam/subnet_alloc.py): the pool's prefixes
// compacted, its prefix-length bounds with their defaults, and the choice of a new subnet's CIDR
// from the space no subnet of the pool holds. Pure.
import { badRequest, NeutronError } from './errors.ts';
import { addressBits, formatCidr, parsePrefix, type Cidr, type IpVersion } from './ip.ts';
import { rangesOf, subtract, toCidrs } from './ipset.ts';

/** Per family: the largest prefix length, the default minimum, and the quota unit (SubnetPoolHelper). */
const FAMILY = { 4: { defaultMin: 8, quotaUnit: 32 }, 6: { defaultMin: 64, quotaUnit: 64 } } as const;

export interface PoolBounds {
  ip_version: IpVersion;
  /** compacted, in address order */
  prefixes: string[];
  min_prefixlen: number;
  max_prefixlen: number;
  default_prefixlen: number;
}

export interface PoolInput {
  prefixes: string[];
  min_prefixlen?: number;
  max_prefixlen?: number;
  default_prefixlen?: number;
}

const cidrsOf = (prefixes: readonly string[]): Cidr[] => prefixes.map((p) => parsePrefix(p)!);

/** The prefixes as the fewest CIDRs covering the same addresses (IPSet.compact). */
export function compactPrefixes(version: IpVersion, prefixes: readonly string[]): string[] {
  return toCidrs(version, rangesOf(cidrsOf(prefixes))).map(formatCidr);
}

function bounds(prefixType: string, prefixlen: number, baseType: string, baseLen: number): NeutronError {
  return badRequest(`Illegal prefix bounds: ${prefixType}=${prefixlen}, ${baseType}=${baseLen}.`, 'IllegalSubnetPoolPrefixBounds');
}

/** SubnetPoolReader: a pool's family, compacted prefixes and validated bounds. */
export function readPool(p: PoolInput): PoolBounds {
  if (!p.prefixes.length) throw badRequest('Empty subnet pool prefix list.', 'EmptySubnetPoolPrefixList');
  const versions = new Set(cidrsOf(p.prefixes).map((c) => c.version));
  if (versions.size > 1) throw badRequest('Cannot mix IPv4 and IPv6 prefixes in a subnet pool.', 'PrefixVersionMismatch');
  const version = [...versions][0];
  const bits = addressBits(version);
  const min = p.min_prefixlen ?? FAMILY[version].defaultMin;
  const max = p.max_prefixlen ?? bits;
  const def = p.default_prefixlen ?? min;
  if (min > max) throw bounds('min_prefixlen', min, 'max_prefixlen', max);
  if (max > bits) throw bounds('max_prefixlen', max, 'ip_version_max', bits);
  if (def < min) throw bounds('default_prefixlen', def, 'min_prefixlen', min);
  if (def > max) throw bounds('default_prefixlen', def, 'max_prefixlen', max);
  return {
    ip_version: version,
    prefixes: compactPrefixes(version, p.prefixes),
    min_prefixlen: min,
    max_prefixlen: max,
    default_prefixlen: def,
  };
}

/** The pool's free space as CIDRs, smallest blocks (longest prefixes) first, each size in address order. */
export function availablePrefixes(version: IpVersion, prefixes: readonly string[], allocated: readonly string[]): Cidr[] {
  const free = toCidrs(version, subtract(rangesOf(cidrsOf(prefixes)), rangesOf(cidrsOf(allocated))));
  // A stable sort, as Python's sorted(..., reverse=True) keeps equal keys in their order.
  return free
    .map((c, i) => [c, i] as const)
    .sort((a, b) => b[0].prefixLength - a[0].prefixLength || a[1] - b[1])
    .map(([c]) => c);
}

const allocationError = (reason: string) => new NeutronError(500, 'SubnetAllocationError', `Failed to allocate subnet: ${reason}.`);

/** allocate_subnet's bounds check of the requested prefix length. */
export function checkPrefixlen(pool: Pick<PoolBounds, 'min_prefixlen' | 'max_prefixlen'>, prefixlen: number): void {
  if (prefixlen > pool.max_prefixlen) {
    throw badRequest(
      `Unable to allocate subnet with prefix length ${prefixlen}, maximum allowed prefix is ${pool.max_prefixlen}.`,
      'MaxPrefixSubnetAllocationError',
    );
  }
  if (prefixlen < pool.min_prefixlen) {
    throw badRequest(
      `Unable to allocate subnet with prefix length ${prefixlen}, minimum allowed prefix is ${pool.min_prefixlen}.`,
      'MinPrefixSubnetAllocationError',
    );
  }
}

/** _allocate_any_subnet: the first block of the free space that holds the size, cut to it. */
export function chooseAnySubnet(available: readonly Cidr[], prefixlen: number): Cidr {
  const home = available.find((c) => prefixlen >= c.prefixLength);
  if (!home) throw allocationError(`Insufficient prefix space to allocate subnet size /${prefixlen}`);
  const bits = addressBits(home.version);
  return {
    version: home.version,
    network: home.network,
    prefixLength: prefixlen,
    last: home.network + (1n << BigInt(bits - prefixlen)) - 1n,
  };
}

/** _allocate_specific_subnet: the CIDR must lie within exactly one free block. */
export function checkSpecificSubnet(available: readonly Cidr[], cidr: Cidr): void {
  const matched = available.filter((c) => c.network <= cidr.network && cidr.last <= c.last && c.version === cidr.version);
  if (!(matched.length === 1 && matched[0].prefixLength <= cidr.prefixLength)) {
    throw allocationError('Cannot allocate requested subnet from the available set of prefixes');
  }
}

/** _check_subnetpool_project_quota: prefix space in quota units (/32 for IPv4, /64 for IPv6); 0 or null means none. */
export function checkPoolQuota(version: IpVersion, quota: number | null, used: readonly string[], prefixlen: number): void {
  if (!quota) return;
  const unit = FAMILY[version].quotaUnit;
  const units = (len: number) => 2 ** (unit - len);
  const total = used.reduce((n, c) => n + units(parsePrefix(c)!.prefixLength), 0);
  if (total + units(prefixlen) > quota) {
    throw new NeutronError(409, 'SubnetPoolQuotaExceeded', 'Per-project subnet pool prefix quota exceeded.');
  }
}
