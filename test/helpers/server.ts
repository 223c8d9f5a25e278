// Starts a real server on an ephemeral loopback port, for API tests: its state in a real SQLite file,
// or in a fresh database of the real PostgreSQL cluster named by NEUTRINO_TEST_POSTGRES (see
// with-postgres.ts), so the same tests run on both engines.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { buildApp } from '../../src/api/app.ts';
import { defaultServerConfig, type ServerConfig } from '../../src/server-config.ts';
import { openDb, type Db } from '../../src/store/db.ts';
import { createMigratedDatabase, sharedPostgresUrl } from './postgres.ts';
import { freeLoopbackPort } from '../../src/lab/server-proc.ts';

export const ADMIN_PASSWORD = 'secret-admin';

/**
 * Test servers hash passwords at N = 2^10 (~2 ms) rather than the default 2^14 (~50 ms): the API
 * tests log in over a thousand times a pass. test/unit/password.test.ts and the server-config tests
 * cover the default and the option.
 */
export const TEST_PASSWORD_HASH_ROUNDS = 10;

export interface TestServer {
  url: string;
  stateDir: string;
  config: ServerConfig;
  /** The server's store (a test may break it on purpose). */
  db: Db;
  close(): Promise<void>;
}

export interface TestStore {
  stateDir: string;
  db: Db;
  close(): Promise<void>;
}

/** Brings the empty PostgreSQL database at `url` to the latest schema, and closes it. */
async function migrateEmpty(url: string): Promise<void> {
  const db = await openDb({ stateDir: ':memory:', engine: { kind: 'postgres', url } });
  await db.destroy();
}

/** A fresh store: SQLite in a new state directory, or a new database on the test PostgreSQL cluster. */
export async function openTestStore(): Promise<TestStore> {
  const stateDir = mkdtempSync(join(tmpdir(), 'neutrino-test-'));
  const pg = sharedPostgresUrl();
  const database = pg ? await createMigratedDatabase(pg, migrateEmpty) : null;
  const db = await openDb({ stateDir, engine: database ? { kind: 'postgres', url: database.url } : undefined });
  return {
    stateDir,
    db,
    async close() {
      await db.destroy();
      await database?.drop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

export async function startTestServer(overrides: Partial<ServerConfig> = {}, logger?: FastifyBaseLogger): Promise<TestServer> {
  const store = await openTestStore();
  const { stateDir, db } = store;
  const config: ServerConfig = {
    ...defaultServerConfig,
    passwordHashRounds: TEST_PASSWORD_HASH_ROUNDS,
    stateDir,
    host: '127.0.0.1',
    port: 0,
    ...overrides,
  };
  // Port 0 picks a free port (a test that must know it first, to name it in the config, gives it).
  const probe = await buildAppOnFreePort(config, db, logger);
  return {
    url: probe.url,
    stateDir,
    config: probe.config,
    db,
    async close() {
      await probe.close();
      await store.close();
    },
  };
}

async function buildAppOnFreePort(config: ServerConfig, db: Db, logger?: FastifyBaseLogger) {
  const port = config.port || (await freeLoopbackPort());
  const finalConfig = { ...config, port };
  const { http, identity } = await buildApp({ config: finalConfig, db, logger });
  await identity.bootstrap(ADMIN_PASSWORD);
  await http.listen({ host: '127.0.0.1', port });
  return { url: `http://127.0.0.1:${port}`, config: finalConfig, close: () => http.close() };
}
