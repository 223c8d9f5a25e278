// Starts the server process: opens the store, bootstraps identity, listens.
import { createServer } from 'node:http';
import { rmSync } from 'node:fs';
import pino from 'pino';
import { buildApp } from './api/app.js';
import type { ServerConfig } from './config.js';
import { openDb } from './store/db.js';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export interface StartOptions {
  bootstrapAdminPassword?: string;
  logLevel?: string;
}

export async function startServer(config: ServerConfig, opts: StartOptions = {}): Promise<RunningServer> {
  const logger = pino({ level: opts.logLevel ?? 'info', base: { service: 'neutrino-server' } });
  const db = await openDb({ stateDir: config.stateDir });
  const { http, identity } = await buildApp({ config, db, logger });
  if (opts.bootstrapAdminPassword) await identity.bootstrap(opts.bootstrapAdminPassword);
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
      await db.destroy();
    },
  };
}
