// The agents' side of the API: state reports, DHCP scheduling, host views, the change feed, port status.
// Agents are server-wide, so every test starts a server of its own and builds what it needs.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { adminToken, api, memberProject, type Api } from '../helpers/client.ts';

/** A new server (closed when the test ends) with an admin client, a member `demo`, and agent reports. */
async function freshServer(t: TestContext) {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const token = await adminToken(srv.url);
  const admin = api(srv.url, token);
  const demo = api(srv.url, (await memberProject(srv.url, token, 'demo')).token);
  const report = (agent_type: string, host: string, configurations: object = {}) =>
    admin.post('/neutrino/agents/report', { agent: { agent_type, host, configurations, start_flag: true } });
  return { admin, demo, report };
}
type Server = Awaited<ReturnType<typeof freshServer>>;

/** demo's network `selfservice` with DHCP on 172.16.1.0/24; returns its id. */
async function selfservice(demo: Api): Promise<string> {
  const netId = (await demo.post('/networks', { network: { name: 'selfservice' } })).body.network.id;
  assert.equal((await demo.post('/subnets', { subnet: { network_id: netId, ip_version: 4, cidr: '172.16.1.0/24' } })).status, 201);
  return netId;
}

/** The Linux bridge agents of controller (VTEP .104, provider on eth2) and compute1 (VTEP .105). */
async function reportBridgeAgents({ report }: Server) {
  assert.equal(
    (await report('Linux bridge agent', 'controller', { tunneling_ip: '192.168.0.104', interface_mappings: { provider: 'eth2' } })).status,
    200,
  );
  assert.equal((await report('Linux bridge agent', 'compute1', { tunneling_ip: '192.168.0.105' })).status, 200);
}

/** selfservice served by the DHCP agent on controller, with both bridge agents up; returns its id. */
async function servedSelfservice(server: Server): Promise<string> {
  const netId = await selfservice(server.demo);
  await reportBridgeAgents(server);
  assert.equal((await server.report('DHCP agent', 'controller')).status, 200);
  return netId;
}

/** An instance port `vm1` on compute1 in the network. */
async function instancePort(admin: Api, netId: string) {
  const r = await admin.post('/ports', {
    port: { network_id: netId, 'binding:host_id': 'compute1', device_owner: 'compute:nova', device_id: 'vm1' },
  });
  assert.equal(r.status, 201);
  return r.body.port;
}

test('members see an empty agent list and cannot use the agent API', async (t) => {
  const { demo } = await freshServer(t);
  const r = await demo.get('/agents');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.agents, []);
  assert.equal((await demo.post('/neutrino/agents/report', { agent: { agent_type: 'DHCP agent', host: 'x' } })).status, 403);
  assert.equal((await demo.get('/neutrino/hosts/x/view')).status, 403);
});

test('a DHCP network waits for a DHCP agent, then gets its DHCP port at the lowest address', async (t) => {
  const server = await freshServer(t);
  const { admin, demo, report } = server;
  const netId = await selfservice(demo);
  assert.deepEqual((await admin.get(`/ports?network_id=${netId}`)).body.ports, []);
  await reportBridgeAgents(server);
  const dhcp = await report('DHCP agent', 'controller');
  assert.equal(dhcp.status, 200);
  assert.equal(dhcp.body.agent.alive, true);
  const ports = (await admin.get(`/ports?network_id=${netId}`)).body.ports;
  assert.equal(ports.length, 1);
  assert.equal(ports[0].device_owner, 'network:dhcp');
  assert.equal(ports[0]['binding:host_id'], 'controller');
  assert.match(ports[0].device_id, new RegExp(`^dhcp[0-9a-f-]{36}-${netId}$`));
  assert.deepEqual(
    ports[0].fixed_ips.map((f: { ip_address: string }) => f.ip_address),
    ['172.16.1.2'],
  );
  const agents = (await admin.get('/agents')).body.agents;
  assert.deepEqual(
    agents.map((a: { host: string; agent_type: string }) => `${a.host}/${a.agent_type}`),
    ['compute1/Linux bridge agent', 'controller/DHCP agent', 'controller/Linux bridge agent'],
  );
  assert.ok(agents.every((a: { alive: boolean }) => a.alive));
  // agent-resources-synced: no agent syncs resources to Placement here, so none has a result.
  assert.ok(agents.every((a: { resources_synced: unknown }) => a.resources_synced === null));
  assert.equal((await demo.get('/extensions/agent-resources-synced')).status, 200);
  const shown = await admin.get(`/agents/${agents[1].id}`);
  assert.equal(shown.body.agent.host, 'controller');
  assert.equal((await demo.get(`/agents/${agents[1].id}`)).status, 404);
  assert.equal((await admin.get('/agents/3c338602-d806-488a-ae66-c4c8f8d13b9b')).body.NeutronError.type, 'AgentNotFound');
  assert.deepEqual(
    (await admin.get(`/networks/${netId}/dhcp-agents`)).body.agents.map((a: { host: string }) => a.host),
    ['controller'],
  );
  const bad = await admin.post('/neutrino/agents/report', { agent: { agent_type: 'Open vSwitch agent', host: 'x' } });
  assert.equal(bad.status, 400);
});

test('host views: local ports, l2population toward other VTEPs, DHCP leases', async (t) => {
  const server = await freshServer(t);
  const { admin } = server;
  const netId = await servedSelfservice(server);
  const port = await instancePort(admin, netId);
  const compute = (await admin.get('/neutrino/hosts/compute1/view')).body.view;
  assert.deepEqual(
    compute.networks.map((n: { id: string }) => n.id),
    [netId],
  );
  assert.equal(compute.networks[0].network_type, 'vxlan');
  assert.deepEqual(
    compute.ports.map((p: { id: string }) => p.id),
    [port.id],
  );
  assert.equal(compute.ports[0].security_groups.length, 1);
  assert.equal(compute.security_groups[0].rules.length, 4);
  assert.deepEqual(compute.remote_vteps, [{ network_id: netId, host: 'controller', vtep: '192.168.0.104' }]);
  assert.deepEqual(
    compute.remote_ports.map((p: { ip_addresses: string[] }) => p.ip_addresses),
    [['172.16.1.2']],
  );
  assert.deepEqual(compute.dhcp_networks, []);
  const controller = (await admin.get('/neutrino/hosts/controller/view')).body.view;
  assert.deepEqual(controller.dhcp_networks, [netId]);
  assert.equal(controller.dhcp_ports.length, 2);
  assert.deepEqual(
    controller.remote_ports.map((p: { mac_address: string; vtep: string }) => [p.mac_address, p.vtep]),
    [[port.mac_address, '192.168.0.105']],
  );
  assert.ok(controller.revision > 0);
});

test('the change feed resumes from a revision and wakes a waiting watcher on commit', async (t) => {
  const { admin, demo } = await freshServer(t);
  const netId = await selfservice(demo);
  const head = (await admin.get('/neutrino/changes?since=0')).body;
  assert.ok(head.changes.length > 0);
  const rev = head.revision;
  assert.deepEqual((await admin.get(`/neutrino/changes?since=${rev}`)).body.changes, []);
  const t0 = Date.now();
  const waiting = admin.get(`/neutrino/changes?since=${rev}&wait=10`);
  setTimeout(() => void demo.put(`/networks/${netId}`, { network: { description: 'x' } }), 200);
  const page = (await waiting).body;
  assert.ok(Date.now() - t0 < 3000, 'woken by the commit, not by the timeout');
  assert.deepEqual(
    page.changes.map((c: { resource: string; op: string }) => `${c.resource}:${c.op}`),
    ['network:update'],
  );
  assert.equal((await admin.get('/neutrino/changes?since=-1')).status, 400);
});

test('port status: only the bound host may change it', async (t) => {
  const server = await freshServer(t);
  const { admin, demo } = server;
  const port = await instancePort(admin, await servedSelfservice(server));
  const wrong = await admin.post('/neutrino/hosts/controller/port-status', { ports: { [port.id]: 'ACTIVE' } });
  assert.deepEqual(wrong.body.updated, []);
  const ok = await admin.post('/neutrino/hosts/compute1/port-status', { ports: { [port.id]: 'ACTIVE' } });
  assert.deepEqual(ok.body.updated, [port.id]);
  assert.equal((await demo.get(`/ports/${port.id}`)).body.port.status, 'ACTIVE');
  assert.equal((await admin.post('/neutrino/hosts/compute1/port-status', { ports: { [port.id]: 'UP' } })).status, 400);
});

test('deleting the last DHCP subnet removes the DHCP port', async (t) => {
  const server = await freshServer(t);
  const { admin, demo } = server;
  const netId = await servedSelfservice(server);
  const vm = await instancePort(admin, netId);
  assert.equal((await admin.get(`/ports?network_id=${netId}`)).body.ports.length, 2, 'the DHCP port and vm1');
  await admin.del(`/ports/${vm.id}`);
  const subnet = (await demo.get(`/subnets?network_id=${netId}`)).body.subnets[0];
  assert.equal((await demo.del(`/subnets/${subnet.id}`)).status, 204);
  assert.deepEqual((await admin.get(`/ports?network_id=${netId}`)).body.ports, []);
  assert.deepEqual((await admin.get('/neutrino/hosts/controller/view')).body.view.dhcp_networks, []);
});

test('IPv6 DHCP: an IPv6-only network is scheduled; the DHCP port holds an address on every DHCP-enabled subnet of both families', async (t) => {
  const server = await freshServer(t);
  const { admin, demo, report } = server;
  await reportBridgeAgents(server);
  assert.equal((await report('DHCP agent', 'controller')).status, 200);
  const netId = (await demo.post('/networks', { network: { name: 'v6' } })).body.network.id;
  const stateful = await demo.post('/subnets', {
    subnet: {
      network_id: netId,
      ip_version: 6,
      cidr: '2001:db8:1::/64',
      ipv6_ra_mode: 'dhcpv6-stateful',
      ipv6_address_mode: 'dhcpv6-stateful',
    },
  });
  assert.equal(stateful.status, 201, JSON.stringify(stateful.body));
  const dhcpPorts = async () => (await admin.get(`/ports?network_id=${netId}&device_owner=network:dhcp`)).body.ports;
  let [port] = await dhcpPorts();
  assert.ok(port, 'the IPv6-only network got its DHCP port');
  assert.deepEqual(
    port.fixed_ips.map((f: { ip_address: string }) => f.ip_address),
    ['2001:db8:1::1'],
  );
  assert.deepEqual((await admin.get('/neutrino/hosts/controller/view')).body.view.dhcp_networks, [netId]);
  // An IPv4 subnet added later: the same DHCP port gets its address there too.
  assert.equal((await demo.post('/subnets', { subnet: { network_id: netId, ip_version: 4, cidr: '172.16.9.0/24' } })).status, 201);
  [port] = await dhcpPorts();
  assert.deepEqual(port.fixed_ips.map((f: { ip_address: string }) => f.ip_address).sort(), ['172.16.9.2', '2001:db8:1::1']);
});
