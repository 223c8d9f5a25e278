// The one module for IP address and prefix math (IPAM, validation, kernel canonical forms, planners),
// on top of the ip-address library. Pure. Addresses are bigints so IPv4 and IPv6 share one code path.
import { Address4, Address6 } from 'ip-address';

export type IpVersion = 4 | 6;

export interface Ip {
  version: IpVersion;
  value: bigint;
}

export interface Cidr {
  version: IpVersion;
  /** first address of the prefix */
  network: bigint;
  prefixLength: number;
  /** last address of the prefix */
  last: bigint;
}

/** Address width in bits: 32 or 128. */
export const addressBits = (v: IpVersion): number => (v === 4 ? 32 : 128);

/**
 * Parses a plain address (no prefix); null when it is not one. Strict like inet_pton: no leading
 * zeros in IPv4 octets, no IPv6 zone id ("%eth0"); IPv6 may end in an embedded IPv4 address.
 */
export function parseIp(text: unknown): Ip | null {
  if (typeof text !== 'string' || text.includes('/')) return null;
  if (Address4.isValid(text)) return { version: 4, value: new Address4(text).bigInt() };
  if (Address6.isValid(text) && !text.includes('%')) return { version: 6, value: new Address6(text).bigInt() };
  return null;
}

/** 4 or 6 for an address, null when the text is not one. */
export function ipVersion(text: unknown): IpVersion | null {
  return parseIp(text)?.version ?? null;
}

/** RFC 5952 text: IPv6 lower-case and zero-compressed (an embedded IPv4 tail printed as hex groups). */
export function formatIp(ip: Ip): string {
  return ip.version === 4 ? dottedQuad(Number(ip.value)) : Address6.fromBigInt(ip.value).correctForm();
}

/**
 * An IPv4 address as text, by arithmetic: the same text as the library's correctForm, at a small
 * fraction of its cost (address allocation formats up to a thousand candidates per port).
 */
function dottedQuad(v: number): string {
  return `${Math.floor(v / 2 ** 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** Canonical text of an address ("10.0.0.1", "2001:db8::1"); null when it is not an address. */
export function canonicalIpOrNull(text: unknown): string | null {
  const ip = parseIp(text);
  return ip ? formatIp(ip) : null;
}

/** The prefix of `prefixLength` that holds `ip` (host bits cleared). */
export function prefixOf(ip: Ip, prefixLength: number): Cidr {
  const hostBits = BigInt(addressBits(ip.version) - prefixLength);
  const network = (ip.value >> hostBits) << hostBits;
  return { version: ip.version, network, prefixLength, last: network + (1n << hostBits) - 1n };
}

/** Parses "addr/n" (or an address alone, as a host prefix), without requiring host bits to be zero. */
export function parsePrefix(text: unknown): (Cidr & { address: bigint }) | null {
  if (typeof text !== 'string') return null;
  const [addr, len, extra] = text.split('/');
  if (extra !== undefined) return null;
  const ip = parseIp(addr);
  if (!ip) return null;
  const max = addressBits(ip.version);
  const prefixLength = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
  if (!(prefixLength >= 0 && prefixLength <= max)) return null;
  return { ...prefixOf(ip, prefixLength), address: ip.value };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp({ version: c.version, value: c.network })}/${c.prefixLength}`;
}

export function cidrContains(c: Cidr, ip: Ip): boolean {
  return c.version === ip.version && ip.value >= c.network && ip.value <= c.last;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.version === b.version && a.network <= b.last && b.network <= a.last;
}

/** Number of addresses in the prefix. */
export function cidrSize(c: Cidr): bigint {
  return c.last - c.network + 1n;
}

export function ipAt(c: Cidr, value: bigint): string {
  return formatIp({ version: c.version, value });
}

/** The n-th address of the prefix (0 = the network address); null past its end or before its start. */
export function nthAddress(c: Cidr, n: bigint): string | null {
  const value = c.network + n;
  return n >= 0n && value <= c.last ? ipAt(c, value) : null;
}

/** The IPv4 broadcast address (last of the prefix); null for IPv6, which has none. */
export function broadcastAddress(c: Cidr): string | null {
  return c.version === 4 ? ipAt(c, c.last) : null;
}

/**
 * The usable host addresses, as Neutron's IPAM counts them (ipam/utils.py): IPv4 drops the network
 * and broadcast addresses except on /31 and /32; IPv6 drops the subnet-router anycast address
 * (the network address) except on /128.
 */
export function hostRange(c: Cidr): { start: bigint; end: bigint } {
  if (c.version === 4 && c.prefixLength < 31) return { start: c.network + 1n, end: c.last - 1n };
  if (c.version === 6 && c.prefixLength < 128) return { start: c.network + 1n, end: c.last };
  return { start: c.network, end: c.last };
}

/** The dotted netmask of an IPv4 prefix length ("255.255.255.0" for 24). */
export function ipv4Netmask(prefixLength: number): string {
  return formatIp({ version: 4, value: prefixOf({ version: 4, value: 0xffffffffn }, prefixLength).network });
}

/** The prefix length of a dotted IPv4 netmask ("255.255.255.0" → 24); null when it is not a netmask. */
export function ipv4NetmaskLength(mask: unknown): number | null {
  const ip = parseIp(mask);
  if (!ip || ip.version !== 4) return null;
  const bits = ip.value.toString(2).padStart(32, '0');
  if (!/^1*0*$/.test(bits)) return null;
  const firstZero = bits.indexOf('0');
  return firstZero === -1 ? 32 : firstZero;
}

const MAC_48 = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;

/**
 * The SLAAC address of a MAC in an IPv6 prefix, as Neutron's ipv6_utils.get_ipv6_addr_by_EUI64
 * computes it: (first address of the prefix + EUI-64 of the MAC) with the universal/local bit
 * flipped. Meant for a /64; like Neutron, other lengths are not refused. Null for IPv4, an
 * unparsable prefix or MAC, or a sum past the end of the address space.
 */
export function eui64Address(prefix: string, mac: string): string | null {
  const c = parsePrefix(prefix);
  if (!c || c.version !== 6 || !MAC_48.test(mac)) return null;
  const m = BigInt(`0x${mac.replace(/[:-]/g, '')}`);
  // EUI-48 → EUI-64: the OUI, then ff:fe, then the NIC-specific half.
  const eui64 = ((m >> 24n) << 40n) | (0xfffen << 24n) | (m & 0xffffffn);
  const value = (c.network + eui64) ^ (1n << 57n);
  return value < 1n << 128n ? formatIp({ version: 6, value }) : null;
}

/**
 * The MAC encoded in an IPv6 link-local address (fe80::/10), as netutils.get_mac_addr_by_ipv6
 * decodes it: the lowest 8 bytes without their middle ff:fe, the universal/local bit flipped back.
 * Null for anything that is not an IPv6 link-local address.
 */
export function macOfLinkLocal(text: string): string | null {
  const ip = parseIp(text);
  if (!ip || ip.version !== 6 || ip.value >> 118n !== 0x3fan) return null;
  const m = (((ip.value & 0xffffff0000000000n) >> 16n) + (ip.value & 0xffffffn)) ^ 0x020000000000n;
  return (m & 0xffffffffffffn)
    .toString(16)
    .padStart(12, '0')
    .replace(/(..)(?!$)/g, '$1:');
}

/**
 * Whether an address looks like an EUI-64 one: ff:fe in the middle of its interface identifier
 * (ipv6_utils.is_eui64_address). Neutron re-derives such addresses when a port's MAC changes.
 */
export function isEui64Address(text: string): boolean {
  const ip = parseIp(text);
  return ip !== null && ip.version === 6 && (ip.value & 0xffff000000n) === 0xfffe000000n;
}
