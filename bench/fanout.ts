// Change-feed fan-out: BENCH_AGENTS (100) agents' host watches (the agent's own HostWatch and
// NeutrinoClient, each with its own token, all in this one process rather than 100 agent processes)
// long-poll a real `neutrino server` process (SQLite file in a temp dir). Each host has one port bound
// to it on a shared network (no agents registered: no VXLAN endpoints, so no host holds another's
// port). Then BENCH_ROUNDS (20) times a port update (admin_state_up toggled: it concerns its host's
// view alone), timed until that host's view shows it; then BENCH_ROUNDS times a network rename (it
// concerns every view), timed until each view shows it. Per kind: the server's CPU time and the
// answers the watches got, per update. Prints one JSON object.
import { cpus, loadavg } from 'node:os';
import { pino } from 'pino';
import { HostWatch } from '../src/agent/host-watch.ts';
import { NeutrinoClient } from '../src/client/neutrino.ts';
import { api, issueToken } from '../test/helpers/client.ts';
import { pct, startServer } from './server-process.ts';

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

  /** Until `seen(i)` holds for every watch of `which` after its latest step: each one's time since `t0`. */
  const until = (which: number[], seen: (i: number) => boolean, t0: number) =>
    new Promise<number[]>((resolve) => {
      const reached = new Map<number, number>();
      const check = (i: number) => {
        if (!reached.has(i) && which.includes(i) && seen(i)) reached.set(i, performance.now() - t0);
        if (reached.size === which.length) resolve(which.map((w) => reached.get(w)!));
      };
      onStep = check;
      for (const i of which) check(i);
    });
  const answers = () => watches.reduce((n, w) => n + w.stats.fullSyncs + w.stats.deltas, 0);
  const settle = () => new Promise((r) => setTimeout(r, 1000));

  // A port update concerns its own host's view only; the server's CPU time is the least disturbed figure.
  const portLatencies: number[] = [];
  let cpu = server.cpuMs();
  let sent = answers();
  for (let round = 0; round < ROUNDS; round++) {
    const i = round % AGENTS;
    const up = round % 2 === 1;
    const t0 = performance.now();
    const shown = until([i], (w) => watches[w].view!.ports.find((p) => p.id === ports[i])?.admin_state_up === up, t0);
    const r = await admin.put(`/ports/${ports[i]}`, { port: { admin_state_up: up } });
    if (r.status !== 200) throw new Error(`port update failed: ${r.status}`);
    portLatencies.push(...(await shown));
  }
  await settle();
  const portCpu = (server.cpuMs() - cpu) / ROUNDS;
  const portAnswers = (answers() - sent) / ROUNDS;

  // A network rename concerns every view: the worst case, as before.
  const netLatencies: number[] = [];
  const lastOfRound: number[] = [];
  cpu = server.cpuMs();
  sent = answers();
  const all = watches.map((_, i) => i);
  for (let round = 0; round < ROUNDS; round++) {
    const name = `fanout-${round}`;
    const t0 = performance.now();
    const shown = until(all, (w) => watches[w].view!.networks[0]?.name === name, t0);
    const r = await admin.put(`/networks/${net.id}`, { network: { name } });
    if (r.status !== 200) throw new Error(`network update failed: ${r.status}`);
    const got = await shown;
    netLatencies.push(...got);
    lastOfRound.push(Math.max(...got));
  }
  await settle();
  const netCpu = (server.cpuMs() - cpu) / ROUNDS;
  const netAnswers = (answers() - sent) / ROUNDS;

  console.log(
    JSON.stringify(
      {
        benchmark: 'fanout',
        machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
        load_average: loadavg().map((l) => Math.round(l * 10) / 10),
        agents: AGENTS,
        rounds: ROUNDS,
        port_update: {
          to_its_host_view_ms: { p50: pct(portLatencies, 50), p99: pct(portLatencies, 99), max: pct(portLatencies, 100) },
          answers_per_update: portAnswers,
          server_cpu_ms_per_update: Math.round(portCpu * 10) / 10,
        },
        network_update: {
          to_a_view_ms: { p50: pct(netLatencies, 50), p99: pct(netLatencies, 99), max: pct(netLatencies, 100) },
          to_last_of_views_ms: { p50: pct(lastOfRound, 50), max: pct(lastOfRound, 100) },
          answers_per_update: netAnswers,
          server_cpu_ms_per_update: Math.round(netCpu * 10) / 10,
        },
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
