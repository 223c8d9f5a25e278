// Pure validation and canonical forms of addresses, prefixes and MACs, so desired and observed values compare equal.
import { isIP } from 'node:net';
import { InvalidName } from './names.js';

export type Family = 4 | 6;

/** 4, 6, or 0 when not an address. */
export function ipFamily(ip: string): Family | 0 {
  return isIP(ip) as Family | 0;
}

/** Canonical text of an address: IPv6 compressed and lower-case, as iproute2 prints it. */
export function canonicalIp(ip: string): string {
  const fam = isIP(ip);
  if (fam === 4) return ip;
  // Why URL: it is the one IPv6 canonicaliser in Node's core (RFC 5952 compressed form).
  if (fam === 6) return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  throw new InvalidName('IP address', ip);
}

/** 'addr/len' in canonical form. With `hostDefault`, a bare address gets /32 or /128 (iproute2 omits them). */
export function canonicalCidr(cidr: string, hostDefault = false): string {
  const [ip, len, extra] = cidr.split('/');
  if (extra !== undefined || ip === undefined) throw new InvalidName('prefix', cidr);
  const fam = ipFamily(ip);
  if (fam === 0) throw new InvalidName('prefix', cidr);
  const max = fam === 4 ? 32 : 128;
  if (len === undefined) {
    if (!hostDefault) throw new InvalidName('prefix', cidr);
    return `${canonicalIp(ip)}/${max}`;
  }
  if (!/^\d{1,3}$/.test(len) || Number(len) > max) throw new InvalidName('prefix', cidr);
  return `${canonicalIp(ip)}/${Number(len)}`;
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
