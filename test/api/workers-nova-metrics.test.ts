// A server with two API workers on one PostgreSQL database. Nova's port events: each is sent once,
// by the worker whose unit of work committed the change (the commit is heard only in the process
// that made it), never by both. Metrics: whole, whichever way they are read — from the primary on
// --metrics-listen or from a worker on the API listener, both merge every worker's (requests
// summed, the store's gauges taken once). Status reports arrive over fresh connections, which
// node:cluster deals out to both workers in turn.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, startPostgres, type PostgresCluster } from '../helpers/postgres.ts';
import { freePort, listening, spawnServer, stopServer, type ServerProcess } from '../helpers/server-process.ts';
import { adminToken, api } from '../helpers/client.ts';
import { ADMIN_PASSWORD } from '../helpers/server.ts';
import { startStandInNova, type StandInNova } from '../helpers/nova.ts';
import { family, parsePrometheus, samples, value } from '../helpers/prometheus.ts';

let cluster: PostgresCluster;
let server: ServerProcess;
let nova: StandInNova;
let dir: string;
let metricsPort: number;

before(async () => {
  cluster = await startPostgres();
  const db = await createDatabase(cluster.url);
  dir = mkdtempSync(join(tmpdir(), 'neutrino-nova-workers-'));
  const port = await freePort();
  const identity = `http://127.0.0.1:${port}/identity/v3`;
  nova = await startStandInNova({ identityUrl: identity });
  const conf = join(dir, 'neutrino.conf');
  writeFileSync(
    conf,
    [
      '[DEFAULT]',
      'send_events_interval = 1',
      '[neutrino]',
      `catalog_compute_url = ${nova.endpoint}`,
      '[nova]',
      'auth_type = password',
      `auth_url = ${identity}`,
      'username = admin',
      `password = ${ADMIN_PASSWORD}`,
      'project_name = admin',
      'user_domain_name = Default',
      'project_domain_name = Default',
      'region_name = RegionOne',
      '',
    ].join('\n'),
  );
  metricsPort = await freePort();
  server = spawnServer(join(dir, 'state'), port, { NEUTRINO_ADMIN_PASSWORD: ADMIN_PASSWORD }, [
    '--metrics-listen',
    `127.0.0.1:${metricsPort}`,
    '--db',
    db.url,
    '--workers',
    '2',
    '--config',
    conf,
  ]);
  await listening(server, 60_000);
});

after(async () => {
  if (server) await stopServer(server);
  await nova?.close();
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** POST over a connection of its own (no keep-alive), so the cluster hands it to the next worker. */
function postOnNewConnection(url: string, token: string, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', agent: false, headers: { 'x-auth-token': token, 'content-type': 'application/json' } });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

test('two workers: every port event reaches Nova exactly once, sent by the worker that committed it', async () => {
  const token = await adminToken(server.url);
  const admin = api(server.url, token);
  const net = (await admin.post('/networks', { network: { name: 'n' } })).body.network.id as string;
  await admin.post('/subnets', { subnet: { network_id: net, cidr: '10.8.0.0/24', ip_version: 4 } });
  const ports: string[] = [];
  for (let i = 0; i < 16; i++) {
    const deviceId = randomUUID();
    nova.instances.add(deviceId);
    const r = await admin.post('/ports', {
      port: { network_id: net, device_owner: 'compute:nova', device_id: deviceId, 'binding:host_id': 'compute1' },
    });
    assert.equal(r.status, 201);
    ports.push(r.body.port.id);
  }
  const statusUrl = `${server.url}/v2.0/neutrino/hosts/compute1/port-status`;
  for (const id of ports) assert.equal(await postOnNewConnection(statusUrl, token, { ports: { [id]: 'ACTIVE' } }), 200);
  await nova.waitFor((events) => ports.every((id) => events.some((e) => e.tag === id)), 30_000);
  // Two more intervals: a duplicate sent by the other worker would have arrived by now.
  await new Promise((r) => setTimeout(r, 2500));
  const plugged = nova.delivered().filter((e) => e.name === 'network-vif-plugged');
  assert.deepEqual(plugged.map((e) => e.tag).sort(), [...ports].sort(), 'each port once');
  assert.deepEqual(nova.violations, []);
  // Both workers took status reports, and each sent the events of its own commits.
  const senders = new Set(
    server
      .output()
      .split('\n')
      .filter((l) => l.includes('"sent events to Nova"'))
      .map((l) => (JSON.parse(l) as { pid: number }).pid),
  );
  assert.equal(senders.size, 2, `events sent by both workers (pids ${[...senders].join(', ')})`);
});

test('two workers: metrics are whole on --metrics-listen (primary) and on the API listener (a worker)', async () => {
  const token = await adminToken(server.url);
  // The test above made 16 status reports through both workers and left 16 ports ACTIVE.
  const fromPrimary = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const fromWorker = await (await fetch(`${server.url}/metrics`, { headers: { 'x-auth-token': token } })).text();
  for (const text of [fromPrimary, fromWorker]) {
    const m = parsePrometheus(text);
    const route = { method: 'POST', route: '/v2.0/neutrino/hosts/:host/port-status', status: '200' };
    assert.equal(samples(family(m, 'neutrino_http_request_duration_seconds', 'HISTOGRAM'), route)[0]?.count, '16');
    assert.equal(value(family(m, 'neutrino_ports', 'GAUGE'), { status: 'ACTIVE' }), 16, 'taken once, not summed');
  }
  assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/other`)).status, 404);
});
