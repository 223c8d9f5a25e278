// An idle agent keeps its resync interval: a full pass about once per interval, and no targeted
// passes while nothing changes. (Once, an empty answer of the host-view long-poll counted as a change,
// so each due full pass was put off by a whole interval while the agent polled the server in a loop:
// drift was repaired after twice the interval.) A real server; the kernel is the fake.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from '../../src/agent/agent.ts';
import { AgentMetrics } from '../../src/agent/metrics.ts';
import { adminToken, api } from '../helpers/client.ts';
import { endAgentSuite, fakeNodeAgent } from '../helpers/fake-node-agent.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let dir: string;
let agent: Agent;
let running: Promise<void>;
let metrics: AgentMetrics;

const RESYNC_S = 1;

before(async () => {
  server = await startTestServer();
  dir = mkdtempSync(join(tmpdir(), 'neutrino-agent-idle-'));
  metrics = new AgentMetrics();
  agent = fakeNodeAgent({ serverUrl: server.url, host: 'idle1', stateRoot: dir, neutrino: [`resync_interval = ${RESYNC_S}`], metrics });
  running = agent.run();
});

after(() => endAgentSuite({ agent, running, server, dir }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Passes so far by kind, from the agent's own pass histogram. */
async function passCounts(): Promise<{ full: number; targeted: number }> {
  const json = await metrics.registry.getSingleMetric('neutrino_agent_pass_duration_seconds')!.get();
  const count = (kind: string) =>
    json.values
      .filter((v) => (v as { metricName?: string }).metricName?.endsWith('_count') && v.labels.kind === kind)
      .reduce((n, v) => n + v.value, 0);
  return { full: count('full'), targeted: count('targeted') };
}

test('idle: one full pass per resync interval, no targeted passes', async () => {
  const admin = api(server.url, await adminToken(server.url));
  const net = (await admin.post('/networks', { network: { name: 'idle' } })).body.network.id as string;
  await admin.post('/subnets', { subnet: { network_id: net, cidr: '10.6.0.0/24', ip_version: 4 } });
  await admin.post('/ports', { port: { network_id: net, 'binding:host_id': 'idle1', device_owner: 'compute:nova' } });
  // Let the agent take the changes in and settle, then watch it while nothing changes.
  await sleep(2_500);
  const before = await passCounts();
  const watchS = 5;
  await sleep(watchS * 1000);
  const now = await passCounts();
  const full = now.full - before.full;
  const targeted = now.targeted - before.targeted;
  // About one full pass a second; twice the interval between them (the old fault) gives at most 3.
  assert.ok(full >= watchS - 1 && full <= watchS + 1, `${full} full passes in ${watchS} s with resync_interval = ${RESYNC_S}`);
  assert.equal(targeted, 0, `${targeted} targeted passes while nothing changed`);
});
