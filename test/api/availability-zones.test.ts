// Availability zones over HTTP: the zones the DHCP and L3 agents report (GET /v2.0/availability_zones,
// with the name/resource/state filters), hints on networks and routers validated against them, the
// computed availability_zones, and the DHCP and L3 schedulers keeping to the hinted zones.
// Agents are server-wide, so every test starts a server of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentServer } from '../helpers/agent-server.ts';
import { created, expectError } from '../helpers/networking.ts';
import type { Resource } from '../helpers/shapes.ts';

const sortZones = (zones: Array<{ name: string; resource: string }>) =>
  [...zones].sort((a, b) => a.name.localeCompare(b.name) || a.resource.localeCompare(b.resource));

test('the zones are those the DHCP and L3 agents report; an L2 agent has none', async (t) => {
  const { demo, report } = await agentServer(t);
  assert.deepEqual((await demo.get('/availability_zones')).body, { availability_zones: [] });
  const l2 = await report('Linux bridge agent', 'net1');
  assert.equal(l2.availability_zone, null);
  await report('DHCP agent', 'net1', 'az1');
  await report('L3 agent', 'net1', 'az1');
  await report('DHCP agent', 'net2', 'az2');
  const r = await demo.get('/availability_zones');
  assert.equal(r.status, 200);
  assert.deepEqual(sortZones(r.body.availability_zones), [
    { name: 'az1', resource: 'network', state: 'available' },
    { name: 'az1', resource: 'router', state: 'available' },
    { name: 'az2', resource: 'network', state: 'available' },
  ]);
  const ids = async (q: string) =>
    sortZones((await demo.get(`/availability_zones?${q}`)).body.availability_zones).map((z) => `${z.name}/${z.resource}`);
  assert.deepEqual(await ids('resource=router'), ['az1/router']);
  assert.deepEqual(await ids('name=az2'), ['az2/network']);
  assert.deepEqual(await ids('name=az1&resource=network'), ['az1/network']);
  assert.deepEqual(await ids('state=unavailable'), []);
  const fields = await demo.get('/availability_zones?fields=name&resource=router');
  assert.deepEqual(fields.body.availability_zones, [{ name: 'az1' }]);
  expectError(await demo.get('/availability_zones?color=red'), 400, 'HTTPBadRequest', "['color'] is invalid attribute for filtering");
});

test('a zone whose agents are all administratively down is unavailable; dead agents do not matter', async (t) => {
  const { demo, report, setAgent } = await agentServer(t);
  await report('DHCP agent', 'net1', 'az1');
  const a9 = await report('DHCP agent', 'net2', 'az9');
  const b9 = await report('DHCP agent', 'net3', 'az9');
  await setAgent(a9.id, { admin_state_up: 0 });
  await setAgent(b9.id, { heartbeat_timestamp: '2000-01-01T00:00:00Z' });
  const names = async (q: string) =>
    ((await demo.get(`/availability_zones?${q}`)).body.availability_zones as Array<{ name: string }>).map((z) => z.name).sort();
  assert.deepEqual(await names('state=available'), ['az1', 'az9']);
  await setAgent(b9.id, { admin_state_up: 0 });
  assert.deepEqual(await names('state=available'), ['az1']);
  assert.deepEqual(await names('state=unavailable'), ['az9']);
});

test('network hints: validated against the DHCP agents’ zones, stored, and availability_zones follows the hosting agent', async (t) => {
  const { demo, report } = await agentServer(t);
  expectError(
    await demo.post('/networks', { network: { availability_zone_hints: ['az1'] } }),
    404,
    'AvailabilityZoneNotFound',
    'AvailabilityZone az1 could not be found.',
  );
  await report('DHCP agent', 'net1', 'az1');
  await report('DHCP agent', 'net2', 'az2');
  await report('L3 agent', 'net3', 'az3');
  // A router zone is no network zone.
  expectError(
    await demo.post('/networks', { network: { availability_zone_hints: ['az1', 'az3'] } }),
    404,
    'AvailabilityZoneNotFound',
    'AvailabilityZone az3 could not be found.',
  );
  const net = await created<Resource & { availability_zone_hints: string[]; availability_zones: string[] }>(
    demo.post('/networks', { network: { name: 'hinted', availability_zone_hints: ['az2'] } }),
    'network',
  );
  assert.deepEqual(net.availability_zone_hints, ['az2']);
  assert.deepEqual(net.availability_zones, []);
  expectError(
    await demo.put(`/networks/${net.id}`, { network: { availability_zone_hints: ['az1'] } }),
    400,
    'HTTPBadRequest',
    'Cannot update read-only attribute availability_zone_hints',
  );
  // A DHCP subnet schedules it, to the agent in az2 only (net1 is the less loaded by name).
  assert.equal((await demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.40.0.0/24' } })).status, 201);
  const shown = (await demo.get(`/networks/${net.id}`)).body.network;
  assert.deepEqual(shown.availability_zone_hints, ['az2']);
  assert.deepEqual(shown.availability_zones, ['az2']);
  // Without hints, any zone.
  const free = await created<Resource>(demo.post('/networks', { network: { name: 'free' } }), 'network');
  assert.equal((await demo.post('/subnets', { subnet: { network_id: free.id, ip_version: 4, cidr: '10.41.0.0/24' } })).status, 201);
  assert.equal((await demo.get(`/networks/${free.id}`)).body.network.availability_zones.length, 1);
});

test('a hinted network waits for a live agent of its zone; the agent coming back takes it', async (t) => {
  const { admin, demo, report, setAgent } = await agentServer(t);
  await report('DHCP agent', 'net1', 'az1');
  const a2 = await report('DHCP agent', 'net2', 'az2');
  await setAgent(a2.id, { heartbeat_timestamp: '2000-01-01T00:00:00Z' });
  const net = await created<Resource>(demo.post('/networks', { network: { availability_zone_hints: ['az2'] } }), 'network');
  assert.equal((await demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.42.0.0/24' } })).status, 201);
  const hosts = async () =>
    ((await admin.get(`/networks/${net.id}/dhcp-agents`)).body.agents as Array<{ host: string }>).map((a) => a.host);
  assert.deepEqual(await hosts(), []);
  // A heartbeat of the agent in az1 changes nothing; az2's agent reporting again (back from the dead) takes it.
  await admin.post('/neutrino/agents/report', { agent: { agent_type: 'DHCP agent', host: 'net1', availability_zone: 'az1' } });
  assert.deepEqual(await hosts(), []);
  await admin.post('/neutrino/agents/report', { agent: { agent_type: 'DHCP agent', host: 'net2', availability_zone: 'az2' } });
  assert.deepEqual(await hosts(), ['net2']);
  assert.deepEqual((await demo.get(`/networks/${net.id}`)).body.network.availability_zones, ['az2']);
});

test('router hints: validated against the L3 agents’ zones; the L3 scheduler keeps to them', async (t) => {
  const { admin, demo, report } = await agentServer(t);
  await report('L3 agent', 'net1', 'az1');
  await report('L3 agent', 'net2', 'az2');
  await report('DHCP agent', 'net3', 'az3');
  expectError(
    await demo.post('/routers', { router: { availability_zone_hints: ['az3'] } }),
    404,
    'AvailabilityZoneNotFound',
    'AvailabilityZone az3 could not be found.',
  );
  for (const bad of ['az1', [1], ['a', 'a']]) {
    expectError(
      await demo.post('/routers', { router: { availability_zone_hints: bad } }),
      400,
      'HTTPBadRequest',
      /^Invalid input for availability_zone_hints/,
    );
  }
  const router = await created<Resource & { availability_zone_hints: string[]; availability_zones: string[] }>(
    demo.post('/routers', { router: { name: 'r', availability_zone_hints: ['az2'] } }),
    'router',
  );
  assert.deepEqual(router.availability_zone_hints, ['az2']);
  assert.deepEqual(router.availability_zones, []);
  expectError(
    await demo.put(`/routers/${router.id}`, { router: { availability_zone_hints: [] } }),
    400,
    'HTTPBadRequest',
    'Cannot update read-only attribute availability_zone_hints',
  );
  const net = await created<Resource>(demo.post('/networks', { network: {} }), 'network');
  const sub = await created<Resource>(
    demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.44.0.0/24' } }),
    'subnet',
  );
  assert.equal((await demo.put(`/routers/${router.id}/add_router_interface`, { subnet_id: sub.id })).status, 200);
  const hosts = ((await admin.get(`/routers/${router.id}/l3-agents`)).body.agents as Array<{ host: string }>).map((a) => a.host);
  assert.deepEqual(hosts, ['net2']);
  assert.deepEqual((await demo.get(`/routers/${router.id}`)).body.router.availability_zones, ['az2']);
});

test('the agent’s [agent] availability_zone defaults to nova and is what the DHCP and L3 roles report', async () => {
  const { parseAgentConfig } = await import('../../src/agent/config.ts');
  const base = '[DEFAULT]\nhost = h1\n[vxlan]\nenable_vxlan = false\n';
  assert.equal(parseAgentConfig(base).availabilityZone, 'nova');
  assert.equal(parseAgentConfig(`${base}[agent]\navailability_zone = az7\n`).availabilityZone, 'az7');
  assert.equal(parseAgentConfig(`${base}[AGENT]\navailability_zone = az8\n`).availabilityZone, 'az8');
});

test('agent reports: availability_zone must be a string', async (t) => {
  const { admin } = await agentServer(t);
  expectError(
    await admin.post('/neutrino/agents/report', { agent: { agent_type: 'DHCP agent', host: 'h', availability_zone: 5 } }),
    400,
    'HTTPBadRequest',
    "Invalid input for availability_zone. Reason: '5' is not a valid string.",
  );
});
