// API benchmark: starts a real `neutrino server` process (SQLite file in a temp dir) and measures
// port-create latency serial and with 8 concurrent clients, requests per second on a show call,
// and list-ports latency with 1,000 ports (BENCH_LIST_PORTS=N for another count): the whole list, by
// device_id, and pages of 100 (first, after a marker, sorted); the server's CPU time per whole list, and
// a list of three fields. Prints one JSON object.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { api, issueToken, memberProject } from '../test/helpers/client.ts';
import { processCpuMs } from './server-process.ts';

const PASSWORD = 'bench-admin';
const LIST_PORTS = Number(process.env.BENCH_LIST_PORTS ?? 1000);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return +s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))].toFixed(2);
};

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const r = await fn();
  return [performance.now() - t, r];
}

async function main() {
  const state = mkdtempSync(join(tmpdir(), 'neutrino-bench-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = spawn(
    process.execPath,
    ['bin/neutrino.js', 'server', '--state-dir', state, '--listen', `127.0.0.1:${port}`, '--log-level', 'warn'],
    {
      env: { ...process.env, NEUTRINO_ADMIN_PASSWORD: PASSWORD },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  try {
    for (let i = 0; ; i++) {
      try {
        await fetch(url);
        break;
      } catch {
        if (i > 100) throw new Error('server did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const admin = await issueToken(url, 'admin', PASSWORD, 'admin');
    // Token issue (scrypt password check included), serial.
    const tokenMs: number[] = [];
    for (let i = 0; i < 20; i++) tokenMs.push((await timed(() => issueToken(url, 'admin', PASSWORD, 'admin')))[0]);
    const demo = api(url, (await memberProject(url, admin, 'bench')).token);
    await api(url, admin).put(`/quotas/${await memberProjectId(url, admin)}`, { quota: { port: -1 } });
    const net = (await demo.post('/networks', { network: { name: 'bench' } })).body.network;
    await demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.0.0.0/16' } });
    const create = (i: number) => demo.post('/ports', { port: { network_id: net.id, device_id: `dev-${i}` } });

    // Warm up (JIT, SQLite page cache).
    for (let i = 0; i < 20; i++) await create(-i - 1);

    const serial: number[] = [];
    for (let i = 0; i < 200; i++) serial.push((await timed(() => create(i)))[0]);

    const concurrent: number[] = [];
    let next = 200;
    const [wall] = await timed(() =>
      Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < 600) {
            const i = next++;
            const [ms, r] = await timed(() => create(i));
            if (r.status !== 201) throw new Error(`create failed: ${r.status}`);
            concurrent.push(ms);
          }
        }),
      ),
    );

    // Bring the network to LIST_PORTS ports (1,000 unless BENCH_LIST_PORTS says) for the list measurements.
    const existing = (await demo.get(`/ports?network_id=${net.id}&fields=id`)).body.ports.length;
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = existing + w; i < LIST_PORTS; i += 8) await create(LIST_PORTS + i);
      }),
    );
    const count = (await demo.get(`/ports?network_id=${net.id}&fields=id`)).body.ports.length;

    const listAll: number[] = [];
    const listFiltered: number[] = [];
    const firstPage: number[] = [];
    const laterPage: number[] = [];
    const sortedPage: number[] = [];
    const middle = (await demo.get('/ports?fields=id')).body.ports[Math.floor(count / 2)].id as string;
    for (let i = 0; i < 20; i++) {
      listAll.push((await timed(() => demo.get('/ports')))[0]);
      listFiltered.push((await timed(() => demo.get(`/ports?device_id=dev-${i * 7}`)))[0]);
      firstPage.push((await timed(() => demo.get('/ports?limit=100')))[0]);
      laterPage.push((await timed(() => demo.get(`/ports?limit=100&marker=${middle}`)))[0]);
      sortedPage.push((await timed(() => demo.get(`/ports?limit=100&sort_key=mac_address&sort_dir=desc&marker=${middle}`)))[0]);
    }

    // Server CPU per full list (read from /proc, less disturbed by other processes than the wall time),
    // and a list that asks for three fields only.
    const cpu0 = processCpuMs(server.pid!);
    for (let i = 0; i < 20; i++) await demo.get('/ports');
    const listCpuMs = (processCpuMs(server.pid!) - cpu0) / 20;
    const someFields: number[] = [];
    for (let i = 0; i < 20; i++) {
      someFields.push((await timed(() => demo.get('/ports?fields=id&fields=mac_address&fields=fixed_ips')))[0]);
    }

    const showMs: number[] = [];
    let shows = 0;
    const [showWall] = await timed(() =>
      Promise.all(
        Array.from({ length: 8 }, async () => {
          const t0 = performance.now();
          while (performance.now() - t0 < 3000) {
            const [ms] = await timed(() => demo.get(`/networks/${net.id}`));
            showMs.push(ms);
            shows++;
          }
        }),
      ),
    );

    console.log(
      JSON.stringify(
        {
          benchmark: 'api',
          machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
          token_issue_ms: { p50: pct(tokenMs, 50), p95: pct(tokenMs, 95) },
          port_create_serial_ms: { p50: pct(serial, 50), p95: pct(serial, 95), n: serial.length },
          port_create_8_clients: {
            ports_per_s: +((concurrent.length / wall) * 1000).toFixed(1),
            p50_ms: pct(concurrent, 50),
            p95_ms: pct(concurrent, 95),
            n: concurrent.length,
          },
          network_show_8_clients: {
            requests_per_s: +((shows / showWall) * 1000).toFixed(0),
            p50_ms: pct(showMs, 50),
            p95_ms: pct(showMs, 95),
          },
          list_ports_ms: {
            ports: count,
            unfiltered: { p50: pct(listAll, 50), p95: pct(listAll, 95), server_cpu_ms: +listCpuMs.toFixed(1) },
            three_fields: { p50: pct(someFields, 50), p95: pct(someFields, 95) },
            by_device_id: { p50: pct(listFiltered, 50), p95: pct(listFiltered, 95) },
            limit_100_first_page: { p50: pct(firstPage, 50), p95: pct(firstPage, 95) },
            limit_100_after_marker: { p50: pct(laterPage, 50), p95: pct(laterPage, 95) },
            limit_100_by_mac_desc_after_marker: { p50: pct(sortedPage, 50), p95: pct(sortedPage, 95) },
          },
        },
        null,
        2,
      ),
    );
  } finally {
    server.kill('SIGTERM');
    rmSync(state, { recursive: true, force: true });
  }
}

async function memberProjectId(url: string, admin: string): Promise<string> {
  const r = await fetch(`${url}/identity/v3/projects?name=bench`, { headers: { 'x-auth-token': admin } });
  return ((await r.json()) as { projects: Array<{ id: string }> }).projects[0].id;
}

await main();
