// An agent reports a port ACTIVE again when the server set it DOWN behind its back: a port moved to
// another host and back comes back DOWN, and the agent, whose tap for it is still plugged, must say
// ACTIVE once more (it once kept its own last report for ever and stayed silent). A real server and
// the agent's own loop; the kernel is the fake, holding the port's tap from the start.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from '../../src/agent/agent.ts';
import { FakeKernel } from '../../src/exec/fake.ts';
import { tapName } from '../../src/kernel/names.ts';
import { HOST, emptyObservedNamespace } from '../../src/kernel/types.ts';
import { adminToken, api, type Api } from '../helpers/client.ts';
import { endAgentSuite, fakeNodeAgent } from '../helpers/fake-node-agent.ts';
import { providerNetwork } from '../helpers/networking.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let dir: string;
let agent: Agent | undefined;
let running: Promise<void> | undefined;
let admin: Api;

before(async () => {
  server = await startTestServer();
  dir = mkdtempSync(join(tmpdir(), 'neutrino-agent-status-'));
  admin = api(server.url, await adminToken(server.url));
});

after(() => endAgentSuite({ agent, running, server, dir }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function statusBecomes(id: string, want: string, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  let last = '';
  while (Date.now() - t0 < timeoutMs) {
    last = (await admin.get(`/ports/${id}`)).body.port.status as string;
    if (last === want) return;
    await sleep(20);
  }
  assert.fail(`port ${id} still ${last}, not ${want}, after ${timeoutMs} ms`);
}

const NIC = 'eth9';

/** A node whose HOST holds the provider NIC and `tap` (a hypervisor's tap, down and unattached). */
function nodeWithTap(tap: string): FakeKernel {
  const host = emptyObservedNamespace();
  const device = (ifindex: number, name: string, mac: string) =>
    ({
      ifindex,
      name,
      kind: 'device',
      mtu: name === 'lo' ? 65536 : 1500,
      up: false,
      operstate: 'DOWN',
      master: null,
      mac,
      alias: null,
    }) as const;
  host.links.push(device(1, 'lo', '00:00:00:00:00:00'), device(2, NIC, '52:54:00:00:00:09'), device(3, tap, 'fe:16:3e:00:00:01'));
  return new FakeKernel({ namespaces: { [HOST]: host } });
}

test('a port moved to another host and back is reported ACTIVE again by the agent whose tap holds it', async () => {
  const net = (await providerNetwork(admin)).id as string;
  const port = (await admin.post('/ports', { port: { network_id: net, 'binding:host_id': 'home1', device_owner: 'compute:nova' } })).body
    .port;
  agent = fakeNodeAgent({
    serverUrl: server.url,
    host: 'home1',
    stateRoot: dir,
    kernel: nodeWithTap(tapName(port.id)),
    sections: ['[linux_bridge]', `physical_interface_mappings = provider:${NIC}`],
  });
  running = agent.run();
  await statusBecomes(port.id, 'ACTIVE');

  // Away (the server sets it DOWN; no agent runs on away1) and back (DOWN again, into home1's view).
  const away = await admin.put(`/ports/${port.id}`, { port: { 'binding:host_id': 'away1' } });
  assert.equal(away.status, 200);
  assert.equal(away.body.port.status, 'DOWN');
  await sleep(300);
  const back = await admin.put(`/ports/${port.id}`, { port: { 'binding:host_id': 'home1' } });
  assert.equal(back.body.port.status, 'DOWN');
  await statusBecomes(port.id, 'ACTIVE');
});
