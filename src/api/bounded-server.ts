// The HTTP servers behind both listeners (TCP and the Unix socket), with bounds on the client's side
// of a request: a client that stalls its headers or body is answered 408 and disconnected instead of
// holding a connection forever. The server's side is not bounded here: a change-feed long-poll has
// been fully received and only its response waits.
import { createServer, type RequestListener, type Server } from 'node:http';
import type { ServerConfig } from '../server-config.ts';

export interface ConnectionBounds {
  headerTimeoutMs: number;
  requestTimeoutMs: number;
  keepaliveTimeoutMs: number;
}

export function connectionBounds(config: Pick<ServerConfig, 'headerTimeout' | 'requestTimeout' | 'keepaliveTimeout'>): ConnectionBounds {
  return {
    headerTimeoutMs: config.headerTimeout * 1000,
    requestTimeoutMs: config.requestTimeout * 1000,
    keepaliveTimeoutMs: config.keepaliveTimeout * 1000,
  };
}

/**
 * Node checks the header and request deadlines on a timer, not per connection: check often enough
 * that a connection outlives its bound by at most a quarter of it (and at most a second).
 */
export function deadlineCheckInterval(b: ConnectionBounds): number {
  return Math.max(50, Math.min(1000, Math.min(b.headerTimeoutMs, b.requestTimeoutMs) / 4));
}

export function createBoundedServer(handler: RequestListener, b: ConnectionBounds): Server {
  const server = createServer(
    { headersTimeout: b.headerTimeoutMs, requestTimeout: b.requestTimeoutMs, connectionsCheckingInterval: deadlineCheckInterval(b) },
    handler,
  );
  server.keepAliveTimeout = b.keepaliveTimeoutMs;
  // No socket inactivity timeout: it would also cut a long-poll whose response is still waiting.
  server.setTimeout(0);
  return server;
}
