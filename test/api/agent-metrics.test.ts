// An agent's metrics on --metrics-listen (its pass durations, operations, errors, ports wired, last
// converged revision), and the server's view of the same agent: the revision it reports puts its
// lag behind the change feed on the server's /metrics. A real server; the kernel is the fake.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from '../../src/agent/agent.ts';
import { AgentMetrics } from '../../src/agent/metrics.ts';
import { startMetricsListener, type MetricsListener } from '../../src/metrics/listener.ts';
import { adminToken, api } from '../helpers/client.ts';
import { fakeNodeAgent } from '../helpers/fake-node-agent.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { family, parsePrometheus, samples, value, type Family } from '../helpers/prometheus.ts';

let server: TestServer;
let dir: string;
let listener: MetricsListener;
let agent: Agent;
let running: Promise<void>;

before(async () => {
  server = await startTestServer();
  dir = mkdtempSync(join(tmpdir(), 'neutrino-agent-metrics-'));
  const metrics = new AgentMetrics();
  listener = await startMetricsListener(
    '127.0.0.1',
    0,
    async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
    () => undefined,
  );
  agent = fakeNodeAgent({ serverUrl: server.url, host: 'metrics1', stateRoot: dir, sections: ['[agent]', 'report_interval = 1'], metrics });
  running = agent.run();
});

after(async () => {
  agent?.stop();
  await running;
  await listener?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function until<T>(what: string, read: () => Promise<T | null>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const got = await read().catch(() => null);
    if (got !== null) return got;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const scrapeAgent = async () => parsePrometheus(await (await fetch(`http://${listener.address}/metrics`)).text());

test("the agent's passes, operations, errors, ports wired and converged revision; its lag on the server", async () => {
  const admin = api(server.url, await adminToken(server.url));
  const net = (await admin.post('/networks', { network: { name: 'am' } })).body.network.id as string;
  await admin.post('/subnets', { subnet: { network_id: net, cidr: '10.5.0.0/24', ip_version: 4 } });
  await admin.post('/ports', { port: { network_id: net, 'binding:host_id': 'metrics1', device_owner: 'compute:nova' } });
  const head = (await admin.get('/neutrino/changes?since=0')).body.revision as number;
  const m = await until('a converged pass at the head', async () => {
    const got = await scrapeAgent();
    return value(family(got, 'neutrino_agent_converged_revision', 'GAUGE')) >= head ? got : null;
  });
  const passes = family(m, 'neutrino_agent_pass_duration_seconds', 'HISTOGRAM');
  const full = samples(passes, { kind: 'full', converged: 'true' })[0];
  assert.ok(Number(full?.count) >= 1, 'the initial full pass');
  assert.ok(Number(value(family(m, 'neutrino_agent_operations_applied_total', 'COUNTER'))) > 0, 'it built the bridge and plugged the port');
  assert.equal(value(family(m, 'neutrino_agent_ports_wired', 'GAUGE')), 0, 'no tap on the fake node: the port stays unwired');
  const errors: Family = family(m, 'neutrino_agent_errors_total', 'COUNTER');
  assert.equal(value(errors, { kind: 'failed' }), 0);
  family(m, 'process_resident_memory_bytes', 'GAUGE');
  // The server hears the revision in the next state report: lag 0 once nothing changed since.
  const token = await adminToken(server.url);
  await until('lag 0 on the server', async () => {
    const s = parsePrometheus(await (await fetch(`${server.url}/metrics`, { headers: { 'x-auth-token': token } })).text());
    return value(family(s, 'neutrino_agent_revision_lag', 'GAUGE'), { host: 'metrics1', agent_type: 'Linux bridge agent' }) === 0
      ? true
      : null;
  });
});
