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

/** The 128-bit value of an IPv6 address ('::' expanded, an embedded IPv4 tail allowed). */
function ipv6Value(ip: string): bigint {
  let text = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (v4 !== undefined) {
    const n = v4.split('.').map(Number);
    text = text.slice(0, -v4.length) + `${((n[0]! << 8) | n[1]!).toString(16)}:${((n[2]! << 8) | n[3]!).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const part = (s: string) => (s === '' ? [] : s.split(':'));
  const groups = tail === undefined ? part(head) : [...part(head), ...Array(8 - part(head).length - part(tail).length).fill('0'), ...part(tail)];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function ipv6Text(value: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  return canonicalIp(groups.join(':'));
}

/**
 * A member of a hash:net set as `ipset save` prints it: the network with its host bits cleared,
 * and a full-length prefix as the bare address ('172.16.1.3/32' → '172.16.1.3'). A /0 is refused,
 * as ipset refuses it.
 */
export function canonicalNet(text: string): string {
  const [ip = '', lenText, extra] = text.split('/');
  const fam = ipFamily(ip);
  const max = fam === 4 ? 32 : 128;
  if (fam === 0 || extra !== undefined || (lenText !== undefined && !/^\d{1,3}$/.test(lenText))) throw new InvalidName('set member', text);
  const len = lenText === undefined ? max : Number(lenText);
  if (len < 1 || len > max) throw new InvalidName('set member', text);
  if (len === max) return canonicalIp(ip);
  if (fam === 4) {
    const n = ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
    const masked = n - (n % 2 ** (32 - len));
    return `${[24, 16, 8, 0].map((s) => Math.floor(masked / 2 ** s) % 256).join('.')}/${len}`;
  }
  const host = BigInt(128 - len);
  return `${ipv6Text((ipv6Value(canonicalIp(ip)) >> host) << host)}/${len}`;
}
