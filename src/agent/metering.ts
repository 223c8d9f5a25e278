// The metering counters of this node's routers: the packets and bytes each label chain
// (neutron-meter-l-<label>) counted, read with `iptables-save -c` in the router's namespace, as
// Neutron's iptables metering driver reads its label chains' counters. Failures are logged and
// leave that router out; never fatal.
import type { Logger } from 'pino';
import { routerNamespace } from '../kernel/names.js';
import type { MeteringCounter, RouterView } from '../model/hostview.js';
import { run as defaultRun, type Runner } from '../exec/run.js';
import { meterLabelChain, meteringChains } from '../planner/metering.js';

/** `[packets:bytes] -A CHAIN …` lines of `iptables-save -c`: each chain's counters, summed over its rules. */
export function parseChainCounters(save: string): Map<string, { packets: number; bytes: number }> {
  const out = new Map<string, { packets: number; bytes: number }>();
  for (const line of save.split('\n')) {
    const m = /^\[(\d+):(\d+)\] -A (\S+)/.exec(line);
    if (!m) continue;
    const c = out.get(m[3]!) ?? { packets: 0, bytes: 0 };
    c.packets += Number(m[1]);
    c.bytes += Number(m[2]);
    out.set(m[3]!, c);
  }
  return out;
}

/** The counters of every label in every router of `routers` whose metering chains the planner writes. */
export async function readMeteringCounters(
  routers: readonly RouterView[],
  log: Pick<Logger, 'warn'>,
  run: Runner = defaultRun,
): Promise<MeteringCounter[]> {
  const out: MeteringCounter[] = [];
  for (const router of routers) {
    if (!router.admin_state_up || !meteringChains(router).length) continue;
    let save: string;
    try {
      save = (await run(['iptables-save', '-c', '-t', 'filter'], { netns: routerNamespace(router.id), timeoutMs: 5000 })).stdout;
    } catch (e) {
      log.warn({ router: router.id, err: e }, 'reading metering counters failed');
      continue;
    }
    const chains = parseChainCounters(save);
    for (const label of router.metering_labels ?? []) {
      const c = chains.get(meterLabelChain(label.id));
      if (c) out.push({ label_id: label.id, router_id: router.id, ...c });
    }
  }
  return out;
}
