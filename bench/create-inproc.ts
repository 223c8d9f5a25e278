// Port creates inside this process, through Fastify's inject (no sockets, no client processes): the
// server's own CPU per create with nothing else counted, steadier than bench:create on a busy machine,
// and a clean profile under `node --cpu-prof`. BENCH_PORTS (4,000) creates on one /16 from
// BENCH_CLIENTS (8) concurrent callers, after BENCH_WARMUP (1,000) not measured. BENCH_ENGINE=postgres
// keeps the state in a real PostgreSQL cluster started for the run (as root: the cluster runs as an
// unprivileged user); its CPU is not counted. Prints one JSON object.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/api/app.ts';
import { defaultServerConfig } from '../src/server-config.ts';
import { openDb } from '../src/store/db.ts';
import { createDatabase, startPostgres } from '../test/helpers/postgres.ts';

const PORTS = Number(process.env.BENCH_PORTS ?? 4000);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 1000);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const ENGINE = process.env.BENCH_ENGINE ?? 'sqlite';
if (ENGINE !== 'sqlite' && ENGINE !== 'postgres') throw new Error(`BENCH_ENGINE must be sqlite or postgres, not ${ENGINE}`);

const stateDir = mkdtempSync(join(tmpdir(), 'neutrino-bench-'));
const cluster = ENGINE === 'postgres' ? await startPostgres() : null;
const database = cluster ? await createDatabase(cluster.url) : null;
const db = await openDb({ stateDir, engine: database ? { kind: 'postgres', url: database.url } : undefined });
const { http, identity } = await buildApp({ config: { ...defaultServerConfig, stateDir, host: '127.0.0.1', port: 0 }, db });
try {
  await identity.bootstrap('bench-admin');
  const call = async (method: 'GET' | 'POST' | 'PUT', url: string, token: string | null, payload?: object) => {
    const r = await http.inject({ method, url, payload, headers: token ? { 'x-auth-token': token } : {} });
    return { status: r.statusCode, headers: r.headers, body: r.body ? JSON.parse(r.body) : null };
  };
  const tokenFor = async (project: string) =>
    (
      await call('POST', '/identity/v3/auth/tokens', null, {
        auth: {
          identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: 'bench-admin' } } },
          scope: { project: { name: project, domain: { id: 'default' } } },
        },
      })
    ).headers['x-subject-token'] as string;
  const admin = await tokenFor('admin');
  const projectId = (await call('POST', '/identity/v3/projects', admin, { project: { name: 'bench', domain_id: 'default' } })).body.project
    .id;
  const member = (await call('GET', '/identity/v3/roles?name=member', admin, undefined)).body.roles[0].id;
  const adminUser = (await call('GET', '/identity/v3/users?name=admin', admin, undefined)).body.users[0].id;
  await call('PUT', `/identity/v3/projects/${projectId}/users/${adminUser}/roles/${member}`, admin);
  const token = await tokenFor('bench');
  await call('PUT', `/v2.0/quotas/${projectId}`, admin, { quota: { port: -1 } });
  const net = (await call('POST', '/v2.0/networks', token, { network: { name: 'bench' } })).body.network;
  await call('POST', '/v2.0/subnets', token, { subnet: { network_id: net.id, ip_version: 4, cidr: '10.0.0.0/16' } });

  const run = async (from: number, to: number) => {
    let next = from;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < to) {
          const i = next++;
          const r = await call('POST', '/v2.0/ports', token, { port: { network_id: net.id, device_id: `dev-${i}` } });
          if (r.status !== 201) throw new Error(`create failed: ${r.status} ${JSON.stringify(r.body)}`);
        }
      }),
    );
  };
  await run(0, WARMUP);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run(WARMUP, WARMUP + PORTS);
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  console.log(
    JSON.stringify({
      benchmark: 'create-inproc',
      engine: ENGINE,
      ports: PORTS,
      creates_per_s: +((PORTS / wall) * 1000).toFixed(1),
      cpu_ms_per_create: +((cpu.user + cpu.system) / 1000 / PORTS).toFixed(3),
      user_ms_per_create: +(cpu.user / 1000 / PORTS).toFixed(3),
    }),
  );
} finally {
  await http.close();
  await db.destroy();
  await database?.drop();
  await cluster?.stop();
  rmSync(stateDir, { recursive: true, force: true });
}
