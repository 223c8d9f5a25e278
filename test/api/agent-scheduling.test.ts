// Manual agent scheduling over HTTP (dhcp_agent_scheduler, l3_agent_scheduler): an admin lists, adds
// and removes the networks a DHCP agent serves and the routers an L3 agent hosts, with Neutron's
// errors; the agents' host views follow (the DHCP port and the router move between hosts).
// Agents are server-wide, so every test starts a server of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { agentServer } from '../helpers/agent-server.ts';
import type { Api } from '../helpers/client.ts';
import { created, expectError, feedHead } from '../helpers/networking.ts';
import type { Resource } from '../helpers/shapes.ts';

/** A network with a DHCP subnet (demo's). */
async function dhcpNetwork(demo: Api, cidr = '10.50.0.0/24') {
  const net = await created<Resource>(demo.post('/networks', { network: { name: 'n' } }), 'network');
  await created(demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr } }), 'subnet');
  return net;
}

test('DHCP: remove a network from its agent, add it to another; the DHCP port (and its address) moves', async (t) => {
  const { admin, demo, report, view } = await agentServer(t);
  const a1 = (await report('DHCP agent', 'net1')).id;
  const a2 = (await report('DHCP agent', 'net2')).id;
  const net = await dhcpNetwork(demo);
  assert.deepEqual((await view('net1')).dhcp_networks, [net.id]);
  const dhcpPorts = async () =>
    (await admin.get(`/ports?network_id=${net.id}&device_owner=network:dhcp`)).body.ports as Array<{
      device_id: string;
      'binding:host_id': string;
      fixed_ips: Array<{ ip_address: string }>;
    }>;
  const [before] = await dhcpPorts();
  assert.equal(before['binding:host_id'], 'net1');
  const listed = await admin.get(`/agents/${a1}/dhcp-networks`);
  assert.equal(listed.status, 200);
  assert.deepEqual(
    listed.body.networks.map((n: Resource) => n.id),
    [net.id],
  );
  assert.deepEqual((await admin.get(`/agents/${a2}/dhcp-networks`)).body, { networks: [] });

  const removed = await admin.del(`/agents/${a1}/dhcp-networks/${net.id}`);
  assert.equal(removed.status, 204);
  assert.deepEqual((await view('net1')).dhcp_networks, []);
  const [reserved] = await dhcpPorts();
  assert.equal(reserved.device_id, 'reserved_dhcp_port');
  assert.equal(reserved['binding:host_id'], '');
  assert.deepEqual((await admin.get(`/networks/${net.id}/dhcp-agents`)).body.agents, []);
  // Heartbeats do not put it back.
  await admin.post('/neutrino/agents/report', { agent: { agent_type: 'DHCP agent', host: 'net1' } });
  assert.deepEqual((await view('net1')).dhcp_networks, []);

  const added = await admin.post(`/agents/${a2}/dhcp-networks`, { network_id: net.id });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  assert.equal(added.body, null);
  assert.deepEqual((await view('net2')).dhcp_networks, [net.id]);
  const ports = await dhcpPorts();
  assert.equal(ports.length, 1);
  assert.equal(ports[0]['binding:host_id'], 'net2');
  assert.deepEqual(ports[0].fixed_ips, before.fixed_ips);
  assert.match(ports[0].device_id, new RegExp(`^dhcp[0-9a-f-]{36}-${net.id}$`));
  // A second agent may serve it too.
  assert.equal((await admin.post(`/agents/${a1}/dhcp-networks`, { network_id: net.id })).status, 201);
  assert.deepEqual((await view('net1')).dhcp_networks, [net.id]);
  assert.equal((await dhcpPorts()).length, 2);
  assert.deepEqual(
    ((await admin.get(`/networks/${net.id}/dhcp-agents`)).body.agents as Array<{ host: string }>).map((a) => a.host).sort(),
    ['net1', 'net2'],
  );
});

test('DHCP: every refusal, and members may not', async (t) => {
  const { admin, demo, report, setAgent } = await agentServer(t);
  const dhcp = (await report('DHCP agent', 'net1')).id;
  const l3 = (await report('L3 agent', 'net1')).id;
  const disabled = (await report('DHCP agent', 'net2')).id;
  await setAgent(disabled, { admin_state_up: 0 });
  const net = await dhcpNetwork(demo);
  const missing = randomUUID();
  const head = await feedHead(admin);
  expectError(
    await admin.post(`/agents/${dhcp}/dhcp-networks`, { network_id: missing }),
    404,
    'NetworkNotFound',
    `Network ${missing} could not be found.`,
  );
  expectError(
    await admin.post(`/agents/${missing}/dhcp-networks`, { network_id: net.id }),
    404,
    'AgentNotFound',
    `Agent ${missing} could not be found.`,
  );
  for (const agent of [l3, disabled]) {
    expectError(
      await admin.post(`/agents/${agent}/dhcp-networks`, { network_id: net.id }),
      404,
      'InvalidDHCPAgent',
      `Agent ${agent} is not a valid DHCP Agent or has been disabled.`,
    );
  }
  expectError(
    await admin.post(`/agents/${dhcp}/dhcp-networks`, { network_id: net.id }),
    409,
    'NetworkHostedByDHCPAgent',
    `The network ${net.id} has been already hosted by the DHCP Agent ${dhcp}.`,
  );
  expectError(await admin.post(`/agents/${dhcp}/dhcp-networks`, {}), 400, 'HTTPBadRequest', "Unable to find 'network_id' in request body");
  expectError(
    await admin.del(`/agents/${disabled}/dhcp-networks/${net.id}`),
    409,
    'NetworkNotHostedByDhcpAgent',
    `The network ${net.id} is not hosted by the DHCP Agent ${disabled}.`,
  );
  expectError(await admin.del(`/agents/${missing}/dhcp-networks/${net.id}`), 404, 'AgentNotFound');
  expectError(await admin.get(`/agents/${missing}/dhcp-networks`), 404, 'AgentNotFound');
  expectError(
    await demo.get(`/agents/${dhcp}/dhcp-networks`),
    403,
    'PolicyNotAuthorized',
    'rule:get_dhcp-networks is disallowed by policy',
  );
  expectError(
    await demo.post(`/agents/${dhcp}/dhcp-networks`, { network_id: net.id }),
    403,
    'PolicyNotAuthorized',
    'rule:create_dhcp-network is disallowed by policy',
  );
  expectError(
    await demo.del(`/agents/${dhcp}/dhcp-networks/${net.id}`),
    403,
    'PolicyNotAuthorized',
    'rule:delete_dhcp-network is disallowed by policy',
  );
  assert.equal(await feedHead(admin), head);
});

test('L3: remove a router from its agent, add it to another; the router and its ports move', async (t) => {
  const { admin, demo, report, view } = await agentServer(t);
  const a1 = (await report('L3 agent', 'net1')).id;
  const a2 = (await report('L3 agent', 'net2')).id;
  const net = await dhcpNetwork(demo);
  const subnetId = (await demo.get(`/networks/${net.id}`)).body.network.subnets[0];
  const router = await created<Resource>(demo.post('/routers', { router: { name: 'r' } }), 'router');
  assert.equal((await demo.put(`/routers/${router.id}/add_router_interface`, { subnet_id: subnetId })).status, 200);
  const routerIds = async (host: string) => ((await view(host)).routers as Array<{ id: string }>).map((r) => r.id);
  assert.deepEqual(await routerIds('net1'), [router.id]);
  assert.deepEqual(
    (await admin.get(`/agents/${a1}/l3-routers`)).body.routers.map((r: Resource) => r.id),
    [router.id],
  );
  expectError(
    await admin.post(`/agents/${a2}/l3-routers`, { router_id: router.id }),
    409,
    'RouterHostedByL3Agent',
    `The router ${router.id} has been already hosted by the L3 Agent ${a1}.`,
  );
  // Adding it where it already is: nothing to do.
  assert.equal((await admin.post(`/agents/${a1}/l3-routers`, { router_id: router.id })).status, 201);

  assert.equal((await admin.del(`/agents/${a1}/l3-routers/${router.id}`)).status, 204);
  assert.deepEqual(await routerIds('net1'), []);
  assert.deepEqual((await admin.get(`/routers/${router.id}/l3-agents`)).body.agents, []);
  await admin.post('/neutrino/agents/report', { agent: { agent_type: 'L3 agent', host: 'net1' } });
  assert.deepEqual(await routerIds('net1'), []);
  // Removing it again is no error (the binding is simply absent).
  assert.equal((await admin.del(`/agents/${a1}/l3-routers/${router.id}`)).status, 204);

  const added = await admin.post(`/agents/${a2}/l3-routers`, { router_id: router.id });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  assert.deepEqual(await routerIds('net2'), [router.id]);
  const intf = (await admin.get(`/ports?device_id=${router.id}`)).body.ports as Array<{ 'binding:host_id': string }>;
  assert.deepEqual(
    intf.map((p) => p['binding:host_id']),
    ['net2'],
  );
});

test('L3: every refusal, and members may not', async (t) => {
  const { admin, demo, report, setAgent } = await agentServer(t);
  const l3 = (await report('L3 agent', 'net1')).id;
  const dhcp = (await report('DHCP agent', 'net1')).id;
  const disabled = (await report('L3 agent', 'net2')).id;
  await setAgent(disabled, { admin_state_up: 0 });
  const router = await created<Resource>(demo.post('/routers', { router: { name: 'r' } }), 'router');
  const missing = randomUUID();
  const head = await feedHead(admin);
  expectError(
    await admin.post(`/agents/${l3}/l3-routers`, { router_id: missing }),
    404,
    'RouterNotFound',
    `Router ${missing} could not be found`,
  );
  expectError(await admin.post(`/agents/${missing}/l3-routers`, { router_id: router.id }), 404, 'AgentNotFound');
  for (const agent of [dhcp, disabled]) {
    expectError(
      await admin.post(`/agents/${agent}/l3-routers`, { router_id: router.id }),
      404,
      'InvalidL3Agent',
      `Agent ${agent} is not a L3 Agent or has been disabled`,
    );
  }
  expectError(
    await admin.post(`/agents/${l3}/l3-routers`, { network_id: router.id }),
    400,
    'HTTPBadRequest',
    "Unable to find 'router_id' in request body",
  );
  expectError(await admin.del(`/agents/${missing}/l3-routers/${router.id}`), 404, 'AgentNotFound');
  expectError(await admin.del(`/agents/${l3}/l3-routers/${missing}`), 404, 'RouterNotFound');
  expectError(await admin.get(`/agents/${missing}/l3-routers`), 404, 'AgentNotFound');
  expectError(await demo.get(`/agents/${l3}/l3-routers`), 403, 'PolicyNotAuthorized', 'rule:get_l3-routers is disallowed by policy');
  expectError(
    await demo.post(`/agents/${l3}/l3-routers`, { router_id: router.id }),
    403,
    'PolicyNotAuthorized',
    'rule:create_l3-router is disallowed by policy',
  );
  expectError(
    await demo.del(`/agents/${l3}/l3-routers/${router.id}`),
    403,
    'PolicyNotAuthorized',
    'rule:delete_l3-router is disallowed by policy',
  );
  assert.equal(await feedHead(admin), head);
  // A router without ports may be added by hand (Neutron binds it all the same).
  assert.equal((await admin.post(`/agents/${l3}/l3-routers`, { router_id: router.id })).status, 201);
  assert.deepEqual(
    (await admin.get(`/routers/${router.id}/l3-agents`)).body.agents.map((a: { id: string }) => a.id),
    [l3],
  );
});
