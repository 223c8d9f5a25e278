// `lab down` finds the qdhcp-/qrouter- namespaces a lab owns by asking the lab's own server (as its
// admin, across projects) and from the agents' DHCP state dirs; without an answering server, from
// the dirs alone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentNamespaces } from '../../src/lab/owned.ts';
import { labPaths, type LabPaths } from '../../src/lab/paths.ts';
import { newLabState, type LabState } from '../../src/lab/state.ts';
import { adminDemoOther, created } from '../helpers/networking.ts';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
let root: string;
let paths: LabPaths;
const dhcpOnly = randomUUID();
const expected: string[] = [];

function labState(url: string | null, adminPassword = ADMIN_PASSWORD): LabState {
  const state = newLabState({
    lab: 'lo',
    stateDir: paths.dir,
    nodes: ['controller'],
    socket: join(paths.dir, 's'),
    agents: true,
    adminPassword,
    demoPassword: 'x',
    now: new Date(),
  });
  state.server.url = url;
  return state;
}

before(async () => {
  srv = await startTestServer();
  root = mkdtempSync(join(tmpdir(), 'neutrino-lab-owned-'));
  paths = labPaths(root, 'lo');
  // A DHCP state dir for a network the server no longer has, and one that names no network.
  mkdirSync(join(paths.agentState('controller'), 'dhcp', dhcpOnly), { recursive: true });
  mkdirSync(join(paths.agentState('controller'), 'dhcp', 'not-a-network'), { recursive: true });
  const { demo, other } = await adminDemoOther(srv.url);
  const netA = await created(demo.post('/networks', { network: { name: 'a' } }), 'network');
  const netB = await created(other.post('/networks', { network: { name: 'b' } }), 'network');
  const router = await created(other.post('/routers', { router: { name: 'r' } }), 'router');
  expected.push(`qdhcp-${netA.id}`, `qdhcp-${netB.id}`, `qdhcp-${dhcpOnly}`, `qrouter-${router.id}`);
});

after(async () => {
  await srv.close();
  rmSync(root, { recursive: true, force: true });
});

test("the server's networks and routers of every project, and the DHCP state dirs", async () => {
  assert.deepEqual((await agentNamespaces(paths, labState(srv.url))).sort(), [...expected].sort());
});

test('without state, or a server that does not answer or refuses the credentials: the DHCP state dirs alone', async () => {
  assert.deepEqual(await agentNamespaces(paths, null), [`qdhcp-${dhcpOnly}`]);
  assert.deepEqual(await agentNamespaces(paths, labState(null)), [`qdhcp-${dhcpOnly}`]);
  assert.deepEqual(await agentNamespaces(paths, labState('http://127.0.0.1:1')), [`qdhcp-${dhcpOnly}`]);
  assert.deepEqual(await agentNamespaces(paths, labState(srv.url, 'wrong-password')), [`qdhcp-${dhcpOnly}`]);
});
