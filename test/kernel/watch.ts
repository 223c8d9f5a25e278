// Helpers of the watch tests (ruleset-watch, ip-watch): a kernel whose full observations may take
// their last read again, observed until it does, and reconciled until a change by hand is seen.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { scopeFor, type ObserveScope } from '../../src/kernel/scope.ts';
import { emptyDesiredNamespace, HOST, type DesiredNode, type ObservedNode } from '../../src/kernel/types.ts';
import type { RealKernel } from '../../src/exec/real.ts';
import { reconcile } from '../../src/exec/reconcile.ts';

export const hostScope = () => scopeFor({ namespaces: { [HOST]: emptyDesiredNamespace() } });

/**
 * Observes (HOST, unless `scope` says more) until `reads` (one of the kernel's counters) says a
 * read was kept: the watch listens (it starts with the first observation) and nothing changed since
 * the last read.
 */
export async function observeKept(
  k: RealKernel,
  reads: () => { read: number; kept: number },
  scope: () => ObserveScope = hostScope,
): Promise<ObservedNode> {
  for (let i = 0; i < 100; i++) {
    const kept = reads().kept;
    const seen = await k.observe(scope());
    if (reads().kept > kept) return seen;
    await sleep(20);
  }
  assert.fail(`never kept: ${JSON.stringify(reads())}`);
}

/** Reconciles until the plan has operations: the monitor's line may come a moment after a change by hand. */
export async function reconcileUntilPlanned(k: RealKernel, want: DesiredNode): Promise<Awaited<ReturnType<typeof reconcile>>> {
  let r = await reconcile(k, want);
  for (let i = 0; i < 50 && r.plan.ops.length === 0; i++) {
    await sleep(20);
    r = await reconcile(k, want);
  }
  return r;
}
