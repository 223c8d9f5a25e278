// What `--probe` captures, from the static report alone: one capture point per device the report
// names (node, namespace, device), with a tcpdump filter that follows the traced address through
// the router's DNAT (the floating IP before it, the fixed IP after), and optionally the underlay NIC
// under each VXLAN leg (the outer UDP packets, matched on the inner addresses). Pure.
import { HOST } from '../../kernel/types.ts';
import { parseIp } from '../../model/ip.ts';
import { VXLAN_UDP_PORT as VXLAN_PORT } from '../../model/neutron.ts';
import type { Hop, Reason, TraceReport } from '../report.ts';

export class ProbeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProbeError';
  }
}

/** What a probe sends: ICMP echo, or a TCP connect to a port. */
export type ProbeFlow = { protocol: 'icmp' } | { protocol: 'tcp'; port: number };

/** The check of the hops `--probe` adds for a VXLAN leg's underlay NIC. */
export const UNDERLAY_CHECK = 'vxlan underlay';

export interface CapturePoint {
  node: string;
  /** '' = the node's own namespace */
  namespace: string;
  device: string;
  /** the address the traced packets carry on this device (destination of requests, source of replies) */
  address: string;
  filter: string;
  /** the device carries the traffic VXLAN-encapsulated (read back with -T vxlan) */
  encapsulated: boolean;
  /** indexes of the hops on this device */
  hops: number[];
  /** the pcap file, relative to the capture directory: NODE/[NAMESPACE.]DEVICE.pcap */
  pcap: string;
}

export function probeFlow(report: TraceReport): ProbeFlow {
  const f = report.target.flow;
  if (f.protocol === 'icmp') return { protocol: 'icmp' };
  if (f.protocol === 'tcp') {
    if (f.port === undefined) throw new ProbeError('a tcp probe needs the destination port (--port N)');
    return { protocol: 'tcp', port: f.port };
  }
  throw new ProbeError(`--probe sends ICMP echo or a TCP connect: a ${f.protocol} flow has no reply to measure`);
}

export const flowText = (f: ProbeFlow) => (f.protocol === 'icmp' ? 'ICMP echo' : `TCP SYN to port ${f.port}`);

/** The filter on a device where the traced packets carry `address` (plain, not encapsulated). */
export function captureFilter(flow: ProbeFlow, address: string): string {
  // ICMPv6 also carries neighbour discovery to and from the address: only echo requests and replies
  // (types 128, 129 right after the fixed header) count and use up the packet bound.
  const icmp = address.includes(':') ? 'icmp6 and (ip6[40] = 128 or ip6[40] = 129)' : 'icmp';
  return `${flow.protocol === 'icmp' ? icmp : `tcp port ${flow.port}`} and host ${address}`;
}

/** An address's 32-bit words, as BPF compares them. */
const words = (value: bigint, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `0x${((value >> BigInt(32 * (count - 1 - i))) & 0xffffffffn).toString(16).padStart(8, '0')}`);

/**
 * The filter on a VXLAN leg's underlay NIC: the outer UDP port, and the inner IPv4 or IPv6 packet's protocol
 * and addresses (offsets past the UDP header, the 8-byte VXLAN header and the inner Ethernet header),
 * so other tenants' tunnelled traffic neither counts nor uses up the packet bound.
 */
export function underlayFilter(flow: ProbeFlow, address: string, port = VXLAN_PORT): string {
  const ip = parseIp(address);
  if (!ip) throw new ProbeError(`'${address}' is not an IP address`);
  if (ip.version === 6) {
    // The inner IPv6 header: next header at its byte 6, source at 8, destination at 24 (16 bytes each).
    const at = (offset: number) =>
      words(ip.value, 4)
        .map((w, i) => `udp[${offset + 4 * i}:4] = ${w}`)
        .join(' and ');
    return `udp port ${port} and udp[36] = ${flow.protocol === 'icmp' ? 58 : 6} and ((${at(38)}) or (${at(54)}))`;
  }
  const hex = words(ip.value, 1)[0]!;
  return `udp port ${port} and udp[39] = ${flow.protocol === 'icmp' ? 1 : 6} and (udp[42:4] = ${hex} or udp[46:4] = ${hex})`;
}

const key = (h: Pick<Hop, 'node' | 'namespace' | 'device'>) => `${h.node}\u0000${h.namespace}\u0000${h.device}`;
const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');
export const pcapPath = (node: string, namespace: string, device: string) =>
  `${safe(node)}/${namespace === HOST ? '' : `${safe(namespace)}.`}${safe(device)}.pcap`;

/** Statuses that say the device is not there to capture on. */
const ABSENT: ReadonlySet<Reason> = new Set(['DEVICE_MISSING', 'NAMESPACE_MISSING', 'UPLINK_MISSING', 'VLAN_SUBINTERFACE_MISSING']);

/** The VXLAN parameters of a 'vxlan' hop: as the kernel shows them, else as the planner wants them. */
function vxlanOf(h: Hop): { dev: string | null; dstport: number; local: string | null } | null {
  const o = (h.observed?.['vxlan'] ?? null) as { dev?: string | null; dstport?: number; local?: string | null } | null;
  const e = (h.expected['vxlan'] ?? null) as { dev?: string; local?: string } | null;
  if (!o && !e) return null;
  return { dev: o?.dev ?? e?.dev ?? null, dstport: o?.dstport ?? VXLAN_PORT, local: o?.local ?? e?.local ?? null };
}

/**
 * The report with a hop for the underlay NIC on each side of every VXLAN leg between two nodes,
 * right after the sending side's last vxlan-N hop: the NIC that holds local_ip (the vxlan device's
 * `dev`), so a loss between the two vxlan-N devices is pinned to one node. Hops are renumbered.
 */
export function withUnderlayHops(report: TraceReport): TraceReport {
  const hops = report.hops.map((h) => ({ ...h }));
  const vx = hops.filter((h) => h.leg === 'request' && h.check === 'vxlan' && h.device);
  const inserts: Array<{ after: number; hops: Hop[] }> = [];
  for (let i = 0; i + 1 < vx.length; i++) {
    const a = vx[i]!;
    const b = vx[i + 1]!;
    if (a.node === b.node || a.device !== b.device) continue;
    const va = vxlanOf(a);
    const vb = vxlanOf(b);
    const first = hops.indexOf(b);
    // The last hop on a's device before b: the pair goes between the two nodes.
    let after = hops.indexOf(a);
    for (let j = after; j < first; j++) if (key(hops[j]!) === key(a)) after = j;
    const pair = [
      [a, va],
      [b, vb],
    ] as const;
    inserts.push({ after, hops: pair.filter(([, v]) => v?.dev).map(([h, v]) => underlayHop(h, v!, report)) });
  }
  for (const ins of inserts.sort((x, y) => y.after - x.after)) hops.splice(ins.after + 1, 0, ...ins.hops);
  return { ...report, hops: hops.map((h, i) => ({ ...h, index: i + 1 })) };
}

function underlayHop(vxlanHop: Hop, v: { dev: string | null; dstport: number; local: string | null }, report: TraceReport): Hop {
  const vni = (vxlanHop.expected['vxlan'] as { vni?: number } | undefined)?.vni ?? report.target.network?.segmentation_id ?? null;
  return {
    index: 0,
    leg: 'request',
    node: vxlanHop.node,
    namespace: HOST,
    device: v.dev!,
    resource: vxlanHop.resource,
    check: UNDERLAY_CHECK,
    expected: {
      carries: `${vxlanHop.device} (VNI ${vni ?? '?'}) as UDP port ${v.dstport}`,
      local: v.local,
      inner: report.target.port?.fixed_ip ?? null,
    },
    observed: null,
    status: 'ok',
    ...(vxlanHop.setting ? { setting: vxlanHop.setting } : {}),
    evidence: [],
  };
}

/** Where the floating IP is translated: hops before the DNAT hop see the floating IP, hops after it the fixed IP. */
function dnatIndex(report: TraceReport): number {
  const h = report.hops.find((x) => x.check === 'DNAT');
  return h ? h.index : Infinity;
}

/**
 * One capture point per device the report names, in path order (first appearance), except devices
 * the static trace found absent. Hops of the underlay check capture the encapsulated packets.
 */
export function capturePoints(report: TraceReport, flow: ProbeFlow): CapturePoint[] {
  const fip = report.target.floatingip?.address;
  if (!fip) throw new ProbeError('the trace found no floating IP to probe');
  const fixed = report.target.port?.fixed_ip ?? null;
  const dnat = dnatIndex(report);
  return pathCapturePoints(report, flow, (h) => (h.index > dnat && fixed ? fixed : fip));
}

/** The tcpdump filters of a probe's traffic: on a plain device, and on a VXLAN underlay NIC (outer UDP port). */
export interface CaptureFilters {
  plain: (address: string) => string;
  underlay: (address: string, port: number) => string;
}

/**
 * The same for any path: `addressAt(hop)` is the address the traced packets carry on the hop's
 * device (a path without NAT on the destination: the destination everywhere).
 */
export function pathCapturePoints(report: TraceReport, flow: ProbeFlow | CaptureFilters, addressAt: (h: Hop) => string): CapturePoint[] {
  const filters: CaptureFilters =
    'plain' in flow ? flow : { plain: (a) => captureFilter(flow, a), underlay: (a, port) => underlayFilter(flow, a, port) };
  const points = new Map<string, CapturePoint>();
  const absent = new Set<string>();
  for (const h of report.hops) {
    if (!h.device || !h.node) continue;
    const k = key(h);
    if (h.reason && ABSENT.has(h.reason)) absent.add(k);
    const p = points.get(k);
    if (p) {
      p.hops.push(h.index);
      continue;
    }
    const encapsulated = h.check === UNDERLAY_CHECK;
    const address = addressAt(h);
    const port = encapsulated ? portOf(h) : VXLAN_PORT;
    points.set(k, {
      node: h.node,
      namespace: h.namespace,
      device: h.device,
      address,
      filter: encapsulated ? filters.underlay(address, port) : filters.plain(address),
      encapsulated,
      hops: [h.index],
      pcap: pcapPath(h.node, h.namespace, h.device),
    });
  }
  return [...points.entries()].filter(([k]) => !absent.has(k)).map(([, p]) => p);
}

function portOf(h: Hop): number {
  const m = /UDP port (\d+)/.exec(String(h.expected['carries'] ?? ''));
  return m ? Number(m[1]) : VXLAN_PORT;
}
