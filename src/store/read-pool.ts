// Read-only connections to the SQLite file, for requests that only read. In WAL mode a reader sees
// the last commit as of its first read and neither waits for the writer nor holds it up, so a long
// list no longer keeps a write (or another read) waiting on the one connection. Each reader also
// lets the event loop turn after every long result (a query that returned many rows), so a list's
// reading is cut into slices between which other requests run. PostgreSQL's pool, and SQLite in
// memory (which a second connection cannot see), keep reading on the main handle.
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, type KyselyPlugin, type PluginTransformResultArgs, type QueryResult, type UnknownRow } from 'kysely';
import type { Database } from './schema/index.ts';
import { withStatementCache } from './statement-cache.ts';
import { ReadThreads } from './read-threads.ts';
import type { CommitClock } from './commit-clock.ts';

type Db = Kysely<Database>;

/** Read connections per database: a long list holds one for its whole reading, short reads take another. */
export const READERS = 4;
/** A result with more rows than this ends a slice of work: the loop turns before the next query. */
const LONG_RESULT = 250;

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

class TurnAfterLongResults implements KyselyPlugin {
  transformQuery: KyselyPlugin['transformQuery'] = (args) => args.node;
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if (args.result.rows.length > LONG_RESULT) await turn();
    return args.result;
  }
}

interface Reader {
  db: Db;
  file: SQLite.Database;
  busy: number;
}

const pools = new WeakMap<Db, Reader[]>();
const threads = new WeakMap<Db, ReadThreads>();

/**
 * Opens the read connections of `db`, the writer of the SQLite file `file` (after its migrations),
 * and on a machine of several cores its reader threads (started when first asked), which read what
 * `clock` counts.
 */
export function openReaders(db: Db, file: string, clock: CommitClock, count = READERS): void {
  const readers: Reader[] = [];
  for (let i = 0; i < count; i++) {
    const conn = new SQLite(file, { readonly: true });
    conn.pragma('busy_timeout = 5000');
    const reader = new Kysely<Database>({
      dialect: new SqliteDialect({ database: withStatementCache(conn) }),
      plugins: [new TurnAfterLongResults()],
    });
    readers.push({ db: reader, file: conn, busy: 0 });
  }
  pools.set(db, readers);
  const reading = new ReadThreads(file, clock);
  if (reading.count > 1) threads.set(db, reading);
}

/** The reader threads of `db`: null on PostgreSQL, in memory, or on one core (nothing to split). */
export const readThreadsOf = (db: Db): ReadThreads | null => threads.get(db) ?? null;

/** Closes the read connections of `db` (with the writer). */
export function closeReaders(db: Db): void {
  for (const r of pools.get(db) ?? []) r.file.close();
  pools.delete(db);
}

/** Ends the reader threads of `db` once their reads are done (before the process may exit). */
export async function closeReadThreads(db: Db): Promise<void> {
  const reading = threads.get(db);
  threads.delete(db);
  await reading?.close();
}

/**
 * Runs `work` on the least busy read connection of `db`, or on `db` itself when it has none. `long`
 * work (a whole list) never takes the last connection: a connection runs its transactions one after
 * the other, and short reads then always find one that no list holds.
 */
export async function withReader<T>(db: Db, work: (reader: Db) => Promise<T>, long = false): Promise<T> {
  const readers = pools.get(db);
  if (!readers) return work(db);
  const usable = long && readers.length > 1 ? readers.slice(0, -1) : readers;
  const reader = usable.reduce((a, b) => (b.busy < a.busy ? b : a));
  reader.busy++;
  try {
    return await work(reader.db);
  } finally {
    reader.busy--;
  }
}
