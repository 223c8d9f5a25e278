// Address groups: a project's CIDR sets — created with addresses (normalized), renamed, grown and
// shrunk by add_addresses/remove_addresses (each a revision), deleted; hidden from other projects
// (404), seen by admins; Neutron's refusals for bad CIDRs, addresses already there or not there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { adminDemoOther, created, expectError } from '../helpers/networking.ts';

test('address groups: CRUD, add/remove addresses, visibility and every refusal', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { admin, demo, other, demoProject } = await adminDemoOther(srv.url);

  const ag = await created(
    demo.post('/address-groups', { address_group: { name: 'web', addresses: ['10.0.0.0/24', '2001:db8::/64'] } }),
    'address_group',
  );
  assert.equal(ag.name, 'web');
  assert.equal(ag.description, '');
  assert.equal(ag.project_id, demoProject);
  assert.deepEqual(ag.addresses, ['10.0.0.0/24', '2001:db8::/64']);
  assert.equal(ag.tags, undefined, 'address groups take no tags in Neutron');
  const empty = await created(demo.post('/address-groups', { address_group: { name: 'none' } }), 'address_group');
  assert.deepEqual(empty.addresses, []);
  assert.equal(empty.revision_number, 0);

  expectError(
    await demo.post('/address-groups', { address_group: { addresses: ['10.0.0.1/24'] } }),
    400,
    'HTTPBadRequest',
    "Invalid input for addresses. Reason: '10.0.0.1/24' isn't a recognized IP subnet cidr, '10.0.0.0/24' is recommended.",
  );
  expectError(
    await demo.post('/address-groups', { address_group: { addresses: ['10.0.0.0/24', '10.0.0.0/24'] } }),
    400,
    'HTTPBadRequest',
    "Invalid input for addresses. Reason: Duplicate items in the list: '10.0.0.0/24'.",
  );
  expectError(await demo.post('/address-groups', { address_group: { addresses: 'x' } }), 400, 'HTTPBadRequest');

  const grown = await demo.put(`/address-groups/${ag.id}/add_addresses`, { addresses: ['192.0.2.7', '198.51.100.0/24'] });
  assert.equal(grown.status, 200, JSON.stringify(grown.body));
  assert.deepEqual(grown.body.address_group.addresses, ['10.0.0.0/24', '192.0.2.7/32', '198.51.100.0/24', '2001:db8::/64']);
  assert.equal(grown.body.address_group.revision_number, ag.revision_number + 1);
  expectError(
    await demo.put(`/address-groups/${ag.id}/add_addresses`, { addresses: ['10.0.0.0/24'] }),
    400,
    'AddressesAlreadyExist',
    `Addresses ['10.0.0.0/24'] already exist in the address group ${ag.id}.`,
  );
  const shrunk = await demo.put(`/address-groups/${ag.id}/remove_addresses`, { addresses: ['192.0.2.7/32'] });
  assert.equal(shrunk.status, 200, JSON.stringify(shrunk.body));
  assert.deepEqual(shrunk.body.address_group.addresses, ['10.0.0.0/24', '198.51.100.0/24', '2001:db8::/64']);
  expectError(
    await demo.put(`/address-groups/${ag.id}/remove_addresses`, { addresses: ['203.0.113.0/24'] }),
    404,
    'AddressesNotFound',
    `Addresses ['203.0.113.0/24'] not found in the address group ${ag.id}.`,
  );
  expectError(await demo.put(`/address-groups/${ag.id}/add_addresses`, { cidrs: [] }), 400, 'HTTPBadRequest');

  const renamed = await demo.put(`/address-groups/${ag.id}`, { address_group: { name: 'www', description: 'front' } });
  assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
  assert.equal(renamed.body.address_group.name, 'www');
  assert.equal(renamed.body.address_group.description, 'front');
  expectError(await demo.put(`/address-groups/${ag.id}`, { address_group: { addresses: [] } }), 400, 'HTTPBadRequest');

  const notFound = `Address group ${ag.id} could not be found.`;
  expectError(await other.get(`/address-groups/${ag.id}`), 404, 'AddressGroupNotFound', notFound);
  expectError(await other.put(`/address-groups/${ag.id}`, { address_group: { name: 'x' } }), 404, 'AddressGroupNotFound');
  expectError(await other.put(`/address-groups/${ag.id}/add_addresses`, { addresses: ['192.0.2.0/24'] }), 404, 'AddressGroupNotFound');
  expectError(await other.del(`/address-groups/${ag.id}`), 404, 'AddressGroupNotFound');
  assert.deepEqual((await other.get('/address-groups')).body.address_groups, []);
  assert.deepEqual(
    (await admin.get('/address-groups?name=www&fields=id')).body.address_groups,
    [{ id: ag.id }],
    'admins see every project',
  );
  assert.deepEqual((await demo.get('/address-groups?sort_key=name&fields=name')).body.address_groups, [{ name: 'none' }, { name: 'www' }]);
  // A list reads every group's addresses at once: each keeps its own, in order.
  assert.deepEqual((await demo.get('/address-groups?sort_key=name&fields=name&fields=addresses')).body.address_groups, [
    { name: 'none', addresses: [] },
    { name: 'www', addresses: ['10.0.0.0/24', '198.51.100.0/24', '2001:db8::/64'] },
  ]);

  assert.equal((await demo.del(`/address-groups/${ag.id}`)).status, 204);
  expectError(await demo.get(`/address-groups/${ag.id}`), 404, 'AddressGroupNotFound', notFound);

  const ext = await demo.get('/extensions/address-group');
  assert.equal(ext.status, 200);
  assert.equal(ext.body.extension.name, 'Address group');
});
