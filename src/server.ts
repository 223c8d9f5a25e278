// Starts the server process: locks and opens the store, bootstraps identity, listens; and shuts it
// down gracefully: stop accepting, answer long-polls, let requests in flight finish within a bound.
import { rmSync } from 'node:fs';
import type { Server } from 'node:http';
import pino from 'pino';
import { buildApp } from './api/app.ts';
import { connectionBounds, createBoundedServer } from './api/bounded-server.ts';
import { ConnectionDrain } from './api/drain.ts';
import { ServerConfigError, type ServerConfig } from './server-config.ts';
import { openDb, type Db } from './store/db.ts';
import { redactPassword } from './store/engine.ts';
import { isWorkerProcess } from './server-workers.ts';
import { startMetricsListener } from './metrics/listener.ts';
import { lockStateDir, type StateLock } from './store/lock.ts';
import { securePrivateDir } from './store/state-dir.ts';
import { readThreadsOf } from './store/read-pool.ts';

export interface RunningServer {
  url: string;
  /** Graceful: requests in flight get up to config.gracefulShutdownTimeout to finish. */
  close(): Promise<void>;
}

export interface StartOptions {
  bootstrapAdminPassword?: string;
  logLevel?: string;
}

/** Stops accepting now; resolves once every connection has ended. */
const stopAccepting = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

export const NO_USERS_WARNING =
  'no users exist, so nobody can authenticate: restart once with NEUTRINO_ADMIN_PASSWORD=<password> (or --bootstrap-admin-password) to create domain Default, project admin and user admin';

/**
 * The directory checked first (nothing is written into one that is refused), then the lock (two
 * servers must not migrate or write one database), then the database.
 */
async function openStore(config: ServerConfig, logger: pino.Logger): Promise<{ db: Db; lock: StateLock | null }> {
  // A shared database is for several servers at once: the database itself keeps them consistent.
  if (config.database?.kind === 'postgres') return { db: await openDb({ stateDir: config.stateDir, engine: config.database }), lock: null };
  const onDisk = config.stateDir !== ':memory:';
  if (onDisk) for (const w of securePrivateDir(config.stateDir)) logger.warn(w);
  const lock = onDisk ? lockStateDir(config.stateDir) : null;
  try {
    const db = await openDb({ stateDir: config.stateDir, engine: config.database ?? undefined, onWarning: (w) => logger.warn(w) });
    return { db, lock };
  } catch (e) {
    lock?.release();
    throw e;
  }
}

export async function startServer(config: ServerConfig, opts: StartOptions = {}): Promise<RunningServer> {
  // The built-in identity is off behind Keystone: a user created in it could not log in anywhere.
  if (config.keystone && opts.bootstrapAdminPassword)
    throw new ServerConfigError(
      "--bootstrap-admin-password (NEUTRINO_ADMIN_PASSWORD) creates a built-in user; with auth_strategy = keystone users are Keystone's",
    );
  const logger = pino({ level: opts.logLevel ?? 'info', base: { service: 'neutrino-server', pid: process.pid } });
  const { db, lock } = await openStore(config, logger);
  const closeStore = async () => {
    await db.destroy();
    lock?.release();
  };
  try {
    for (const w of config.warnings) logger.warn(w);
    const { http, identity, metrics } = await buildApp({ config, db, logger });
    if (config.keystone) {
      logger.info({ authUrl: config.keystone.authUrl, tokenCacheTime: config.keystone.tokenCacheTime }, 'tokens are validated by Keystone');
    } else if (opts.bootstrapAdminPassword) await identity.bootstrap(opts.bootstrapAdminPassword);
    else if (!(await identity.hasUsers())) logger.warn(NO_USERS_WARNING);
    const drain = new ConnectionDrain();
    drain.watch(http.server);
    const address = await http.listen({ host: config.host, port: config.port });
    // The same application answers on a Unix socket: a file crosses network namespaces, an address does not.
    const unix = config.unixSocket ? createBoundedServer((req, res) => http.routing(req, res), connectionBounds(config)) : null;
    if (unix && config.unixSocket) {
      drain.watch(unix);
      // The same answers as on TCP to requests too slow or malformed to reach the application.
      for (const onClientError of http.server.listeners('clientError'))
        unix.on('clientError', onClientError as (...args: unknown[]) => void);
      // Workers share the primary's socket (node:cluster): only a single server removes a stale file.
      if (!isWorkerProcess()) rmSync(config.unixSocket, { force: true });
      await new Promise<void>((resolve, reject) => unix.once('error', reject).listen(config.unixSocket, resolve));
    }
    // With several workers the primary serves the merged metrics there (metrics/primary.ts).
    const metricsListener =
      config.metricsListen && !isWorkerProcess()
        ? await startMetricsListener(
            config.metricsListen.host,
            config.metricsListen.port,
            () => metrics.expose(),
            (err) => logger.error({ err }, 'metrics scrape failed'),
          )
        : null;
    if (metricsListener) logger.info({ address: metricsListener.address }, 'metrics served without a token');
    // A long-lived process: its reader threads start now, not while its first long list waits.
    readThreadsOf(db)?.ready();
    const database = config.database?.kind === 'postgres' ? redactPassword(config.database.url) : undefined;
    logger.info({ address, unixSocket: config.unixSocket, stateDir: config.stateDir, database }, 'neutrino server listening');
    return {
      url: address,
      async close() {
        const t0 = Date.now();
        const unixDone = unix ? stopAccepting(unix) : Promise.resolve();
        await metricsListener?.close();
        // Fastify's close answers new requests on open connections with 503 and ends the long-polls (preClose).
        const appDone = http.close();
        drain.begin();
        const cut = setTimeout(() => {
          logger.warn(
            { seconds: config.gracefulShutdownTimeout },
            'requests still in flight at the shutdown bound; closing their connections',
          );
          drain.cutAll();
        }, config.gracefulShutdownTimeout * 1000);
        await Promise.all([appDone, unixDone]);
        clearTimeout(cut);
        await closeStore();
        logger.info({ ms: Date.now() - t0 }, 'neutrino server stopped');
      },
    };
  } catch (e) {
    await closeStore();
    throw e;
  }
}
