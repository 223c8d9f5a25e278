// Neutron behaviours of networks, subnets and quotas over HTTP: deleting an external network takes its
// unused floating IPs with it, an external network's subnets stay private to its project unless it is
// shared, the caller's own project (`GET /quotas/tenant`), and If-Match revision constraints on PUT
// and DELETE (revision-if-match). Each test makes what it needs, so it passes alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adminSuite } from '../helpers/admin-suite.ts';
import { randomUUID } from 'node:crypto';
import { api, memberProject, request, type Api } from '../helpers/client.ts';
import { created, expectError, feedHead } from '../helpers/networking.ts';
import type { Resource } from '../helpers/shapes.ts';

const suite = adminSuite();

async function freshProject(label: string): Promise<{ client: Api; projectId: string; token: string }> {
  const p = await memberProject(suite.srv.url, suite.adminTok, `${label}-${randomUUID().slice(0, 8)}`);
  return { client: api(suite.srv.url, p.token), projectId: p.projectId, token: p.token };
}

/** An external flat network with one subnet (admin's). */
async function externalNetwork(cidr: string, shared = false): Promise<{ net: Resource; subnet: Resource }> {
  const net = await created<Resource>(
    suite.admin.post('/networks', {
      network: {
        name: `ext-${randomUUID().slice(0, 6)}`,
        'router:external': true,
        shared,
        'provider:network_type': 'vxlan',
      },
    }),
    'network',
  );
  const subnet = await created<Resource>(suite.admin.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr } }), 'subnet');
  return { net, subnet };
}

/** A request with an If-Match header. */
const withIfMatch = (token: string, method: string, path: string, ifMatch: string, body?: unknown) =>
  request(`${suite.srv.url}/v2.0${path}`, method, token, body, { 'if-match': ifMatch });

test('deleting an external network deletes its floating IPs that no port uses', async () => {
  const { net } = await externalNetwork('10.201.0.0/24');
  const demo = await freshProject('demo');
  const fip = await created<Resource>(demo.client.post('/floatingips', { floatingip: { floating_network_id: net.id } }), 'floatingip');
  const byAdmin = await suite.admin.post('/floatingips', { floatingip: { floating_network_id: net.id } });
  assert.equal(byAdmin.status, 201);
  const r = await suite.admin.del(`/networks/${net.id}`);
  assert.equal(r.status, 204, JSON.stringify(r.body));
  expectError(await demo.client.get(`/floatingips/${fip.id}`), 404, 'FloatingIPNotFound');
  expectError(await suite.admin.get(`/floatingips/${byAdmin.body.floatingip.id}`), 404, 'FloatingIPNotFound');
  const ports = await suite.admin.get(`/ports?network_id=${net.id}`);
  assert.deepEqual(ports.body.ports, []);
  const changes = (await suite.admin.get('/neutrino/changes?since=0')).body.changes as Array<{
    resource: string;
    resource_id: string;
    op: string;
  }>;
  assert.ok(changes.some((c) => c.resource === 'floatingip' && c.resource_id === fip.id && c.op === 'delete'));
});

test('an external network whose floating IP is associated stays: NetworkInUse, and nothing is deleted', async () => {
  const { net, subnet: extSubnet } = await externalNetwork('10.202.0.0/24');
  const demo = await freshProject('demo');
  const inner = await created<Resource>(demo.client.post('/networks', { network: { name: 'inner' } }), 'network');
  const innerSubnet = await created<Resource>(
    demo.client.post('/subnets', { subnet: { network_id: inner.id, ip_version: 4, cidr: '192.168.77.0/24' } }),
    'subnet',
  );
  const router = await created<Resource>(
    demo.client.post('/routers', { router: { external_gateway_info: { network_id: net.id } } }),
    'router',
  );
  assert.equal((await demo.client.put(`/routers/${router.id}/add_router_interface`, { subnet_id: innerSubnet.id })).status, 200);
  const port = await created<Resource>(demo.client.post('/ports', { port: { network_id: inner.id } }), 'port');
  const associated = await created<Resource>(
    demo.client.post('/floatingips', { floatingip: { floating_network_id: net.id, port_id: port.id } }),
    'floatingip',
  );
  const free = await created<Resource>(demo.client.post('/floatingips', { floatingip: { floating_network_id: net.id } }), 'floatingip');
  const head = await feedHead(suite.admin);
  expectError(await suite.admin.del(`/networks/${net.id}`), 409, 'NetworkInUse');
  // The refusal is one transaction: the unused floating IP is still there, the feed did not move.
  assert.equal((await demo.client.get(`/floatingips/${free.id}`)).status, 200);
  assert.equal((await demo.client.get(`/floatingips/${associated.id}`)).status, 200);
  assert.equal((await suite.admin.get(`/subnets/${extSubnet.id}`)).status, 200);
  assert.equal(await feedHead(suite.admin), head);
});

test('a member may not delete an external network it does not own', async () => {
  const { net } = await externalNetwork('10.203.0.0/24');
  const demo = await freshProject('demo');
  expectError(await demo.client.del(`/networks/${net.id}`), 403, 'PolicyNotAuthorized', 'rule:delete_network is disallowed by policy');
  assert.equal((await suite.admin.get(`/networks/${net.id}`)).status, 200);
});

test('an external network’s subnets are not visible to other projects unless the network is shared', async () => {
  const { net, subnet } = await externalNetwork('10.204.0.0/24');
  const { net: sharedNet, subnet: sharedSubnet } = await externalNetwork('10.205.0.0/24', true);
  const demo = await freshProject('demo');
  // The network itself is visible (access_as_external) and lists its subnet ids, as in Neutron.
  const seen = await demo.client.get(`/networks/${net.id}`);
  assert.equal(seen.status, 200);
  assert.deepEqual(seen.body.network.subnets, [subnet.id]);
  expectError(await demo.client.get(`/subnets/${subnet.id}`), 404, 'SubnetNotFound', `Subnet ${subnet.id} could not be found.`);
  const listed = (await demo.client.get('/subnets')).body.subnets as Resource[];
  assert.ok(!listed.some((s) => s.id === subnet.id));
  assert.deepEqual(((await demo.client.get(`/subnets?network_id=${net.id}`)).body.subnets as Resource[]).length, 0);
  expectError(await demo.client.put(`/subnets/${subnet.id}`, { subnet: { name: 'x' } }), 404, 'SubnetNotFound');
  // Shared: visible.
  assert.equal((await demo.client.get(`/subnets/${sharedSubnet.id}`)).status, 200);
  assert.ok(
    ((await demo.client.get(`/subnets?network_id=${sharedNet.id}`)).body.subnets as Resource[]).some((s) => s.id === sharedSubnet.id),
  );
  // Admin sees all.
  assert.equal((await suite.admin.get(`/subnets/${subnet.id}`)).status, 200);
  // A router interface cannot name an invisible subnet.
  const router = await created<Resource>(demo.client.post('/routers', { router: { name: 'r' } }), 'router');
  expectError(await demo.client.put(`/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id }), 404, 'SubnetNotFound');
});

test('GET /quotas/tenant answers the caller’s own project', async () => {
  const demo = await freshProject('demo');
  const r = await demo.client.get('/quotas/tenant');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { tenant: { tenant_id: demo.projectId } });
  const a = await suite.admin.get('/quotas/tenant');
  assert.equal(a.status, 200);
  assert.equal(typeof a.body.tenant.tenant_id, 'string');
  assert.notEqual(a.body.tenant.tenant_id, demo.projectId);
});

test('If-Match revision_number: a current revision updates and deletes, a stale one is 412', async () => {
  const demo = await freshProject('demo');
  const net = await created<Resource & { revision_number: number }>(demo.client.post('/networks', { network: { name: 'n' } }), 'network');
  const rev = net.revision_number;
  const ok = await withIfMatch(demo.token, 'PUT', `/networks/${net.id}`, `revision_number=${rev}`, { network: { name: 'n2' } });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.network.revision_number, rev + 1);
  const head = await feedHead(suite.admin);
  const stale = await withIfMatch(demo.token, 'PUT', `/networks/${net.id}`, `revision_number=${rev}`, { network: { name: 'n3' } });
  expectError(stale, 412, 'RevisionNumberConstraintFailed', `Constrained to ${rev}, but current revision is ${rev + 1}`);
  assert.equal(stale.body.NeutronError.detail, '');
  assert.equal((await demo.client.get(`/networks/${net.id}`)).body.network.name, 'n2');
  assert.equal(await feedHead(suite.admin), head);
  expectError(
    await withIfMatch(demo.token, 'DELETE', `/networks/${net.id}`, `"revision_number=${rev}"`),
    412,
    'RevisionNumberConstraintFailed',
  );
  assert.equal((await demo.client.get(`/networks/${net.id}`)).status, 200);
  // Quoted, among other tags; weak tags are ignored (webob's strong match).
  const del = await withIfMatch(demo.token, 'DELETE', `/networks/${net.id}`, `"abc", W/"revision_number=0", "revision_number=${rev + 1}"`);
  assert.equal(del.status, 204, JSON.stringify(del.body));
});

test('If-Match: other resources, `*`, tags without revision_number, and the refusals', async () => {
  const demo = await freshProject('demo');
  const other = await freshProject('other');
  const sg = await created<Resource & { revision_number: number }>(
    demo.client.post('/security-groups', { security_group: { name: 'g' } }),
    'security_group',
  );
  const port = await created<Resource & { revision_number: number }>(
    demo.client.post('/ports', {
      port: { network_id: (await created<Resource>(demo.client.post('/networks', { network: {} }), 'network')).id },
    }),
    'port',
  );
  expectError(
    await withIfMatch(demo.token, 'PUT', `/security-groups/${sg.id}`, `revision_number=${sg.revision_number + 5}`, {
      security_group: { name: 'h' },
    }),
    412,
    'RevisionNumberConstraintFailed',
    `Constrained to ${sg.revision_number + 5}, but current revision is ${sg.revision_number}`,
  );
  assert.equal(
    (await withIfMatch(demo.token, 'PUT', `/ports/${port.id}`, `revision_number=${port.revision_number}`, { port: { name: 'p' } })).status,
    200,
  );
  // No revision_number tag: no constraint.
  assert.equal((await withIfMatch(demo.token, 'PUT', `/ports/${port.id}`, '*', { port: { name: 'q' } })).status, 200);
  assert.equal((await withIfMatch(demo.token, 'PUT', `/ports/${port.id}`, '"xyz"', { port: { name: 'r' } })).status, 200);
  // Refusals: two revision tags, a malformed number (also unquoted with a comma: one tag for webob).
  expectError(
    await withIfMatch(demo.token, 'PUT', `/ports/${port.id}`, '"revision_number=1", "revision_number=2"', { port: {} }),
    400,
    'BadRequest',
    'Bad if-match request: Multiple revision_number etags are not supported.',
  );
  for (const bad of ['revision_number=abc', 'revision_number=1, revision_number=2', '"revision_number="']) {
    expectError(
      await withIfMatch(demo.token, 'PUT', `/ports/${port.id}`, bad, { port: {} }),
      400,
      'BadRequest',
      'Bad if-match request: Revision number etag must be in the format of revision_number=<int>.',
    );
  }
  // Not found and policy come before the revision check.
  expectError(
    await withIfMatch(other.token, 'PUT', `/ports/${port.id}`, 'revision_number=99', { port: { name: 'x' } }),
    404,
    'PortNotFound',
  );
  expectError(await withIfMatch(demo.token, 'DELETE', `/networks/${randomUUID()}`, 'revision_number=99'), 404, 'NetworkNotFound');
  const ext = await externalNetwork('10.206.0.0/24');
  expectError(
    await withIfMatch(demo.token, 'PUT', `/networks/${ext.net.id}`, 'revision_number=99', { network: { name: 'x' } }),
    403,
    'PolicyNotAuthorized',
  );
});
