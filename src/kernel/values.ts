// Pure validation and canonical forms of addresses, prefixes and MACs, so desired and observed values compare equal.
import { addressBits, canonicalIpOrNull, formatCidr, formatIp, ipVersion, parsePrefix, type IpVersion } from '../model/ip.ts';
import { InvalidName } from './names.ts';
import { BoundedMemo } from './bounded-memo.ts';

export type Family = IpVersion;

/** 4, 6, or 0 when not an address. */
export function ipFamily(ip: string): Family | 0 {
  return ipVersion(ip) ?? 0;
}

/** Canonical text of an address, as iproute2 prints it (IPv6 compressed and lower-case); throws when invalid. */
export function canonicalIpOrThrow(ip: string): string {
  const canonical = canonicalIpOrNull(ip);
  if (canonical === null) throw new InvalidName('IP address', ip);
  return canonical;
}

/**
 * Canonical forms found before: every full pass parses the addresses and routes of every link of the
 * node again (~0.8 s of a 38 s idle on a 1,000-port node, the same strings each time).
 */
const canonicalPrefixes = new BoundedMemo<string>(16_384);

/** 'addr/len' in canonical form, host bits kept. With `hostDefault`, a bare address gets /32 or /128 (iproute2 omits them). */
export function canonicalCidr(cidr: string, hostDefault = false): string {
  if (!hostDefault && !cidr.includes('/')) throw new InvalidName('prefix', cidr);
  return canonicalPrefixes.get(cidr, () => {
    const c = parsePrefix(cidr);
    if (!c) throw new InvalidName('prefix', cidr);
    return `${formatIp({ version: c.version, value: c.address })}/${c.prefixLength}`;
  });
}

/** Family of 'addr/len' or 'addr'. */
export function cidrFamily(cidr: string): Family {
  const fam = ipFamily(cidr.split('/')[0] ?? '');
  if (fam === 0) throw new InvalidName('prefix', cidr);
  return fam;
}

/** A route destination: 'default' or a prefix (bare address = host route). */
export function canonicalDst(dst: string): string {
  return dst === 'default' ? dst : canonicalCidr(dst, true);
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Lower-case colon-separated MAC. */
export function canonicalMac(mac: string): string {
  const m = mac.toLowerCase();
  if (!MAC.test(m)) throw new InvalidName('MAC address', mac);
  return m;
}

export const ZERO_MAC = '00:00:00:00:00:00';

/**
 * A member of a hash:net set as `ipset save` prints it: the network with its host bits cleared,
 * and a full-length prefix as the bare address ('172.16.1.3/32' → '172.16.1.3'). A /0 is refused,
 * as ipset refuses it.
 */
export function canonicalNet(text: string): string {
  const c = parsePrefix(text);
  if (!c || c.prefixLength < 1) throw new InvalidName('set member', text);
  return c.prefixLength === addressBits(c.version) ? formatIp({ version: c.version, value: c.address }) : formatCidr(c);
}
