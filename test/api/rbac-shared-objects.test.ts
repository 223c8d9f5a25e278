// RBAC policies on subnet pools, address scopes and address groups over HTTP (rbac-subnetpool,
// rbac-address-scope, rbac-address-group): sharing with one project or all, what the target may then
// do (see, filter by `shared`, allocate subnets from a pool, put a pool in a scope) and not do (change
// or share what it does not own), the `shared` flags of pools and scopes as wildcard policies, and the
// refusals — removing a policy something depends on, a pool shared beyond its scope, wrong actions.
// Each test makes member projects of its own, so it passes alone and in any order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adminSuite } from '../helpers/admin-suite.ts';
import { randomUUID } from 'node:crypto';
import { sharingProjects, type Api, type Wire } from '../helpers/client.ts';
import { created, expectError } from '../helpers/networking.ts';

const suite = adminSuite();

const projects = () => sharingProjects(suite.srv.url, suite.adminTok);

const share = (p: Api, object_type: string, object_id: string, target_tenant: string, action = 'access_as_shared') =>
  p.post('/rbac-policies', { rbac_policy: { object_type, object_id, target_tenant, action } });
const shared = (p: Api, type: string, id: string, target: string) => created(share(p, type, id, target), 'rbac_policy');
const ids = (items: Wire[]) => items.map((i: { id: string }) => i.id);

let prefixCounter = 0;
/** A subnet pool of `p` with its own /16. */
const newPool = (p: Api, body: Record<string, unknown> = {}) =>
  created(p.post('/subnetpools', { subnetpool: { name: 'pool', prefixes: [`10.${++prefixCounter}.0.0/16`], ...body } }), 'subnetpool');

/** A subnet of a new network of `p`, allocated from `poolId`. */
async function subnetFrom(p: Api, poolId: string) {
  const net = await created(p.post('/networks', { network: { name: 'n' } }), 'network');
  return p.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, subnetpool_id: poolId, prefixlen: 24 } });
}

/** The InUse refusal of a policy's update or delete, as the shared-object callback reports it. */
const inUse = (callback: string, objectId: string, project: string) =>
  `RBAC policy on object ${objectId} cannot be removed because other objects depend on it.\nDetails: Callback neutron.objects.${callback}.validate_rbac_policy_change failed with "RBAC policy on object ${objectId} cannot be removed because other objects depend on it.\nDetails: project_id=${project}"`;

test('sharing a subnet pool with one project: visible, shared for it, allocatable, the policy held while in use', async () => {
  const { owner, target, third } = await projects();
  const pool = await newPool(owner.client);
  assert.equal(pool.shared, false);
  expectError(await target.client.get(`/subnetpools/${pool.id}`), 404, 'SubnetPoolNotFound');
  expectError(await subnetFrom(target.client, pool.id), 404, 'SubnetPoolNotFound');

  const policy = await shared(owner.client, 'subnetpool', pool.id, target.id);
  assert.deepEqual(
    { ...policy, id: undefined },
    {
      id: undefined,
      project_id: owner.id,
      tenant_id: owner.id,
      object_type: 'subnetpool',
      object_id: pool.id,
      target_tenant: target.id,
      action: 'access_as_shared',
    },
  );
  assert.equal((await owner.client.get(`/subnetpools/${pool.id}`)).body.subnetpool.revision_number, pool.revision_number, 'no revision');

  // Shared for the target, not for its owner; the filter follows the same view.
  assert.equal((await target.client.get(`/subnetpools/${pool.id}`)).body.subnetpool.shared, true);
  assert.equal((await owner.client.get(`/subnetpools/${pool.id}`)).body.subnetpool.shared, false);
  assert.deepEqual(ids((await target.client.get('/subnetpools?shared=true')).body.subnetpools), [pool.id]);
  assert.deepEqual(ids((await target.client.get('/subnetpools?shared=false')).body.subnetpools), []);
  assert.deepEqual(ids((await owner.client.get('/subnetpools?shared=false')).body.subnetpools), [pool.id]);
  assert.deepEqual(ids((await target.client.get('/subnetpools?shared=true&limit=1')).body.subnetpools), [pool.id]);
  expectError(await third.client.get(`/subnetpools/${pool.id}`), 404, 'SubnetPoolNotFound');
  assert.deepEqual((await third.client.get('/subnetpools')).body.subnetpools, []);

  // Still the owner's to change (its tags too) and to share.
  assert.deepEqual((await target.client.get(`/subnetpools/${pool.id}/tags`)).body, { tags: [] });
  expectError(
    await target.client.put(`/subnetpools/${pool.id}/tags`, { tags: ['t'] }),
    403,
    'PolicyNotAuthorized',
    'update_subnetpool:tags is disallowed by policy',
  );
  expectError(
    await target.client.put(`/subnetpools/${pool.id}`, { subnetpool: { name: 'mine' } }),
    403,
    'PolicyNotAuthorized',
    'rule:update_subnetpool is disallowed by policy',
  );
  expectError(
    await share(target.client, 'subnetpool', pool.id, third.id),
    400,
    'InvalidInput',
    'Invalid input for operation: Callback neutron.objects.subnetpool.SubnetPool.validate_rbac_policy_change failed with "Invalid input for operation: Only admins can manipulate policies on objects they do not own.".',
  );

  // The target allocates a subnet from it; the policy is then held, for delete and for a new target.
  const subnet = await created(subnetFrom(target.client, pool.id), 'subnet');
  assert.equal(subnet.subnetpool_id, pool.id);
  expectError(
    await owner.client.del(`/rbac-policies/${policy.id}`),
    409,
    'RbacPolicyInUse',
    inUse('subnetpool.SubnetPool', pool.id, target.id),
  );
  expectError(
    await owner.client.put(`/rbac-policies/${policy.id}`, { rbac_policy: { target_tenant: third.id } }),
    409,
    'RbacPolicyInUse',
    inUse('subnetpool.SubnetPool', pool.id, target.id),
  );
  // A wildcard policy covers the target: the project's own one may go.
  const all = await created(share(suite.admin, 'subnetpool', pool.id, '*'), 'rbac_policy');
  assert.equal((await owner.client.del(`/rbac-policies/${policy.id}`)).status, 204);
  expectError(await suite.admin.del(`/rbac-policies/${all.id}`), 409, 'RbacPolicyInUse', inUse('subnetpool.SubnetPool', pool.id, '*'));
  assert.equal((await owner.client.get(`/subnetpools/${pool.id}`)).body.subnetpool.shared, true, 'shared with all: its owner too');

  assert.equal((await target.client.del(`/subnets/${subnet.id}`)).status, 204);
  assert.equal((await suite.admin.del(`/rbac-policies/${all.id}`)).status, 204);
  expectError(await target.client.get(`/subnetpools/${pool.id}`), 404, 'SubnetPoolNotFound');

  // Deleting the pool deletes its policies.
  await shared(owner.client, 'subnetpool', pool.id, target.id);
  assert.equal((await owner.client.del(`/subnetpools/${pool.id}`)).status, 204);
  assert.deepEqual((await owner.client.get(`/rbac-policies?object_id=${pool.id}`)).body.rbac_policies, []);
});

test('a shared subnet pool is its wildcard policy: made on create, seen by all, held while another project uses it', async () => {
  const { owner, target } = await projects();
  const pool = await newPool(suite.admin, { shared: true });
  assert.equal(pool.shared, true);
  const [wildcard] = (await suite.admin.get(`/rbac-policies?object_id=${pool.id}`)).body.rbac_policies;
  assert.deepEqual(
    { ...wildcard, id: undefined },
    {
      id: undefined,
      project_id: pool.project_id,
      tenant_id: pool.project_id,
      object_type: 'subnetpool',
      object_id: pool.id,
      target_tenant: '*',
      action: 'access_as_shared',
    },
  );
  assert.ok(ids((await owner.client.get('/subnetpools?shared=true')).body.subnetpools).includes(pool.id));
  const subnet = await created(subnetFrom(target.client, pool.id), 'subnet');
  expectError(await suite.admin.del(`/rbac-policies/${wildcard.id}`), 409, 'RbacPolicyInUse', inUse('subnetpool.SubnetPool', pool.id, '*'));
  // A policy of its own for the target lets the wildcard go; the others no longer see the pool.
  await shared(suite.admin, 'subnetpool', pool.id, target.id);
  assert.equal((await suite.admin.del(`/rbac-policies/${wildcard.id}`)).status, 204);
  assert.equal((await suite.admin.get(`/subnetpools/${pool.id}`)).body.subnetpool.shared, false);
  assert.equal((await target.client.get(`/subnetpools/${pool.id}`)).body.subnetpool.shared, true);
  expectError(await owner.client.get(`/subnetpools/${pool.id}`), 404, 'SubnetPoolNotFound');
  assert.equal((await target.client.del(`/subnets/${subnet.id}`)).status, 204);
  assert.equal((await suite.admin.del(`/subnetpools/${pool.id}`)).status, 204);
});

test('address scopes: shared by policy or flag, a target’s pool in the scope holds the policy, pools shared within their scope', async () => {
  const { owner, target, third } = await projects();
  const scope = await created(owner.client.post('/address-scopes', { address_scope: { name: 's', ip_version: 4 } }), 'address_scope');
  expectError(await target.client.get(`/address-scopes/${scope.id}`), 404, 'AddressScopeNotFound');
  expectError(await newPoolStatus(target.client, scope.id), 404, 'AddressScopeNotFound');

  const policy = await shared(owner.client, 'address_scope', scope.id, target.id);
  assert.equal(policy.object_type, 'address_scope');
  assert.equal((await target.client.get(`/address-scopes/${scope.id}`)).body.address_scope.shared, true);
  assert.equal((await owner.client.get(`/address-scopes/${scope.id}`)).body.address_scope.shared, false);
  assert.deepEqual(ids((await target.client.get('/address-scopes?shared=true')).body.address_scopes), [scope.id]);
  assert.deepEqual(ids((await owner.client.get('/address-scopes?shared=true')).body.address_scopes), []);
  expectError(await third.client.get(`/address-scopes/${scope.id}`), 404, 'AddressScopeNotFound');
  expectError(
    await target.client.put(`/address-scopes/${scope.id}`, { address_scope: { name: 'x' } }),
    403,
    'PolicyNotAuthorized',
    'rule:update_address_scope is disallowed by policy',
  );
  expectError(
    await target.client.del(`/address-scopes/${scope.id}`),
    403,
    'PolicyNotAuthorized',
    'rule:delete_address_scope is disallowed by policy',
  );
  expectError(
    await share(owner.client, 'address_scope', scope.id, third.id, 'access_as_external'),
    400,
    'InvalidActionForType',
    "Invalid action 'access_as_external' for object type 'address_scope'. Valid actions: ('access_as_shared',)",
  );

  // The target puts a pool of its own in the scope: the policy is then held.
  const theirs = await newPool(target.client, { address_scope_id: scope.id });
  assert.equal(theirs.address_scope_id, scope.id);
  expectError(
    await owner.client.del(`/rbac-policies/${policy.id}`),
    409,
    'RbacPolicyInUse',
    inUse('address_scope.AddressScope', scope.id, target.id),
  );

  // A pool in the scope is shared only with projects the scope is shared with, by the caller's policy.
  const mine = await newPool(owner.client, { address_scope_id: scope.id });
  const beyond = `Invalid input for operation: Callback neutron.objects.subnetpool.SubnetPool.validate_rbac_policy_change failed with "Failed to create RBAC policy on object ${mine.id} because target project doesn't have access to associated address scope..".`;
  expectError(await share(owner.client, 'subnetpool', mine.id, third.id), 400, 'InvalidInput', beyond);
  expectError(await share(owner.client, 'subnetpool', mine.id, '*'), 403, 'PolicyNotAuthorized');
  await shared(owner.client, 'subnetpool', mine.id, target.id);
  // The admin makes the scope shared (a wildcard policy, the admin's); nobody unshares it by the flag.
  const flagged = await suite.admin.put(`/address-scopes/${scope.id}`, { address_scope: { shared: true } });
  assert.equal(flagged.status, 200, JSON.stringify(flagged.body));
  assert.equal(flagged.body.address_scope.shared, true);
  const wildcard = (await suite.admin.get(`/rbac-policies?object_id=${scope.id}&target_tenant=*`)).body.rbac_policies;
  assert.equal(wildcard.length, 1);
  assert.notEqual(wildcard[0].project_id, owner.id);
  expectError(
    await owner.client.put(`/address-scopes/${scope.id}`, { address_scope: { shared: false } }),
    403,
    'PolicyNotAuthorized',
    '(rule:update_address_scope and rule:update_address_scope:shared) is disallowed by policy',
  );
  expectError(
    await suite.admin.put(`/address-scopes/${scope.id}`, { address_scope: { shared: false } }),
    400,
    'AddressScopeUpdateError',
    `Unable to update address scope ${scope.id} : Shared address scope can't be unshared.`,
  );
  assert.equal((await third.client.get(`/address-scopes/${scope.id}`)).body.address_scope.shared, true);
  // The owner's own policies decide, not the admin's wildcard.
  expectError(await share(owner.client, 'subnetpool', mine.id, third.id), 400, 'InvalidInput', beyond);
  await shared(suite.admin, 'subnetpool', mine.id, third.id);

  // The target's own policy may now go (the wildcard covers it); the wildcard may not while any
  // pool is in the scope — the owner's own counts too, as Neutron's bound projects are every pool's.
  assert.equal((await owner.client.del(`/rbac-policies/${policy.id}`)).status, 204);
  assert.equal((await target.client.del(`/subnetpools/${theirs.id}`)).status, 204);
  expectError(
    await suite.admin.del(`/rbac-policies/${wildcard[0].id}`),
    409,
    'RbacPolicyInUse',
    inUse('address_scope.AddressScope', scope.id, '*'),
  );
  assert.equal((await owner.client.del(`/subnetpools/${mine.id}`)).status, 204);
  assert.equal((await suite.admin.del(`/rbac-policies/${wildcard[0].id}`)).status, 204);
  assert.equal((await owner.client.get(`/address-scopes/${scope.id}`)).body.address_scope.shared, false);

  // Deleting the scope deletes its policies.
  await shared(owner.client, 'address_scope', scope.id, third.id);
  assert.equal((await owner.client.del(`/address-scopes/${scope.id}`)).status, 204);
  assert.deepEqual((await suite.admin.get(`/rbac-policies?object_id=${scope.id}`)).body.rbac_policies, []);
});

/** The status of creating a pool of `p` in `scopeId`. */
const newPoolStatus = (p: Api, scopeId: string) =>
  p.post('/subnetpools', { subnetpool: { name: 'pool', prefixes: [`10.${++prefixCounter}.0.0/16`], address_scope_id: scopeId } });

test('a shared pool is created only within a scope shared with everyone', async () => {
  const scope = await created(suite.admin.post('/address-scopes', { address_scope: { name: 's', ip_version: 4 } }), 'address_scope');
  const r = await suite.admin.post('/subnetpools', {
    subnetpool: { name: 'p', prefixes: [`10.${++prefixCounter}.0.0/16`], address_scope_id: scope.id, shared: true },
  });
  expectError(r, 400, 'InvalidInput', /because target project doesn't have access to associated address scope\.\."\.$/);
  assert.deepEqual(
    (await suite.admin.get(`/subnetpools?address_scope_id=${scope.id}`)).body.subnetpools,
    [],
    'the refused pool is not created',
  );
  assert.equal((await suite.admin.put(`/address-scopes/${scope.id}`, { address_scope: { shared: true } })).status, 200);
  const pool = await newPool(suite.admin, { address_scope_id: scope.id, shared: true });
  assert.equal(pool.shared, true);
  assert.equal((await suite.admin.del(`/subnetpools/${pool.id}`)).status, 204);
  assert.equal((await suite.admin.del(`/address-scopes/${scope.id}`)).status, 204);
});

test('address groups: visible to the projects they are shared with, still the owner’s to change', async () => {
  const { owner, target, third } = await projects();
  const ag = await created(
    owner.client.post('/address-groups', { address_group: { name: 'web', addresses: ['192.0.2.0/24'] } }),
    'address_group',
  );
  expectError(await target.client.get(`/address-groups/${ag.id}`), 404, 'AddressGroupNotFound');
  expectError(
    await share(target.client, 'address_group', ag.id, target.id),
    400,
    'InvalidInput',
    /AddressGroup\.validate_rbac_policy_change failed with "Invalid input for operation: Only admins can manipulate policies on objects they do not own\."/,
  );
  expectError(
    await share(owner.client, 'address_group', randomUUID(), target.id),
    400,
    'InvalidInput',
    /AddressGroup\.validate_rbac_policy_change failed with "Address group \S+ could not be found\."/,
  );
  const policy = await shared(owner.client, 'address_group', ag.id, target.id);
  assert.equal(policy.object_type, 'address_group');

  const seen = (await target.client.get(`/address-groups/${ag.id}`)).body.address_group;
  assert.deepEqual(seen.addresses, ['192.0.2.0/24']);
  assert.equal(seen.shared, undefined, 'shared is not an address group attribute');
  assert.deepEqual(ids((await target.client.get('/address-groups')).body.address_groups), [ag.id]);
  assert.deepEqual((await third.client.get('/address-groups')).body.address_groups, []);
  expectError(await third.client.get(`/address-groups/${ag.id}`), 404, 'AddressGroupNotFound');

  for (const [r, rule] of [
    [await target.client.put(`/address-groups/${ag.id}`, { address_group: { name: 'x' } }), 'update_address_group'],
    [await target.client.put(`/address-groups/${ag.id}/add_addresses`, { addresses: ['198.51.100.0/24'] }), 'add_addresses'],
    [await target.client.put(`/address-groups/${ag.id}/remove_addresses`, { addresses: ['192.0.2.0/24'] }), 'remove_addresses'],
    [await target.client.del(`/address-groups/${ag.id}`), 'delete_address_group'],
  ] as const) {
    expectError(r, 403, 'PolicyNotAuthorized', `rule:${rule} is disallowed by policy`);
  }
  assert.equal((await owner.client.get(`/address-groups/${ag.id}`)).body.address_group.revision_number, ag.revision_number);

  // Nothing uses a group yet: its policies go freely; a wildcard shares it with everyone.
  assert.equal((await owner.client.del(`/rbac-policies/${policy.id}`)).status, 204);
  expectError(await target.client.get(`/address-groups/${ag.id}`), 404, 'AddressGroupNotFound');
  await shared(suite.admin, 'address_group', ag.id, '*');
  assert.equal((await third.client.get(`/address-groups/${ag.id}`)).status, 200);
  assert.equal((await owner.client.del(`/address-groups/${ag.id}`)).status, 204);
  assert.deepEqual((await suite.admin.get(`/rbac-policies?object_id=${ag.id}`)).body.rbac_policies, []);
});

test('policies list and filter by the new object types; the extensions are listed', async () => {
  const { owner, target } = await projects();
  const pool = await newPool(owner.client);
  const scope = await created(owner.client.post('/address-scopes', { address_scope: { name: 's', ip_version: 6 } }), 'address_scope');
  const ag = await created(owner.client.post('/address-groups', { address_group: { name: 'g' } }), 'address_group');
  const made = [
    await shared(owner.client, 'subnetpool', pool.id, target.id),
    await shared(owner.client, ' Address_Scope ', scope.id, target.id),
    await shared(owner.client, 'address_group', ag.id, target.id),
  ];
  assert.deepEqual(
    made.map((p) => p.object_type),
    ['subnetpool', 'address_scope', 'address_group'],
  );
  for (const p of made) {
    const listed = (await owner.client.get(`/rbac-policies?object_type=${p.object_type}`)).body.rbac_policies;
    assert.deepEqual(ids(listed), [p.id]);
  }
  expectError(await share(owner.client, 'subnetpool', pool.id, target.id), 409, 'DuplicateRbacPolicy');
  const aliases = (await suite.admin.get('/extensions')).body.extensions.map((e: { alias: string }) => e.alias);
  for (const alias of ['rbac-address-group', 'rbac-address-scope', 'rbac-subnetpool']) assert.ok(aliases.includes(alias), alias);
});
