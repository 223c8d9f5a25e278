// Where packets vanish, by measurement: from the request and reply counts each device's capture saw,
// the first device on the request leg that saw nothing after one that saw the request (or, when the
// request reached the end, the first device on the way back without the reply) is where the traffic
// stops. A hop that the static checks found fine there becomes `dropped` (PACKETS_LOST); devices
// further on that saw nothing become `not_reached`; a static finding where the traffic was measured
// passing becomes `differs` (probe-agree.ts). Pure.
import { where } from '../checks/checks.ts';
import { isBroken, isHopWarning, summarize } from '../finish.ts';
import { reconcileWithMeasurement } from './probe-agree.ts';
import type { Hop, TraceReport } from '../report.ts';

interface Point {
  /** the hops on this device, in path order */
  hops: Hop[];
  request: number;
  reply: number | null;
}

/** A loss where every static check passed: the two kinds of evidence disagree, and the report says so. */
const UNEXPLAINED =
  '; no static check explains it: the static and the measured evidence disagree (something the tracer does not read drops it)';

const keyOf = (h: Hop) => `${h.node}\u0000${h.namespace}\u0000${h.device}`;

/** The measured devices in path order (first appearance); the hops sharing a device share its capture. */
function pointsOf(hops: Hop[]): Point[] {
  const points = new Map<string, Point>();
  for (const h of hops) {
    if (!h.capture || !h.device) continue;
    const p = points.get(keyOf(h));
    if (p) p.hops.push(h);
    else points.set(keyOf(h), { hops: [h], request: h.capture.request, reply: h.capture.reply });
  }
  return [...points.values()];
}

const dev = (p: Point) => `${p.hops[0]!.device} ${where(p.hops[0]!)}`;
const lastRequestIndex = (p: Point) => Math.max(...p.hops.filter((h) => h.leg === 'request').map((h) => h.index), p.hops[0]!.index);

function packets(report: TraceReport): { request: string; reply: string; of: (n: number) => string } {
  const f = report.target.flow;
  const sent = report.probe?.sent ?? 0;
  if (report.target.kind === 'dhcp')
    return { request: 'DHCP DISCOVER/REQUEST', reply: 'DHCP OFFER/ACK', of: (n) => `${n} of ${sent} sent` };
  // A TCP connect attempt is one SYN plus its retransmissions.
  return f.protocol === 'tcp'
    ? { request: `TCP SYN to port ${f.port}`, reply: 'SYN-ACK', of: (n) => `${n} SYN(s) of ${sent} connect attempt(s)` }
    : { request: 'ICMP echo request', reply: 'ICMP echo reply', of: (n) => `${n} of ${sent} sent` };
}

/** Who answers the probe: a port trace's destination, a floating IP's port. */
const answerer = (report: TraceReport) => report.target.destination ?? report.target.port?.fixed_ip ?? 'the target';

/** When the request did not get through but the sender was answered, the answers came from somewhere else. */
function elsewhere(report: TraceReport): string {
  const answered = report.probe?.answered ?? 0;
  return answered > 0 ? `; the ${answered} answer(s) the sender got did not come from ${answerer(report)}` : '';
}

/**
 * Marks the hop of `p` where the loss is measured, unless a static check on that device already
 * explains it (then the measurement agrees with it). `prefer` picks the request leg's first hop or
 * the reply leg's hop on the device.
 */
function markDropped(p: Point, prefer: 'request' | 'reply', cause: string): void {
  if (p.hops.some(isBroken)) return;
  const hop = prefer === 'reply' ? (p.hops.find((h) => h.leg === 'reply') ?? p.hops[p.hops.length - 1]!) : p.hops[0]!;
  hop.status = 'dropped';
  hop.reason = 'PACKETS_LOST';
  hop.cause = cause;
}

/** The report with the probe's measurement applied to the hops' statuses, `ok` and `firstBroken` recomputed. */
export function locateLoss(report: TraceReport): TraceReport {
  // Where the traffic was measured passing, a static finding is a difference, not where it stops.
  const out: TraceReport = reconcileWithMeasurement({
    ...report,
    hops: report.hops.map((h) => ({ ...h })),
    warnings: [...report.warnings],
  });
  const sent = report.probe?.sent ?? 0;
  const points = pointsOf(out.hops);
  if (sent === 0 || points.length === 0) return refinish(out);
  const what = packets(report);

  // Request leg: the first silent device after one that saw the request.
  let seen: Point | null = null;
  let silent: Point | null = null;
  for (const p of points) {
    if (p.request > 0) seen = p;
    else if (seen) {
      silent = p;
      break;
    }
  }
  if (!seen) silent = points[0]!;
  if (silent) {
    const at = points.indexOf(silent);
    if (!seen) {
      markDropped(
        silent,
        'request',
        `none of the ${sent} ${what.request}(s) sent from ${report.probe?.from ?? 'the sender'} reached ${dev(silent)}, the first device measured on the path: the sender has no route toward ${report.target.floatingip?.address ?? report.target.destination ?? 'the address'}, or nothing answers its ARP${elsewhere(report)}`,
      );
    } else {
      const from = lastRequestIndex(seen);
      const to = silent.hops[0]!.index;
      // A static break between the two devices, or on the last one that saw it (vxlan-N without an fdb entry sees the frame it cannot send).
      const between = out.hops.find((h) => h.index > from && h.index < to && isBroken(h)) ?? seen.hops.find(isBroken);
      // A static break further on the same leg can silence an earlier device: a router does not send
      // what it cannot resolve, and its ARP crosses the very segment that is broken (a VXLAN device
      // with no flooding entry). The static break stays the verdict; the measurement is added to it.
      const later = between ? undefined : out.hops.find((h) => h.leg === 'request' && h.index > to && isBroken(h) && h.node);
      if (later) {
        later.cause = `${later.cause ?? ''}; measured: the ${what.request} was seen on ${dev(seen)} (${what.of(seen.request)}) and never on ${dev(silent)}, held back before this hop (next-hop ARP crosses it)`;
        for (const p of points.slice(at)) if (p.request === 0) for (const h of p.hops) if (h.status === 'ok') h.status = 'not_reached';
        return refinish(out);
      }
      markDropped(
        silent,
        'request',
        `the ${what.request} was seen on ${dev(seen)} (${what.of(seen.request)}) and never on ${dev(silent)}: it is lost between the two${between ? `, where hop ${between.index} (${between.check}) is ${between.status}${between.reason ? ` (${between.reason})` : ''}` : UNEXPLAINED}${elsewhere(report)}`,
      );
    }
    // What comes after a device that saw nothing was not reached either.
    for (const p of points.slice(at)) if (p.request === 0) for (const h of p.hops) if (h.status === 'ok') h.status = 'not_reached';
    return refinish(out);
  }

  // The request reached the end: on the way back, the first device without the reply (half-open path).
  const answered = report.probe?.answered ?? 0;
  if (answered >= sent) return refinish(out);
  // A static break after the last measured device (one that could not be captured, say a tap that is
  // down) already explains the missing replies: the measurement agrees with it.
  const lastMeasured = Math.max(...points.map(lastRequestIndex));
  if (out.hops.some((h) => h.leg === 'request' && h.index > lastMeasured && isBroken(h))) return refinish(out);
  const back = [...points].reverse();
  let replied: Point | null = null;
  for (const [i, p] of back.entries()) {
    if (p.reply === null) continue;
    if (p.reply > 0) {
      replied = p;
      continue;
    }
    const last = back[0]!;
    markDropped(
      p,
      'reply',
      replied
        ? `the ${what.request} reached ${dev(last)} (${what.of(last.request)}), the ${what.reply} was seen on ${dev(replied)} (${replied.reply}) and never on ${dev(p)}: the reply is lost between the two (a half-open path)${UNEXPLAINED}`
        : `the ${what.request} reached ${dev(p)} (${what.of(p.request)}) but no ${what.reply} came back from ${answerer(report)}`,
    );
    for (const q of back.slice(i))
      if (q.reply === 0) for (const h of q.hops) if (h.leg === 'reply' && h.status === 'ok') h.status = 'not_reached';
    break;
  }
  return refinish(out);
}

/** The verdict, `ok`, `firstBroken` and the per-hop warnings recomputed from the hops, as finish() makes them; other warnings kept. */
export function refinish(report: TraceReport): TraceReport {
  const s = summarize(report.hops);
  return { ...report, ...s, warnings: [...s.warnings, ...report.warnings.filter((w) => !isHopWarning(w))] };
}
