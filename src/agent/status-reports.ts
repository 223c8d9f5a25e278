// Which port statuses an agent reports after a pass. Host views show no status (a report would wake
// every view showing the port, for nothing any planner reads), so what the server holds is known
// from the agent's own last report, and only while the view holds the same port object: a port the
// view rewrote (moved to another host and back, re-bound: the server set it DOWN) or fetched anew
// (the agent restarted, a whole view) is reported again, and a port gone from the view is forgotten.
// Reporting a status the server already holds changes nothing there. Pure.
import type { PortView } from '../model/hostview.ts';

/** port id → the status last reported for it, and the view's port object it was reported against */
export type ReportedStatuses = Map<string, { status: string; port: PortView }>;

/** The statuses that differ from what the server holds, by port id. */
export function statusesToReport(
  ports: readonly PortView[],
  computed: Readonly<Record<string, string>>,
  reported: ReportedStatuses,
): Record<string, string> {
  const changed: Record<string, string> = {};
  for (const port of ports) {
    const status = computed[port.id];
    if (status === undefined) continue;
    const mine = reported.get(port.id);
    const known = mine && mine.port === port ? mine.status : undefined;
    if (known !== status) changed[port.id] = status;
  }
  return changed;
}

/** The reports kept after a pass: the ones just made, and earlier ones whose port the view still holds as it was. */
export function keptReports(
  ports: readonly PortView[],
  reported: ReportedStatuses,
  made: Readonly<Record<string, string>>,
): ReportedStatuses {
  const kept: ReportedStatuses = new Map();
  for (const port of ports) {
    const status = made[port.id];
    if (status !== undefined) kept.set(port.id, { status, port });
    else {
      const mine = reported.get(port.id);
      if (mine && mine.port === port) kept.set(port.id, mine);
    }
  }
  return kept;
}
