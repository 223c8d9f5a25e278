// Change-feed fan-out: BENCH_AGENTS (100) agents' host watches (the agent's own HostWatch and
// NeutrinoClient, each with its own token, all in this one process rather than 100 agent processes)
// long-poll a real `neutrino server` process (SQLite file in a temp dir). Each host has one port bound
// to it on a shared network. Then BENCH_ROUNDS (20) times: one port update (admin_state_up toggled),
// and the time from sending it until each watch holds a host view at or past the update's revision
// (by a delta of the view it holds, or whole when the server cannot make one).
// Prints one JSON object.
import { cpus } from 'node:os';
import { pino } from 'pino';
import { HostWatch } from '../src/agent/host-watch.js';
import { NeutrinoClient } from '../src/client/neutrino.js';
import { api, issueToken } from '../test/helpers/client.js';
import { pct, startServer } from './server-process.js';

const AGENTS = Number(process.env.BENCH_AGENTS ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const WAIT_S = 30;

const server = await startServer((process.env.NEUTRINO_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean));
const stop = new AbortController();
try {
  const adminToken = await issueToken(server.url, 'admin', server.password, 'admin');
  const admin = api(server.url, adminToken);
  const net = (await admin.post('/networks', { network: { name: 'fanout' } })).body.network;
  await admin.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.0.0.0/16' } });
  const hosts = Array.from({ length: AGENTS }, (_, i) => `host-${i}`);
  const ports: string[] = [];
  for (const host of hosts) {
    const r = await admin.post('/ports', { port: { network_id: net.id, 'binding:host_id': host, device_id: `vm-${host}` } });
    if (r.status !== 201) throw new Error(`port create failed: ${r.status} ${JSON.stringify(r.body)}`);
    ports.push(r.body.port.id);
  }

  const log = pino({ level: 'silent' });
  const watches = hosts.map(
    (host) =>
      new HostWatch(new NeutrinoClient({ url: server.url }, { username: 'admin', password: server.password, project: 'admin' }), host, log),
  );
  // Each watch reports the revision its view has reached after every step.
  let onStep: (i: number) => void = () => undefined;
  const loops = watches.map(async (w, i) => {
    while (!stop.signal.aborted) {
      await w.follow(WAIT_S, stop.signal);
      onStep(i);
    }
  });
  const headOf = async (since: number): Promise<number> => (await admin.get(`/neutrino/changes?since=${since}`)).body.revision as number;
  // All watches synced to the current head before the first round.
  const ready = await headOf(0);
  while (watches.some((w) => !w.view || w.revision < ready)) await new Promise((r) => setTimeout(r, 20));

  const latencies: number[] = [];
  const lastOfRound: number[] = [];
  // The server's CPU time over the rounds: less disturbed by other load than the latencies.
  const cpuBefore = server.cpuMs();
  for (let round = 0; round < ROUNDS; round++) {
    const before = await headOf(0);
    const port = ports[round % AGENTS];
    const host = hosts[round % AGENTS];
    const reached = new Map<number, number>();
    let target = Infinity;
    let setTarget: (r: number) => void = () => undefined;
    let t0 = 0;
    // When each watch reached each revision this round: the update's revision is known only once the
    // head is read, an answer that can queue behind the fan-out it measures.
    const steps = watches.map((): Array<[number, number]> => []);
    const done = new Promise<void>((resolve) => {
      const check = () => {
        for (let i = 0; i < watches.length; i++) {
          const at = steps[i].find(([rev]) => rev >= target);
          if (!reached.has(i) && at) reached.set(i, at[1] - t0);
        }
        if (reached.size === watches.length) resolve();
      };
      onStep = (i) => {
        steps[i].push([watches[i].revision, performance.now()]);
        check();
      };
      setTarget = (r) => {
        target = r;
        check();
      };
    });
    t0 = performance.now();
    const r = await admin.put(`/ports/${port}`, { port: { admin_state_up: round % 2 === 1 } });
    if (r.status !== 200) throw new Error(`port update failed: ${r.status}`);
    setTarget(await headOf(before));
    await done;
    const own = watches[round % AGENTS].view!.ports.find((p) => p.id === port);
    if (own?.admin_state_up !== (round % 2 === 1)) throw new Error(`the view of ${host} does not show the update`);
    latencies.push(...reached.values());
    lastOfRound.push(Math.max(...reached.values()));
  }

  const serverCpuPerUpdate = (server.cpuMs() - cpuBefore) / ROUNDS;
  console.log(
    JSON.stringify(
      {
        benchmark: 'fanout',
        machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
        agents: AGENTS,
        rounds: ROUNDS,
        update_to_view_ms: { p50: pct(latencies, 50), p99: pct(latencies, 99), max: pct(latencies, 100), n: latencies.length },
        update_to_last_view_ms: { p50: pct(lastOfRound, 50), max: pct(lastOfRound, 100) },
        full_syncs: watches.reduce((n, w) => n + w.stats.fullSyncs, 0),
        deltas: watches.reduce((n, w) => n + w.stats.deltas, 0),
        server_cpu_ms_per_update: Math.round(serverCpuPerUpdate),
      },
      null,
      2,
    ),
  );
  stop.abort();
  await Promise.all(loops);
} finally {
  stop.abort();
  await server.stop();
}
