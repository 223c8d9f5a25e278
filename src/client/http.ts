// A small JSON-over-HTTP client on node:http that also speaks over a Unix socket (`unix:/path`):
// agents in node namespaces reach the server through a socket file, which crosses namespaces.
import type http from 'node:http';
import { explainFailure, NoAnswerError } from './reach.ts';

// Taken as a CommonJS builtin, not imported: an ES import of node:http evaluates every export,
// loading the bundled undici (~50 ms of each CLI command's start) for getters never read here.
const { Agent, request: httpRequest } = process.getBuiltinModule('node:http');

export interface Endpoint {
  /** for TCP: http://host:port; for a socket: unix:/path/to/sock */
  url: string;
  /** what a user should check when the endpoint cannot be reached or refuses the credentials */
  hint?: string;
  credentialsHint?: string;
}

export class HttpError extends Error {
  readonly status: number;
  readonly body: unknown;

  constructor(status: number, body: unknown, method: string, path: string) {
    super(`${method} ${path} answered ${status}: ${describe(body)}`);
    this.status = status;
    this.body = body;
  }
}

/** The reason an API gave in an error body (Neutron's NeutronError, Keystone's error), else the body. */
export function describe(body: unknown): string {
  const b = body as { NeutronError?: { type: string; message: string }; error?: { message: string } } | undefined;
  if (b?.NeutronError) return `${b.NeutronError.type}: ${b.NeutronError.message}`;
  if (b?.error) return b.error.message;
  return typeof body === 'string' ? body : JSON.stringify(body);
}

/** The caller gave up on the request (e.g. a long-poll the agent no longer needs). */
export class AbortError extends Error {
  constructor() {
    super('request aborted');
  }
}

export interface JsonReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

/**
 * A pool of kept-alive connections for one client. Each client (one agent's, one CLI command's) holds
 * its own: a long-poll holds one connection for up to a minute, so clients sharing one bounded pool in
 * a process (a benchmark's hundred watches) would queue their requests behind each other's long-polls.
 */
export const connectionPool = () => new Agent({ keepAlive: true, maxSockets: 8 });

const sharedPool = connectionPool();

/** Collects a response's body as JSON (the text when it is not JSON, undefined when empty). */
export function readJsonReply(res: http.IncomingMessage, resolve: (r: JsonReply) => void, reject: (e: Error) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('error', reject);
  res.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: keep the text */
    }
    resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
  });
}

export function requestJson(
  endpoint: Endpoint,
  method: string,
  path: string,
  opts: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number; signal?: AbortSignal; pool?: http.Agent } = {},
): Promise<JsonReply> {
  const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  if (payload) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
  }
  const target = endpoint.url.startsWith('unix:')
    ? { socketPath: endpoint.url.slice(5), path }
    : (() => {
        const u = new URL(path, endpoint.url);
        return { host: u.hostname, port: u.port, path: u.pathname + u.search };
      })();
  return new Promise((resolve, reject) => {
    const req = httpRequest({ ...target, method, headers, agent: opts.pool ?? sharedPool, timeout: opts.timeoutMs ?? 30_000 }, (res) =>
      readJsonReply(res, resolve, reject),
    );
    req.on('timeout', () => req.destroy(new NoAnswerError(opts.timeoutMs ?? 30_000)));
    req.on('error', (e) => reject(explainFailure(e, { api: 'the Networking API', url: endpoint.url, hint: endpoint.hint })));
    opts.signal?.addEventListener('abort', () => req.destroy(new AbortError()), { once: true });
    req.end(payload);
  });
}
