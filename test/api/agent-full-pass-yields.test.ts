// The periodic full pass gives way to a change: on a big node it reads for most of a second, and a
// port bound meanwhile used to wait for the whole pass. Here the fake kernel's whole-node reads take
// seconds; a port bound while one is under way gets its chains at once, from a targeted pass, and
// the full pass runs again after it (drift repair is put off, not skipped). A real server and the
// agent's real loop; the kernel is the fake.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from '../../src/agent/agent.js';
import { AgentMetrics } from '../../src/agent/metrics.js';
import { FakeKernel } from '../../src/exec/fake.js';
import { sgChains } from '../../src/kernel/names.js';
import type { ObserveScope } from '../../src/kernel/scope.js';
import { HOST, type ObservedNode } from '../../src/kernel/types.js';
import { adminToken, api } from '../helpers/client.js';
import { endAgentSuite, fakeNodeAgent } from '../helpers/fake-node-agent.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** How long a read of the whole node takes on this fake node. */
const SLOW_READ_MS = 1_500;

/** A node whose whole-node reads (full passes: they read every agent namespace prefix) are slow once `slow` is set. */
class SlowNode extends FakeKernel {
  slow = false;
  /** Resolvers waiting for the next slow read to begin. */
  private waiting: Array<() => void> = [];

  nextSlowRead(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  override async observe(scope: ObserveScope): Promise<ObservedNode> {
    if (this.slow && scope.prefixes.length) {
      for (const resolve of this.waiting.splice(0)) resolve();
      await new Promise((r) => setTimeout(r, SLOW_READ_MS));
    }
    return super.observe(scope);
  }
}

let server: TestServer;
let dir: string;
let agent: Agent;
let running: Promise<void>;
const kernel = new SlowNode();
const metrics = new AgentMetrics();

before(async () => {
  server = await startTestServer();
  dir = mkdtempSync(join(tmpdir(), 'neutrino-agent-yields-'));
  agent = fakeNodeAgent({ serverUrl: server.url, host: 'big1', stateRoot: dir, neutrino: ['resync_interval = 1'], kernel, metrics });
  running = agent.run();
});

after(() => endAgentSuite({ agent, running, server, dir }));

async function fullPasses(): Promise<number> {
  const json = await metrics.registry.getSingleMetric('neutrino_agent_pass_duration_seconds')!.get();
  return json.values
    .filter((v) => (v as { metricName?: string }).metricName?.endsWith('_count') && v.labels.kind === 'full')
    .reduce((n, v) => n + v.value, 0);
}

/** Polls `check` until it holds; a minute at most (a hang is a failure, not a wait for the runner's timeout). */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = performance.now() + 60_000;
  while (!(await check())) {
    assert.ok(performance.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const hasChain = (name: string) => (kernel.dump().namespaces[HOST]?.iptables.filter ?? []).some((c) => c.name === name);

test('a port bound while the full pass reads the node gets its chains at once; the full pass runs after', async () => {
  const admin = api(server.url, await adminToken(server.url));
  const net = (await admin.post('/networks', { network: { name: 'yields' } })).body.network.id as string;
  await admin.post('/subnets', { subnet: { network_id: net, cidr: '10.7.0.0/24', ip_version: 4 } });
  // After the initial sync, the next periodic full pass's (slow) read begins.
  await until(async () => (await fullPasses()) >= 1, 'the initial sync');
  kernel.slow = true;
  await kernel.nextSlowRead();
  const fullBefore = await fullPasses();
  const port = (await admin.post('/ports', { port: { network_id: net, 'binding:host_id': 'big1', device_owner: 'compute:nova' } })).body
    .port as { id: string };
  await until(async () => hasChain(sgChains(port.id).ingress), "the port's chains");
  assert.equal(await fullPasses(), fullBefore, 'the full pass under way gave way: it did not complete first');
  // It runs again, and completes, after the change.
  await until(async () => (await fullPasses()) > fullBefore, 'a full pass after the change');
});
