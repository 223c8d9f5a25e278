// IP address and prefix math for IPAM and validation, on top of the ip-address library.
// Addresses are handled as bigints so IPv4 and IPv6 share one code path.
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

const bits = (v: IpVersion) => (v === 4 ? 32 : 128);

/** Parses a plain address (no prefix); null when it is not one. */
export function parseIp(text: unknown): Ip | null {
  if (typeof text !== 'string' || text.includes('/')) return null;
  if (Address4.isValid(text)) return { version: 4, value: new Address4(text).bigInt() };
  if (Address6.isValid(text) && !text.includes('%')) return { version: 6, value: new Address6(text).bigInt() };
  return null;
}

export function formatIp(ip: Ip): string {
  return ip.version === 4 ? Address4.fromBigInt(ip.value).correctForm() : Address6.fromBigInt(ip.value).correctForm();
}

/** Canonical text of an address ("10.0.0.1", "2001:db8::1"); null when invalid. */
export function canonicalIp(text: unknown): string | null {
  const ip = parseIp(text);
  return ip ? formatIp(ip) : null;
}

/** Parses "a.b.c.d/n" (or an address alone, as a host prefix), without requiring host bits to be zero. */
export function parsePrefix(text: unknown): (Cidr & { address: bigint }) | null {
  if (typeof text !== 'string') return null;
  const [addr, len, extra] = text.split('/');
  if (extra !== undefined) return null;
  const ip = parseIp(addr);
  if (!ip) return null;
  const max = bits(ip.version);
  const prefixLength = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
  if (!(prefixLength >= 0 && prefixLength <= max)) return null;
  const hostBits = BigInt(max - prefixLength);
  const network = (ip.value >> hostBits) << hostBits;
  return { version: ip.version, network, prefixLength, last: network + (1n << hostBits) - 1n, address: ip.value };
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
