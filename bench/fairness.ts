// Fairness: while BENCH_LISTERS (15) clients of one project list its BENCH_PORTS (5,000) ports over
// and over (the whole list, no limit), one client of another project shows its own network serially;
// reports that show's latency (p50/p99) under the list load and alone, and the lists' own latency.
// Starts a real `neutrino server` process (SQLite file in a temp dir). Prints one JSON object.
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { api, issueToken, memberProject, type Api } from '../test/helpers/client.ts';
import { memberProjectId, pct, startServer, timed } from './server-process.ts';

const PORTS = Number(process.env.BENCH_PORTS ?? 5000);
const LISTERS = Number(process.env.BENCH_LISTERS ?? 15);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

const LISTERS_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, token, clients } = workerData;
let on = true;
const ms = [];
parentPort.once('message', () => (on = false));
Promise.all(Array.from({ length: clients }, async () => {
  while (on) {
    const t = performance.now();
    const r = await fetch(url, { headers: { 'x-auth-token': token } });
    const body = await r.arrayBuffer();
    if (r.status !== 200 || body.byteLength < 1000) throw new Error('list failed: ' + r.status);
    ms.push(performance.now() - t);
  }
})).then(() => parentPort.postMessage(ms));
`;

/** Serial shows of `path` for `ms` milliseconds; their latencies. */
async function showFor(client: Api, path: string, ms: number): Promise<number[]> {
  const out: number[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    const [t, r] = await timed(() => client.get(path));
    if (r.status !== 200) throw new Error(`show failed: ${r.status}`);
    out.push(t);
  }
  return out;
}

const server = await startServer((process.env.NEUTRINO_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean));
try {
  const admin = await issueToken(server.url, 'admin', server.password, 'admin');
  const busyToken = (await memberProject(server.url, admin, 'busy')).token;
  const busy = api(server.url, busyToken);
  const other = api(server.url, (await memberProject(server.url, admin, 'other')).token);
  await api(server.url, admin).put(`/quotas/${await memberProjectId(server.url, admin, 'busy')}`, { quota: { port: -1 } });
  const net = (await busy.post('/networks', { network: { name: 'busy' } })).body.network;
  await busy.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.0.0.0/16' } });
  // Bulk creates of 100: the setup is not what is measured.
  for (let i = 0; i < PORTS; i += 100) {
    const n = Math.min(100, PORTS - i);
    const r = await busy.post('/ports', {
      ports: Array.from({ length: n }, (_, j) => ({ network_id: net.id, device_id: `dev-${i + j}` })),
    });
    if (r.status !== 201) throw new Error(`bulk create failed: ${r.status} ${JSON.stringify(r.body)}`);
  }
  const own = (await other.post('/networks', { network: { name: 'other' } })).body.network;
  const path = `/networks/${own.id}`;

  await showFor(other, path, 1000); // warm-up
  const alone = await showFor(other, path, SECONDS * 1000);

  // The listers run in a worker thread of their own, reading each body without parsing it, so that the
  // show's client is not held up by this process's own work on 5 MB answers.
  const listers = new Worker(LISTERS_CODE, {
    eval: true,
    workerData: { url: `${server.url}/v2.0/ports`, token: busyToken, clients: LISTERS },
  });
  const lists = new Promise<number[]>((resolve, reject) => listers.once('message', resolve).once('error', reject));
  await new Promise((r) => setTimeout(r, 1000)); // the list load is on
  const loaded = await showFor(other, path, SECONDS * 1000);
  listers.postMessage('stop');
  const listMs = await lists;
  await listers.terminate();

  console.log(
    JSON.stringify(
      {
        benchmark: 'fairness',
        machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
        ports: PORTS,
        listers: LISTERS,
        network_show_alone_ms: { p50: pct(alone, 50), p99: pct(alone, 99), n: alone.length },
        network_show_during_lists_ms: { p50: pct(loaded, 50), p99: pct(loaded, 99), max: pct(loaded, 100), n: loaded.length },
        list_during_ms: { p50: pct(listMs, 50), p99: pct(listMs, 99), n: listMs.length },
      },
      null,
      2,
    ),
  );
} finally {
  await server.stop();
}
