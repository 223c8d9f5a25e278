// Two counters in shared memory, kept by the SQLite writer and read by reader threads: commits begun
// and commits ended. A reader that reads "ended" before its snapshot is fixed and "begun" after
// knows how many commits the snapshot holds when the two agree (every commit counted before it had
// ended is in it; none begun after it can be). Readers on two connections that agree on that number
// read the same state: how a list split between threads stays one consistent list. With one writer
// process (SQLite here), every commit of the file passes through the writer's counters.
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

const BEGUN = 0;
const ENDED = 1;

/** The two counters, over a SharedArrayBuffer that reader threads are given. */
export type CommitClock = Int32Array<SharedArrayBuffer>;

export const newCommitClock = (): CommitClock => new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));

/** Runs `write` (a statement that may commit) between the two counts. */
export function counted<T>(clock: CommitClock, write: () => T): T {
  Atomics.add(clock, BEGUN, 1);
  try {
    return write();
  } finally {
    Atomics.add(clock, ENDED, 1);
  }
}

/**
 * Fixes a reader's snapshot with `open` (its first read) and tells the commits it holds, or null when
 * a commit was under way meanwhile (the snapshot may or may not hold it).
 */
export function snapshotCommits(clock: CommitClock, open: () => void): number | null {
  const ended = Atomics.load(clock, ENDED);
  open();
  const begun = Atomics.load(clock, BEGUN);
  return ended === begun ? ended : null;
}

const COMMIT = /^\s*(commit|end)\b/i;

/**
 * The writer's connection with its commits counted: a `commit`, and a statement that writes run
 * outside a transaction (it commits by itself), run between the counts; reads are not counted (they
 * change nothing, and every count splits the readers' snapshots). `inTransaction` is the
 * connection's own flag, read when Kysely prepares the statement it runs at once.
 */
export function withCommitClock(
  database: { close(): void; prepare(sql: string): Statement },
  file: { readonly inTransaction: boolean },
  clock: CommitClock,
): SqliteDatabase {
  return {
    close: () => database.close(),
    prepare(sql: string): SqliteStatement {
      const stmt = database.prepare(sql);
      // SQLite calls transaction control (BEGIN, COMMIT…) read-only: the commit is named.
      const commits = COMMIT.test(sql) || (!file.inTransaction && !stmt.readonly);
      if (!commits) return stmt;
      return {
        get reader() {
          return stmt.reader;
        },
        all: (parameters) => counted(clock, () => stmt.all(parameters)),
        run: (parameters) => counted(clock, () => stmt.run(parameters)),
        // Streamed reads only: a stream holds its statement open across turns, so it is not counted.
        iterate: (parameters) => stmt.iterate(parameters),
      };
    },
  };
}
