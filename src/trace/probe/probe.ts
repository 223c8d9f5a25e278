// `--probe`: real traffic through the traced path, measured on every device at once. Starts one
// bounded capture per device the report names (each with the filter that follows the address through
// the DNAT and the VXLAN encapsulation), waits until all listen, sends from the upstream side (ping,
// or a TCP connect), stops every capture by its PID, counts requests and replies per device, keeps
// the pcaps, and locates where the packets vanish (probe-locate.ts).
import { mkdir, mkdtemp, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { accessArgv, type NodeAccess } from '../read/access.ts';
import { captureCommand, collect, readCapture, startCapture, stopCapture, type Capture } from './probe-capture.ts';
import { countPackets, parsePing, type Counts } from './probe-count.ts';
import { locateLoss } from './probe-locate.ts';
import {
  capturePoints,
  pathCapturePoints,
  probeFlow,
  ProbeError,
  UNDERLAY_CHECK,
  withUnderlayHops,
  type CapturePoint,
  type ProbeFlow,
} from './probe-plan.ts';
import type { Hop, TraceReport } from '../report.ts';

export { ProbeError } from './probe-plan.ts';

export interface ProbeOptions {
  /** how to reach each Neutron host of the path */
  access: Record<string, NodeAccess>;
  /** where the traffic starts (the lab: `<lab>-external`); it runs in that access's own namespace */
  from: { access: NodeAccess; label: string };
  /** the source address to send from (ping -I, nc -s), e.g. the lab's client beyond the upstream router */
  source?: string;
  /** echo requests to send (default 3) */
  count?: number;
  /** bound of each capture, on the node (default 10 s, and at least the sending time plus 5 s) */
  timeoutMs?: number;
  /** where the pcaps are kept, one directory per node (default: a new directory under the system's temp dir) */
  captureDir?: string;
  /** also capture the encapsulated packets on each VXLAN leg's underlay NIC, as extra hops (default true) */
  underlay?: boolean;
  /** ssh options for ssh access (they are not kept in a NodeAccess) */
  sshOptions?: readonly string[];
}

/** Time for in-flight packets to reach every capture after the sender is done. */
const SETTLE_MS = 300;

export async function probeFip(report: TraceReport, o: ProbeOptions): Promise<TraceReport> {
  const flow = probeFlow(report);
  checkCount(o);
  const fip = report.target.floatingip?.address;
  // Nothing to send to: the static verdict (FIP_NOT_FOUND) is the whole answer.
  if (!fip) return { ...report, warnings: [...report.warnings, `probe: nothing sent: there is no floating IP ${report.target.query}`] };
  return probeAlong(
    report,
    flowTraffic(flow, fip, o, (planned) => capturePoints(planned, flow)),
    o,
  );
}

function checkCount(o: ProbeOptions): void {
  const count = o.count ?? 3;
  if (!Number.isInteger(count) || count < 1 || count > 100) throw new ProbeError(`the probe's count must be 1-100, got ${count}`);
}

/**
 * A port's path to its destination (east-west, through the router, out through SNAT): the
 * destination address is the same on every device, so every capture follows it.
 */
export async function probePort(report: TraceReport, o: ProbeOptions): Promise<TraceReport> {
  const flow = probeFlow(report);
  checkCount(o);
  const destination = report.target.destination;
  if (!destination)
    return {
      ...report,
      warnings: [...report.warnings, `probe: nothing sent: the trace has no destination address (${report.target.query})`],
    };
  return probeAlong(
    report,
    flowTraffic(flow, destination, o, (planned) => pathCapturePoints(planned, flow, () => destination)),
    o,
  );
}

/** What one probe captures, how it makes the traffic, and how it counts it. */
export interface ProbeTraffic {
  /** e.g. 'icmp', 'tcp/22', 'dhcp' */
  label: string;
  /** where the traffic comes from, for the report */
  from: string;
  points: (planned: TraceReport) => CapturePoint[];
  /** packets each capture keeps at most */
  packetBound: number;
  /** how long the sender may take */
  sendMs: number;
  send: (warnings: string[]) => Promise<{ sent: number; answered: number }>;
  count: (tcpdumpText: string, point: CapturePoint) => Counts;
  /** sent and answered from the captures, when the sender cannot say (traffic it did not start) */
  tally?: (hops: Hop[]) => { sent: number; answered: number };
}

/** ICMP echo or a TCP connect to `destination` from `o.from`. */
function flowTraffic(flow: ProbeFlow, destination: string, o: ProbeOptions, points: ProbeTraffic['points']): ProbeTraffic {
  const count = o.count ?? 3;
  return {
    label: flow.protocol === 'icmp' ? 'icmp' : `tcp/${flow.port}`,
    from: o.from.label,
    points,
    // Each echo is a request and a reply; the bound leaves room for retransmissions, not for floods.
    packetBound: flow.protocol === 'icmp' ? 4 * count + 16 : 64,
    sendMs: flow.protocol === 'icmp' ? count * 200 + 1000 : 3000,
    send: (warnings) => send(o.from, flow, destination, count, o.sshOptions, warnings, o.source),
    count: (text, p) => countPackets(text, flow, p.address),
  };
}

/** Captures on every device of the path, makes the traffic, counts it per device and locates the loss. */
export async function probeAlong(report: TraceReport, traffic: ProbeTraffic, o: Omit<ProbeOptions, 'from'>): Promise<TraceReport> {
  const planned = o.underlay === false ? report : withUnderlayHops(report);
  const points = traffic.points(planned);
  const dir = o.captureDir ?? (await mkdtemp(join(tmpdir(), 'neutrino-probe-')));
  const timeoutMs = o.timeoutMs ?? Math.max(10_000, traffic.sendMs + 5000);
  const packetBound = traffic.packetBound;
  const warnings: string[] = [];
  const captures: Capture[] = [];
  const ready = new Set<Capture>();
  let sent = { sent: 0, answered: 0 };
  try {
    for (const p of points) {
      const access = o.access[p.node];
      if (!access) {
        warnings.push(`probe: no access to ${p.node}: ${p.device} not captured`);
        continue;
      }
      const file = join(dir, p.pcap);
      await mkdir(dirname(file), { recursive: true });
      captures.push(startCapture(access, p, { file, count: packetBound, timeoutMs, sshOptions: o.sshOptions }));
    }
    const started = await Promise.allSettled(captures.map((c) => c.ready));
    started.forEach((s, i) => {
      const c = captures[i]!;
      if (s.status === 'fulfilled') ready.add(c);
      else
        warnings.push(
          `probe: the capture on ${c.point.device}${c.point.namespace ? ` in ${c.point.namespace}` : ''} on ${c.point.node} did not start: ${(s.reason as Error).message}`,
        );
    });
    sent = await traffic.send(warnings);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
  } finally {
    // Never leave a tcpdump running: every capture is ended by its own PID, whatever happened.
    await Promise.all(captures.map((c) => stopCapture(c)));
  }

  const hops = planned.hops.map((h) => ({ ...h }));
  for (const c of captures) {
    if (!ready.has(c)) {
      await unlink(c.file).catch(() => undefined);
      continue;
    }
    const p = c.point;
    const n = traffic.count(await readCapture(c.file, p.encapsulated), p);
    for (const h of hops) {
      if (!p.hops.includes(h.index)) continue;
      h.capture = { filter: p.filter, request: n.request, reply: n.reply, pcap: p.pcap };
      if (h.check === UNDERLAY_CHECK) {
        h.observed = { request: n.request, reply: n.reply };
        h.evidence = [{ command: captureCommand(p, packetBound), line: `${n.request} request(s), ${n.reply} reply(ies)` }];
      }
    }
  }
  if (traffic.tally) sent = traffic.tally(hops);
  return locateLoss({
    ...planned,
    hops,
    warnings: [...planned.warnings, ...warnings],
    probe: { protocol: traffic.label, from: traffic.from, sent: sent.sent, answered: sent.answered, captureDir: dir },
  });
}

/** Sends the probe from `from`: `ping` for ICMP, one `nc -z` connect for TCP (a refused connect is an answer too). */
async function send(
  from: ProbeOptions['from'],
  flow: ProbeFlow,
  fip: string,
  count: number,
  sshOptions: readonly string[] | undefined,
  warnings: string[],
  source?: string,
): Promise<{ sent: number; answered: number }> {
  const src = (flag: string) => (source ? [flag, source] : []);
  const argv =
    flow.protocol === 'icmp'
      ? ['ping', '-n', ...src('-I'), '-c', String(count), '-i', '0.2', '-W', '1', fip]
      : ['nc', '-z', '-n', ...src('-s'), '-w', '2', fip, String(flow.port)];
  const r = await collect(
    accessArgv(from.access.spec, argv, undefined, sshOptions),
    flow.protocol === 'icmp' ? count * 200 + 10_000 : 15_000,
  );
  const problem = (r.stderr.trim().split('\n')[0] ?? '') || `exit ${r.code}`;
  if (flow.protocol === 'icmp') {
    const s = parsePing(r.stdout);
    if (!s) warnings.push(`probe: ${argv.join(' ')} from ${from.label} sent nothing: ${problem}`);
    return s ?? { sent: 0, answered: 0 };
  }
  if (r.code === 0 || /refused/i.test(r.stderr)) return { sent: 1, answered: 1 };
  if (r.code !== 1) warnings.push(`probe: ${argv.join(' ')} from ${from.label} failed: ${problem}`);
  return { sent: r.code === 1 ? 1 : 0, answered: 0 };
}
