// One pass: observe → diff → apply → observe again; converged only if the second diff is empty. Over
// the whole node, or over the slice of it one change concerns.
import { diff, isConverged } from '../kernel/diff.ts';
import type { Op, Plan } from '../kernel/ops.ts';
import { scopeFor, type ObserveScope, type ScopeOptions } from '../kernel/scope.ts';
import { cutTables, sliceDesired, type Slice } from '../kernel/slice.ts';
import {
  emptyObservedNamespace,
  HOST,
  type DesiredNode,
  type IptablesSpec,
  type ObservedNode,
  type ObservedTables,
} from '../kernel/types.ts';
import { normalizeIpsets } from '../kernel/validate.ts';
import type { Kernel } from './kernel.ts';

export interface PassResult {
  /** What the first diff asked for (all of it was attempted unless `error`). */
  plan: Plan;
  /** The second diff: empty when converged. */
  remaining: Plan;
  converged: boolean;
  /** The failure that stopped apply part-way, if any (the pass still re-observed). */
  error?: Error;
  observed: ObservedNode;
  /**
   * Where the pass's time went (ms): the first observation, the apply, the second observation (a
   * second observation read by the apply's own `ip` batch counts as apply).
   */
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
 * With `known` (the desired state of the last converged pass) the slice's chains and IP sets are
 * not read at all: they are as that pass left them, each either found equal to it or written by an
 * `iptables-restore` transaction (an `ipset restore`) whose success means it went in — the same
 * premise that lets a targeted pass trust everything outside its slice. A node-wide chain with a
 * rule or two per port (neutron-linuxbri-FORWARD, -INPUT, -sg-chain, -unknown-in/out) is then
 * edited in place from that copy, its old rules deleted by their text (a drifted chain fails the transaction, and the
 * next pass is a full one), so a one-port change reads and writes that port's rules alone. After an
 * apply that succeeded the chains and sets are not read again either; the rest of the slice is
 * confirmed as usual; drift in them is the periodic full pass's to repair. A failed apply reads the
 * slice again whole, chains and sets included, to see where the node stands.
 */
export async function reconcileSlice(
  kernel: Kernel,
  desired: DesiredNode,
  slice: Slice,
  opts: ScopeOptions & { known?: DesiredNode } = {},
): Promise<PassResult> {
  const { known, ...scopeOpts } = opts;
  const cut = sliceDesired(desired, slice);
  const scope: ObserveScope = scopeFor(cut, { ...scopeOpts, host: true, prefixes: [] });
  const rest = confirmedPart(slice);
  const applyAndObserve = isEmptySlice(rest) ? undefined : kernel.applyAndObserveSlice?.bind(kernel);
  const confirm: Confirm = {
    desired: sliceDesired(desired, rest),
    observe: () => (isEmptySlice(rest) ? Promise.resolve(nothingObserved()) : kernel.observeSlice(rest, scope)),
    ...(applyAndObserve && { withApply: (ops: readonly Op[]) => applyAndObserve(ops, rest, scope) }),
  };
  const whole = () => kernel.observeSlice(slice, scope);
  const first = known ? async () => withKnownState(await confirm.observe(), known, slice) : whole;
  return converge(kernel, cut, first, confirm, whole);
}

/** The slice's chains and sets as `known` has them (one it lacks is taken as absent), put into HOST of `observed`. */
export function withKnownState(observed: ObservedNode, known: DesiredNode, slice: Slice): ObservedNode {
  const spec = known.namespaces[HOST];
  const host = observed.namespaces[HOST] ?? emptyObservedNamespace(null);
  host.iptables = assumedTables(cutTables(spec?.iptables ?? {}, slice.chains), slice.chains);
  host.ip6tables = assumedTables(cutTables(spec?.ip6tables ?? {}, slice.chains6), slice.chains6);
  // In the form `ipset save` prints, as the diff compares them with the desired members.
  host.ipsets = normalizeIpsets((spec?.ipsets ?? []).filter((s) => slice.ipsets.has(s.name))).map((s) => ({ ...s, options: '' }));
  observed.namespaces[HOST] = host;
  return observed;
}

function assumedTables(tables: IptablesSpec, wanted: Slice['chains']): ObservedTables {
  const out: ObservedTables = {};
  for (const table of Object.keys(wanted) as (keyof Slice['chains'])[])
    out[table] = (tables[table] ?? []).map((c) => ({ name: c.name, policy: null, rules: [...c.rules], assumed: true as const }));
  return out;
}

/** The slice without its iptables chains and HOST IP sets: what is read again after a successful apply. */
export function confirmedPart(slice: Slice): Slice {
  return { ...slice, chains: {}, chains6: {}, ipsets: new Set() };
}

const isEmptySlice = (s: Slice): boolean => s.links.size + s.ipsets.size + s.namespaces.size === 0;

/** What an observation of an empty slice shows: HOST with nothing in it. */
const nothingObserved = (): ObservedNode => ({ namespaces: { [HOST]: emptyObservedNamespace(null) } });

/** What the second observation of a pass whose apply succeeded reads, and the desired state it is compared with. */
interface Confirm {
  desired: DesiredNode;
  observe: () => Promise<ObservedNode>;
  /** Applies the ops and reads the same in one go where the kernel can (Kernel.applyAndObserveSlice); null: read after. */
  withApply?: (ops: readonly Op[]) => Promise<ObservedNode | null>;
}

/** `afterFailure`: what a failed apply is looked at with (default: `observe`). */
async function converge(
  kernel: Kernel,
  desired: DesiredNode,
  observe: () => Promise<ObservedNode>,
  confirm?: Confirm,
  afterFailure: () => Promise<ObservedNode> = observe,
): Promise<PassResult> {
  const t0 = performance.now();
  const first = await observe();
  const plan = diff(desired, first);
  const ms = { observe: Math.round(performance.now() - t0), apply: 0, confirm: 0 };
  // Nothing to do: the first observation already shows the node as desired (or blocked).
  if (plan.ops.length === 0) return { plan, remaining: plan, converged: isConverged(plan), observed: first, ms };
  let error: Error | undefined;
  let confirmed: ObservedNode | null = null;
  const t1 = performance.now();
  try {
    if (confirm?.withApply) confirmed = await confirm.withApply(plan.ops);
    else await kernel.apply(plan.ops);
  } catch (e) {
    error = e as Error;
  }
  const t2 = performance.now();
  ms.apply = Math.round(t2 - t1);
  // A failed apply is looked at whole: part of it may have gone in.
  const check = error === undefined && confirm ? confirm : { desired, observe: afterFailure };
  // `confirmed` is only ever set by an apply that succeeded.
  const observed = confirmed ?? (await check.observe());
  const remaining = diff(check.desired, observed);
  ms.confirm = Math.round(performance.now() - t2);
  const result: PassResult = { plan, remaining, converged: error === undefined && isConverged(remaining), observed, ms };
  if (error) result.error = error;
  return result;
}
