// `neutrino web`'s HTTP server: the page, the topology and the linked resources as JSON, a trace
// walked on the current snapshot, and server-sent events whenever the picture changes. Read-only:
// GET and HEAD only, except POST /api/probe when started with --allow-probe (real traffic through a
// floating IP's path, one probe at a time) and POST /api/snapshots (a recorded snapshot uploaded in
// the page, drawn and traced offline, kept in memory); it binds where it is told (the CLI's default
// is localhost).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { contextFrom } from '../trace/run.ts';
import { traceFip } from '../trace/walk/fip.ts';
import { tracePort } from '../trace/walk/port.ts';
import type { TraceReport } from '../trace/report.ts';
import type { Snapshot } from '../trace/snapshot.ts';
import { PAGE_HTML, PAGE_SCRIPT } from './page.ts';
import type { View, ViewSource } from './state.ts';
import { filesOf, readBody, UploadError, Uploads } from './uploads.ts';

export interface WebServerOptions {
  /** with --allow-probe: sends real traffic through a traced floating IP's path and measures it */
  probe?: (report: TraceReport, snapshot: Snapshot) => Promise<TraceReport>;
}

/** ELK's browser bundle, read once from the installed elkjs package. */
let elkBundle: string | null = null;
const elkScript = () => (elkBundle ??= readFileSync(createRequire(import.meta.url).resolve('elkjs/lib/elk.bundled.js'), 'utf8'));

export interface WebServer {
  url: string;
  /** event streams open now (pages watching) */
  watchers(): number;
  close(): Promise<void>;
}

const json = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
};

const errorBody = (status: number, type: string, message: string) => ({ NeutronError: { type, message, detail: '' } });

/** A trace on a snapshot (the source's current one): ?fip=ADDRESS, or ?port=ID&to=ADDRESS|PORT. */
export function traceOn(snapshot: Snapshot | null, label: string, q: URLSearchParams): TraceReport | { error: string } {
  if (!snapshot) return { error: 'nothing has been read yet' };
  const ctx = contextFrom(snapshot, label);
  const flow = { protocol: 'icmp' as const };
  const fip = q.get('fip');
  if (fip) return traceFip(ctx, fip, { flow });
  const port = q.get('port');
  const to = q.get('to');
  if (port && to) return tracePort(ctx, port, to, { flow });
  return { error: 'give fip=ADDRESS, or port=ID and to=ADDRESS|PORT' };
}

export async function startWebServer(
  source: ViewSource,
  listen: { host: string; port: number },
  options: WebServerOptions = {},
): Promise<WebServer> {
  const streams = new Set<http.ServerResponse>();
  const send = (res: http.ServerResponse, v: View) => res.write(`event: view\nid: ${v.version}\ndata: ${JSON.stringify(v)}\n\n`);
  const unsubscribe = source.subscribe((v) => streams.forEach((res) => send(res, v)));
  // A comment line now and then keeps proxies and idle timeouts from closing the stream.
  const keepAlive = setInterval(() => streams.forEach((res) => res.write(': keep-alive\n\n')), 15_000);
  keepAlive.unref();

  let probing = false;
  const probe = async (res: http.ServerResponse, q: URLSearchParams) => {
    if (!options.probe)
      return json(res, 403, errorBody(403, 'Forbidden', 'neutrino web was started without --allow-probe: it sends no traffic'));
    if (!q.get('fip'))
      return json(
        res,
        400,
        errorBody(400, 'BadRequest', 'the page probes a floating IP (fip=ADDRESS); probe a port with neutrino trace port --probe'),
      );
    if (probing) return json(res, 409, errorBody(409, 'Conflict', 'a probe is already running: wait for its result'));
    // One snapshot for the walk and the probe: the nodes probed are the ones the trace was walked on.
    const snapshot = source.snapshot();
    const report = traceOn(snapshot, source.label, q);
    if ('error' in report || !snapshot)
      return json(res, 400, errorBody(400, 'BadRequest', 'error' in report ? report.error : 'nothing read yet'));
    probing = true;
    try {
      json(res, 200, await options.probe(report, snapshot));
    } catch (e) {
      json(res, 500, errorBody(500, 'ProbeFailed', (e as Error).message));
    } finally {
      probing = false;
    }
  };

  const uploads = new Uploads();
  const upload = async (req: http.IncomingMessage, res: http.ServerResponse, q: URLSearchParams) => {
    try {
      const u = await uploads.add(filesOf(await readBody(req)), q.get('name') || 'snapshot');
      json(res, 201, { id: u.id, view: u.view });
    } catch (e) {
      if (!(e instanceof UploadError)) throw e;
      json(res, e.status, errorBody(e.status, e.status === 413 ? 'RequestEntityTooLarge' : 'BadRequest', e.message));
    }
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'POST' && url.pathname === '/api/probe') return void probe(res, url.searchParams);
    if (req.method === 'POST' && url.pathname === '/api/snapshots')
      return void upload(req, res, url.searchParams).catch((e: Error) => json(res, 500, errorBody(500, 'UploadFailed', e.message)));
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return json(res, 405, errorBody(405, 'HTTPMethodNotAllowed', `neutrino web is read-only: ${req.method} is not allowed`));
    }
    const view = source.view();
    switch (url.pathname) {
      case '/':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(PAGE_HTML);
      case '/app.js':
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
        return res.end(PAGE_SCRIPT);
      case '/vendor/elk.js':
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'max-age=3600' });
        return res.end(elkScript());
      case '/api/config':
        return json(res, 200, { allowProbe: !!options.probe });
      case '/api/topology':
        return view ? json(res, 200, view.topology) : json(res, 503, errorBody(503, 'NotReady', 'nothing has been read yet'));
      case '/api/resources':
        return view ? json(res, 200, view.resources) : json(res, 503, errorBody(503, 'NotReady', 'nothing has been read yet'));
      case '/api/trace': {
        // ?snapshot=ID: on an uploaded recording, offline.
        const id = url.searchParams.get('snapshot');
        const uploaded = id ? uploads.get(id) : undefined;
        if (id && !uploaded) return json(res, 404, errorBody(404, 'NotFound', `no uploaded snapshot ${id} (only the last few are kept)`));
        const report = uploaded
          ? traceOn(uploaded.snapshot, uploaded.label, url.searchParams)
          : traceOn(source.snapshot(), source.label, url.searchParams);
        return 'error' in report ? json(res, 400, errorBody(400, 'BadRequest', report.error)) : json(res, 200, report);
      }
      case '/api/events':
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
        streams.add(res);
        res.on('close', () => streams.delete(res));
        if (view) send(res, view);
        return;
      default:
        return json(res, 404, errorBody(404, 'NotFound', `${url.pathname} is not a page of neutrino web`));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}/`,
    watchers: () => streams.size,
    close: async () => {
      unsubscribe();
      clearInterval(keepAlive);
      for (const res of streams) res.end();
      // An open page's EventSource reconnects at once over a kept-alive connection, and a stream
      // begun after the loop above would hold server.close() open forever: end every connection.
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
    },
  };
}
