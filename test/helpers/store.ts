// Reads a test server's store whole (through its own handle, on either engine) to prove a refused
// request wrote nothing: every table's rows, compared whole.
import { sql } from 'kysely';
import type { Db } from '../../src/store/db.ts';

export interface StoreReader {
  /** Each table's rows as text, by table name (rows in a fixed order, whatever the engine). */
  snapshot(): Promise<Record<string, string>>;
}

export function openStoreReader(db: Db): StoreReader {
  return {
    async snapshot() {
      const out: Record<string, string> = {};
      for (const t of await db.introspection.getTables()) {
        const { rows } = await sql<Record<string, unknown>>`SELECT * FROM ${sql.table(t.name)}`.execute(db);
        out[t.name] = JSON.stringify(rows.map((r) => JSON.stringify(r)).sort());
      }
      return out;
    },
  };
}

/** The tables whose rows differ between two snapshots. */
export function changedTables(before: Record<string, string>, after: Record<string, string>): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((t) => before[t] !== after[t]).sort();
}
