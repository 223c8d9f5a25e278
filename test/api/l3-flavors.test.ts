// Router flavors: a router created with a flavor gets the provider of the flavor's first bound
// service profile (single_node), and keeps the flavor; Neutron's refusals — no such flavor, no
// profile bound, a disabled profile, a profile naming no provider's driver — and flavor_id is set
// on create only, not a filter, and keeps its flavor from being deleted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { adminDemoOther, created, expectError } from '../helpers/networking.ts';

const SINGLE_NODE = 'neutron.services.l3_router.service_providers.single_node.SingleNodeDriver';
const MISSING = '00000000-0000-4000-8000-000000000000';

test('router flavors: flavor_id chooses the provider through the bound profile, as Neutron does', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { admin, demo } = await adminDemoOther(srv.url);
  const newFlavor = async (name: string) =>
    created<{ id: string }>(admin.post('/flavors', { flavor: { name, service_type: 'L3_ROUTER_NAT' } }), 'flavor');
  const newProfile = async (body: object) =>
    created<{ id: string }>(admin.post('/service_profiles', { service_profile: body }), 'service_profile');
  const bind = async (flavorId: string, spId: string) =>
    assert.equal((await admin.post(`/flavors/${flavorId}/service_profiles`, { service_profile: { id: spId } })).status, 201);

  const plain = await created(demo.post('/routers', { router: { name: 'plain' } }), 'router');
  assert.equal(plain.flavor_id, null);

  const gold = await newFlavor('gold');
  await bind(gold.id, (await newProfile({ driver: SINGLE_NODE })).id);
  const flavored = await created(demo.post('/routers', { router: { name: 'gold', flavor_id: gold.id } }), 'router');
  assert.equal(flavored.flavor_id, gold.id);
  assert.equal((await demo.get(`/routers/${flavored.id}?fields=flavor_id`)).body.router.flavor_id, gold.id);
  const sorted = await demo.get('/routers?sort_key=flavor_id&sort_dir=desc&fields=name');
  assert.deepEqual(sorted.body.routers, [{ name: 'gold' }, { name: 'plain' }]);

  expectError(
    await demo.post('/routers', { router: { flavor_id: MISSING } }),
    404,
    'FlavorNotFound',
    `Flavor ${MISSING} could not be found.`,
  );
  expectError(await demo.post('/routers', { router: { flavor_id: null } }), 404, 'FlavorNotFound', 'Flavor None could not be found.');
  const bare = await newFlavor('bare');
  expectError(
    await demo.post('/routers', { router: { flavor_id: bare.id } }),
    404,
    'FlavorServiceProfileBindingNotFound',
    `Service Profile  is not associated with flavor ${bare.id}.`,
  );
  const off = await newFlavor('off');
  await bind(off.id, (await newProfile({ driver: SINGLE_NODE, enabled: false })).id);
  expectError(
    await demo.post('/routers', { router: { flavor_id: off.id } }),
    503,
    'ServiceProfileDisabled',
    'Service Profile is not enabled.',
  );
  const meta = await newFlavor('meta');
  await bind(meta.id, (await newProfile({ metainfo: 'size=2' })).id);
  expectError(
    await demo.post('/routers', { router: { flavor_id: meta.id } }),
    404,
    'ServiceProfileDriverNotFound',
    'Service Profile driver  could not be found.',
  );
  const routers = await admin.get('/routers?fields=name');
  assert.deepEqual(routers.body.routers.map((r: { name: string }) => r.name).sort(), ['gold', 'plain'], 'no refused router was made');

  expectError(await demo.put(`/routers/${flavored.id}`, { router: { flavor_id: bare.id } }), 400, 'HTTPBadRequest');
  expectError(await demo.get(`/routers?flavor_id=${gold.id}`), 400, 'HTTPBadRequest');

  expectError(await admin.del(`/flavors/${gold.id}`), 409, 'FlavorInUse', `Flavor ${gold.id} is used by some service instance.`);
  assert.equal((await demo.del(`/routers/${flavored.id}`)).status, 204);
  assert.equal((await admin.del(`/flavors/${gold.id}`)).status, 204);

  const ext = await demo.get('/extensions/l3-flavors');
  assert.equal(ext.status, 200);
  assert.equal(ext.body.extension.name, 'Router Flavor Extension');
});
