// dnsmasq as a DHCP namespace runs it, read from what the node shows rather than from assumed paths:
// its command line (the files it serves are the ones its own arguments name — Neutron's
// $state_path/dhcp/<net>/{host,opts,leases} or neutrino's), and those files' lines by meaning:
// host entries (MAC → address), tagged options, leases. Pure.
import { canonicalIpOrNull, parseIp } from '../../model/ip.ts';
import type { DhcpNamespaceDump } from '../snapshot.ts';

/** The arguments naming the files a DHCP trace reads. */
export const DNSMASQ_FILE_ARGS = { hosts: '--dhcp-hostsfile', opts: '--dhcp-optsfile', leases: '--dhcp-leasefile' } as const;

/** `ip netns pids NS`: one PID a line. */
export const parseNetnsPids = (text: string): number[] =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^\d+$/.test(l))
    .map(Number);

/** /proc/PID/cmdline: NUL-separated, NUL-terminated. */
export const parseCmdline = (text: string): string[] => text.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);

export const isDnsmasq = (argv: readonly string[] | null): argv is string[] => !!argv && /(^|\/)dnsmasq$/.test(argv[0] ?? '');

/** Every value of an option, as `--opt=value` or `--opt value`. */
export function argValues(argv: readonly string[], name: string): string[] {
  const out: string[] = [];
  argv.forEach((a, i) => {
    if (a.startsWith(`${name}=`)) out.push(a.slice(name.length + 1));
    else if (a === name && argv[i + 1] !== undefined) out.push(argv[i + 1]!);
  });
  return out;
}

export const argValue = (argv: readonly string[], name: string): string | undefined => argValues(argv, name)[0];

/** The files of interest that an argv names. */
export function dnsmasqFiles(argv: readonly string[]): Partial<Record<keyof typeof DNSMASQ_FILE_ARGS, string>> {
  const out: Partial<Record<keyof typeof DNSMASQ_FILE_ARGS, string>> = {};
  for (const [k, arg] of Object.entries(DNSMASQ_FILE_ARGS) as Array<[keyof typeof DNSMASQ_FILE_ARGS, string]>) {
    const v = argValue(argv, arg);
    if (v) out[k] = v;
  }
  return out;
}

export interface RunningDnsmasq {
  pid: number;
  argv: string[];
  files: Partial<Record<keyof typeof DNSMASQ_FILE_ARGS, { path: string; text: string | null }>>;
}

/** The dnsmasq processes of a namespace's dump, with the files they name. */
export function dnsmasqIn(dump: DhcpNamespaceDump): RunningDnsmasq[] {
  const out: RunningDnsmasq[] = [];
  for (const [pid, argv] of Object.entries(dump.cmdlines)) {
    if (!isDnsmasq(argv)) continue;
    const files: RunningDnsmasq['files'] = {};
    for (const [k, path] of Object.entries(dnsmasqFiles(argv)) as Array<[keyof typeof DNSMASQ_FILE_ARGS, string]>)
      files[k] = { path, text: dump.files[path] ?? null };
    out.push({ pid: Number(pid), argv, files });
  }
  return out.sort((a, b) => a.pid - b.pid);
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
const addressOf = (field: string): string | null => {
  const bare = field.replace(/^\[(.*)\]$/, '$1');
  return parseIp(bare) ? bare : null;
};

export interface HostEntry {
  mac: string;
  ip: string | null;
  line: string;
}

/** --dhcp-hostsfile lines: `mac[,id:…][,tag…],name,ip[,set:…]` — the MAC and the address, wherever they sit. */
export function parseHostsFile(text: string): HostEntry[] {
  const out: HostEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(',');
    const mac = fields.find((f) => MAC.test(f));
    if (!mac) continue;
    out.push({ mac: mac.toLowerCase(), ip: fields.map(addressOf).find((a) => a !== null) ?? null, line: line.trim() });
  }
  return out;
}

export interface DhcpOption {
  /** tag:… fields, without the prefix */
  tags: string[];
  /** 'router', 'dns-server', 'classless-static-route', or a number ('249') */
  option: string;
  values: string[];
  line: string;
}

/** --dhcp-optsfile lines: `tag:T,…,option:NAME,VALUE…` or `tag:T,NUMBER,VALUE…`. */
export function parseOptsFile(text: string): DhcpOption[] {
  const out: DhcpOption[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(',');
    const tags: string[] = [];
    while (fields[0]?.startsWith('tag:')) tags.push(fields.shift()!.slice('tag:'.length));
    const opt = fields.shift();
    if (!opt) continue;
    out.push({ tags, option: opt.replace(/^option6?:/, ''), values: fields.filter((v) => v !== ''), line });
  }
  return out;
}

export interface Lease {
  expiry: number;
  mac: string;
  ip: string;
  line: string;
}

/** --dhcp-leasefile lines: `EXPIRY MAC IP HOSTNAME CLIENT-ID` (the `duid` line and IPv6 leases aside). */
export function parseLeases(text: string): Lease[] {
  const out: Lease[] = [];
  for (const raw of text.split('\n')) {
    const [expiry, mac, ip] = raw.trim().split(/\s+/);
    if (!expiry || !/^\d+$/.test(expiry) || !mac || !MAC.test(mac) || !ip || parseIp(ip)?.version !== 4) continue;
    out.push({ expiry: Number(expiry), mac: mac.toLowerCase(), ip, line: raw.trim() });
  }
  return out;
}

export interface Lease6 {
  expiry: number;
  iaid: string;
  ip: string;
  line: string;
}

/** The IPv6 leases of a --dhcp-leasefile: after its `duid` line, `EXPIRY IAID ADDRESS HOSTNAME CLIENT-DUID` (no MAC). */
export function parseLeases6(text: string): Lease6[] {
  const out: Lease6[] = [];
  for (const raw of text.split('\n')) {
    const [expiry, iaid, ip] = raw.trim().split(/\s+/);
    if (!expiry || !/^\d+$/.test(expiry) || !iaid || !ip || parseIp(ip)?.version !== 6) continue;
    out.push({ expiry: Number(expiry), iaid, ip: canonicalIpOrNull(ip)!, line: raw.trim() });
  }
  return out;
}
