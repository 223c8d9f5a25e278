// One pass: observe → diff → apply → observe again; converged only if the second diff is empty. Over
// the whole node, or over the slice of it one change concerns.
import { diff, isConverged } from '../kernel/diff.js';
import type { Plan } from '../kernel/ops.js';
import { scopeFor, type ObserveScope, type ScopeOptions } from '../kernel/scope.js';
import { sliceDesired, type Slice } from '../kernel/slice.js';
import { emptyObservedNamespace, HOST, type DesiredNode, type ObservedNode } from '../kernel/types.js';
import type { Kernel } from './kernel.js';

export interface PassResult {
  /** What the first diff asked for (all of it was attempted unless `error`). */
  plan: Plan;
  /** The second diff: empty when converged. */
  remaining: Plan;
  converged: boolean;
  /** The failure that stopped apply part-way, if any (the pass still re-observed). */
  error?: Error;
  observed: ObservedNode;
  /** Where the pass's time went (ms): the first observation, the apply, the second observation. */
  ms: { observe: number; apply: number; confirm: number };
}

/**
 * Brings the node to `desired` as far as one pass can. A failed apply is not thrown: the second
 * observation shows where the node stands, and the caller (the agent loop) decides to resync.
 */
export async function reconcile(kernel: Kernel, desired: DesiredNode, opts: ScopeOptions = {}): Promise<PassResult> {
  const scope: ObserveScope = scopeFor(desired, opts);
  return converge(kernel, desired, () => kernel.observe(scope));
}

/**
 * The same, for the slice of the node one change concerns (kernel/slice.ts): desired and observed
 * are both cut to it, so nothing outside the slice is read, compared or touched. `opts.processes`
 * should name the daemons of namespaces the slice removes, so they are stopped first.
 *
 * After an apply that succeeded, the slice's chains are not read again: each table's changes went
 * in as one `iptables-restore` transaction, whose success means they are in (reading a chain of
 * thousands of rules again would cost as much as the change). The rest of the slice is confirmed
 * as usual; drift in the chains is the periodic full pass's to repair.
 */
export async function reconcileSlice(kernel: Kernel, desired: DesiredNode, slice: Slice, opts: ScopeOptions = {}): Promise<PassResult> {
  const cut = sliceDesired(desired, slice);
  const scope: ObserveScope = scopeFor(cut, { ...opts, host: true, prefixes: [] });
  const rest = confirmedPart(slice);
  const confirm: Confirm = {
    desired: sliceDesired(desired, rest),
    observe: () => (isEmptySlice(rest) ? Promise.resolve(nothingObserved()) : kernel.observeSlice(rest, scope)),
  };
  return converge(kernel, cut, () => kernel.observeSlice(slice, scope), confirm);
}

/** The slice without its iptables chains: what is read again after a successful apply. */
export function confirmedPart(slice: Slice): Slice {
  return { ...slice, chains: {}, chains6: {} };
}

const isEmptySlice = (s: Slice): boolean => s.links.size + s.ipsets.size + s.namespaces.size === 0;

/** What an observation of an empty slice shows: HOST with nothing in it. */
const nothingObserved = (): ObservedNode => ({ namespaces: { [HOST]: emptyObservedNamespace(null) } });

/** What the second observation of a pass whose apply succeeded reads, and the desired state it is compared with. */
interface Confirm {
  desired: DesiredNode;
  observe: () => Promise<ObservedNode>;
}

async function converge(
  kernel: Kernel,
  desired: DesiredNode,
  observe: () => Promise<ObservedNode>,
  confirm?: Confirm,
): Promise<PassResult> {
  const t0 = performance.now();
  const first = await observe();
  const plan = diff(desired, first);
  const ms = { observe: Math.round(performance.now() - t0), apply: 0, confirm: 0 };
  // Nothing to do: the first observation already shows the node as desired (or blocked).
  if (plan.ops.length === 0) return { plan, remaining: plan, converged: isConverged(plan), observed: first, ms };
  let error: Error | undefined;
  const t1 = performance.now();
  try {
    await kernel.apply(plan.ops);
  } catch (e) {
    error = e as Error;
  }
  const t2 = performance.now();
  ms.apply = Math.round(t2 - t1);
  // A failed apply is looked at whole: part of it may have gone in.
  const check = error === undefined && confirm ? confirm : { desired, observe };
  const observed = await check.observe();
  const remaining = diff(check.desired, observed);
  ms.confirm = Math.round(performance.now() - t2);
  const result: PassResult = { plan, remaining, converged: error === undefined && isConverged(remaining), observed, ms };
  if (error) result.error = error;
  return result;
}
