// Starts the server process: locks and opens the store, bootstraps identity, listens.
import { createServer } from 'node:http';
import { rmSync } from 'node:fs';
import pino from 'pino';
import { buildApp } from './api/app.js';
import type { ServerConfig } from './config.js';
import { openDb, type Db } from './store/db.js';
import { lockStateDir, type StateLock } from './store/lock.js';
import { securePrivateDir } from './store/state-dir.js';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export interface StartOptions {
  bootstrapAdminPassword?: string;
  logLevel?: string;
}

export const NO_USERS_WARNING =
  'no users exist, so nobody can authenticate: restart once with NEUTRINO_ADMIN_PASSWORD=<password> (or --bootstrap-admin-password) to create domain Default, project admin and user admin';

/**
 * The directory checked first (nothing is written into one that is refused), then the lock (two
 * servers must not migrate or write one database), then the database.
 */
async function openStore(config: ServerConfig, logger: pino.Logger): Promise<{ db: Db; lock: StateLock | null }> {
  const onDisk = config.stateDir !== ':memory:';
  if (onDisk) for (const w of securePrivateDir(config.stateDir)) logger.warn(w);
  const lock = onDisk ? lockStateDir(config.stateDir) : null;
  try {
    const db = await openDb({ stateDir: config.stateDir, onWarning: (w) => logger.warn(w) });
    return { db, lock };
  } catch (e) {
    lock?.release();
    throw e;
  }
}

export async function startServer(config: ServerConfig, opts: StartOptions = {}): Promise<RunningServer> {
  const logger = pino({ level: opts.logLevel ?? 'info', base: { service: 'neutrino-server' } });
  const { db, lock } = await openStore(config, logger);
  const closeStore = async () => {
    await db.destroy();
    lock?.release();
  };
  try {
    const { http, identity } = await buildApp({ config, db, logger });
    if (opts.bootstrapAdminPassword) await identity.bootstrap(opts.bootstrapAdminPassword);
    else if (!(await identity.hasUsers())) logger.warn(NO_USERS_WARNING);
    const address = await http.listen({ host: config.host, port: config.port });
    // The same application answers on a Unix socket: a file crosses network namespaces, an address does not.
    const unix = config.unixSocket ? createServer((req, res) => http.routing(req, res)) : null;
    if (unix && config.unixSocket) {
      rmSync(config.unixSocket, { force: true });
      await new Promise<void>((resolve, reject) => unix.once('error', reject).listen(config.unixSocket, resolve));
    }
    logger.info({ address, unixSocket: config.unixSocket, stateDir: config.stateDir }, 'neutrino server listening');
    return {
      url: address,
      async close() {
        if (unix) await new Promise((resolve) => unix.close(resolve));
        await http.close();
        await closeStore();
      },
    };
  } catch (e) {
    await closeStore();
    throw e;
  }
}
