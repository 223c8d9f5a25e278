// Per-user back-off on failed logins: after a failure, that user's next attempt waits (asynchronously)
// for a delay that doubles with each consecutive failure, and attempts queue one at a time, so
// parallel guessing gains nothing. Other users are never delayed, and nothing blocks the event loop.
import { setTimeout as sleepMs } from 'node:timers/promises';

export interface BackoffPolicy {
  /** Delay after the first failure; doubled for each further one. */
  initialDelayMs: number;
  /** Cap of the delay; 0 turns the back-off off. */
  maxDelayMs: number;
}

/** Attempts allowed to wait in one user's queue; more are refused at once (the user is under attack). */
export const MAX_QUEUED_ATTEMPTS = 16;
/** A user's failures are forgotten after this long without one. */
const FORGET_AFTER_MS = 15 * 60_000;
/** Keys kept at most; beyond it, forgotten and then the oldest idle ones are dropped. */
const MAX_KEYS = 10_000;

export class ThrottledError extends Error {}

interface KeyState {
  failures: number;
  /** Monotonic time before which the next attempt may not run. */
  readyAt: number;
  lastFailureAt: number;
  /** Settles when the last queued attempt has finished. */
  tail: Promise<void>;
  queued: number;
}

/** Delay before the attempt that follows `failures` consecutive failures. */
export function backoffDelayMs(policy: BackoffPolicy, failures: number): number {
  if (failures <= 0 || policy.maxDelayMs <= 0) return 0;
  return Math.min(policy.initialDelayMs * 2 ** Math.min(failures - 1, 30), policy.maxDelayMs);
}

export class LoginThrottle {
  private readonly keys = new Map<string, KeyState>();

  private readonly policy: BackoffPolicy;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<unknown>;

  constructor(policy: BackoffPolicy, now: () => number = () => performance.now(), sleep: (ms: number) => Promise<unknown> = sleepMs) {
    this.policy = policy;
    this.now = now;
    this.sleep = sleep;
  }

  /**
   * Runs `attempt` in `key`'s turn. A rejection for which `isFailure` holds counts as a failed login;
   * a result resets the key; any other rejection leaves it as it was. Throws ThrottledError when
   * too many attempts already wait.
   */
  async run<T>(key: string, attempt: () => Promise<T>, isFailure: (err: unknown) => boolean): Promise<T> {
    if (this.policy.maxDelayMs <= 0) return attempt();
    const state = this.stateOf(key);
    // No failure on record: nothing to wait for, and concurrent logins of one user stay concurrent.
    if (state.failures === 0 && state.queued === 0) return this.settle(key, state, attempt, isFailure);
    if (state.queued >= MAX_QUEUED_ATTEMPTS) throw new ThrottledError(`too many login attempts queued for ${key}`);
    state.queued++;
    const previous = state.tail;
    let done!: () => void;
    state.tail = new Promise((resolve) => (done = resolve));
    try {
      await previous;
      const wait = state.readyAt - this.now();
      if (wait > 0) await this.sleep(wait);
      return await this.settle(key, state, attempt, isFailure);
    } finally {
      state.queued--;
      done();
    }
  }

  private async settle<T>(key: string, state: KeyState, attempt: () => Promise<T>, isFailure: (err: unknown) => boolean): Promise<T> {
    try {
      const result = await attempt();
      state.failures = 0;
      state.readyAt = 0;
      if (state.queued === 0) this.keys.delete(key);
      return result;
    } catch (err) {
      if (isFailure(err)) {
        state.failures++;
        state.lastFailureAt = this.now();
        state.readyAt = state.lastFailureAt + backoffDelayMs(this.policy, state.failures);
      } else if (state.failures === 0 && state.queued === 0) {
        this.keys.delete(key);
      }
      throw err;
    }
  }

  private stateOf(key: string): KeyState {
    let state = this.keys.get(key);
    if (state && state.queued === 0 && state.failures > 0 && this.now() - state.lastFailureAt > FORGET_AFTER_MS) {
      this.keys.delete(key);
      state = undefined;
    }
    if (!state) {
      if (this.keys.size >= MAX_KEYS) this.evict();
      state = { failures: 0, readyAt: 0, lastFailureAt: 0, tail: Promise.resolve(), queued: 0 };
      this.keys.set(key, state);
    }
    return state;
  }

  /** Drops forgotten keys, then (if still full) the oldest idle ones: memory stays bounded under random names. */
  private evict(): void {
    const now = this.now();
    for (const [key, s] of this.keys) if (s.queued === 0 && now - s.lastFailureAt > FORGET_AFTER_MS) this.keys.delete(key);
    let excess = this.keys.size - MAX_KEYS + 1;
    for (const [key, s] of this.keys) {
      if (excess <= 0) break;
      if (s.queued === 0) {
        this.keys.delete(key);
        excess--;
      }
    }
  }

  /** Consecutive failures on record for `key` (for tests and logs). */
  failures(key: string): number {
    return this.keys.get(key)?.failures ?? 0;
  }
}
