// Auto-allocated topology over HTTP (auto-allocated-topology): `is_default` on external networks (admin
// only, one default), the dry-run check and Neutron's deployment errors, the topology built once per
// project from the default external network and default subnet pools (also under concurrent
// requests), the policy on other projects, and its deletion.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import type { Api, Wire } from '../helpers/client.ts';
import { adminDemoOther, created, expectError } from '../helpers/networking.ts';

let srv: TestServer;
let admin: Api;
let demo: Api;
let other: Api;
let demoProject: string;
let otherProject: string;

before(async () => {
  srv = await startTestServer();
  ({ admin, demo, other, demoProject, otherProject } = await adminDemoOther(srv.url));
});

after(() => srv.close());

const network = (api: Api, body: Record<string, unknown> = {}) =>
  created(api.post('/networks', { network: { name: 'n', ...body } }), 'network');
const topology = (api: Api, project: string, query = '') => api.get(`/auto-allocated-topology/${project}${query}`);
const projectNetworks = async (project: string): Promise<Wire[]> =>
  (await admin.get(`/networks?project_id=${project}&name=auto_allocated_network`)).body.networks;

let defaultExternal: Wire;

test('is_default: shown on external networks only, set by admins, one default external network', async () => {
  const internal = await network(demo);
  assert.equal('is_default' in internal, false);
  expectError(
    await demo.post('/networks', { network: { name: 'x', is_default: true } }),
    403,
    'PolicyNotAuthorized',
    '(rule:create_network and rule:create_network:is_default) is disallowed by policy',
  );
  expectError(
    await demo.put(`/networks/${internal.id}`, { network: { is_default: false } }),
    403,
    'PolicyNotAuthorized',
    '(rule:update_network and rule:update_network:is_default) is disallowed by policy',
  );
  const ext = await network(admin, { 'router:external': true });
  assert.equal(ext.is_default, false);
  const first = await network(admin, { 'router:external': true, is_default: true });
  assert.equal(first.is_default, true);
  expectError(
    await admin.post('/networks', { network: { name: 'y', 'router:external': true, is_default: true } }),
    409,
    'DefaultExternalNetworkExists',
    `A default external network already exists: ${first.id}.`,
  );
  expectError(
    await admin.put(`/networks/${ext.id}`, { network: { is_default: true } }),
    409,
    'DefaultExternalNetworkExists',
    `A default external network already exists: ${first.id}.`,
  );
  assert.deepEqual(
    (await admin.get('/networks?is_default=true')).body.networks.map((n: Wire) => n.id),
    [first.id],
  );
  // No longer external: no longer the default, and not one when external again.
  await admin.put(`/networks/${first.id}`, { network: { 'router:external': false } });
  assert.equal('is_default' in (await admin.get(`/networks/${first.id}`)).body.network, false);
  const again = (await admin.put(`/networks/${first.id}`, { network: { 'router:external': true } })).body.network;
  assert.equal(again.is_default, false);
  // Setting it on an internal network stores nothing.
  await admin.put(`/networks/${internal.id}`, { network: { is_default: true } });
  assert.equal('is_default' in (await admin.get(`/networks/${internal.id}`)).body.network, false);
  defaultExternal = (await admin.put(`/networks/${ext.id}`, { network: { is_default: true } })).body.network;
  assert.equal(defaultExternal.is_default, true);
  assert.equal((await demo.get(`/networks/${ext.id}`)).body.network.is_default, true);
});

test('without a default external network: Deployment error, for the check and the request', async () => {
  await admin.put(`/networks/${defaultExternal.id}`, { network: { is_default: false } });
  expectError(
    await topology(demo, demoProject, '?fields=dry-run'),
    409,
    'AutoAllocationFailure',
    'Deployment error: No default router:external network.',
  );
  expectError(await topology(demo, demoProject), 409, 'AutoAllocationFailure', 'Deployment error: No default router:external network.');
  await admin.put(`/networks/${defaultExternal.id}`, { network: { is_default: true } });
});

test('without default subnet pools: Deployment error, and nothing is left behind', async () => {
  expectError(
    await topology(demo, demoProject, '?fields=dry-run'),
    409,
    'AutoAllocationFailure',
    'Deployment error: No default subnetpools defined.',
  );
  expectError(
    await topology(demo, demoProject),
    409,
    'AutoAllocationFailure',
    'Deployment error: Unable to provide project private network.',
  );
  assert.deepEqual(await projectNetworks(demoProject), []);
});

test('a router that cannot take the subnets (overlapping its gateway): Unable to provide external connectivity', async () => {
  // The pool's first /24 is the external network's subnet: the router refuses the overlapping interface.
  const extSubnet = await created(
    admin.post('/subnets', { subnet: { network_id: defaultExternal.id, ip_version: 4, cidr: '10.100.0.0/24' } }),
    'subnet',
  );
  await created(
    admin.post('/subnetpools', {
      subnetpool: { name: 'v4', prefixes: ['10.100.0.0/16'], default_prefixlen: 24, shared: true, is_default: true },
    }),
    'subnetpool',
  );
  expectError(
    await topology(demo, demoProject),
    409,
    'AutoAllocationFailure',
    'Deployment error: Unable to provide external connectivity.',
  );
  assert.deepEqual(await projectNetworks(demoProject), []);
  assert.deepEqual((await admin.get(`/routers?project_id=${demoProject}`)).body.routers, []);
  assert.equal((await admin.del(`/subnets/${extSubnet.id}`)).status, 204);
});

test('the topology: a network with a subnet from each default pool, a router to the default external network', async () => {
  await created(admin.post('/subnets', { subnet: { network_id: defaultExternal.id, ip_version: 4, cidr: '172.24.4.0/24' } }), 'subnet');
  await created(
    admin.post('/subnetpools', {
      subnetpool: { name: 'v6', prefixes: ['2001:db8:100::/48'], default_prefixlen: 64, shared: true, is_default: true },
    }),
    'subnetpool',
  );
  const check = await topology(demo, demoProject, '?fields=dry-run');
  assert.equal(check.status, 200);
  assert.deepEqual(check.body.auto_allocated_topology, { id: 'dry-run=pass', tenant_id: demoProject, project_id: demoProject });
  assert.deepEqual(await projectNetworks(demoProject), []);

  const r = await topology(demo, demoProject);
  assert.equal(r.status, 200);
  const topo = r.body.auto_allocated_topology;
  assert.deepEqual(Object.keys(topo).sort(), ['id', 'project_id', 'tenant_id']);
  assert.equal(topo.project_id, demoProject);
  const net = (await demo.get(`/networks/${topo.id}`)).body.network;
  assert.equal(net.name, 'auto_allocated_network');
  assert.equal(net.admin_state_up, true);
  assert.equal(net.shared, false);
  assert.equal(net.project_id, demoProject);
  const subnets = (await demo.get(`/subnets?network_id=${topo.id}`)).body.subnets;
  assert.deepEqual(subnets.map((s: Wire) => s.name).sort(), ['auto_allocated_subnet_v4', 'auto_allocated_subnet_v6']);
  assert.ok(subnets.every((s: Wire) => s.subnetpool_id));
  const v4 = subnets.find((s: Wire) => s.ip_version === 4);
  assert.equal(v4.cidr, '10.100.0.0/24');
  const routers = (await demo.get('/routers?name=auto_allocated_router')).body.routers;
  assert.equal(routers.length, 1);
  assert.equal(routers[0].external_gateway_info.network_id, defaultExternal.id);
  const interfaces = (await demo.get(`/ports?device_id=${routers[0].id}&device_owner=network:router_interface`)).body.ports;
  assert.deepEqual(interfaces.map((p: Wire) => p.fixed_ips[0].subnet_id).sort(), subnets.map((s: Wire) => s.id).sort());

  // Idempotent: the same network again, also for the project "None" (the caller's).
  assert.deepEqual((await topology(demo, demoProject)).body.auto_allocated_topology, topo);
  assert.deepEqual((await topology(demo, 'None')).body.auto_allocated_topology, topo);
  assert.equal((await projectNetworks(demoProject)).length, 1);
});

test('policy and fields: only admins ask for another project; fields other than dry-run are refused', async () => {
  expectError(await topology(demo, otherProject), 403, 'NotAuthorized', 'Not authorized.');
  expectError(await demo.del(`/auto-allocated-topology/${otherProject}`), 403, 'NotAuthorized', 'Not authorized.');
  expectError(await topology(demo, demoProject, '?fields=id'), 400, 'BadRequest', 'Bad auto_allocate request: Unrecognized field.');
  const forOther = (await topology(admin, otherProject)).body.auto_allocated_topology;
  assert.equal(forOther.project_id, otherProject);
  assert.equal((await other.get(`/networks/${forOther.id}`)).body.network.project_id, otherProject);
  assert.deepEqual((await topology(other, otherProject)).body.auto_allocated_topology, forOther);
});

test('concurrent first requests of a project build one topology', async () => {
  const { memberProject, api } = await import('../helpers/client.ts');
  const { adminToken } = await import('../helpers/client.ts');
  const third = await memberProject(srv.url, await adminToken(srv.url), 'third');
  const client = api(srv.url, third.token);
  const replies = await Promise.all([1, 2, 3, 4].map(() => topology(client, third.projectId)));
  assert.deepEqual(
    replies.map((r) => r.status),
    [200, 200, 200, 200],
  );
  assert.equal(new Set(replies.map((r) => r.body.auto_allocated_topology.id)).size, 1);
  assert.equal((await projectNetworks(third.projectId)).length, 1);
  assert.equal((await admin.get(`/routers?project_id=${third.projectId}`)).body.routers.length, 1);
});

test('DELETE removes the router and the network; a second DELETE answers 204; a new request builds anew', async () => {
  const topo = (await topology(demo, demoProject)).body.auto_allocated_topology;
  const router = (await demo.get('/routers?name=auto_allocated_router')).body.routers[0];
  const del = await demo.del(`/auto-allocated-topology/${demoProject}`);
  assert.equal(del.status, 204);
  assert.equal((await demo.get(`/networks/${topo.id}`)).status, 404);
  assert.equal((await demo.get(`/routers/${router.id}`)).status, 404);
  assert.equal((await demo.del(`/auto-allocated-topology/${demoProject}`)).status, 204);
  const fresh = (await topology(demo, demoProject)).body.auto_allocated_topology;
  assert.notEqual(fresh.id, topo.id);
  // A port of the project's own on the network keeps it: the delete answers the network's NetworkInUse.
  const vm = await created(demo.post('/ports', { port: { network_id: fresh.id, device_owner: 'compute:nova' } }), 'port');
  expectError(await demo.del(`/auto-allocated-topology/${demoProject}`), 409, 'NetworkInUse', new RegExp(vm.id));
});

test('the topology is listed among the extensions', async () => {
  const aliases = (await demo.get('/extensions')).body.extensions.map((e: Wire) => e.alias);
  assert.ok(aliases.includes('auto-allocated-topology'));
  assert.ok(aliases.includes('subnet-service-types'));
});
