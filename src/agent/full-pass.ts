// When the agent's periodic full pass runs. It is due a gap after the last one ended (see
// Agent.fullPassDone); a pass that has a change to make (a feed change, link events) while the full
// pass is due runs targeted first, so a burst of events arriving at a due full pass is not made to
// wait for a read of the whole node, unless the full pass is already a whole gap late (a stream of
// changes never keeps drift repair away for long). Pure.

export interface FullPassClock {
  /** ms until the full pass is due (negative: late by that much) */
  dueInMs: number;
  /** the gap between full passes now (ms) */
  gapMs: number;
}

/** Whether this pass is the full one: none to build on, or due and nothing waits, or a whole gap late. */
export function isFullPass(hasPrior: boolean, clock: FullPassClock, hasChange: boolean): boolean {
  if (!hasPrior) return true;
  if (clock.dueInMs > 0) return false;
  return !hasChange || -clock.dueInMs >= clock.gapMs;
}
