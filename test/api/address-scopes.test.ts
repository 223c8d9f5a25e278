// Address scopes over HTTP (address-scope): CRUD, policy and visibility, pools joining a scope (family,
// no prefix shared with the scope's other pools, networks kept in one scope), the networks'
// ipv4_address_scope/ipv6_address_scope, and the scopes of router ports in the L3 agent's host view.
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

before(async () => {
  srv = await startTestServer();
  ({ admin, demo, other, demoProject } = await adminDemoOther(srv.url));
});

after(() => srv.close());

const scope = (api: Api, body: Record<string, unknown>) =>
  created(api.post('/address-scopes', { address_scope: { name: 'scope', ip_version: 4, ...body } }), 'address_scope');
const pool = (api: Api, body: Record<string, unknown>) =>
  created(api.post('/subnetpools', { subnetpool: { name: 'pool', ...body } }), 'subnetpool');
const network = (api: Api) => created(api.post('/networks', { network: { name: 'net' } }), 'network');

test('create, show, list, update and delete an address scope', async () => {
  const s = await scope(demo, { name: 'blue' });
  assert.deepEqual(Object.keys(s).sort(), ['id', 'ip_version', 'name', 'project_id', 'shared', 'tenant_id']);
  assert.equal(s.ip_version, 4);
  assert.equal(s.shared, false);
  assert.equal(s.project_id, demoProject);
  assert.deepEqual((await demo.get(`/address-scopes/${s.id}`)).body.address_scope, s);
  assert.ok((await demo.get('/address-scopes?ip_version=4')).body.address_scopes.some((x: Wire) => x.id === s.id));
  assert.deepEqual((await demo.get('/address-scopes?ip_version=6&name=blue')).body.address_scopes, []);
  const up = await demo.put(`/address-scopes/${s.id}`, { address_scope: { name: 'green' } });
  assert.equal(up.status, 200);
  assert.equal(up.body.address_scope.name, 'green');
  assert.equal((await demo.del(`/address-scopes/${s.id}`)).status, 204);
  expectError(await demo.get(`/address-scopes/${s.id}`), 404, 'AddressScopeNotFound', `Address scope ${s.id} could not be found.`);
});

test('address scope refusals and policy', async () => {
  const post = (api: Api, body: Record<string, unknown>) => api.post('/address-scopes', { address_scope: body });
  expectError(
    await post(demo, { name: 'x' }),
    400,
    'HTTPBadRequest',
    "Failed to parse request. Required attribute 'ip_version' not specified",
  );
  expectError(await post(demo, { ip_version: 5 }), 400, 'HTTPBadRequest', "Invalid input for ip_version. Reason: '5' is not in [4, 6].");
  expectError(await post(demo, { ip_version: 4, description: 'd' }), 400, 'HTTPBadRequest', "Unrecognized attribute(s) 'description'");
  expectError(
    await post(demo, { ip_version: 4, shared: true }),
    403,
    'PolicyNotAuthorized',
    '(rule:create_address_scope and rule:create_address_scope:shared) is disallowed by policy',
  );
  const mine = await scope(demo, {});
  const shared = await scope(admin, { shared: true, ip_version: 6 });
  expectError(await other.get(`/address-scopes/${mine.id}`), 404, 'AddressScopeNotFound');
  expectError(await other.put(`/address-scopes/${mine.id}`, { address_scope: { name: 'x' } }), 404, 'AddressScopeNotFound');
  expectError(await other.del(`/address-scopes/${mine.id}`), 404, 'AddressScopeNotFound');
  assert.equal((await other.get(`/address-scopes/${shared.id}`)).status, 200);
  const seen = (await other.get('/address-scopes')).body.address_scopes.map((x: Wire) => x.id);
  assert.ok(seen.includes(shared.id) && !seen.includes(mine.id));
  expectError(
    await other.put(`/address-scopes/${shared.id}`, { address_scope: { name: 'x' } }),
    403,
    'PolicyNotAuthorized',
    'rule:update_address_scope is disallowed by policy',
  );
  expectError(
    await other.del(`/address-scopes/${shared.id}`),
    403,
    'PolicyNotAuthorized',
    'rule:delete_address_scope is disallowed by policy',
  );
  expectError(
    await demo.put(`/address-scopes/${mine.id}`, { address_scope: { shared: true } }),
    403,
    'PolicyNotAuthorized',
    '(rule:update_address_scope and rule:update_address_scope:shared) is disallowed by policy',
  );
  expectError(
    await demo.put(`/address-scopes/${mine.id}`, { address_scope: { ip_version: 6 } }),
    400,
    'HTTPBadRequest',
    'Cannot update read-only attribute ip_version',
  );
  expectError(
    await admin.put(`/address-scopes/${shared.id}`, { address_scope: { shared: false } }),
    400,
    'AddressScopeUpdateError',
    `Unable to update address scope ${shared.id} : Shared address scope can't be unshared.`,
  );
  assert.equal((await admin.put(`/address-scopes/${mine.id}`, { address_scope: { shared: true } })).body.address_scope.shared, true);
});

test('pools in a scope: same family, no prefix shared with the scope’s other pools, the scope kept while pools use it', async () => {
  const s4 = await scope(demo, {});
  const s6 = await scope(demo, { ip_version: 6 });
  const p1 = await pool(demo, { prefixes: ['10.1.0.0/16'], address_scope_id: s4.id });
  assert.equal(p1.address_scope_id, s4.id);
  expectError(
    await demo.post('/subnetpools', { subnetpool: { name: 'p', prefixes: ['10.2.0.0/16'], address_scope_id: s6.id } }),
    400,
    'IllegalSubnetPoolIpVersionAssociationToAddressScope',
    new RegExp(
      `^Illegal subnetpool association: subnetpool \\S+ cannot associate with address scope ${s6.id} because subnetpool ip_version is not 6\\.$`,
    ),
  );
  const conflictMsg = 'Failed to associate address scope: subnetpools within an address scope must have unique prefixes.';
  expectError(
    await demo.post('/subnetpools', { subnetpool: { name: 'p', prefixes: ['10.1.128.0/17'], address_scope_id: s4.id } }),
    409,
    'AddressScopePrefixConflict',
    conflictMsg,
  );
  const p2 = await pool(demo, { prefixes: ['10.3.0.0/16'] });
  expectError(
    await demo.put(`/subnetpools/${p2.id}`, { subnetpool: { address_scope_id: s4.id, prefixes: ['10.3.0.0/16', '10.1.0.0/24'] } }),
    409,
    'AddressScopePrefixConflict',
  );
  assert.equal(
    (await demo.put(`/subnetpools/${p2.id}`, { subnetpool: { address_scope_id: s4.id } })).body.subnetpool.address_scope_id,
    s4.id,
  );
  expectError(
    await demo.put(`/subnetpools/${p2.id}/add_prefixes`, { prefixes: ['10.1.5.0/24'] }),
    409,
    'AddressScopePrefixConflict',
    conflictMsg,
  );
  const missing = '3c338602-d806-488a-ae66-c4c8f8d13b9b';
  expectError(
    await demo.post('/subnetpools', { subnetpool: { name: 'p', prefixes: ['10.9.0.0/16'], address_scope_id: missing } }),
    404,
    'AddressScopeNotFound',
  );
  // Another project's scope is not to be seen, so not to be used.
  const theirs = await scope(other, {});
  expectError(
    await demo.post('/subnetpools', { subnetpool: { name: 'p', prefixes: ['10.9.0.0/16'], address_scope_id: theirs.id } }),
    404,
    'AddressScopeNotFound',
  );
  expectError(
    await demo.del(`/address-scopes/${s4.id}`),
    409,
    'AddressScopeInUse',
    `Unable to complete operation on address scope ${s4.id}. There are one or more subnet pools in use on the address scope.`,
  );
  assert.equal(
    (await demo.put(`/subnetpools/${p2.id}`, { subnetpool: { address_scope_id: null } })).body.subnetpool.address_scope_id,
    null,
  );
  assert.equal((await demo.del(`/subnetpools/${p1.id}`)).status, 204);
  assert.equal((await demo.del(`/address-scopes/${s4.id}`)).status, 204);
});

test('a pool in another project’s shared scope is not its owner’s to change', async () => {
  const shared = await scope(admin, { shared: true });
  const p = await pool(demo, { prefixes: ['10.20.0.0/16'], address_scope_id: shared.id });
  expectError(
    await demo.put(`/subnetpools/${p.id}`, { subnetpool: { name: 'x' } }),
    400,
    'IllegalSubnetPoolUpdate',
    `Illegal subnetpool update : subnetpool ${p.id} cannot be updated when associated with shared address scope ${shared.id}.`,
  );
  assert.equal((await admin.put(`/subnetpools/${p.id}`, { subnetpool: { name: 'x' } })).status, 200);
});

test('networks show the scope of their subnets’ pools; a network’s subnets of one family stay in one scope', async () => {
  const s4 = await scope(demo, {});
  const s6 = await scope(demo, { ip_version: 6 });
  const other4 = await scope(demo, {});
  const p4 = await pool(demo, { prefixes: ['10.30.0.0/16'], default_prefixlen: 24, address_scope_id: s4.id });
  const p4b = await pool(demo, { prefixes: ['10.31.0.0/16'], default_prefixlen: 24, address_scope_id: s4.id });
  const p6 = await pool(demo, { prefixes: ['2001:db8:30::/48'], default_prefixlen: 64, address_scope_id: s6.id });
  const pOther = await pool(demo, { prefixes: ['10.32.0.0/16'], default_prefixlen: 24, address_scope_id: other4.id });
  const net = await network(demo);
  const shown = async () => (await demo.get(`/networks/${net.id}`)).body.network;
  assert.equal((await shown()).ipv4_address_scope, null);
  await created(demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, subnetpool_id: p4.id } }), 'subnet');
  assert.equal((await shown()).ipv4_address_scope, s4.id);
  assert.equal((await shown()).ipv6_address_scope, null);
  await created(demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 6, subnetpool_id: p6.id } }), 'subnet');
  assert.equal((await shown()).ipv6_address_scope, s6.id);
  assert.ok((await demo.get('/networks')).body.networks.some((n: Wire) => n.id === net.id && n.ipv4_address_scope === s4.id));
  // Another pool of the same scope may serve the network; a pool of another scope, or none, may not.
  await created(demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, subnetpool_id: p4b.id } }), 'subnet');
  const affinity = 'Subnets of the same address family hosted on the same network must all participate in the same address scope.';
  expectError(
    await demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, subnetpool_id: pOther.id } }),
    400,
    'NetworkAddressScopeAffinityError',
    affinity,
  );
  expectError(
    await demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '192.168.9.0/24' } }),
    400,
    'NetworkAddressScopeAffinityError',
    affinity,
  );
  // Re-scoping a pool that would leave the network's IPv4 subnets in two scopes is refused.
  expectError(
    await demo.put(`/subnetpools/${p4b.id}`, { subnetpool: { address_scope_id: other4.id } }),
    400,
    'NetworkAddressScopeAffinityError',
    affinity,
  );
});

test('the L3 agent’s host view records each router port’s address scopes', async () => {
  const report = (agent_type: string, host: string, configurations: object = {}) =>
    admin.post('/neutrino/agents/report', { agent: { agent_type, host, configurations, start_flag: true } });
  assert.equal(
    (await report('Linux bridge agent', 'scopes-host', { tunneling_ip: '192.168.0.50', interface_mappings: { provider: 'eth2' } })).status,
    200,
  );
  assert.equal((await report('L3 agent', 'scopes-host')).status, 200);
  const s4 = await scope(admin, { shared: true });
  const p = await pool(admin, { prefixes: ['10.40.0.0/16'], default_prefixlen: 24, address_scope_id: s4.id, shared: true });
  const net = await network(demo);
  const sub = await created(demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, subnetpool_id: p.id } }), 'subnet');
  const plainNet = await network(demo);
  const plain = await created(
    demo.post('/subnets', { subnet: { network_id: plainNet.id, ip_version: 4, cidr: '192.168.40.0/24' } }),
    'subnet',
  );
  const router = await created(demo.post('/routers', { router: { name: 'r' } }), 'router');
  for (const s of [sub, plain])
    assert.equal((await demo.put(`/routers/${router.id}/add_router_interface`, { subnet_id: s.id })).status, 200);
  const view = (await admin.get('/neutrino/hosts/scopes-host/view')).body.view;
  const r = view.routers.find((x: Wire) => x.id === router.id);
  assert.ok(r, JSON.stringify(view.routers));
  const byNetwork = Object.fromEntries(r.interfaces.map((i: Wire) => [i.port.network_id, i.address_scopes]));
  assert.deepEqual(byNetwork[net.id], { 4: s4.id, 6: null });
  assert.deepEqual(byNetwork[plainNet.id], { 4: null, 6: null });
});
