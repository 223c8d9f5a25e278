// A metrics-only HTTP listener (--metrics-listen HOST:PORT): GET /metrics in Prometheus' text format,
// without a token — whoever reaches the address may read it, so the operator chooses an address only
// the monitoring can reach (loopback, a management network). Anything else answers 404.
import { createServer, type Server } from 'node:http';

export interface Exposition {
  contentType: string;
  body: string;
}

export interface MetricsListener {
  /** host:port actually bound (port 0 picks a free one). */
  address: string;
  close(): Promise<void>;
}

export async function startMetricsListener(
  host: string,
  port: number,
  expose: () => Promise<Exposition>,
  onError: (e: Error) => void,
): Promise<MetricsListener> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found\n');
      return;
    }
    expose().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(req.method === 'HEAD' ? undefined : body),
      (e: Error) => {
        onError(e);
        res.writeHead(503, { 'content-type': 'text/plain' }).end('metrics unavailable\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  const a = server.address();
  const bound = typeof a === 'object' && a ? `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` : `${host}:${port}`;
  return {
    address: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
