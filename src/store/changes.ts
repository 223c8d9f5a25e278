// Appending to the change feed so that revisions commit in the order they are numbered: an agent
// that has read up to revision N must never later find a revision below N appear. SQLite runs one
// writer at a time, so its numbering is commit order already; on PostgreSQL concurrent transactions
// take a transaction-scoped lock for the append, held until they commit, and announce the commit to
// every server process listening (NOTIFY is delivered only if, and when, the transaction commits).
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema/index.ts';
import { isPostgres } from './dialect.ts';
import { onCommitted, publishAfterCommit, type Reader, type Tx } from './unit-of-work.ts';
import { prepared } from './prepared.ts';

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

/**
 * PostgreSQL: the lock, the insert and the announcement in one statement. The lock is held from here
 * to the commit, so every round trip inside that window (each a turn of a busy server's event loop)
 * would be spent by every other writer waiting: one statement leaves only the commit's. The rows come
 * from a join with the lock's CTE, so their revisions are drawn once the lock is held.
 */
async function appendOnPostgres(tx: Kysely<Database>, rows: NewChange[]): Promise<number[]> {
  const values = sql.join(rows.map((r) => sql`(${r.resource}, ${r.resource_id}, ${r.op}, ${r.project_id}, ${r.at})`));
  const out = await sql<{ revision: number }>`
    WITH locked AS (SELECT pg_advisory_xact_lock(${APPEND_LOCK})), announced AS (SELECT pg_notify(${CHANGES_CHANNEL}, ''))
    INSERT INTO changes (resource, resource_id, op, project_id, at)
    SELECT v.resource, v.resource_id, v.op, v.project_id, v.at
    FROM (VALUES ${values}) AS v (resource, resource_id, op, project_id, at) CROSS JOIN locked CROSS JOIN announced
    RETURNING revision`.execute(tx);
  return out.rows.map((r) => Number(r.revision));
}

async function appendOnSqlite(tx: Kysely<Database>, rows: NewChange[]): Promise<number[]> {
  const out =
    rows.length === 1 ? (await appendOne(tx, rows[0])).rows : await tx.insertInto('changes').values(rows).returning('revision').execute();
  return out.map((r) => Number(r.revision));
}

export async function appendChanges(tx: Kysely<Database>, rows: NewChange[]): Promise<void> {
  if (!rows.length) return;
  const revisions = isPostgres(tx as Kysely<unknown>) ? await appendOnPostgres(tx, rows) : await appendOnSqlite(tx, rows);
  publishAfterCommit(tx as Tx, { [APPENDED]: Math.max(...revisions) });
}

/** Calls `listener` with the highest revision each unit of work this process commits on `db` appended. */
export function onChangesAppended(db: Reader, listener: (revision: number) => void): () => void {
  return onCommitted(db, (facts) => {
    for (const f of facts) if (isAppended(f)) listener(f[APPENDED]);
  });
}
