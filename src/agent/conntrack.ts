// Connection tracking state of addresses a router just gave up (Neutron's
// ip_lib.delete_conntrack_state): `conntrack -D -d IP` (flows toward it: DNAT of a floating IP) and
// `conntrack -D -q IP` (flows whose replies go to it: SNAT to it) in the router namespace, after
// the address and its NAT rules are gone, so that an established flow stops instead of following
// the old mapping. Failures are logged, never fatal.
import type { Logger } from 'pino';
import { isExecError } from '../exec/errors.ts';
import { run as defaultRun, type Runner } from '../exec/run.ts';
import type { RouterAddress } from '../planner/l3.ts';

export async function deleteConntrackState(
  targets: readonly RouterAddress[],
  log: Pick<Logger, 'warn'>,
  run: Runner = defaultRun,
): Promise<void> {
  for (const t of targets) {
    for (const dir of ['-d', '-q']) {
      try {
        await run(['conntrack', '-D', dir, t.ip], { netns: t.ns, timeoutMs: 5000 });
      } catch (e) {
        // Exit 1: no entry matched, nothing to delete.
        if (isExecError(e) && e.exitCode === 1) continue;
        log.warn({ ...t, err: e }, 'deleting connection tracking state failed');
      }
    }
  }
}
