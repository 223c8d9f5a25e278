// Appending to the change feed so that revisions commit in the order they are numbered: an agent
// that has read up to revision N must never later find a revision below N appear. SQLite runs one
// writer at a time, so its numbering is commit order already; on PostgreSQL concurrent transactions
// take a transaction-scoped lock for the append, held until they commit, and announce the commit to
// every server process listening (NOTIFY is delivered only if, and when, the transaction commits).
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema/index.js';
import { isPostgres } from './dialect.js';
import { onCommitted, publishAfterCommit, type Reader, type Tx } from './unit-of-work.js';
import { prepared } from './prepared.js';

export interface NewChange {
  resource: string;
  resource_id: string;
  op: string;
  project_id: string | null;
  at: string;
}

/** The PostgreSQL channel a committed append is announced on. */
export const CHANGES_CHANNEL = 'neutrino_changes';
/** Advisory lock key of the feed's append (any constant; only this feed uses it). */
const APPEND_LOCK = 0x6e657574; // 'neut'

/** Tags the fact a unit of work publishes with the highest revision it appended. */
const APPENDED = Symbol('revisions appended');
type Appended = { [APPENDED]: number };
const isAppended = (f: unknown): f is Appended => typeof f === 'object' && f !== null && APPENDED in f;

const appendOne = prepared((db, row: NewChange) => db.insertInto('changes').values(row).returning('revision'));

export async function appendChanges(tx: Kysely<Database>, rows: NewChange[]): Promise<void> {
  if (!rows.length) return;
  if (isPostgres(tx as Kysely<unknown>)) await sql`SELECT pg_advisory_xact_lock(${APPEND_LOCK})`.execute(tx);
  const appended =
    rows.length === 1 ? (await appendOne(tx, rows[0])).rows : await tx.insertInto('changes').values(rows).returning('revision').execute();
  publishAfterCommit(tx as Tx, { [APPENDED]: Math.max(...appended.map((r) => Number(r.revision))) });
  if (isPostgres(tx as Kysely<unknown>)) await sql`SELECT pg_notify(${CHANGES_CHANNEL}, '')`.execute(tx);
}

/** Calls `listener` with the highest revision each unit of work this process commits on `db` appended. */
export function onChangesAppended(db: Reader, listener: (revision: number) => void): () => void {
  return onCommitted(db, (facts) => {
    for (const f of facts) if (isAppended(f)) listener(f[APPENDED]);
  });
}
