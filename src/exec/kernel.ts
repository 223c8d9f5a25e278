// The seam the agent, drift repair and the tracer talk to: observe the node, apply operations. Real and fake behind it.
import type { Op } from '../kernel/ops.ts';
import type { ObserveScope } from '../kernel/scope.ts';
import type { Slice } from '../kernel/slice.ts';
import type { ObservedNode } from '../kernel/types.ts';

export interface Kernel {
  observe(scope: ObserveScope): Promise<ObservedNode>;
  /**
   * What sliceObserved() would cut from a full observation, read without the rest: the slice's
   * HOST objects and its namespaces (`scope` gives their sysctls, IP sets and daemons).
   */
  observeSlice(slice: Slice, scope: ObserveScope): Promise<ObservedNode>;
  /** Names of the links in HOST: a cheap look (no details) for deciding what to plan. */
  linkNames(): Promise<string[]>;
  /** Performs the ops in order; stops at the first failure and throws (ApplyError). */
  apply(ops: readonly Op[]): Promise<void>;
  /**
   * apply(), then `slice` read again as observeSlice() reads it, in the same `ip` process where that
   * can be: the ops end with an `ip` batch in HOST and the slice is HOST links alone (a tap plugged
   * into its bridge). Null when the slice was not read so: the caller reads it.
   */
  applyAndObserveSlice?(ops: readonly Op[], slice: Slice, scope: ObserveScope): Promise<ObservedNode | null>;
}

/** apply() failed part-way: which ops were in the failing command, and why. */
export class ApplyError extends Error {
  readonly ops: readonly Op[];
  override readonly cause: Error;

  constructor(ops: readonly Op[], cause: Error) {
    super(`applying ${ops.map((o) => o.op).join(',')} failed: ${cause.message}`);
    this.ops = ops;
    this.cause = cause;
    this.name = 'ApplyError';
  }
}
