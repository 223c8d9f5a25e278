// The metering counters of this node's routers, as Neutron's metering agent reports them: each
// label chain (neutron-meter-l-<label>) is listed and zeroed in one command in the router's
// namespace (`iptables -L CHAIN -n -v -x -Z`, the driver's get_traffic_counters with zero=True),
// so each report carries what was counted since the last one; the server adds them up. Failures
// are logged and leave that chain out (its counts stay for the next report); never fatal.
import type { Logger } from 'pino';
import { routerNamespace } from '../kernel/names.ts';
import type { MeteringCounter, RouterView } from '../model/hostview.ts';
import { run as defaultRun, type Runner } from '../exec/run.ts';
import { meterLabelChain, meteringChains } from '../planner/metering.ts';

/** `iptables -L CHAIN -n -v -x`: the packets and bytes of its rules, summed (the chain's two title lines skipped). */
export function parseListedCounters(listing: string): { packets: number; bytes: number } {
  const acc = { packets: 0, bytes: 0 };
  for (const line of listing.split('\n').slice(2)) {
    const [packets, bytes] = line.trim().split(/\s+/);
    if (!packets || !bytes || !/^\d+$/.test(packets) || !/^\d+$/.test(bytes)) break;
    acc.packets += Number(packets);
    acc.bytes += Number(bytes);
  }
  return acc;
}

/** What every label chain of every router in `routers` counted since it was last read (reading zeroes it). */
export async function readMeteringDeltas(
  routers: readonly RouterView[],
  log: Pick<Logger, 'warn'>,
  run: Runner = defaultRun,
): Promise<MeteringCounter[]> {
  const out: MeteringCounter[] = [];
  for (const router of routers) {
    if (!router.admin_state_up || !meteringChains(router).length) continue;
    const netns = routerNamespace(router.id);
    for (const label of router.metering_labels ?? []) {
      const chain = meterLabelChain(label.id);
      try {
        const listed = await run(['iptables', '-w', '-t', 'filter', '-L', chain, '-n', '-v', '-x', '-Z'], { netns, timeoutMs: 5000 });
        out.push({ label_id: label.id, router_id: router.id, ...parseListedCounters(listed.stdout) });
      } catch (e) {
        log.warn({ router: router.id, chain, err: e }, 'reading metering counters failed');
      }
    }
  }
  return out;
}
