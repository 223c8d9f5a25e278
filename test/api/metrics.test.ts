// GET /metrics on the API listener: admins only, Prometheus' text format (parsed by a real parser),
// requests by route template and status with latency histograms, ports by status, agents alive,
// their heartbeat age and change-feed lag, the feed's revision.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { adminToken, api, memberProject, type Api } from '../helpers/client.ts';
import { family, parsePrometheus, samples, value } from '../helpers/prometheus.ts';
import { readThreadsOf } from '../../src/store/read-pool.ts';

let server: TestServer;
let admin: Api;
let adminTok: string;

before(async () => {
  server = await startTestServer();
  adminTok = await adminToken(server.url);
  admin = api(server.url, adminTok);
});
after(() => server?.close());

async function scrape(token?: string) {
  const res = await fetch(`${server.url}/metrics`, { headers: token ? { 'x-auth-token': token } : {} });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

test('only admins read /metrics on the API listener', async () => {
  assert.equal((await scrape()).status, 401);
  assert.equal((await scrape('not-a-token')).status, 401);
  const member = await memberProject(server.url, adminTok, 'metrics-member');
  const denied = await scrape(member.token);
  assert.equal(denied.status, 403);
  assert.match(denied.text, /PolicyNotAuthorized/);
  const ok = await scrape(adminTok);
  assert.equal(ok.status, 200);
  assert.match(ok.type ?? '', /^text\/plain; version=0\.0\.4/);
  parsePrometheus(ok.text);
});

test('requests by method, route template and status, with latency buckets', async () => {
  const net = (await admin.post('/networks', { network: { name: 'm' } })).body.network.id as string;
  for (let i = 0; i < 3; i++) assert.equal((await admin.get(`/networks/${net}`)).status, 200);
  assert.equal((await admin.get('/networks/00000000-0000-0000-0000-000000000000')).status, 404);
  const f = family(parsePrometheus((await scrape(adminTok)).text), 'neutrino_http_request_duration_seconds', 'HISTOGRAM');
  const [ok] = samples(f, { method: 'GET', route: '/v2.0/networks/:id', status: '200' });
  assert.equal(ok?.count, '3');
  assert.equal(ok?.buckets?.['+Inf'], '3');
  assert.ok(Number(ok?.sum) > 0);
  assert.equal(samples(f, { method: 'GET', route: '/v2.0/networks/:id', status: '404' })[0]?.count, '1');
  assert.equal(samples(f, { method: 'POST', route: '/v2.0/networks', status: '201' })[0]?.count, '1');
  // Templates, never raw paths: an id would make a series of its own.
  assert.ok(f.metrics.every((m) => !m.labels?.route?.includes(net)));
});

test('ports by status, agents alive with heartbeat age and lag, the feed revision', async () => {
  const net = (await admin.post('/networks', { network: { name: 'p' } })).body.network.id as string;
  await admin.post('/subnets', { subnet: { network_id: net, cidr: '10.6.0.0/24', ip_version: 4 } });
  const ports: string[] = [];
  for (let i = 0; i < 3; i++)
    ports.push((await admin.post('/ports', { port: { network_id: net, 'binding:host_id': 'm1' } })).body.port.id as string);
  await admin.post('/neutrino/hosts/m1/port-status', { ports: { [ports[0]!]: 'ACTIVE' } });
  const head = (await admin.get('/neutrino/changes?since=0')).body.revision as number;
  const report = await admin.post('/neutrino/agents/report', {
    agent: { agent_type: 'Linux bridge agent', host: 'm1', configurations: { converged_revision: head - 2 }, start_flag: true },
  });
  assert.equal(report.status, 200);
  const m = parsePrometheus((await scrape(adminTok)).text);
  const byStatus = family(m, 'neutrino_ports', 'GAUGE');
  assert.equal(value(byStatus, { status: 'ACTIVE' }), 1);
  // The DHCP port, if the network got one, is DOWN too until an agent serves it.
  const all = (await admin.get('/ports')).body.ports as Array<{ status: string }>;
  assert.equal(value(byStatus, { status: 'DOWN' }), all.filter((p) => p.status === 'DOWN').length);
  const agent = { host: 'm1', agent_type: 'Linux bridge agent' };
  assert.equal(value(family(m, 'neutrino_agent_alive', 'GAUGE'), agent), 1);
  const age = value(family(m, 'neutrino_agent_heartbeat_age_seconds', 'GAUGE'), agent);
  assert.ok(age >= 0 && age < 30, String(age));
  const revision = value(family(m, 'neutrino_change_feed_revision', 'GAUGE'));
  assert.ok(revision >= head);
  assert.equal(value(family(m, 'neutrino_agent_revision_lag', 'GAUGE'), agent), revision - (head - 2));
  family(m, 'process_cpu_user_seconds_total', 'COUNTER');
  // A report whose only news is the agent's progress is no change others depend on: no feed entry.
  const before = (await admin.get('/neutrino/changes?since=0')).body.revision as number;
  await admin.post('/neutrino/agents/report', {
    agent: { agent_type: 'Linux bridge agent', host: 'm1', configurations: { converged_revision: before } },
  });
  assert.equal((await admin.get('/neutrino/changes?since=0')).body.revision, before);
});

test('whole lists read by the reader threads are counted by result', async (t) => {
  const threads = readThreadsOf(server.db);
  if (!threads) return t.skip('no reader threads (PostgreSQL, or one core): no such metric');
  const list = async () => assert.equal((await admin.get('/ports')).status, 200);
  await list();
  while (!threads.ready()) await new Promise((resolve) => setTimeout(resolve, 10));
  await list();
  await list();
  const m = parsePrometheus((await scrape(adminTok)).text);
  const reads = family(m, 'neutrino_list_thread_reads_total', 'COUNTER');
  assert.equal(value(reads, { result: 'consistent' }), threads.stats.consistent);
  assert.ok(threads.stats.consistent >= 2);
  assert.equal(value(reads, { result: 'reread' }), threads.stats.retried);
  assert.equal(value(reads, { result: 'gave_up' }), threads.stats.gaveUp);
});
