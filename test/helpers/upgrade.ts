// A store for a migration test: its state directory, engine (PostgreSQL when with-postgres.ts gives
// a cluster, else SQLite) and a Kysely dialect to write it as an older release did; cleanup drops both.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import assert from 'node:assert/strict';
import { Kysely, PostgresDialect, SqliteDialect, type Dialect } from 'kysely';
import { Migrator } from 'kysely/migration';
import { migrations } from '../../src/store/migrations/index.ts';
import { openDb, type Db } from '../../src/store/db.ts';
import type { Engine } from '../../src/store/engine.ts';
import { createDatabase, sharedPostgresUrl } from './postgres.ts';

export interface UpgradeStore {
  stateDir: string;
  engine: Engine;
  dialect: Dialect;
  cleanup(): Promise<void>;
}

export async function upgradeStore(prefix: string): Promise<UpgradeStore> {
  const stateDir = mkdtempSync(join(tmpdir(), prefix));
  const cluster = sharedPostgresUrl();
  const database = cluster ? await createDatabase(cluster) : null;
  const engine: Engine = database ? { kind: 'postgres', url: database.url } : { kind: 'sqlite', file: join(stateDir, 'neutrino.db') };
  const dialect: Dialect =
    engine.kind === 'postgres'
      ? new PostgresDialect({ pool: new pg.Pool({ connectionString: engine.url, max: 1 }) })
      : new SqliteDialect({ database: new SQLite(engine.file) });
  return {
    stateDir,
    engine,
    dialect,
    async cleanup() {
      await database?.drop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/**
 * A store migrated up to `before`, seeded by `seed` as that release wrote it, then opened (migrating
 * to the latest) and handed to `check`; removed at the end.
 */
export async function upgrade(
  before: string,
  seed: (old: Kysely<unknown>) => Promise<void>,
  check: (db: Db) => Promise<void>,
): Promise<void> {
  const { stateDir, engine, dialect, cleanup } = await upgradeStore('neutrino-upgrade-');
  try {
    const old = new Kysely<unknown>({ dialect });
    const provider = { getMigrations: async () => migrations };
    const { error } = await new Migrator({ db: old, provider }).migrateTo(before);
    assert.equal(error, undefined);
    await seed(old);
    await old.destroy();
    const db = await openDb({ stateDir, engine });
    try {
      await check(db);
    } finally {
      await db.destroy();
    }
  } finally {
    await cleanup();
  }
}
