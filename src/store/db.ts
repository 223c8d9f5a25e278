// Opens the embedded SQLite store (WAL) behind Kysely and brings its schema up to date.
// Everything above this layer speaks Kysely, so a PostgreSQL dialect can replace SQLite here.
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { Migrator, type Migration, type MigrationProvider } from 'kysely/migration';
import type { Database } from './schema/index.js';
import { migrations } from './migrations/index.js';
import { DB_FILE, securePrivateDbFiles, securePrivateDir } from './state-dir.js';

export type Db = Kysely<Database>;

class StaticMigrations implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

export interface OpenOptions {
  /** Directory holding neutrino.db; ':memory:' keeps everything in memory (tests). */
  stateDir: string;
  /** Told about permissions tightened on an existing state directory or database. */
  onWarning?: (message: string) => void;
}

export async function openDb({ stateDir, onWarning = () => undefined }: OpenOptions): Promise<Db> {
  let file = ':memory:';
  if (stateDir !== ':memory:') {
    // Private before SQLite opens anything: the database holds password hashes and tokens.
    for (const w of [...securePrivateDir(stateDir), ...securePrivateDbFiles(stateDir)]) onWarning(w);
    file = join(stateDir, DB_FILE);
  }
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  // NORMAL is durable across application crashes in WAL mode; only power loss can lose the last commits.
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  const { error, results } = await new Migrator({ db, provider: new StaticMigrations() }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    await db.destroy();
    throw new Error(`schema migration ${failed} failed: ${String(error)}`);
  }
  return db;
}
