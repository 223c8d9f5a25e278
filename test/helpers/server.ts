// Starts a real server on an ephemeral loopback port with a real SQLite file, for API tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import { defaultServerConfig, type ServerConfig } from '../../src/server-config.js';
import { openDb, type Db } from '../../src/store/db.js';

export const ADMIN_PASSWORD = 'secret-admin';

export interface TestServer {
  url: string;
  stateDir: string;
  config: ServerConfig;
  /** The server's store (a test may break it on purpose). */
  db: Db;
  close(): Promise<void>;
}

export async function startTestServer(overrides: Partial<ServerConfig> = {}, logger?: FastifyBaseLogger): Promise<TestServer> {
  const stateDir = mkdtempSync(join(tmpdir(), 'neutrino-test-'));
  const config: ServerConfig = { ...defaultServerConfig, stateDir, host: '127.0.0.1', port: 0, ...overrides };
  const db = await openDb({ stateDir });
  // Port 0 picks a free port; the public URL is fixed up once it is known.
  const probe = await buildAppOnFreePort(config, db, logger);
  return {
    url: probe.url,
    stateDir,
    config: probe.config,
    db,
    async close() {
      await probe.close();
      await db.destroy();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

async function buildAppOnFreePort(config: ServerConfig, db: Db, logger?: FastifyBaseLogger) {
  const { createServer } = await import('node:net');
  const port: number = await new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const finalConfig = { ...config, port };
  const { http, identity } = await buildApp({ config: finalConfig, db, logger });
  await identity.bootstrap(ADMIN_PASSWORD);
  await http.listen({ host: '127.0.0.1', port });
  return { url: `http://127.0.0.1:${port}`, config: finalConfig, close: () => http.close() };
}
