// The lab's stand-in for Nova's metadata API (nova-api-metadata): one process in the controller's
// namespace on <controller>:8775, as nova_metadata_host/port name it. Like Nova it trusts a request
// only with an X-Instance-ID whose X-Instance-ID-Signature is the HMAC-SHA256 of the shared secret
// (403 otherwise) and whose X-Tenant-ID is the instance's project (404 otherwise); it answers from the
// instance's record (name, public keys) and its port as the API shows it.
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { basename, dirname } from 'node:path';
import pino, { type Logger } from 'pino';
import { signInstanceId } from '../agent/metadata-request.ts';
import { NeutrinoClient } from '../client/neutrino.ts';
import { listInstances, type InstanceRecord } from './instance-state.ts';
import { metadataAnswer, NOT_FOUND, type MetadataAnswer, type MetadataInstance } from './metadata-docs.ts';
import { labPaths, type LabPaths } from './paths.ts';
import { NOVA_METADATA_PORT, readLabState, type LabState } from './state.ts';
import { LabError } from './topology.ts';

const answer = (status: number, body: string): MetadataAnswer => ({ status, contentType: 'text/plain; charset=UTF-8', body });

/** Whether `signature` is the instance id's HMAC with `secret` (compared in constant time). */
export function signatureValid(secret: string, instanceId: string, signature: string): boolean {
  const want = Buffer.from(signInstanceId(secret, instanceId));
  const got = Buffer.from(signature);
  return want.length === got.length && timingSafeEqual(want, got);
}

interface ApiPort {
  id: string;
  project_id: string;
  network_id: string;
  mac_address: string;
  fixed_ips: Array<{ subnet_id: string; ip_address: string }>;
}

export class LabMetadataServer {
  private server: Server | null = null;
  private readonly client: NeutrinoClient;

  private readonly paths: LabPaths;
  private readonly state: LabState;
  private readonly secret: string;
  private readonly log: Logger;

  constructor(paths: LabPaths, state: LabState, secret: string, log: Logger) {
    this.paths = paths;
    this.state = state;
    this.secret = secret;
    this.log = log;
    this.client = new NeutrinoClient(
      { url: `unix:${paths.socket}` },
      { username: 'admin', password: state.server.adminPassword, project: 'admin' },
    );
  }

  /** The instance as the documents need it, from its record and the API; null when either is gone. */
  private async instance(record: InstanceRecord): Promise<MetadataInstance | null> {
    const { ports } = await this.client.call<{ ports: ApiPort[] }>('GET', `/v2.0/ports?device_id=${encodeURIComponent(record.id)}`);
    const port = ports[0];
    if (!port) return null;
    const { network } = await this.client.call<{ network: { id: string; mtu: number } }>('GET', `/v2.0/networks/${port.network_id}`);
    const { subnets } = await this.client.call<{ subnets: MetadataInstance['subnets'] }>(
      'GET',
      `/v2.0/subnets?network_id=${encodeURIComponent(port.network_id)}`,
    );
    const { floatingips } = await this.client.call<{ floatingips: Array<{ floating_ip_address: string }> }>(
      'GET',
      `/v2.0/floatingips?port_id=${encodeURIComponent(port.id)}`,
    );
    return {
      id: record.id,
      name: record.name,
      projectId: port.project_id,
      publicKeys: record.publicKeys ?? [],
      port: { id: port.id, mac: port.mac_address, fixedIps: port.fixed_ips },
      network: { id: network.id, mtu: network.mtu },
      subnets,
      floatingIp: floatingips[0]?.floating_ip_address ?? null,
      ...(record.userData !== undefined ? { userData: record.userData } : {}),
    };
  }

  /** Nova's checks (_handle_instance_id_request), then the document. */
  async answer(req: Pick<IncomingMessage, 'headers' | 'url'>): Promise<MetadataAnswer> {
    const h = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const instanceId = h('x-instance-id');
    const tenantId = h('x-tenant-id');
    const signature = h('x-instance-id-signature');
    const from = h('x-forwarded-for');
    if (!instanceId) return answer(400, 'X-Instance-ID header is missing from request.\n');
    if (!tenantId) return answer(400, 'X-Tenant-ID header is missing from request.\n');
    if (!signature || !signatureValid(this.secret, instanceId, signature)) {
      this.log.warn({ instance: instanceId, from }, 'X-Instance-ID-Signature does not match the expected value');
      return answer(403, 'Invalid proxy request signature.\n');
    }
    const record = listInstances(this.paths).find((r) => r.id === instanceId);
    const inst = record ? await this.instance(record) : null;
    if (!inst) {
      this.log.warn({ instance: instanceId, from }, 'no such instance');
      return NOT_FOUND;
    }
    if (inst.projectId !== tenantId) {
      this.log.warn({ instance: instanceId, tenant: tenantId, from }, 'X-Tenant-ID does not match the instance');
      return NOT_FOUND;
    }
    return metadataAnswer(req.url ?? '/', inst);
  }

  async start(host: string, port = NOVA_METADATA_PORT): Promise<void> {
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      void this.answer(req)
        .catch((e: unknown): MetadataAnswer => {
          this.log.error({ err: e }, 'metadata request failed');
          return answer(500, 'An unknown error has occurred.\n');
        })
        .then((a) => {
          this.log.info({ path: req.url, status: a.status, instance: req.headers['x-instance-id'] }, 'metadata request');
          res.writeHead(a.status, { 'Content-Type': a.contentType });
          res.end(a.body);
        });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    this.log.info({ listen: `${host}:${port}`, lab: this.state.lab }, 'lab metadata server listening');
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** `neutrino lab metadata-server`: serves until SIGTERM/SIGINT. `labDir` is <state root>/labs/<lab>. */
export async function runLabMetadataServer(labDir: string, host: string, level: string): Promise<void> {
  const paths = labPaths(dirname(dirname(labDir)), basename(labDir));
  const state = readLabState(paths);
  if (!state?.metadata) throw new LabError(`no lab with a metadata secret in ${labDir}`);
  const log = pino({ level, base: { service: 'neutrino-lab-metadata', lab: state.lab } });
  const server = new LabMetadataServer(paths, state, state.metadata.secret, log);
  await server.start(host, state.metadata.port);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await server.stop();
  process.exit(0);
}
