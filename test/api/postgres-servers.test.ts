// Two `neutrino server` processes on one real PostgreSQL database: a write through one reaches a
// long-poll on the other at once (LISTEN/NOTIFY), concurrent creates through both never share an
// address or MAC, and a watcher following the feed sees every revision exactly once, in order.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createDatabase, startPostgres, type PostgresCluster } from '../helpers/postgres.ts';
import { freePort, listening, spawnServer, stopServer, type ServerProcess } from '../helpers/server-process.ts';
import { adminToken, api, memberProject, type Api } from '../helpers/client.ts';
import { ADMIN_PASSWORD } from '../helpers/server.ts';
import type { Change, Port } from '../helpers/shapes.ts';
import { NeutrinoClient } from '../../src/client/neutrino.ts';
import { UnreachableError } from '../../src/client/reach.ts';
import { HostWatch } from '../../src/agent/host-watch.ts';
import pino from 'pino';

let cluster: PostgresCluster;
const dirs: string[] = [];
const servers: ServerProcess[] = [];
let a: Api;
let b: Api;
/** Admin through the first server (port bindings are admin-only). */
let aAdmin: Api;
/** The feed is the agents' (admin) view; read through the second server. */
let feedB: Api;
let sharedDb: string;
/** The member project's token (good at every server: they share one store). */
let demoToken: string;
let serverB: ServerProcess;

type FeedChange = Change & { revision: number };
type FeedPage = { revision: number; changes: FeedChange[] };

async function startServer(dbUrl: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-pgsrv-'));
  dirs.push(dir);
  const server = spawnServer(dir, await freePort(), env, ['--db', dbUrl]);
  servers.push(server);
  await listening(server, 30_000);
  return server;
}

before(async () => {
  cluster = await startPostgres();
  const db = await createDatabase(cluster.url);
  sharedDb = db.url;
  // Both start at once: the schema is migrated once, under the migrator's lock.
  const [one, two] = await Promise.all([
    startServer(db.url, { NEUTRINO_ADMIN_PASSWORD: ADMIN_PASSWORD }),
    startServer(db.url, { NEUTRINO_ADMIN_PASSWORD: ADMIN_PASSWORD }),
  ]);
  const demo = await memberProject(one.url, await adminToken(one.url), 'demo');
  demoToken = demo.token;
  a = api(one.url, demo.token);
  aAdmin = api(one.url, await adminToken(one.url));
  // A token issued by one server is good at the other: they share one store.
  b = api(two.url, demo.token);
  serverB = two;
  feedB = api(two.url, await adminToken(two.url));
});

after(async () => {
  for (const s of servers) await stopServer(s);
  await cluster?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const head = async (): Promise<number> => (await feedB.get<FeedPage>('/neutrino/changes?since=0')).body.revision;

test("a write through one server answers a long-poll waiting on the other before the poll's own deadline", async () => {
  const since = await head();
  const polling = feedB.get<FeedPage>(`/neutrino/changes?since=${since}&wait=50`);
  await new Promise((r) => setTimeout(r, 300));
  const net = (await a.post('/networks', { network: { name: 'heard-across' } })).body.network;
  const t0 = Date.now();
  const page = (await polling).body;
  assert.ok(
    page.changes.some((c) => c.resource === 'network' && c.resource_id === net.id && c.op === 'create'),
    JSON.stringify(page),
  );
  // The poll would otherwise have waited its 50 s out (and answered with nothing).
  assert.ok(Date.now() - t0 < 45_000);
});

test('an agent watching through one server gets, as a delta, a port bound to it through the other; the same view as a whole fetch', async () => {
  const net = (await a.post('/networks', { network: { name: 'delta-across' } })).body.network;
  await a.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.77.1.0/24' } });
  const bind = async (name: string) => {
    const port = (await a.post('/ports', { port: { network_id: net.id, device_owner: 'compute:nova', device_id: name } })).body.port;
    assert.equal((await aAdmin.put(`/ports/${port.id}`, { port: { 'binding:host_id': 'pg-node' } })).status, 200);
    return port;
  };
  await bind('vm-first');
  const client = new NeutrinoClient({ url: serverB.url }, { username: 'admin', password: ADMIN_PASSWORD, project: 'admin' });
  const watch = new HostWatch(client, 'pg-node', pino({ level: 'silent' }));
  await watch.follow(0);
  const waiting = watch.follow(50);
  await delay(300);
  const port = await bind('vm-across');
  await waiting;
  // The first write alone may wake the poll: follow until the binding is in.
  while (!watch.view!.ports.some((p) => p.id === port.id)) await watch.follow(10);
  assert.equal(watch.stats.fullSyncs, 1, 'after the first fetch, deltas only');
  assert.ok(watch.stats.deltas >= 1);
  const whole = (await feedB.get(`/neutrino/hosts/pg-node/view`)).body.view;
  // A change's row is read as it is now: the binding can come in with the port's creation, under that
  // earlier revision; the watch then catches up to the whole view's revision with nothing more to take.
  for (let i = 0; i < 20 && watch.view!.revision < whole.revision; i++) await watch.follow(1);
  assert.equal(JSON.stringify(watch.view), JSON.stringify(whole));
});

test('200 concurrent port creates through both servers on one /24: distinct addresses and MACs, none lost; the feed holds each once, in order', async () => {
  const net = (await a.post('/networks', { network: { name: 'shared-busy' } })).body.network;
  await a.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.30.0.0/24' } });
  const since = await head();
  const replies = await Promise.all(
    Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).post<{ port: Port }>('/ports', { port: { network_id: net.id } })),
  );
  const failed = replies.filter((r) => r.status !== 201);
  assert.deepEqual(
    failed.map((r) => r.body),
    [],
  );
  const ports = replies.map((r) => r.body.port);
  const ips = ports.map((p) => p.fixed_ips[0].ip_address);
  assert.equal(new Set(ips).size, 200, 'no duplicate address');
  assert.equal(new Set(ports.map((p) => p.mac_address)).size, 200, 'no duplicate MAC');
  const listed = (await b.get<{ ports: Port[] }>(`/ports?network_id=${net.id}`)).body.ports;
  assert.deepEqual(listed.map((p) => p.fixed_ips[0].ip_address).sort(), [...ips].sort());

  // Follow the feed from the other server, page by page: strictly increasing revisions, every port once.
  const seen: FeedChange[] = [];
  for (let rev = since; ;) {
    const page = (await feedB.get<FeedPage>(`/neutrino/changes?since=${rev}`)).body;
    if (!page.changes.length) break;
    seen.push(...page.changes);
    rev = page.revision;
  }
  const revisions = seen.map((c) => c.revision);
  assert.deepEqual(
    revisions,
    [...revisions].sort((x, y) => x - y),
  );
  assert.equal(new Set(revisions).size, revisions.length);
  const created = seen.filter((c) => c.resource === 'port' && c.op === 'create').map((c) => c.resource_id);
  assert.deepEqual([...created].sort(), ports.map((p) => p.id).sort());
});

/** PIDs of the direct children of `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text ? text.split(/\s+/).map(Number) : [];
}

test('--workers 2: two worker processes answer on one address, and SIGTERM drains both and exits 0', async () => {
  const db = await createDatabase(cluster.url);
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-pgsrv-'));
  dirs.push(dir);
  const server = spawnServer(dir, await freePort(), { NEUTRINO_ADMIN_PASSWORD: ADMIN_PASSWORD }, ['--db', db.url, '--workers', '2']);
  servers.push(server);
  await listening(server, 30_000);
  const workers = childrenOf(server.pid);
  assert.equal(workers.length, 2, server.output());
  const admin = api(server.url, await adminToken(server.url));
  const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => admin.post('/networks', { network: { name: `w${i}` } })));
  assert.deepEqual(
    replies.filter((r) => r.status !== 201).map((r) => r.body),
    [],
  );
  // Each worker logs its start (pino JSON lines carry the pid); the first one listening was enough
  // for `listening`, so the other's line may come a moment later on a loaded machine.
  const listeningPids = () =>
    new Set(
      server
        .output()
        .split('\n')
        .filter((l) => l.includes('neutrino server listening'))
        .map((l) => (JSON.parse(l) as { pid: number }).pid),
    );
  for (let waited = 0; listeningPids().size < workers.length && waited < 30_000; waited += 50) await delay(50);
  assert.deepEqual([...listeningPids()].sort(), [...workers].sort());
  await stopServer(server, 'SIGTERM');
  assert.equal(await server.exited, 0, server.output());
  for (const w of workers) assert.ok(!existsSync(`/proc/${w}`), `worker ${w} ended`);
});

test("a server reaches PostgreSQL through its Unix socket, given in SQLAlchemy's form; the log shows no password", async () => {
  const shared = new URL(sharedDb);
  const overSocket = `postgresql+psycopg2://${shared.username}:sock-hunter2@${shared.pathname}?host=${cluster.socketDir}&port=${shared.port}`;
  const c = await startServer(overSocket);
  const made = await a.post<{ network: { id: string } }>('/networks', { network: { name: 'seen-over-the-socket' } });
  assert.equal(made.status, 201);
  const seen = await api(c.url, demoToken).get<{ network: { name: string } }>(`/networks/${made.body.network.id}`);
  assert.equal(seen.status, 200);
  assert.equal(seen.body.network.name, 'seen-over-the-socket');
  await stopServer(c);
  assert.ok(!c.output().includes('sock-hunter2'), c.output());
  assert.match(c.output(), /password=\*\*\*/);
});

test('--workers 2 on SQLite is refused with one line and a non-zero exit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-pgsrv-'));
  dirs.push(dir);
  const server = spawnServer(dir, await freePort(), {}, ['--workers', '2']);
  servers.push(server);
  assert.equal(await server.exited, 2);
  assert.match(server.output(), /^neutrino: 2 API workers need a database they can share: set \[database\] connection \(or --db\)/m);
  assert.equal(server.output().trim().split('\n').length, 1, server.output());
});

test("an agent's client goes on at another server when its server goes away", async () => {
  const c = await startServer(sharedDb);
  const client = new NeutrinoClient([{ url: c.url }, { url: serverB.url }], {
    username: 'admin',
    password: ADMIN_PASSWORD,
    project: 'admin',
  });
  const before = await client.call<{ networks: unknown[] }>('GET', '/v2.0/networks');
  assert.equal(client.endpoint.url, c.url);
  await stopServer(c);
  const after = await client.call<{ networks: unknown[] }>('GET', '/v2.0/networks');
  assert.equal(client.endpoint.url, serverB.url, 'moved to the other server');
  assert.equal(after.networks.length, before.networks.length, 'the same store behind both');
  // With no server left to try, the failure names the last one.
  const lonely = new NeutrinoClient([{ url: c.url }], { username: 'admin', password: ADMIN_PASSWORD, project: 'admin' });
  await assert.rejects(lonely.call('GET', '/v2.0/networks'), UnreachableError);
});
