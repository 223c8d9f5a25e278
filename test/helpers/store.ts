// Reads a test server's SQLite store directly (read-only, beside the server's own connection in WAL
// mode) to prove a refused request wrote nothing: every table's rows, compared whole.
import { join } from 'node:path';
import SQLite from 'better-sqlite3';

export interface StoreReader {
  /** Each table's rows as text, by table name. */
  snapshot(): Record<string, string>;
  close(): void;
}

export function openStoreReader(stateDir: string): StoreReader {
  const db = new SQLite(join(stateDir, 'neutrino.db'), { readonly: true, fileMustExist: true });
  const tables = () =>
    (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{
        name: string;
      }>
    ).map((t) => t.name);
  return {
    snapshot() {
      return Object.fromEntries(tables().map((t) => [t, JSON.stringify(db.prepare(`SELECT * FROM "${t}" ORDER BY rowid`).all())]));
    },
    close: () => db.close(),
  };
}

/** The tables whose rows differ between two snapshots. */
export function changedTables(before: Record<string, string>, after: Record<string, string>): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((t) => before[t] !== after[t]).sort();
}
