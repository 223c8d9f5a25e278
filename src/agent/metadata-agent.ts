// The metadata agent (Neutron's neutron-metadata-agent, run inside the agent on nodes with the DHCP
// or L3 role): an HTTP server on the UNIX socket metadata_proxy_socket that the namespaces' haproxy
// forwards to. It finds the instance behind a request — (router or network, source address) → port
// → device_id and project — through the server's API, and forwards the request to Nova's metadata
// API with X-Instance-ID, X-Tenant-ID and their signature. Only a file-system socket: nothing an
// instance can reach by address.
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { NeutrinoClient } from '../client/neutrino.ts';
import { ROUTER_INTERFACE_OWNERS } from '../model/neutron.ts';
import type { MetadataConfig } from './config.ts';
import { metadataSource, novaHeaders, type MetadataSource } from './metadata-request.ts';

interface ApiPort {
  network_id: string;
  device_id: string;
  project_id: string;
}

/** Nova's answers the agent passes on as they are; anything else is the agent's 500 (as _proxy_request). */
const PASSED_ON = new Set([200, 400, 403, 404, 409]);

const query = (pairs: Array<[string, string]>) => pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');

export class MetadataAgent {
  private server: Server | null = null;

  private readonly cfg: MetadataConfig;
  private readonly socket: string;
  private readonly client: NeutrinoClient;
  private readonly log: Logger;

  constructor(cfg: MetadataConfig, socket: string, client: NeutrinoClient, log: Logger) {
    this.cfg = cfg;
    this.socket = socket;
    this.client = client;
    this.log = log;
  }

  /** _get_router_networks: the networks of the router's interface ports. */
  private async routerNetworks(routerId: string): Promise<string[]> {
    const q = query([['device_id', routerId], ...ROUTER_INTERFACE_OWNERS.map((o): [string, string] => ['device_owner', o])]);
    const { ports } = await this.client.call<{ ports: ApiPort[] }>('GET', `/v2.0/ports?${q}`);
    return [...new Set(ports.map((p) => p.network_id))];
  }

  /** get_port: the one port holding the address (or the link-local address's MAC) on those networks, or null (none, or several). */
  async instanceOf(src: MetadataSource): Promise<{ instanceId: string; projectId: string } | null> {
    const networks = src.networkId ? [src.networkId] : await this.routerNetworks(src.routerId!);
    if (!networks.length) return null;
    const by: [string, string] = src.remoteMac ? ['mac_address', src.remoteMac] : ['fixed_ips', `ip_address=${src.remoteIp}`];
    const q = query([by, ...networks.map((n): [string, string] => ['network_id', n])]);
    const { ports } = await this.client.call<{ ports: ApiPort[] }>('GET', `/v2.0/ports?${q}`);
    return ports.length === 1 ? { instanceId: ports[0].device_id, projectId: ports[0].project_id } : null;
  }

  private refuse(res: ServerResponse, status: number, why: string, req: IncomingMessage): void {
    this.log.warn({ path: req.url, status, reason: why }, 'metadata request refused');
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=UTF-8' });
    res.end(status === 404 ? '404 Not Found\n' : `${status}\n`);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const src = metadataSource(req.headers);
    if ('refused' in src) return this.refuse(res, 404, src.refused, req);
    const found = await this.instanceOf(src);
    const via = src.routerId ? `router ${src.routerId}` : `network ${src.networkId}`;
    const address = src.remoteMac ? `MAC address ${src.remoteMac} (from ${src.remoteIp})` : `IP address ${src.remoteIp}`;
    if (!found) return this.refuse(res, 404, `no port found with ${address} behind ${via}`, req);
    const headers = novaHeaders({ remoteIp: src.remoteIp, ...found, secret: this.cfg.sharedSecret });
    const send = this.cfg.novaMetadataProtocol === 'https' ? httpsRequest : httpRequest;
    await new Promise<void>((resolve) => {
      const out = send(
        { host: this.cfg.novaMetadataHost, port: this.cfg.novaMetadataPort, method: req.method, path: req.url, headers, timeout: 30_000 },
        (nova) => {
          const status = nova.statusCode ?? 500;
          if (status === 403)
            this.log.warn({ instance: found.instanceId }, 'the metadata server denied access (check metadata_proxy_shared_secret)');
          const passed = PASSED_ON.has(status) ? status : 500;
          res.writeHead(passed, { 'Content-Type': nova.headers['content-type'] ?? 'text/plain; charset=UTF-8' });
          nova.pipe(res);
          nova.on('end', resolve);
        },
      );
      out.on('timeout', () => out.destroy(new Error('the metadata server did not answer in time')));
      out.on('error', (e) => {
        this.log.error({ err: e }, 'metadata server unreachable');
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=UTF-8' });
        res.end('An unknown error has occurred. Please try your request again.\n');
        resolve();
      });
      req.pipe(out);
    });
  }

  /** Listens on the socket (a stale file from an earlier run is replaced). */
  async start(): Promise<void> {
    mkdirSync(dirname(this.socket), { recursive: true });
    rmSync(this.socket, { force: true });
    const server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        this.log.error({ err: e }, 'metadata request failed');
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=UTF-8' });
        res.end('An unknown error has occurred. Please try your request again.\n');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socket, () => resolve());
    });
    // metadata_proxy_socket_mode 'deduce' with the proxy as the agent's own user: 0o644.
    chmodSync(this.socket, 0o644);
    this.server = server;
    this.log.info({ socket: this.socket, nova: `${this.cfg.novaMetadataHost}:${this.cfg.novaMetadataPort}` }, 'metadata agent listening');
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    rmSync(this.socket, { force: true });
  }
}
