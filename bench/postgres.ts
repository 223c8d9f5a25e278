// PostgreSQL benchmark: a real PostgreSQL cluster (Debian's, in a temp dir, as test/helpers/postgres.ts
// starts it) and a real `neutrino server --db … --workers N` process. For N = 1 and 2: port-create
// throughput with 16 concurrent clients; then, with the most workers, many concurrent port creates
// on one /18 (CREATES, default 10,000), checked for duplicate addresses or MACs and for lost ports.
// Prints one JSON object. Run as root (the cluster runs as the postgres user): npm run bench:postgres
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, issueToken, memberProject, type Api } from '../test/helpers/client.ts';
import { createDatabase, startPostgres } from '../test/helpers/postgres.ts';
import { freePort, listening, spawnServer, stopServer } from '../test/helpers/server-process.ts';

const PASSWORD = 'bench-admin';
const CLIENTS = 16;
const THROUGHPUT_SECONDS = Number(process.env.SECONDS ?? 10);
const CREATES = Number(process.env.CREATES ?? 10_000);

interface Port {
  id: string;
  mac_address: string;
  fixed_ips: Array<{ ip_address: string }>;
}

async function withServer<T>(clusterUrl: string, workers: number, fn: (demo: Api) => Promise<T>): Promise<T> {
  const db = await createDatabase(clusterUrl);
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-bench-pg-'));
  const server = spawnServer(dir, await freePort(), { NEUTRINO_ADMIN_PASSWORD: PASSWORD }, [
    ...['--db', db.url, '--workers', String(workers), '--log-level', 'warn'],
  ]);
  try {
    await listening(server, 60_000);
    const admin = await issueToken(server.url, 'admin', PASSWORD, 'admin');
    const demo = await memberProject(server.url, admin, 'bench');
    // Unlimited ports and networks for the project: the benchmark measures creation, not quotas.
    const quota = await api(server.url, admin).put(`/quotas/${demo.projectId}`, { quota: { port: -1, network: -1, subnet: -1 } });
    if (quota.status !== 200) throw new Error(`quota: ${quota.status} ${JSON.stringify(quota.body)}`);
    return await fn(api(server.url, demo.token));
  } finally {
    await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
    await db.drop();
  }
}

async function network(demo: Api, cidr: string): Promise<string> {
  const net = (await demo.post('/networks', { network: { name: `bench-${cidr}` } })).body.network.id as string;
  const sub = await demo.post('/subnets', { subnet: { network_id: net, ip_version: 4, cidr } });
  if (sub.status !== 201) throw new Error(`subnet: ${sub.status} ${JSON.stringify(sub.body)}`);
  return net;
}

/** Port creates per second from CLIENTS clients on one network for THROUGHPUT_SECONDS. */
async function throughput(demo: Api): Promise<{ per_second: number; errors: number }> {
  const net = await network(demo, '10.64.0.0/16');
  const until = Date.now() + THROUGHPUT_SECONDS * 1000;
  let done = 0;
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (Date.now() < until) {
        const r = await demo.post('/ports', { port: { network_id: net } });
        if (r.status === 201) done++;
        else errors++;
      }
    }),
  );
  return { per_second: Math.round(done / ((performance.now() - t0) / 1000)), errors };
}

/** CREATES port creates at once (in waves of 500 in flight) on one /18: duplicates and losses counted. */
async function concurrentCreates(demo: Api): Promise<Record<string, number>> {
  const net = await network(demo, '10.128.0.0/18');
  const created: Port[] = [];
  let failed = 0;
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 500 }, async () => {
      while (next++ < CREATES) {
        const r = await demo.post<{ port: Port }>('/ports', { port: { network_id: net } });
        if (r.status === 201) created.push(r.body.port);
        else failed++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const listed = (await demo.get<{ ports: Port[] }>(`/ports?network_id=${net}`)).body.ports;
  const listedIds = new Set(listed.map((p) => p.id));
  return {
    requested: CREATES,
    created: created.length,
    failed,
    seconds: +seconds.toFixed(1),
    duplicate_addresses: created.length - new Set(created.map((p) => p.fixed_ips[0].ip_address)).size,
    duplicate_macs: created.length - new Set(created.map((p) => p.mac_address)).size,
    lost: created.filter((p) => !listedIds.has(p.id)).length,
  };
}

const cluster = await startPostgres();
try {
  const result: Record<string, unknown> = {
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadavg_start: loadavg().map((l) => +l.toFixed(1)) },
    clients: CLIENTS,
  };
  for (const workers of [1, 2]) {
    result[`port_create_workers_${workers}`] = await withServer(cluster.url, workers, throughput);
  }
  result.concurrent_creates_workers_2 = await withServer(cluster.url, 2, concurrentCreates);
  (result.machine as Record<string, unknown>).loadavg_end = loadavg().map((l) => +l.toFixed(1));
  console.log(JSON.stringify(result, null, 2));
} finally {
  await cluster.stop();
}
