// The crash test: 8 concurrent writers create, update and delete ports, routers (gateways and
// interfaces) and floating IPs while the server process is killed with SIGKILL and restarted on the
// same state directory. Afterwards every acknowledged write is there, every acknowledged delete is
// gone, and the SQLite file holds no half-written object, orphan or double allocation.
// Spawns bin/neutrino.js: run `npm run build` first. Needs no root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, issueToken, request, type Reply } from '../helpers/client.ts';
import { CrashWriter, type CrashNets } from '../helpers/crash-writer.ts';
import { apiProblems, storeProblems } from '../helpers/crash-verify.ts';
import { freePort, listening, spawnServer, stopServer, type ServerProcess } from '../helpers/server-process.ts';

const WRITERS = 8;
const KILLS = 5;
const PASSWORD = 'crash-admin';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function setUp(base: string): Promise<{ token: string; nets: CrashNets }> {
  const token = await issueToken(base, 'admin', PASSWORD, 'admin');
  const admin = api(base, token);
  const ok = async (p: Promise<Reply>) => {
    const r = await p;
    assert.ok(r.status < 300, JSON.stringify(r.body));
    return r.body;
  };
  const project = (await request(`${base}/identity/v3/projects?name=admin`, 'GET', token)).body.projects[0].id;
  // 8 writers × 2 routers exceed the default router quota of 10.
  await ok(admin.put(`/quotas/${project}`, { quota: { router: -1, floatingip: -1, port: -1 } }));
  const ext = (
    await ok(
      admin.post('/networks', {
        network: { name: 'crash-ext', 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'provider' },
      }),
    )
  ).network.id;
  await ok(admin.post('/subnets', { subnet: { network_id: ext, ip_version: 4, cidr: '203.0.113.0/24', enable_dhcp: false } }));
  const a = (await ok(admin.post('/networks', { network: { name: 'crash-a' } }))).network.id;
  const subnetA = (await ok(admin.post('/subnets', { subnet: { network_id: a, ip_version: 4, cidr: '10.20.0.0/24', enable_dhcp: false } })))
    .subnet.id;
  const b = (await ok(admin.post('/networks', { network: { name: 'crash-b' } }))).network.id;
  await ok(admin.post('/subnets', { subnet: { network_id: b, ip_version: 4, cidr: '10.30.0.0/24', enable_dhcp: false } }));
  // The standing router that makes network A's ports reachable for floating IPs.
  const r0 = (await ok(admin.post('/routers', { router: { name: 'crash-r0', external_gateway_info: { network_id: ext } } }))).router.id;
  await ok(admin.put(`/routers/${r0}/add_router_interface`, { subnet_id: subnetA }));
  return { token, nets: { ext, a, b } };
}

test('SIGKILL during concurrent writes loses no acknowledged write and leaves nothing half-written', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-crash-'));
  const port = await freePort();
  let server: ServerProcess = spawnServer(dir, port, { NEUTRINO_ADMIN_PASSWORD: PASSWORD }, ['--log-level', 'warn']);
  const t0 = Date.now();
  let writers: CrashWriter[] = [];
  try {
    await listening(server);
    const { token, nets } = await setUp(server.url);
    writers = Array.from({ length: WRITERS }, (_, i) => new CrashWriter(server.url, token, `crash-w${i}`, nets));
    let stopped = false;
    const running = writers.map((w) => w.run(() => stopped));
    // A writer failing (an unexpected answer) fails the test at once rather than after the kills.
    const failed = Promise.race(running.map((r) => r.then(() => new Promise<never>(() => undefined))));
    failed.catch(() => undefined); // also awaited below, through `running`

    let kills = 0;
    let restarts = 0;
    let abort = false;
    const killLoop = (async () => {
      for (let k = 0; k < KILLS && !abort; k++) {
        await sleep(1500 + Math.random() * 1500);
        await stopServer(server, 'SIGKILL');
        kills++;
        server = spawnServer(dir, port, {}, ['--log-level', 'warn']);
        await listening(server);
        restarts++;
      }
      await sleep(1500);
    })();
    try {
      await Promise.race([killLoop, failed]);
    } finally {
      stopped = true;
      abort = true;
      await killLoop.catch(() => undefined);
    }
    await Promise.all(running);

    const admin = api(server.url, token);
    assert.deepEqual(await apiProblems(admin, writers, nets), []);
    await stopServer(server, 'SIGTERM');
    assert.equal(await server.exited, 0, server.output());
    const store = storeProblems(join(dir, 'neutrino.db'));
    assert.deepEqual(store.problems, []);

    const sum = (k: 'acknowledged' | 'settledApplied' | 'settledNotApplied') => writers.reduce((n, w) => n + w.stats[k], 0);
    assert.equal(kills, KILLS);
    assert.ok(sum('acknowledged') > 100, `only ${sum('acknowledged')} writes acknowledged`);
    // The counts the README records.
    console.log(
      `crash test: ${WRITERS} writers, ${sum('acknowledged')} writes acknowledged, ${kills} SIGKILLs, ${restarts} restarts, ` +
        `${sum('settledApplied')} unanswered writes found applied and ${sum('settledNotApplied')} found not applied (then resent); ` +
        `final store ${JSON.stringify(store.counts)}; ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  } finally {
    for (const w of writers) w.halt();
    await stopServer(server, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
