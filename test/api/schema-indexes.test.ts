// The migrated schema, on the test's engine (SQLite, or PostgreSQL under with-postgres.ts), keeps no
// index that another one already serves: a plain index whose columns lead another index of its table
// answers no lookup that one cannot, and costs a b-tree written on every insert and delete.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { openTestStore, type TestStore } from '../helpers/server.ts';
import { isPostgres } from '../../src/store/dialect.ts';

let store: TestStore;
before(async () => {
  store = await openTestStore();
});
after(() => store.close());

interface IndexInfo {
  table: string;
  name: string;
  columns: string[];
  /** Unique or partial: such an index says more than its columns, so it is never the redundant one. */
  constrains: boolean;
}

async function sqliteIndexes(db: Kysely<unknown>): Promise<IndexInfo[]> {
  const tables = await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(db);
  const out: IndexInfo[] = [];
  for (const { name: table } of tables.rows) {
    const list = await sql<{
      name: string;
      unique: number;
      partial: number;
    }>`select name, "unique", partial from pragma_index_list(${table})`.execute(db);
    for (const ix of list.rows) {
      const cols = await sql<{ name: string | null }>`select name from pragma_index_info(${ix.name}) order by seqno`.execute(db);
      // An expression column has no name: such an index is compared by nothing here.
      if (cols.rows.some((c) => c.name === null)) continue;
      out.push({ table, name: ix.name, columns: cols.rows.map((c) => c.name!), constrains: ix.unique === 1 || ix.partial === 1 });
    }
  }
  return out;
}

async function postgresIndexes(db: Kysely<unknown>): Promise<IndexInfo[]> {
  const rows = await sql<{ table: string; name: string; columns: string[]; constrains: boolean; expression: boolean }>`
    select t.relname as "table", i.relname as name,
           array(select a.attname::text from unnest(ix.indkey) with ordinality k(attnum, ord)
                 join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum order by k.ord) as columns,
           (ix.indisunique or ix.indpred is not null) as constrains,
           (0 = any(ix.indkey::int2[])) as expression
    from pg_index ix
    join pg_class i on i.oid = ix.indexrelid
    join pg_class t on t.oid = ix.indrelid
    join pg_namespace n on n.oid = t.relnamespace
    where n.nspname = current_schema()`.execute(db);
  return rows.rows.filter((r) => !r.expression).map(({ table, name, columns, constrains }) => ({ table, name, columns, constrains }));
}

test('no plain index is the leading columns of another index of its table', async () => {
  const db = store.db as unknown as Kysely<unknown>;
  const indexes = isPostgres(db) ? await postgresIndexes(db) : await sqliteIndexes(db);
  // The ports table's own indexes are there to be compared (the check is not vacuous).
  assert.ok(indexes.filter((i) => i.table === 'ports').length >= 4, JSON.stringify(indexes.filter((i) => i.table === 'ports')));
  const redundant = indexes.flatMap((a) =>
    a.constrains
      ? []
      : indexes
          .filter((b) => b !== a && b.table === a.table && b.columns.length >= a.columns.length)
          .filter((b) => a.columns.every((c, i) => b.columns[i] === c))
          .map((b) => `${a.table}: ${a.name} (${a.columns.join(', ')}) leads ${b.name} (${b.columns.join(', ')})`),
  );
  assert.deepEqual(redundant, []);
});
