// Static and measured evidence must agree before a hop is called the break. A hop the static check
// found broken, where the probe measured the traffic passing (the requests and their replies on the
// hop's own device, or, for a hop without one, on the measured devices on both sides of it), is a
// difference, not the break: `differs`, its static finding and the measurement both in the cause.
// Only hops on the data path: an agent that is down stays the break however well traffic flows. Pure.
import { where } from '../checks/checks.ts';
import { isBroken } from '../finish.ts';
import type { Hop, TraceReport } from '../report.ts';

/**
 * Hops the traffic itself crosses: devices, rules, routes. Not the API's objects nor the agents: a
 * dead agent with its kernel state still in place passes traffic and is broken all the same.
 */
const onDataPath = (h: Hop) => h.node !== '' && h.resource.type !== 'agent';

/** A capture that saw the requests go and their replies come back through its device. */
const bothWays = (h: Hop) => !!h.capture && h.capture.request > 0 && (h.capture.reply ?? 0) > 0;

/** The measured device hop that shows traffic passing `h`, if any. */
function passingEvidence(h: Hop, measured: Hop[]): { before: Hop; after: Hop } | { own: Hop } | null {
  if (h.capture) return bothWays(h) ? { own: h } : null;
  const before = [...measured].reverse().find((m) => m.index < h.index);
  const after = measured.find((m) => m.index > h.index);
  return before && after && bothWays(before) && bothWays(after) ? { before, after } : null;
}

const seen = (m: Hop) => `${m.device} ${where(m)} (${m.capture!.request} request(s), ${m.capture!.reply} reply(ies))`;

/** The report with each statically broken hop the probe measured traffic passing turned into `differs`. */
export function reconcileWithMeasurement(report: TraceReport): TraceReport {
  const answered = report.probe?.answered ?? 0;
  if (answered === 0) return report;
  const measured = report.hops.filter((h) => h.capture && h.device);
  const hops = report.hops.map((h) => {
    if (!isBroken(h) || !onDataPath(h)) return h;
    const e = passingEvidence(h, measured);
    if (!e) return h;
    const how = 'own' in e ? `${seen(e.own)} passed it` : `${seen(e.before)} before it and ${seen(e.after)} after it passed it`;
    return {
      ...h,
      status: 'differs' as const,
      cause: `the static check and the measurement disagree: ${h.status}${h.reason ? ` (${h.reason})` : ''}: ${h.cause ?? ''}; but the probe's traffic was measured passing: ${how}`,
    };
  });
  return { ...report, hops };
}
