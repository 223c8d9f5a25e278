// The store boundary: a read handle, a transaction type distinct from it, and the one way writes
// run — a unit of work that commits whole or not at all, and is run again when the engine reports a
// conflict with a concurrent transaction (a serialization failure, a deadlock, a unique key taken
// meanwhile, SQLite busy). Invariants live in the database (unique keys, row locks); the retry turns
// a lost race into the answer the loser would have had if it had come second.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema/index.ts';

/** Reads: the database or an open transaction. */
export type Reader = Kysely<Database>;
/** An open transaction: every write takes one, so no write runs outside a unit of work. */
export type Tx = Transaction<Database>;

/** PostgreSQL SQLSTATEs of a conflict that a later attempt may not meet (SQLite runs one writer at a time, so only a busy database there). */
const RETRYABLE = new Set(['40001', '40P01', '23505', 'SQLITE_BUSY']);

const isConflict = (e: unknown): boolean => RETRYABLE.has(String((e as { code?: unknown } | null)?.code ?? ''));

export interface UnitOfWorkOptions {
  /** Attempts in all (the first included). */
  attempts?: number;
}

/** Work to run inside the transaction just before it commits (the change feed's append). */
type BeforeCommit = (tx: Tx) => Promise<void>;
const retried = new WeakSet<Tx>();

/**
 * True when this unit of work lost a race before and runs again: allocators that take the lowest free
 * value then choose at random among the free ones (as Neutron always does), so contenders that keep
 * meeting on the same value spread out.
 */
export const isRetry = (tx: Tx): boolean => retried.has(tx);
const beforeCommit = new WeakMap<Tx, BeforeCommit[]>();

/** Runs `hook` after the unit of work's own code, inside its transaction, once per attempt. */
export function onBeforeCommit(tx: Tx, hook: BeforeCommit): boolean {
  const hooks = beforeCommit.get(tx);
  if (!hooks) return false;
  hooks.push(hook);
  return true;
}

/** What a unit of work announces once it has committed (facts for other parts of the process, such as the Nova notifier). */
const published = new WeakMap<Tx, unknown[]>();
type CommitListener = (facts: readonly unknown[]) => void;
const commitListeners = new WeakMap<Reader, Set<CommitListener>>();

/**
 * Announces `fact` to the database's commit listeners once this unit of work has committed, and only
 * then: an attempt that fails or runs again announces nothing. False outside a unit of work.
 */
export function publishAfterCommit(tx: Tx, fact: unknown): boolean {
  const facts = published.get(tx);
  if (!facts) return false;
  facts.push(fact);
  return true;
}

/**
 * Calls `listener` with the facts of every unit of work committed on `db` by this process (each
 * commit is heard by the one process that made it). It runs in the committing request, so it must
 * only take note and return. Returns the unsubscription.
 */
export function onCommitted(db: Reader, listener: CommitListener): () => void {
  let set = commitListeners.get(db);
  if (!set) commitListeners.set(db, (set = new Set()));
  set.add(listener);
  return () => set.delete(listener);
}

/**
 * Runs `work` in one transaction, committing at the end. On a conflict the whole unit runs again (with
 * a short randomised pause), up to `attempts` times; then the last error is thrown. `work` must have
 * no effect outside the transaction, since it may run more than once.
 */
export async function unitOfWork<T>(db: Reader, work: (tx: Tx) => Promise<T>, { attempts = 12 }: UnitOfWorkOptions = {}): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      let facts: unknown[] = [];
      const out = await db.transaction().execute(async (tx) => {
        beforeCommit.set(tx, []);
        published.set(tx, (facts = []));
        if (attempt > 1) retried.add(tx);
        const out = await work(tx);
        for (const hook of beforeCommit.get(tx) ?? []) await hook(tx);
        return out;
      });
      if (facts.length) for (const listener of commitListeners.get(db) ?? []) listener(facts);
      return out;
    } catch (e) {
      if (attempt >= attempts || !isConflict(e)) throw e;
      await sleep(Math.random() * 2 ** Math.min(attempt, 6));
    }
  }
}
