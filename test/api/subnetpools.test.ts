// Subnet pools over HTTP (subnet_allocation, default-subnetpools, subnetpool-prefix-ops, subnet_onboard):
// CRUD with Neutron's prefix and bound rules, subnets allocated from a pool (prefixlen, a CIDR inside it,
// the family's default pool), the pool's quota, one pool per network and family, the prefix operations,
// policy and every refusal.
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

const pool = (api: Api, body: Record<string, unknown>) =>
  created(api.post('/subnetpools', { subnetpool: { name: 'pool', ...body } }), 'subnetpool');
const network = async (api: Api, name = 'net') => created(api.post('/networks', { network: { name } }), 'network');
const subnet = (api: Api, body: Record<string, unknown>) => api.post('/subnets', { subnet: { ip_version: 4, ...body } });

test('a pool is created with Neutron defaults: compacted prefixes, bounds by family, prefix lengths as text', async () => {
  const p = await pool(demo, { prefixes: ['10.10.1.0/24', '10.10.0.0/24', '10.10.2.0/23'], description: 'd' });
  assert.deepEqual(p.prefixes, ['10.10.0.0/22']);
  assert.equal(p.ip_version, 4);
  assert.equal(p.min_prefixlen, '8');
  assert.equal(p.max_prefixlen, '32');
  assert.equal(p.default_prefixlen, '8');
  assert.equal(p.is_default, false);
  assert.equal(p.shared, false);
  assert.equal(p.default_quota, null);
  assert.equal(p.address_scope_id, null);
  assert.equal(p.project_id, demoProject);
  assert.equal(p.tenant_id, demoProject);
  assert.equal(p.description, 'd');
  assert.deepEqual(p.tags, []);
  assert.equal(p.revision_number, 0);
  const v6 = await pool(demo, { prefixes: ['2001:db8::/48'], default_prefixlen: 64, max_prefixlen: 64 });
  assert.equal(v6.ip_version, 6);
  assert.equal(v6.min_prefixlen, '64');
  assert.equal(v6.default_prefixlen, '64');
  assert.deepEqual((await demo.get(`/subnetpools/${p.id}`)).body.subnetpool, p);
});

test('pool create refusals: required attributes, prefixes, bounds, numbers', async () => {
  const post = (body: Record<string, unknown>) => demo.post('/subnetpools', { subnetpool: body });
  expectError(
    await post({ prefixes: ['10.0.0.0/8'] }),
    400,
    'HTTPBadRequest',
    "Failed to parse request. Required attribute 'name' not specified",
  );
  expectError(await post({ name: 'p' }), 400, 'HTTPBadRequest', "Failed to parse request. Required attribute 'prefixes' not specified");
  expectError(
    await post({ name: ' ', prefixes: ['10.0.0.0/8'] }),
    400,
    'HTTPBadRequest',
    "Invalid input for name. Reason: ' ' Blank strings are not permitted.",
  );
  expectError(await post({ name: 'p', prefixes: [] }), 400, 'EmptySubnetPoolPrefixList', 'Empty subnet pool prefix list.');
  expectError(
    await post({ name: 'p', prefixes: ['10.0.0.0/8', '2001:db8::/32'] }),
    400,
    'PrefixVersionMismatch',
    'Cannot mix IPv4 and IPv6 prefixes in a subnet pool.',
  );
  expectError(await post({ name: 'p', prefixes: 'x' }), 400, 'HTTPBadRequest', "Invalid input for prefixes. Reason: 'x' is not a list.");
  expectError(
    await post({ name: 'p', prefixes: ['10.0.0.0/33'] }),
    400,
    'HTTPBadRequest',
    "Invalid input for prefixes. Reason: '10.0.0.0/33' is not a valid IP subnet.",
  );
  expectError(
    await post({ name: 'p', prefixes: ['10.0.0.0/8', '10.0.0.0/8'] }),
    400,
    'HTTPBadRequest',
    "Invalid input for prefixes. Reason: Duplicate items in the list: '10.0.0.0/8, 10.0.0.0/8'.",
  );
  expectError(
    await post({ name: 'p', prefixes: ['10.0.0.0/8'], min_prefixlen: 24, max_prefixlen: 16 }),
    400,
    'IllegalSubnetPoolPrefixBounds',
    'Illegal prefix bounds: min_prefixlen=24, max_prefixlen=16.',
  );
  expectError(
    await post({ name: 'p', prefixes: ['10.0.0.0/8'], max_prefixlen: 33 }),
    400,
    'IllegalSubnetPoolPrefixBounds',
    'Illegal prefix bounds: max_prefixlen=33, ip_version_max=32.',
  );
  expectError(
    await post({ name: 'p', prefixes: ['10.0.0.0/8'], min_prefixlen: 16, default_prefixlen: 12 }),
    400,
    'IllegalSubnetPoolPrefixBounds',
    'Illegal prefix bounds: default_prefixlen=12, min_prefixlen=16.',
  );
  expectError(
    await post({ name: 'p', prefixes: ['10.0.0.0/8'], max_prefixlen: 24, default_prefixlen: 28 }),
    400,
    'IllegalSubnetPoolPrefixBounds',
    'Illegal prefix bounds: default_prefixlen=28, max_prefixlen=24.',
  );
  expectError(
    await post({ name: 'p', prefixes: ['10.0.0.0/8'], default_quota: -1 }),
    400,
    'HTTPBadRequest',
    "Invalid input for default_quota. Reason: '-1' should be non-negative.",
  );
  expectError(
    await post({ name: 'p', prefixes: ['10.0.0.0/8'], min_prefixlen: 'x' }),
    400,
    'HTTPBadRequest',
    "Invalid input for min_prefixlen. Reason: 'x' is not an integer.",
  );
  expectError(
    await post({ name: 'p', prefixes: ['10.0.0.0/8'], ip_version: 4 }),
    400,
    'HTTPBadRequest',
    "Attribute 'ip_version' not allowed in POST",
  );
});

test('policy: shared and is_default are the admin’s; pools are seen by their project, admins, and all when shared', async () => {
  expectError(
    await demo.post('/subnetpools', { subnetpool: { name: 'p', prefixes: ['10.0.0.0/8'], shared: true } }),
    403,
    'PolicyNotAuthorized',
    '(rule:create_subnetpool and rule:create_subnetpool:shared) is disallowed by policy',
  );
  expectError(
    await demo.post('/subnetpools', { subnetpool: { name: 'p', prefixes: ['10.0.0.0/8'], is_default: true } }),
    403,
    'PolicyNotAuthorized',
    '(rule:create_subnetpool and rule:create_subnetpool:is_default) is disallowed by policy',
  );
  const mine = await pool(demo, { prefixes: ['10.20.0.0/16'] });
  const shared = await pool(admin, { prefixes: ['10.21.0.0/16'], shared: true });
  expectError(await other.get(`/subnetpools/${mine.id}`), 404, 'SubnetPoolNotFound', `Subnet pool ${mine.id} could not be found.`);
  expectError(await other.put(`/subnetpools/${mine.id}`, { subnetpool: { name: 'x' } }), 404, 'SubnetPoolNotFound');
  expectError(await other.del(`/subnetpools/${mine.id}`), 404, 'SubnetPoolNotFound');
  assert.equal((await other.get(`/subnetpools/${shared.id}`)).body.subnetpool.shared, true);
  const seen = (await other.get('/subnetpools')).body.subnetpools.map((p: Wire) => p.id);
  assert.ok(seen.includes(shared.id) && !seen.includes(mine.id));
  assert.ok((await admin.get('/subnetpools')).body.subnetpools.some((p: Wire) => p.id === mine.id));
  expectError(
    await other.put(`/subnetpools/${shared.id}`, { subnetpool: { name: 'x' } }),
    403,
    'PolicyNotAuthorized',
    'rule:update_subnetpool is disallowed by policy',
  );
  expectError(await other.del(`/subnetpools/${shared.id}`), 403, 'PolicyNotAuthorized', 'rule:delete_subnetpool is disallowed by policy');
  expectError(
    await demo.put(`/subnetpools/${mine.id}`, { subnetpool: { is_default: true } }),
    403,
    'PolicyNotAuthorized',
    '(rule:update_subnetpool and rule:update_subnetpool:is_default) is disallowed by policy',
  );
  expectError(
    await demo.put(`/subnetpools/${mine.id}`, { subnetpool: { shared: true } }),
    400,
    'HTTPBadRequest',
    'Cannot update read-only attribute shared',
  );
});

test('subnets from a pool: prefixlen, the default length, a CIDR inside the pool; bounds and exhaustion', async () => {
  const p = await pool(demo, { prefixes: ['10.30.0.0/24'], default_prefixlen: 25, min_prefixlen: 24, max_prefixlen: 28 });
  const net = await network(demo);
  const a = await created(subnet(demo, { network_id: net.id, subnetpool_id: p.id, prefixlen: 26 }), 'subnet');
  assert.equal(a.cidr, '10.30.0.0/26');
  assert.equal(a.subnetpool_id, p.id);
  assert.equal(a.gateway_ip, '10.30.0.1');
  assert.deepEqual(a.allocation_pools, [{ start: '10.30.0.2', end: '10.30.0.62' }]);
  assert.equal('prefixlen' in a, false, 'prefixlen is never shown');
  assert.equal('use_default_subnetpool' in a, false);
  const b = await created(subnet(demo, { network_id: net.id, subnetpool_id: p.id }), 'subnet');
  assert.equal(b.cidr, '10.30.0.128/25', 'the default length, from the first free block that holds it');
  const c = await created(subnet(demo, { network_id: net.id, subnetpool_id: p.id, prefixlen: 28, gateway_ip: null }), 'subnet');
  assert.equal(c.cidr, '10.30.0.64/28', 'the smallest free blocks are used first');
  assert.equal(c.gateway_ip, null);
  const d = await created(subnet(demo, { network_id: net.id, subnetpool_id: p.id, cidr: '10.30.0.96/27' }), 'subnet');
  assert.equal(d.subnetpool_id, p.id);
  assert.equal((await demo.get(`/subnets/${d.id}`)).body.subnet.subnetpool_id, p.id);
  assert.deepEqual((await demo.get(`/subnets?subnetpool_id=${p.id}`)).body.subnets.map((s: Wire) => s.cidr).sort(), [
    '10.30.0.0/26',
    '10.30.0.128/25',
    '10.30.0.64/28',
    '10.30.0.96/27',
  ]);

  expectError(
    await subnet(demo, { network_id: net.id, subnetpool_id: p.id, prefixlen: 29 }),
    400,
    'MaxPrefixSubnetAllocationError',
    'Unable to allocate subnet with prefix length 29, maximum allowed prefix is 28.',
  );
  expectError(
    await subnet(demo, { network_id: net.id, subnetpool_id: p.id, prefixlen: 23 }),
    400,
    'MinPrefixSubnetAllocationError',
    'Unable to allocate subnet with prefix length 23, minimum allowed prefix is 24.',
  );
  const e = await created(subnet(demo, { network_id: net.id, subnetpool_id: p.id, prefixlen: 28 }), 'subnet');
  assert.equal(e.cidr, '10.30.0.80/28', 'the last free block');
  expectError(
    await subnet(demo, { network_id: net.id, subnetpool_id: p.id, prefixlen: 28 }),
    500,
    'SubnetAllocationError',
    'Failed to allocate subnet: Insufficient prefix space to allocate subnet size /28.',
  );
  const net2 = await network(demo, 'other-net');
  expectError(
    await subnet(demo, { network_id: net2.id, subnetpool_id: p.id, cidr: '10.30.0.64/28' }),
    500,
    'SubnetAllocationError',
    'Failed to allocate subnet: Cannot allocate requested subnet from the available set of prefixes.',
  );
  expectError(
    await subnet(demo, { network_id: net2.id, subnetpool_id: p.id, cidr: '10.31.0.0/28' }),
    500,
    'SubnetAllocationError',
    'Failed to allocate subnet: Cannot allocate requested subnet from the available set of prefixes.',
  );
  // A pool with allocations stays; without them it goes (its tags with it).
  expectError(
    await demo.del(`/subnetpools/${p.id}`),
    400,
    'SubnetPoolDeleteError',
    'Unable to delete subnet pool: Subnet pool has existing allocations.',
  );
  for (const s of [a, b, c, d, e]) assert.equal((await demo.del(`/subnets/${s.id}`)).status, 204);
  assert.equal((await demo.put(`/subnetpools/${p.id}/tags/t`, undefined)).status, 201);
  assert.equal((await demo.del(`/subnetpools/${p.id}`)).status, 204);
  expectError(await demo.get(`/subnetpools/${p.id}`), 404, 'SubnetPoolNotFound');
});

test('subnet requests naming a pool: every refusal', async () => {
  const p = await pool(demo, { prefixes: ['10.40.0.0/16'], default_prefixlen: 24 });
  const net = await network(demo);
  const bad = (msg: string) => `Bad subnets request: ${msg}.`;
  expectError(
    await subnet(demo, { network_id: net.id, subnetpool_id: p.id, cidr: '10.40.0.0/24', prefixlen: 24 }),
    400,
    'BadRequest',
    bad('cidr and prefixlen must not be supplied together'),
  );
  expectError(
    await subnet(demo, { network_id: net.id, subnetpool_id: p.id, use_default_subnetpool: true }),
    400,
    'BadRequest',
    bad('subnetpool_id and use_default_subnetpool cannot both be specified'),
  );
  expectError(
    await subnet(demo, { network_id: net.id }),
    400,
    'BadRequest',
    bad('a subnetpool must be specified in the absence of a cidr'),
  );
  expectError(
    await subnet(demo, { network_id: net.id, prefixlen: 24 }),
    400,
    'BadRequest',
    bad('a subnetpool must be specified in the absence of a cidr'),
  );
  expectError(
    await subnet(demo, { network_id: net.id, subnetpool_id: p.id, allocation_pools: [{ start: '10.40.0.5', end: '10.40.0.9' }] }),
    400,
    'BadRequest',
    bad('allocation_pools allowed only for specific subnet requests.'),
  );
  expectError(
    await subnet(demo, { network_id: net.id, subnetpool_id: p.id, ip_version: 6 }),
    400,
    'BadRequest',
    bad('Cannot allocate IPv6 subnet from IPv4 subnet pool'),
  );
  expectError(
    await subnet(demo, { network_id: net.id, subnetpool_id: p.id, prefixlen: -1 }),
    400,
    'HTTPBadRequest',
    "Invalid input for prefixlen. Reason: '-1' should be non-negative.",
  );
  const missing = '3c338602-d806-488a-ae66-c4c8f8d13b9b';
  expectError(
    await subnet(demo, { network_id: net.id, subnetpool_id: missing }),
    404,
    'SubnetPoolNotFound',
    `Subnet pool ${missing} could not be found.`,
  );
  expectError(await subnet(other, { network_id: (await network(other)).id, subnetpool_id: p.id }), 404, 'SubnetPoolNotFound');
  // A gateway without a CIDR: the CIDR is the gateway's prefix of the requested length.
  const g = await created(subnet(demo, { network_id: net.id, subnetpool_id: p.id, gateway_ip: '10.40.7.1', prefixlen: 24 }), 'subnet');
  assert.equal(g.cidr, '10.40.7.0/24');
  assert.equal(g.gateway_ip, '10.40.7.1');
});

test('use_default_subnetpool takes the family’s default pool; one default per family', async () => {
  const net = await network(demo);
  expectError(
    await subnet(demo, { network_id: net.id, ip_version: 6, use_default_subnetpool: true }),
    400,
    'BadRequest',
    'Bad subnets request: No default subnetpool found for IPv6.',
  );
  const def = await pool(admin, { prefixes: ['2001:db8:100::/48'], is_default: true, shared: true, default_prefixlen: 64 });
  expectError(
    await admin.post('/subnetpools', { subnetpool: { name: 'second', prefixes: ['2001:db8:200::/48'], is_default: true } }),
    400,
    'InvalidInput',
    'Invalid input for operation: A default subnetpool for this IP family has already been set. Only one default may exist per IP family.',
  );
  const second = await pool(admin, { prefixes: ['2001:db8:200::/48'] });
  expectError(await admin.put(`/subnetpools/${second.id}`, { subnetpool: { is_default: true } }), 400, 'InvalidInput');
  const s = await created(
    subnet(demo, { network_id: net.id, ip_version: 6, use_default_subnetpool: true, ipv6_ra_mode: 'slaac', ipv6_address_mode: 'slaac' }),
    'subnet',
  );
  assert.equal(s.subnetpool_id, def.id);
  assert.equal(s.cidr, '2001:db8:100::/64');
  assert.equal(s.gateway_ip, '2001:db8:100::1');
  assert.deepEqual(
    (await admin.get('/subnetpools?is_default=true&ip_version=6')).body.subnetpools.map((p: Wire) => p.id),
    [def.id],
  );
  assert.equal((await demo.del(`/subnets/${s.id}`)).status, 204);
  assert.equal((await admin.put(`/subnetpools/${def.id}`, { subnetpool: { is_default: false } })).status, 200);
});

test('the pool quota counts each project’s prefix space in /32 units', async () => {
  const p = await pool(admin, { prefixes: ['10.50.0.0/24'], shared: true, default_quota: 128, default_prefixlen: 26 });
  const net = await network(demo);
  const netOther = await network(other);
  await created(subnet(demo, { network_id: net.id, subnetpool_id: p.id }), 'subnet');
  await created(subnet(demo, { network_id: net.id, subnetpool_id: p.id }), 'subnet');
  expectError(
    await subnet(demo, { network_id: net.id, subnetpool_id: p.id }),
    409,
    'SubnetPoolQuotaExceeded',
    'Per-project subnet pool prefix quota exceeded.',
  );
  // Another project has its own share.
  await created(subnet(other, { network_id: netOther.id, subnetpool_id: p.id }), 'subnet');
});

test('one pool per network and family: a subnet from another pool or from no pool is refused', async () => {
  const p1 = await pool(demo, { prefixes: ['10.60.0.0/16'], default_prefixlen: 24 });
  const p2 = await pool(demo, { prefixes: ['10.61.0.0/16'], default_prefixlen: 24 });
  const net = await network(demo);
  await created(subnet(demo, { network_id: net.id, subnetpool_id: p1.id }), 'subnet');
  const affinity = 'Subnets hosted on the same network must be allocated from the same subnet pool.';
  expectError(await subnet(demo, { network_id: net.id, subnetpool_id: p2.id }), 400, 'NetworkSubnetPoolAffinityError', affinity);
  expectError(await subnet(demo, { network_id: net.id, cidr: '10.99.1.0/24' }), 400, 'NetworkSubnetPoolAffinityError', affinity);
  // The other family is free.
  await created(subnet(demo, { network_id: net.id, ip_version: 6, cidr: '2001:db8:61::/64' }), 'subnet');
  const plain = await network(demo);
  await created(subnet(demo, { network_id: plain.id, cidr: '10.99.2.0/24' }), 'subnet');
  expectError(await subnet(demo, { network_id: plain.id, subnetpool_id: p1.id }), 400, 'NetworkSubnetPoolAffinityError', affinity);
});

test('update: prefixes only grow, bounds are checked again, the answer shows prefix lengths as numbers', async () => {
  const p = await pool(demo, { prefixes: ['10.70.0.0/24'], default_prefixlen: 26 });
  const up = await demo.put(`/subnetpools/${p.id}`, {
    subnetpool: { prefixes: ['10.70.0.0/24', '10.70.1.0/24'], name: 'renamed', default_quota: 512 },
  });
  assert.equal(up.status, 200, JSON.stringify(up.body));
  assert.deepEqual(up.body.subnetpool.prefixes, ['10.70.0.0/23']);
  assert.equal(up.body.subnetpool.name, 'renamed');
  assert.equal(up.body.subnetpool.default_quota, 512);
  assert.equal(up.body.subnetpool.default_prefixlen, 26);
  assert.equal(up.body.subnetpool.revision_number, 1);
  assert.equal((await demo.get(`/subnetpools/${p.id}`)).body.subnetpool.default_prefixlen, '26');
  expectError(
    await demo.put(`/subnetpools/${p.id}`, { subnetpool: { prefixes: ['10.70.0.0/24'] } }),
    400,
    'IllegalSubnetPoolPrefixUpdate',
    'Illegal update to prefixes: Existing prefixes must be a subset of the new prefixes.',
  );
  expectError(
    await demo.put(`/subnetpools/${p.id}`, { subnetpool: { min_prefixlen: 28 } }),
    400,
    'IllegalSubnetPoolPrefixBounds',
    'Illegal prefix bounds: default_prefixlen=26, min_prefixlen=28.',
  );
  expectError(
    await demo.put(`/subnetpools/${p.id}`, { subnetpool: { ip_version: 6 } }),
    400,
    'HTTPBadRequest',
    'Cannot update read-only attribute ip_version',
  );
  assert.deepEqual(
    (await demo.get(`/subnetpools?default_prefixlen=26&name=renamed`)).body.subnetpools.map((x: Wire) => x.id),
    [p.id],
  );
});

test('add_prefixes and remove_prefixes: compacted, refused while a subnet holds the space', async () => {
  const p = await pool(demo, { prefixes: ['10.80.0.0/24'], default_prefixlen: 26 });
  const added = await demo.put(`/subnetpools/${p.id}/add_prefixes`, { prefixes: ['10.80.1.0/24', '10.90.0.0/16'] });
  assert.equal(added.status, 200, JSON.stringify(added.body));
  assert.deepEqual(added.body, { prefixes: ['10.80.0.0/23', '10.90.0.0/16'] });
  const net = await network(demo);
  const s = await created(subnet(demo, { network_id: net.id, subnetpool_id: p.id }), 'subnet');
  assert.equal(s.cidr, '10.80.0.0/26');
  expectError(
    await demo.put(`/subnetpools/${p.id}/remove_prefixes`, { prefixes: ['10.80.0.0/24'] }),
    400,
    'IllegalSubnetPoolPrefixUpdate',
    'Illegal update to prefixes: One or more the prefixes to be removed is in use by a subnet.',
  );
  const removed = await demo.put(`/subnetpools/${p.id}/remove_prefixes`, { prefixes: ['10.80.1.0/24', '10.90.128.0/17'] });
  assert.equal(removed.status, 200);
  assert.deepEqual(removed.body, { prefixes: ['10.80.0.0/24', '10.90.0.0/17'] });
  const noop = await demo.put(`/subnetpools/${p.id}/remove_prefixes`, { prefixes: ['192.168.0.0/16'] });
  assert.deepEqual(noop.body, { prefixes: ['10.80.0.0/24', '10.90.0.0/17'] });
  assert.deepEqual((await demo.get(`/subnetpools/${p.id}`)).body.subnetpool.prefixes, ['10.80.0.0/24', '10.90.0.0/17']);
  for (const body of [{}, { prefixes: [] }, { prefixes: '10.0.0.0/8' }, []]) {
    expectError(await demo.put(`/subnetpools/${p.id}/add_prefixes`, body), 400, 'HTTPBadRequest', 'Request body contains invalid data');
  }
  expectError(await other.put(`/subnetpools/${p.id}/add_prefixes`, { prefixes: ['10.1.0.0/16'] }), 404, 'SubnetPoolNotFound');
  const shared = await pool(admin, { prefixes: ['10.81.0.0/16'], shared: true });
  expectError(
    await demo.put(`/subnetpools/${shared.id}/add_prefixes`, { prefixes: ['10.82.0.0/16'] }),
    403,
    'PolicyNotAuthorized',
    'rule:add_prefixes is disallowed by policy',
  );
  expectError(
    await demo.put(`/subnetpools/${shared.id}/remove_prefixes`, { prefixes: ['10.81.0.0/24'] }),
    403,
    'PolicyNotAuthorized',
    'rule:remove_prefixes is disallowed by policy',
  );
});

test('onboard_network_subnets moves a network’s subnets of the pool’s family into the pool', async () => {
  const p = await pool(demo, { prefixes: ['10.110.0.0/16'] });
  const net = await network(demo);
  const s4 = await created(subnet(demo, { network_id: net.id, cidr: '192.168.50.0/24' }), 'subnet');
  await created(subnet(demo, { network_id: net.id, ip_version: 6, cidr: '2001:db8:50::/64' }), 'subnet');
  const r = await demo.put(`/subnetpools/${p.id}/onboard_network_subnets`, { network_id: net.id });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body, [{ id: s4.id, cidr: '192.168.50.0/24' }]);
  assert.deepEqual((await demo.get(`/subnetpools/${p.id}`)).body.subnetpool.prefixes, ['10.110.0.0/16', '192.168.50.0/24']);
  const moved = (await demo.get(`/subnets/${s4.id}`)).body.subnet;
  assert.equal(moved.subnetpool_id, p.id);
  assert.equal(moved.revision_number, s4.revision_number + 1);

  const again = await demo.put(`/subnetpools/${p.id}/onboard_network_subnets`, { network_id: net.id });
  expectError(
    again,
    400,
    'IllegalSubnetPoolUpdate',
    `Illegal subnetpool update : Onboarding subnet ${s4.id}: 192.168.50.0/24 conflicts with allocated prefixes in subnet pool ${p.id}.`,
  );
  expectError(
    await demo.put(`/subnetpools/${p.id}/onboard_network_subnets`, {}),
    400,
    'InvalidInput',
    'Invalid input for operation: network_id must be specified.',
  );
  const theirs = await network(other);
  expectError(await demo.put(`/subnetpools/${p.id}/onboard_network_subnets`, { network_id: theirs.id }), 404, 'NetworkNotFound');
  const sharedNet = await created(admin.post('/networks', { network: { name: 'shared', shared: true } }), 'network');
  expectError(
    await demo.put(`/subnetpools/${p.id}/onboard_network_subnets`, { network_id: sharedNet.id }),
    403,
    'NotAuthorized',
    'Not authorized.',
  );
  expectError(await other.put(`/subnetpools/${p.id}/onboard_network_subnets`, { network_id: theirs.id }), 404, 'SubnetPoolNotFound');
});

test('concurrent allocations from one pool never overlap', async () => {
  const p = await pool(demo, { prefixes: ['10.120.0.0/24'], default_prefixlen: 28 });
  const nets = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => network(demo, `c${i}`)));
  const replies = await Promise.all(nets.map((n) => subnet(demo, { network_id: n.id, subnetpool_id: p.id })));
  const cidrs = replies.map((r) => {
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.subnet.cidr as string;
  });
  assert.equal(new Set(cidrs).size, cidrs.length, cidrs.join(' '));
  assert.deepEqual([...cidrs].sort(), [
    '10.120.0.0/28',
    '10.120.0.16/28',
    '10.120.0.32/28',
    '10.120.0.48/28',
    '10.120.0.64/28',
    '10.120.0.80/28',
  ]);
});

test('lists: filters, sorting and paging over pools', async () => {
  const ids = [];
  for (const i of [1, 2, 3])
    ids.push((await pool(demo, { name: `page-${i}`, prefixes: [`172.${i}.0.0/16`], default_prefixlen: 20 + i })).id);
  const page = await demo.get('/subnetpools?limit=2&sort_key=default_prefixlen&sort_dir=desc&name=page-1&name=page-2&name=page-3');
  assert.equal(page.status, 200);
  assert.deepEqual(
    page.body.subnetpools.map((p: Wire) => p.name),
    ['page-3', 'page-2'],
  );
  assert.ok(page.body.subnetpools_links.some((l: Wire) => l.rel === 'next'));
  assert.deepEqual((await demo.get('/subnetpools?ip_version=6&name=page-1')).body.subnetpools, []);
  expectError(await demo.get('/subnetpools?bogus=1'), 400, 'HTTPBadRequest', "['bogus'] is invalid attribute for filtering");
});

test('the subnetpool quota: unlimited by default, enforced once set', async () => {
  const quota = (await admin.get(`/quotas/${demoProject}`)).body.quota;
  assert.equal(quota.subnetpool, -1);
  assert.equal((await admin.put(`/quotas/${demoProject}`, { quota: { subnetpool: 0 } })).status, 200);
  expectError(
    await demo.post('/subnetpools', { subnetpool: { name: 'q', prefixes: ['10.130.0.0/16'] } }),
    409,
    'OverQuota',
    "Quota exceeded for resources: ['subnetpool'].",
  );
  assert.equal((await admin.del(`/quotas/${demoProject}`)).status, 204);
});
