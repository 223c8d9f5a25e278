// Opens the store behind Kysely — the embedded SQLite file (WAL) by default, or a PostgreSQL database
// that several servers share — and brings its schema up to date. Everything above this layer speaks
// Kysely and never names the engine.
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, type Dialect } from 'kysely';
import { Migrator, type Migration, type MigrationProvider } from 'kysely/migration';
import pg from 'pg';
import type { Database } from './schema/index.ts';
import { migrations } from './migrations/index.ts';
import { type Engine } from './engine.ts';
import { NulMatchesNothing } from './nul-matches-nothing.ts';
import { DB_FILE, securePrivateDbFiles, securePrivateDir } from './state-dir.ts';
import { withStatementCache } from './statement-cache.ts';
import { closeReadThreads, closeReaders, openReaders } from './read-pool.ts';
import { newCommitClock, withCommitClock, type CommitClock } from './commit-clock.ts';

export type Db = Kysely<Database>;

/** The store's handle: destroying it first lets its reader threads end (read-threads.ts). */
class Store extends Kysely<Database> {
  override async destroy(): Promise<void> {
    await closeReadThreads(this);
    await super.destroy();
  }
}

class StaticMigrations implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

export interface OpenOptions {
  /** Directory holding neutrino.db; ':memory:' keeps everything in memory (tests). */
  stateDir: string;
  /** Another engine than the state directory's SQLite file (`[database] connection`). */
  engine?: Engine;
  /** Told about permissions tightened on an existing state directory or database. */
  onWarning?: (message: string) => void;
  /** Most connections one process holds to PostgreSQL at once. */
  poolSize?: number;
}

function sqliteDialect(file: string, clock: CommitClock, onClose: () => void = () => undefined): Dialect {
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  // NORMAL is durable across application crashes in WAL mode; only power loss can lose the last commits.
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // Commits counted for the reader threads, which check that a list's parts read one state.
  const database = withCommitClock(withStatementCache(sqlite), sqlite, clock);
  return new SqliteDialect({
    database: {
      ...database,
      close: () => {
        onClose();
        database.close();
      },
    },
  });
}

// int8 (counts, sums) arrives as a string by default, to keep 64-bit precision; every such value
// here (counts, revisions) fits a double.
const INT8_OID = 20;
const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

function postgresDialect(url: string, poolSize: number, onWarning: (message: string) => void): Dialect {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, types: pgTypes });
  // An idle connection the database ends (a restart, an administrator) is dropped from the pool and
  // replaced on next use; unhandled, its error would end the process.
  pool.on('error', (e) => onWarning(`database connection lost while idle: ${e.message}`));
  return new PostgresDialect({ pool });
}

/** The SQLite file the options name, or null (PostgreSQL, or in memory: nothing a second connection sees). */
function sqliteFileOf({ stateDir, engine }: OpenOptions): string | null {
  if (engine?.kind === 'postgres') return null;
  const file = engine?.kind === 'sqlite' ? engine.file : stateDir === ':memory:' ? ':memory:' : join(stateDir, DB_FILE);
  return file === ':memory:' ? null : file;
}

function dialectFor(opts: OpenOptions, clock: CommitClock, onClose: () => void): Dialect {
  const { stateDir, engine, onWarning = () => undefined, poolSize = 10 } = opts;
  if (engine?.kind === 'postgres') return postgresDialect(engine.url, poolSize, onWarning);
  if (engine?.kind === 'sqlite') return sqliteDialect(engine.file, clock, onClose);
  if (stateDir === ':memory:') return sqliteDialect(':memory:', clock);
  // Private before SQLite opens anything: the database holds password hashes and tokens.
  for (const w of [...securePrivateDir(stateDir), ...securePrivateDbFiles(stateDir)]) onWarning(w);
  return sqliteDialect(join(stateDir, DB_FILE), clock, onClose);
}

/** The PostgreSQL URL each open handle was made from (for a second, listening connection). */
const postgresUrls = new WeakMap<Db, string>();
export const postgresUrlOf = (db: Db): string | null => postgresUrls.get(db) ?? null;

export async function openDb(opts: OpenOptions): Promise<Db> {
  const postgres = opts.engine?.kind === 'postgres';
  const closing = { readers: () => undefined as void };
  const clock = newCommitClock();
  const db = new Store({
    dialect: dialectFor(opts, clock, () => closing.readers()),
    plugins: postgres ? [new NulMatchesNothing()] : [],
  });
  if (opts.engine?.kind === 'postgres') postgresUrls.set(db, opts.engine.url);
  // Several servers may start at once on one PostgreSQL database: Kysely's migrator takes a lock.
  const { error, results } = await new Migrator({ db, provider: new StaticMigrations() }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    await db.destroy();
    throw new Error(`schema migration ${failed} failed: ${String(error)}`);
  }
  const file = sqliteFileOf(opts);
  if (file) {
    openReaders(db, file, clock);
    closing.readers = () => closeReaders(db);
  }
  return db;
}
