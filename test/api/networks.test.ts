// Networks over HTTP. VNIs and physical networks are server-wide, so every test starts a server of
// its own (VNI range 40–42) and makes the networks it needs.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { request, type Api } from '../helpers/client.ts';
import { adminDemoOther } from '../helpers/networking.ts';

/** A new server (closed when the test ends) with admin, demo and other clients. */
async function freshServer(t: TestContext) {
  const srv = await startTestServer({ vniRanges: [[40, 42]] });
  t.after(() => srv.close());
  return { srv, ...(await adminDemoOther(srv.url)) };
}

/** demo's tenant network `selfservice`; returns its id. */
async function selfservice(demo: Api): Promise<string> {
  const r = await demo.post('/networks', { network: { name: 'selfservice' } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.network.id;
}

test('version discovery needs no token and lists v2.0; the API needs one', async (t) => {
  const { srv } = await freshServer(t);
  const root = await request(`${srv.url}/`, 'GET', null);
  assert.equal(root.status, 200);
  assert.equal(root.body.versions[0].id, 'v2.0');
  assert.equal(root.body.versions[0].links[0].href, `${srv.url}/v2.0/`);
  const noToken = await request(`${srv.url}/v2.0/networks`, 'GET', null);
  assert.equal(noToken.status, 401);
  assert.equal(noToken.body.error.code, 401);
  assert.match(noToken.headers.get('www-authenticate') ?? '', /^Keystone uri=/);
  const bad = await request(`${srv.url}/v2.0/networks`, 'GET', 'not-a-token');
  assert.equal(bad.status, 401);
});

test('extensions list what is implemented', async (t) => {
  const { demo } = await freshServer(t);
  const r = await demo.get('/extensions');
  const aliases = r.body.extensions.map((e: { alias: string }) => e.alias);
  for (const a of ['router', 'external-net', 'provider', 'security-group', 'quotas', 'binding', 'net-mtu', 'port-security'])
    assert.ok(aliases.includes(a), a);
  assert.equal((await demo.get('/extensions/router')).body.extension.alias, 'router');
  assert.equal((await demo.get('/extensions/nope')).status, 404);
});

test('a tenant network gets VXLAN, a free VNI and MTU 1450; provider attributes are hidden from members', async (t) => {
  const { admin, demo, demoProject } = await freshServer(t);
  const r = await demo.post('/networks', { network: { name: 'selfservice' } });
  assert.equal(r.status, 201);
  const net = r.body.network;
  assert.equal(net.mtu, 1450);
  assert.equal(net.status, 'ACTIVE');
  assert.equal(net.project_id, demoProject);
  assert.equal(net.tenant_id, demoProject);
  assert.ok(!('provider:network_type' in net));
  const seen = (await admin.get(`/networks/${net.id}`)).body.network;
  assert.equal(seen['provider:network_type'], 'vxlan');
  assert.equal(seen['provider:segmentation_id'], 40);
  assert.equal(seen['provider:physical_network'], null);
});

test('members may not set provider, shared or external attributes', async (t) => {
  const { demo } = await freshServer(t);
  const r = await demo.post('/networks', { network: { 'provider:network_type': 'vxlan' } });
  assert.equal(r.status, 403);
  assert.equal(r.body.NeutronError.type, 'PolicyNotAuthorized');
  assert.equal((await demo.post('/networks', { network: { 'router:external': true } })).status, 403);
});

test('admin creates the flat provider network; a second one on the same physnet is refused', async (t) => {
  const { admin, other } = await freshServer(t);
  const r = await admin.post('/networks', {
    network: {
      name: 'provider',
      'provider:network_type': 'flat',
      'provider:physical_network': 'provider',
      'router:external': true,
      shared: false,
    },
  });
  assert.equal(r.status, 201);
  assert.equal(r.body.network.mtu, 1500);
  assert.equal(r.body.network['router:external'], true);
  const dup = await admin.post('/networks', { network: { 'provider:network_type': 'flat', 'provider:physical_network': 'provider' } });
  assert.equal(dup.status, 409);
  assert.equal(dup.body.NeutronError.type, 'FlatNetworkInUse');
  const unknown = await admin.post('/networks', { network: { 'provider:network_type': 'flat', 'provider:physical_network': 'nope' } });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.NeutronError.type, 'InvalidInput');
  // No physical network has VLAN ranges on this server: a VLAN network has nowhere to go.
  const vlan = await admin.post('/networks', { network: { 'provider:network_type': 'vlan' } });
  assert.equal(vlan.status, 503);
  assert.equal(vlan.body.NeutronError.type, 'NoNetworkAvailable');
  // The external network is visible to every project.
  const list = await other.get('/networks?router:external=True');
  assert.deepEqual(
    list.body.networks.map((n: { name: string }) => n.name),
    ['provider'],
  );
});

test('explicit VNI, taken VNI, too-big MTU, exhausted VNI range', async (t) => {
  const { admin, demo } = await freshServer(t);
  await selfservice(demo); // VNI 40
  const vni = await admin.post('/networks', { network: { 'provider:network_type': 'vxlan', 'provider:segmentation_id': 41 } });
  assert.equal(vni.status, 201);
  const taken = await admin.post('/networks', { network: { 'provider:network_type': 'vxlan', 'provider:segmentation_id': 41 } });
  assert.equal(taken.status, 409);
  assert.equal(taken.body.NeutronError.type, 'TunnelIdInUse');
  const mtu = await demo.post('/networks', { network: { mtu: 1500 } });
  assert.equal(mtu.status, 400);
  assert.equal(mtu.body.NeutronError.message, 'Invalid input for operation: Requested MTU is too big, maximum is 1450.');
  assert.equal((await demo.post('/networks', { network: { name: 'n42' } })).body.network.name, 'n42');
  const none = await demo.post('/networks', { network: { name: 'n43' } });
  assert.equal(none.status, 503);
  assert.equal(none.body.NeutronError.type, 'NoNetworkAvailable');
});

test('another project sees neither the network nor its existence', async (t) => {
  const { demo, other } = await freshServer(t);
  await selfservice(demo);
  const list = (await demo.get('/networks?name=selfservice')).body.networks;
  const id = list[0].id;
  const r = await other.get(`/networks/${id}`);
  assert.equal(r.status, 404);
  assert.equal(r.body.NeutronError.type, 'NetworkNotFound');
  assert.equal((await other.put(`/networks/${id}`, { network: { name: 'x' } })).status, 404);
  assert.equal((await other.del(`/networks/${id}`)).status, 404);
  assert.ok(!(await other.get('/networks')).body.networks.some((n: { id: string }) => n.id === id));
});

test('bad bodies: malformed JSON, wrong type, unknown attribute, oversized', async (t) => {
  const { demo } = await freshServer(t);
  const malformed = await demo.post('/networks', '{"network": ');
  assert.equal(malformed.status, 400);
  assert.equal(malformed.body.NeutronError.type, 'HTTPBadRequest');
  const wrong = await demo.post('/networks', { network: { admin_state_up: 'perhaps' } });
  assert.equal(wrong.status, 400);
  assert.match(wrong.body.NeutronError.message, /Invalid input for admin_state_up/);
  assert.equal((await demo.post('/networks', { network: { colour: 'red' } })).status, 400);
  const huge = await demo.post('/networks', { network: { name: 'x'.repeat(200_000) } });
  assert.equal(huge.status, 413);
  assert.equal(huge.body.NeutronError.type, 'HTTPRequestEntityTooLarge');
});

test('update, fields, and delete', async (t) => {
  const { demo } = await freshServer(t);
  await selfservice(demo);
  const id = (await demo.get('/networks?name=selfservice')).body.networks[0].id;
  const up = await demo.put(`/networks/${id}`, { network: { name: 'renamed', admin_state_up: false } });
  assert.equal(up.status, 200);
  assert.equal(up.body.network.name, 'renamed');
  assert.equal(up.body.network.revision_number, 1);
  const f = await demo.get(`/networks/${id}?fields=id&fields=name`);
  assert.deepEqual(Object.keys(f.body.network).sort(), ['id', 'name']);
  assert.equal((await demo.put(`/networks/${id}`, { network: { status: 'DOWN' } })).status, 400);
  assert.equal((await demo.del(`/networks/${id}`)).status, 204);
  assert.equal((await demo.get(`/networks/${id}`)).status, 404);
});

test('bulk create is all or nothing', async (t) => {
  const { admin } = await freshServer(t);
  const before = (await admin.get('/networks')).body.networks.length;
  const r = await admin.post('/networks', {
    networks: [
      { name: 'b1', 'provider:network_type': 'vxlan', 'provider:segmentation_id': 500 },
      { name: 'b2', 'provider:network_type': 'vxlan', 'provider:segmentation_id': 500 },
    ],
  });
  assert.equal(r.status, 409);
  assert.equal((await admin.get('/networks')).body.networks.length, before);
  const ok = await admin.post('/networks', {
    networks: [
      { name: 'b1', 'provider:network_type': 'vxlan', 'provider:segmentation_id': 500 },
      { name: 'b2', 'provider:network_type': 'vxlan', 'provider:segmentation_id': 501 },
    ],
  });
  assert.equal(ok.status, 201);
  assert.equal(ok.body.networks.length, 2);
});
