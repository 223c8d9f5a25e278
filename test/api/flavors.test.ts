// Flavors and service profiles: admins create, update and delete both and bind one to the other;
// members read flavors and the bindings and are refused every write (403), and do not see service
// profiles at all (404); Neutron's checks: service_type a plugin type, a profile's driver one of the
// providers' or else metainfo, a bound profile neither updated nor deleted, a binding made once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { adminDemoOther, created, expectError } from '../helpers/networking.ts';

const SINGLE_NODE = 'neutron.services.l3_router.service_providers.single_node.SingleNodeDriver';
const MISSING = '00000000-0000-4000-8000-000000000000';

test('flavors and service profiles: CRUD, bindings, policy and every refusal', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { admin, demo } = await adminDemoOther(srv.url);

  const flavor = await created(admin.post('/flavors', { flavor: { name: 'gold', service_type: 'L3_ROUTER_NAT' } }), 'flavor');
  assert.deepEqual(
    { ...flavor, id: undefined },
    { id: undefined, name: 'gold', description: '', service_type: 'L3_ROUTER_NAT', enabled: true, service_profiles: [] },
  );
  expectError(await admin.post('/flavors', { flavor: { name: 'x' } }), 400, 'HTTPBadRequest', /Required attribute 'service_type'/);
  expectError(await admin.post('/flavors', { flavor: { service_type: 'VPN' } }), 400, 'InvalidServiceType', 'Invalid service type: VPN.');
  expectError(await admin.post('/flavors', { flavor: { service_type: 'L3_ROUTER_NAT', enabled: 'maybe' } }), 400, 'HTTPBadRequest');
  expectError(
    await demo.post('/flavors', { flavor: { service_type: 'L3_ROUTER_NAT' } }),
    403,
    'PolicyNotAuthorized',
    'rule:create_flavor is disallowed by policy',
  );

  const seen = await demo.get(`/flavors?name=gold&fields=id&fields=enabled`);
  assert.deepEqual(seen.body.flavors, [{ id: flavor.id, enabled: true }]);
  assert.equal((await demo.get(`/flavors/${flavor.id}`)).body.flavor.name, 'gold');
  expectError(await demo.get(`/flavors/${MISSING}`), 404, 'FlavorNotFound', `Flavor ${MISSING} could not be found.`);

  const updated = await admin.put(`/flavors/${flavor.id}`, { flavor: { description: 'fast', enabled: false } });
  assert.equal(updated.status, 200, JSON.stringify(updated.body));
  assert.equal(updated.body.flavor.description, 'fast');
  assert.equal(updated.body.flavor.enabled, false);
  expectError(await admin.put(`/flavors/${flavor.id}`, { flavor: { service_type: 'CORE' } }), 400, 'HTTPBadRequest');
  expectError(await demo.put(`/flavors/${flavor.id}`, { flavor: { name: 'mine' } }), 403, 'PolicyNotAuthorized');
  expectError(await admin.put(`/flavors/${MISSING}`, { flavor: { name: 'y' } }), 404, 'FlavorNotFound');

  expectError(
    await admin.post('/service_profiles', { service_profile: { description: 'nothing' } }),
    400,
    'ServiceProfileEmpty',
    'Service Profile needs either a driver or metainfo.',
  );
  expectError(
    await admin.post('/service_profiles', { service_profile: { driver: 'neutron.services.l3_router.service_providers.ha.HaDriver' } }),
    404,
    'ServiceProfileDriverNotFound',
    'Service Profile driver neutron.services.l3_router.service_providers.ha.HaDriver could not be found.',
  );
  expectError(await demo.post('/service_profiles', { service_profile: { metainfo: 'x' } }), 403, 'PolicyNotAuthorized');
  const profile = await created(admin.post('/service_profiles', { service_profile: { driver: SINGLE_NODE } }), 'service_profile');
  assert.deepEqual(
    { ...profile, id: undefined },
    { id: undefined, description: '', driver: SINGLE_NODE, enabled: true, metainfo: '', flavors: [] },
  );
  const meta = await created(admin.post('/service_profiles', { service_profile: { metainfo: '{"size": 2}' } }), 'service_profile');
  assert.deepEqual((await demo.get('/service_profiles')).body.service_profiles, []);
  expectError(await demo.get(`/service_profiles/${profile.id}`), 404, 'HTTPNotFound');
  expectError(await demo.put(`/service_profiles/${profile.id}`, { service_profile: { enabled: false } }), 404, 'HTTPNotFound');
  expectError(await demo.del(`/service_profiles/${profile.id}`), 404, 'HTTPNotFound');
  expectError(await admin.get(`/service_profiles/${MISSING}`), 404, 'ServiceProfileNotFound');

  expectError(
    await demo.post(`/flavors/${flavor.id}/service_profiles`, { service_profile: { id: profile.id } }),
    403,
    'PolicyNotAuthorized',
    'rule:create_flavor_service_profile is disallowed by policy',
  );
  expectError(await admin.post(`/flavors/${flavor.id}/service_profiles`, { service_profile: { id: 'nope' } }), 400, 'HTTPBadRequest');
  const bound = await admin.post(`/flavors/${flavor.id}/service_profiles`, { service_profile: { id: profile.id } });
  assert.equal(bound.status, 201, JSON.stringify(bound.body));
  assert.deepEqual(bound.body.service_profile.service_profiles, [profile.id]);
  expectError(
    await admin.post(`/flavors/${flavor.id}/service_profiles`, { service_profile: { id: profile.id } }),
    409,
    'FlavorServiceProfileBindingExists',
    `Service Profile ${profile.id} is already associated with flavor ${flavor.id}.`,
  );
  expectError(await admin.post(`/flavors/${MISSING}/service_profiles`, { service_profile: { id: profile.id } }), 404, 'FlavorNotFound');
  expectError(
    await admin.post(`/flavors/${flavor.id}/service_profiles`, { service_profile: { id: MISSING } }),
    404,
    'ServiceProfileNotFound',
  );
  const binding = await demo.get(`/flavors/${flavor.id}/service_profiles/${profile.id}`);
  assert.deepEqual(binding.body, { service_profile: { service_profile_id: profile.id, flavor_id: flavor.id } });
  expectError(await demo.get(`/flavors/${flavor.id}/service_profiles/${meta.id}`), 404, 'FlavorServiceProfileBindingNotFound');
  assert.deepEqual((await admin.get(`/service_profiles/${profile.id}`)).body.service_profile.flavors, [flavor.id]);
  assert.deepEqual((await demo.get(`/flavors/${flavor.id}`)).body.flavor.service_profiles, [profile.id]);

  const inUse = `Service Profile ${profile.id} is used by some service instance.`;
  expectError(
    await admin.put(`/service_profiles/${profile.id}`, { service_profile: { enabled: false } }),
    409,
    'ServiceProfileInUse',
    inUse,
  );
  expectError(await admin.del(`/service_profiles/${profile.id}`), 409, 'ServiceProfileInUse', inUse);

  expectError(await demo.del(`/flavors/${flavor.id}/service_profiles/${profile.id}`), 403, 'PolicyNotAuthorized');
  assert.equal((await admin.del(`/flavors/${flavor.id}/service_profiles/${profile.id}`)).status, 204);
  expectError(
    await admin.del(`/flavors/${flavor.id}/service_profiles/${profile.id}`),
    404,
    'FlavorServiceProfileBindingNotFound',
    `Service Profile ${profile.id} is not associated with flavor ${flavor.id}.`,
  );

  const changed = await admin.put(`/service_profiles/${profile.id}`, { service_profile: { description: 'single', enabled: false } });
  assert.equal(changed.status, 200, JSON.stringify(changed.body));
  assert.equal(changed.body.service_profile.enabled, false);
  expectError(
    await admin.put(`/service_profiles/${profile.id}`, { service_profile: { driver: 'x' } }),
    404,
    'ServiceProfileDriverNotFound',
  );

  expectError(await demo.del(`/flavors/${flavor.id}`), 403, 'PolicyNotAuthorized', 'rule:delete_flavor is disallowed by policy');
  await admin.post(`/flavors/${flavor.id}/service_profiles`, { service_profile: { id: meta.id } });
  assert.equal((await admin.del(`/flavors/${flavor.id}`)).status, 204);
  expectError(await admin.del(`/flavors/${flavor.id}`), 404, 'FlavorNotFound');
  assert.deepEqual((await admin.get(`/service_profiles/${meta.id}`)).body.service_profile.flavors, [], 'the binding went with the flavor');
  assert.equal((await admin.del(`/service_profiles/${meta.id}`)).status, 204);
  assert.equal((await admin.del(`/service_profiles/${profile.id}`)).status, 204);
  assert.deepEqual((await admin.get('/service_profiles')).body.service_profiles, []);

  const ext = await demo.get('/extensions/flavors');
  assert.equal(ext.status, 200);
  assert.equal(ext.body.extension.name, 'Neutron Service Flavors');
});
