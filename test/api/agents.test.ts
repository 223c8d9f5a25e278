// The agents' side of the API: state reports, DHCP scheduling, host views, the change feed, port status.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { adminToken, api, memberProject, type Api } from '../helpers/client.js';

let srv: TestServer;
let admin: Api;
let demo: Api;

before(async () => {
  srv = await startTestServer();
  const a = await adminToken(srv.url);
  admin = api(srv.url, a);
  demo = api(srv.url, (await memberProject(srv.url, a, 'demo')).token);
});
after(() => srv.close());

const report = (agent_type: string, host: string, configurations: object = {}) =>
  admin.post('/neutrino/agents/report', { agent: { agent_type, host, configurations, start_flag: true } });

let netId: string;

test('members see an empty agent list and cannot use the agent API', async () => {
  const r = await demo.get('/agents');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.agents, []);
  assert.equal((await demo.post('/neutrino/agents/report', { agent: { agent_type: 'DHCP agent', host: 'x' } })).status, 403);
  assert.equal((await demo.get('/neutrino/hosts/x/view')).status, 403);
});

test('a DHCP network waits for a DHCP agent, then gets its DHCP port at the lowest address', async () => {
  netId = (await demo.post('/networks', { network: { name: 'selfservice' } })).body.network.id;
  await demo.post('/subnets', { subnet: { network_id: netId, ip_version: 4, cidr: '172.16.1.0/24' } });
  assert.deepEqual((await admin.get(`/ports?network_id=${netId}`)).body.ports, []);
  assert.equal((await report('Linux bridge agent', 'controller', { tunneling_ip: '192.168.0.104', interface_mappings: { provider: 'eth2' } })).status, 200);
  assert.equal((await report('Linux bridge agent', 'compute1', { tunneling_ip: '192.168.0.105' })).status, 200);
  const dhcp = await report('DHCP agent', 'controller');
  assert.equal(dhcp.status, 200);
  assert.equal(dhcp.body.agent.alive, true);
  const ports = (await admin.get(`/ports?network_id=${netId}`)).body.ports;
  assert.equal(ports.length, 1);
  assert.equal(ports[0].device_owner, 'network:dhcp');
  assert.equal(ports[0]['binding:host_id'], 'controller');
  assert.match(ports[0].device_id, new RegExp(`^dhcp[0-9a-f-]{36}-${netId}$`));
  assert.deepEqual(ports[0].fixed_ips.map((f: { ip_address: string }) => f.ip_address), ['172.16.1.2']);
  const agents = (await admin.get('/agents')).body.agents;
  assert.deepEqual(agents.map((a: { host: string; agent_type: string }) => `${a.host}/${a.agent_type}`), ['compute1/Linux bridge agent', 'controller/DHCP agent', 'controller/Linux bridge agent']);
  assert.ok(agents.every((a: { alive: boolean }) => a.alive));
  const shown = await admin.get(`/agents/${agents[1].id}`);
  assert.equal(shown.body.agent.host, 'controller');
  assert.equal((await demo.get(`/agents/${agents[1].id}`)).status, 404);
  assert.equal((await admin.get('/agents/3c338602-d806-488a-ae66-c4c8f8d13b9b')).body.NeutronError.type, 'AgentNotFound');
  assert.deepEqual((await admin.get(`/networks/${netId}/dhcp-agents`)).body.agents.map((a: { host: string }) => a.host), ['controller']);
  const bad = await admin.post('/neutrino/agents/report', { agent: { agent_type: 'Open vSwitch agent', host: 'x' } });
  assert.equal(bad.status, 400);
});

test('host views: local ports, l2population toward other VTEPs, DHCP leases', async () => {
  const port = (await admin.post('/ports', { port: { network_id: netId, 'binding:host_id': 'compute1', device_owner: 'compute:nova', device_id: 'vm1' } })).body.port;
  const compute = (await admin.get('/neutrino/hosts/compute1/view')).body.view;
  assert.deepEqual(compute.networks.map((n: { id: string }) => n.id), [netId]);
  assert.equal(compute.networks[0].network_type, 'vxlan');
  assert.deepEqual(compute.ports.map((p: { id: string }) => p.id), [port.id]);
  assert.equal(compute.ports[0].security_groups.length, 1);
  assert.equal(compute.security_groups[0].rules.length, 4);
  assert.deepEqual(compute.remote_vteps, [{ network_id: netId, host: 'controller', vtep: '192.168.0.104' }]);
  assert.deepEqual(compute.remote_ports.map((p: { ip_addresses: string[] }) => p.ip_addresses), [['172.16.1.2']]);
  assert.deepEqual(compute.dhcp_networks, []);
  const controller = (await admin.get('/neutrino/hosts/controller/view')).body.view;
  assert.deepEqual(controller.dhcp_networks, [netId]);
  assert.equal(controller.dhcp_ports.length, 2);
  assert.deepEqual(controller.remote_ports.map((p: { mac_address: string; vtep: string }) => [p.mac_address, p.vtep]), [[port.mac_address, '192.168.0.105']]);
  assert.ok(controller.revision > 0);
});

test('the change feed resumes from a revision and wakes a waiting watcher on commit', async () => {
  const head = (await admin.get('/neutrino/changes?since=0')).body;
  assert.ok(head.changes.length > 0);
  const rev = head.revision;
  assert.deepEqual((await admin.get(`/neutrino/changes?since=${rev}`)).body.changes, []);
  const t0 = Date.now();
  const waiting = admin.get(`/neutrino/changes?since=${rev}&wait=10`);
  setTimeout(() => void demo.put(`/networks/${netId}`, { network: { description: 'x' } }), 200);
  const page = (await waiting).body;
  assert.ok(Date.now() - t0 < 3000, 'woken by the commit, not by the timeout');
  assert.deepEqual(page.changes.map((c: { resource: string; op: string }) => `${c.resource}:${c.op}`), ['network:update']);
  assert.equal((await admin.get('/neutrino/changes?since=-1')).status, 400);
});

test('port status: only the bound host may change it', async () => {
  const port = (await admin.get('/ports?device_id=vm1')).body.ports[0];
  const wrong = await admin.post('/neutrino/hosts/controller/port-status', { ports: { [port.id]: 'ACTIVE' } });
  assert.deepEqual(wrong.body.updated, []);
  const ok = await admin.post('/neutrino/hosts/compute1/port-status', { ports: { [port.id]: 'ACTIVE' } });
  assert.deepEqual(ok.body.updated, [port.id]);
  assert.equal((await demo.get(`/ports/${port.id}`)).body.port.status, 'ACTIVE');
  assert.equal((await admin.post('/neutrino/hosts/compute1/port-status', { ports: { [port.id]: 'UP' } })).status, 400);
});

test('deleting the last DHCP subnet removes the DHCP port', async () => {
  const vm = (await admin.get('/ports?device_id=vm1')).body.ports[0];
  await admin.del(`/ports/${vm.id}`);
  const subnet = (await demo.get(`/subnets?network_id=${netId}`)).body.subnets[0];
  assert.equal((await demo.del(`/subnets/${subnet.id}`)).status, 204);
  assert.deepEqual((await admin.get(`/ports?network_id=${netId}`)).body.ports, []);
  assert.deepEqual((await admin.get('/neutrino/hosts/controller/view')).body.view.dhcp_networks, []);
});
