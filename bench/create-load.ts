// Port-create load for profiling and for the cost curve: starts a real `neutrino server` process
// (SQLite file in a temp dir; NEUTRINO_SERVER_NODE_ARGS adds Node.js flags to it, e.g. --cpu-prof),
// creates BENCH_PORTS ports (10,000 unless told) on one network from BENCH_CLIENTS (8) concurrent
// clients, and reports the create rate and latency for each successive block of BENCH_BLOCK (1,000)
// ports, and the server's CPU time per create in each block, so that a cost growing with the
// network's size shows. Prints one JSON object.
import { cpus } from 'node:os';
import { api, issueToken, memberProject } from '../test/helpers/client.ts';
import { memberProjectId, pct, startServer, timed } from './server-process.ts';

const PORTS = Number(process.env.BENCH_PORTS ?? 10_000);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const BLOCK = Number(process.env.BENCH_BLOCK ?? 1000);

const server = await startServer((process.env.NEUTRINO_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean));
try {
  const admin = await issueToken(server.url, 'admin', server.password, 'admin');
  const demo = api(server.url, (await memberProject(server.url, admin, 'bench')).token);
  await api(server.url, admin).put(`/quotas/${await memberProjectId(server.url, admin, 'bench')}`, { quota: { port: -1 } });
  const net = (await demo.post('/networks', { network: { name: 'bench' } })).body.network;
  await demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.0.0.0/16' } });
  const create = (i: number) => demo.post('/ports', { port: { network_id: net.id, device_id: `dev-${i}` } });

  const blocks: Array<{ ports_before: number; ports_per_s: number; p50_ms: number; p95_ms: number; server_cpu_ms_per_create: number }> = [];
  for (let start = 0; start < PORTS; start += BLOCK) {
    const end = Math.min(PORTS, start + BLOCK);
    const ms: number[] = [];
    let next = start;
    const cpu0 = server.cpuMs();
    const [wall] = await timed(() =>
      Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          while (next < end) {
            const i = next++;
            const [t, r] = await timed(() => create(i));
            if (r.status !== 201) throw new Error(`create failed: ${r.status} ${JSON.stringify(r.body)}`);
            ms.push(t);
          }
        }),
      ),
    );
    blocks.push({
      ports_before: start,
      ports_per_s: +((ms.length / wall) * 1000).toFixed(1),
      p50_ms: pct(ms, 50),
      p95_ms: pct(ms, 95),
      // Less sensitive than the rate to other processes sharing the cores.
      server_cpu_ms_per_create: +((server.cpuMs() - cpu0) / ms.length).toFixed(3),
    });
  }
  console.log(
    JSON.stringify(
      {
        benchmark: 'create-load',
        machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
        clients: CLIENTS,
        blocks,
      },
      null,
      2,
    ),
  );
} finally {
  await server.stop();
}
