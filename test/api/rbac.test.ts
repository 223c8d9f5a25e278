// RBAC policies over HTTP (rbac-policies, rbac-security-groups, security-groups-shared-filtering):
// sharing networks and security groups with one project or all, making a network external for one
// project, what that lets the target do (see, ports, router gateways, floating IPs, groups on ports),
// the `shared` and `router:external` flags derived from the policies, and every refusal — policy,
// validation, duplicates, quota, and removing a policy something still depends on.
// Each test makes member projects of its own, so it passes alone and in any order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adminSuite } from '../helpers/admin-suite.ts';
import { randomUUID } from 'node:crypto';
import { sharingProjects, type Api } from '../helpers/client.ts';
import { created, expectError } from '../helpers/networking.ts';

const suite = adminSuite();

const projects = () => sharingProjects(suite.srv.url, suite.adminTok);

/** A network of `p` with an IPv4 subnet, unique per call. */
let cidrCounter = 0;
async function networkWithSubnet(p: Api, body: Record<string, unknown> = {}) {
  const net = await created(p.post('/networks', { network: { name: 'n', ...body } }), 'network');
  const n = ++cidrCounter;
  await created(p.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: `10.${100 + n}.0.0/24` } }), 'subnet');
  return net;
}

const share = (p: Api, body: Record<string, unknown>) => p.post('/rbac-policies', { rbac_policy: body });
const shareNetwork = (p: Api, id: string, target: string, action = 'access_as_shared') =>
  created(share(p, { object_type: 'network', object_id: id, target_tenant: target, action }), 'rbac_policy');

test('sharing a network with one project: the policy, what the target may do, and the shared flag', async () => {
  const { owner, target, third } = await projects();
  const net = await networkWithSubnet(owner.client);
  expectError(await target.client.get(`/networks/${net.id}`), 404, 'NetworkNotFound');

  const policy = await shareNetwork(owner.client, net.id, target.id);
  assert.deepEqual(Object.keys(policy).sort(), ['action', 'id', 'object_id', 'object_type', 'project_id', 'target_tenant', 'tenant_id']);
  assert.deepEqual(
    { ...policy, id: undefined },
    {
      id: undefined,
      project_id: owner.id,
      tenant_id: owner.id,
      object_type: 'network',
      object_id: net.id,
      target_tenant: target.id,
      action: 'access_as_shared',
    },
  );
  // The policy revises its network.
  assert.equal((await owner.client.get(`/networks/${net.id}`)).body.network.revision_number, net.revision_number + 1);

  // The target sees the network (shared for it), its subnet, and may put ports on it — not subnets.
  const seen = (await target.client.get(`/networks/${net.id}`)).body.network;
  assert.equal(seen.shared, true);
  assert.equal((await owner.client.get(`/networks/${net.id}`)).body.network.shared, false, 'not shared with its owner');
  assert.deepEqual(
    (await target.client.get('/networks?shared=true')).body.networks.map((n: { id: string }) => n.id),
    [net.id],
  );
  assert.deepEqual(
    (await owner.client.get('/networks?shared=false')).body.networks.map((n: { id: string }) => n.id),
    [net.id],
  );
  assert.equal((await target.client.get(`/subnets?network_id=${net.id}`)).body.subnets.length, 1);
  const port = await created(target.client.post('/ports', { port: { network_id: net.id } }), 'port');
  // A policy naming the project lets its router take an interface on the subnet.
  const router = await created(target.client.post('/routers', { router: { name: 'r' } }), 'router');
  const byPolicy = await target.client.put(`/routers/${router.id}/add_router_interface`, { subnet_id: seen.subnets[0] });
  assert.equal(byPolicy.status, 200, JSON.stringify(byPolicy.body));
  assert.equal((await target.client.put(`/routers/${router.id}/remove_router_interface`, { subnet_id: seen.subnets[0] })).status, 200);
  expectError(
    await target.client.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.250.0.0/24' } }),
    403,
    'PolicyNotAuthorized',
    'rule:create_subnet is disallowed by policy',
  );
  // The bystander sees none of it.
  expectError(await third.client.get(`/networks/${net.id}`), 404, 'NetworkNotFound');
  expectError(await third.client.post('/ports', { port: { network_id: net.id } }), 404, 'NetworkNotFound');
  assert.equal((await third.client.get(`/subnets?network_id=${net.id}`)).body.subnets.length, 0);

  // Policies are their owner's: the target neither lists nor reads them.
  assert.deepEqual((await owner.client.get('/rbac-policies')).body.rbac_policies, [policy]);
  assert.deepEqual((await target.client.get('/rbac-policies')).body.rbac_policies, []);
  expectError(
    await target.client.get(`/rbac-policies/${policy.id}`),
    404,
    'RbacPolicyNotFound',
    `RBAC policy of type unknown with ID ${policy.id} not found`,
  );
  expectError(await target.client.del(`/rbac-policies/${policy.id}`), 404, 'RbacPolicyNotFound');

  // The same policy again; a change or removal while the target's port is on the network.
  expectError(
    await share(owner.client, { object_type: 'network', object_id: net.id, target_tenant: target.id, action: 'access_as_shared' }),
    409,
    'DuplicateRbacPolicy',
    'An RBAC policy already exists with those values.',
  );
  const inUse = new RegExp(
    `^RBAC policy on object ${net.id} cannot be removed because other objects depend on it.\\nDetails: Callback \\S+validate_network_rbac_policy_change failed with "Unable to reconfigure sharing settings for network ${net.id}. Multiple tenants are using it."$`,
  );
  expectError(await owner.client.del(`/rbac-policies/${policy.id}`), 409, 'RbacPolicyInUse', inUse);
  expectError(
    await owner.client.put(`/rbac-policies/${policy.id}`, { rbac_policy: { target_tenant: third.id } }),
    409,
    'RbacPolicyInUse',
    inUse,
  );

  // Without the port the policy moves to the bystander, then goes.
  assert.equal((await target.client.del(`/ports/${port.id}`)).status, 204);
  const moved = await owner.client.put(`/rbac-policies/${policy.id}`, { rbac_policy: { target_tenant: third.id } });
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  assert.equal(moved.body.rbac_policy.target_tenant, third.id);
  assert.equal((await third.client.get(`/networks/${net.id}`)).status, 200);
  expectError(await target.client.get(`/networks/${net.id}`), 404, 'NetworkNotFound');
  assert.equal((await owner.client.del(`/rbac-policies/${policy.id}`)).status, 204);
  expectError(await third.client.get(`/networks/${net.id}`), 404, 'NetworkNotFound');
  expectError(await owner.client.get(`/rbac-policies/${policy.id}`), 404, 'RbacPolicyNotFound');
});

test('the wildcard: only admins share with everyone; `shared` is its policy; removing it while used', async () => {
  const { owner, target, third } = await projects();
  const net = await networkWithSubnet(owner.client);
  const wildcard = { object_type: 'network', object_id: net.id, target_tenant: '*', action: 'access_as_shared' };
  expectError(
    await share(owner.client, wildcard),
    403,
    'PolicyNotAuthorized',
    '(rule:create_rbac_policy and (rule:create_rbac_policy:object_type and rule:create_rbac_policy:object_id and rule:create_rbac_policy:target_tenant and rule:create_rbac_policy:action)) is disallowed by policy',
  );
  // `shared: true` (admin only) is the wildcard policy, owned by the network's project.
  const upd = await suite.admin.put(`/networks/${net.id}`, { network: { shared: true } });
  assert.equal(upd.status, 200, JSON.stringify(upd.body));
  const [implicit] = (await owner.client.get(`/rbac-policies?object_id=${net.id}`)).body.rbac_policies;
  assert.deepEqual(
    { ...implicit, id: undefined },
    {
      id: undefined,
      project_id: owner.id,
      tenant_id: owner.id,
      object_type: 'network',
      object_id: net.id,
      target_tenant: '*',
      action: 'access_as_shared',
    },
  );
  assert.equal((await owner.client.get(`/networks/${net.id}`)).body.network.shared, true);
  assert.equal((await third.client.get(`/networks/${net.id}`)).body.network.shared, true);
  const port = await created(target.client.post('/ports', { port: { network_id: net.id } }), 'port');
  // Shared with everyone is not enough for another project's router interface (LP-1757482).
  const [subnetId] = (await target.client.get(`/networks/${net.id}`)).body.network.subnets;
  const router = await created(target.client.post('/routers', { router: { name: 'r' } }), 'router');
  expectError(
    await target.client.put(`/routers/${router.id}/add_router_interface`, { subnet_id: subnetId }),
    400,
    'BadRequest',
    `Bad router request: Cannot add interface to router because subnet ${subnetId} is not owned by project making the request.`,
  );

  // The owner may not make it a policy for everyone either way round.
  expectError(
    await owner.client.put(`/rbac-policies/${implicit.id}`, { rbac_policy: { target_tenant: '*' } }),
    403,
    'PolicyNotAuthorized',
    '(rule:update_rbac_policy and rule:update_rbac_policy:target_tenant) is disallowed by policy',
  );
  // Unsharing and removing the wildcard are refused while the target's port depends on it …
  expectError(
    await suite.admin.put(`/networks/${net.id}`, { network: { shared: false } }),
    409,
    'InvalidSharedSetting',
    `Unable to reconfigure sharing settings for network ${net.name}. Multiple tenants are using it.`,
  );
  expectError(await owner.client.del(`/rbac-policies/${implicit.id}`), 409, 'RbacPolicyInUse');
  // … and allowed once a policy of its own covers it.
  await shareNetwork(owner.client, net.id, target.id);
  assert.equal((await owner.client.del(`/rbac-policies/${implicit.id}`)).status, 204);
  assert.equal((await owner.client.get(`/networks/${net.id}`)).body.network.shared, false);
  assert.equal((await target.client.get(`/networks/${net.id}`)).body.network.shared, true);
  expectError(await third.client.get(`/networks/${net.id}`), 404, 'NetworkNotFound');
  // Deleting the network (its port first) deletes its policies.
  assert.equal((await target.client.del(`/ports/${port.id}`)).status, 204);
  assert.equal((await owner.client.del(`/networks/${net.id}`)).status, 204);
  assert.deepEqual((await owner.client.get(`/rbac-policies?object_id=${net.id}`)).body.rbac_policies, []);
  assert.deepEqual((await suite.admin.get(`/rbac-policies?object_id=${net.id}`)).body.rbac_policies, []);
});

test('creating a network shared or external makes its wildcard policies; admins see every policy', async () => {
  const { owner } = await projects();
  const net = await created(
    suite.admin.post('/networks', { network: { name: 'both', project_id: owner.id, shared: true, 'router:external': true } }),
    'network',
  );
  assert.equal(net.shared, true);
  assert.equal(net['router:external'], true);
  const policies = (await suite.admin.get(`/rbac-policies?object_id=${net.id}&sort_key=action&sort_dir=asc`)).body.rbac_policies;
  assert.deepEqual(
    policies.map((p: { action: string; target_tenant: string; project_id: string }) => [p.action, p.target_tenant, p.project_id]),
    [
      ['access_as_external', '*', owner.id],
      ['access_as_shared', '*', owner.id],
    ],
  );
  // Filters: each attribute, and tenant_id for project_id.
  for (const q of ['action=access_as_external', 'target_tenant=*', `tenant_id=${owner.id}`, 'object_type=network']) {
    const got = (await suite.admin.get(`/rbac-policies?object_id=${net.id}&${q}`)).body.rbac_policies;
    assert.ok(got.length >= 1, q);
  }
  assert.equal((await suite.admin.get(`/rbac-policies?object_id=${net.id}&object_type=security_group`)).body.rbac_policies.length, 0);
  // Making it internal drops its external policies.
  assert.equal((await suite.admin.put(`/networks/${net.id}`, { network: { 'router:external': false } })).status, 200);
  assert.deepEqual(
    (await suite.admin.get(`/rbac-policies?object_id=${net.id}`)).body.rbac_policies.map((p: { action: string }) => p.action),
    ['access_as_shared'],
  );
  assert.equal((await suite.admin.del(`/networks/${net.id}`)).status, 204);
});

test('access_as_external for one project: the network becomes external for it (gateway, floating IP), not a port', async () => {
  const { owner, target, third } = await projects();
  const net = await networkWithSubnet(owner.client);
  assert.equal(net['router:external'], false);
  const policy = await shareNetwork(owner.client, net.id, target.id, 'access_as_external');
  assert.equal((await owner.client.get(`/networks/${net.id}`)).body.network['router:external'], true);
  const seen = (await target.client.get(`/networks/${net.id}`)).body.network;
  assert.equal(seen['router:external'], true);
  assert.equal(seen.shared, false);
  expectError(await third.client.get(`/networks/${net.id}`), 404, 'NetworkNotFound');
  expectError(
    await target.client.post('/ports', { port: { network_id: net.id } }),
    403,
    'HTTPForbidden',
    `Tenant ${target.id} not allowed to create port on this network`,
  );
  // The bystander can neither set a gateway nor take a floating IP there.
  expectError(await third.client.post('/routers', { router: { external_gateway_info: { network_id: net.id } } }), 404, 'NetworkNotFound');
  expectError(await third.client.post('/floatingips', { floatingip: { floating_network_id: net.id } }), 404, 'NetworkNotFound');
  const fip = await created(target.client.post('/floatingips', { floatingip: { floating_network_id: net.id } }), 'floatingip');
  assert.equal((await target.client.del(`/floatingips/${fip.id}`)).status, 204);
  const router = await created(target.client.post('/routers', { router: { external_gateway_info: { network_id: net.id } } }), 'router');

  expectError(
    await owner.client.del(`/rbac-policies/${policy.id}`),
    409,
    'RbacPolicyInUse',
    new RegExp(
      `Details: Callback \\S+_validate_ext_not_in_use_by_tenant failed with "RBAC policy on object ${net.id} cannot be removed because other objects depend on it.\\nDetails: There are routers attached to this network that depend on this policy for access."$`,
    ),
  );
  // A wildcard for everyone (admins only) lets the project's own policy go.
  const wildcard = { object_type: 'network', object_id: net.id, target_tenant: '*', action: 'access_as_external' };
  expectError(await share(owner.client, wildcard), 403, 'PolicyNotAuthorized');
  const all = await created(share(suite.admin, wildcard), 'rbac_policy');
  assert.equal(all.project_id, (await suite.admin.get(`/rbac-policies/${all.id}`)).body.rbac_policy.project_id);
  assert.equal((await third.client.get(`/networks/${net.id}`)).status, 200);
  assert.equal((await owner.client.del(`/rbac-policies/${policy.id}`)).status, 204);
  // Now the wildcard is the one the router depends on.
  expectError(await suite.admin.del(`/rbac-policies/${all.id}`), 409, 'RbacPolicyInUse');
  assert.equal((await target.client.put(`/routers/${router.id}`, { router: { external_gateway_info: {} } })).status, 200);
  assert.equal((await suite.admin.del(`/rbac-policies/${all.id}`)).status, 204);
  // The last external policy gone, the network is internal again.
  assert.equal((await owner.client.get(`/networks/${net.id}`)).body.network['router:external'], false);
  expectError(await target.client.get(`/networks/${net.id}`), 404, 'NetworkNotFound');
});

test('sharing a security group: visible and usable on ports by the target, still the owner’s to change', async () => {
  const { owner, target, third } = await projects();
  const sg = await created(owner.client.post('/security-groups', { security_group: { name: 'web' } }), 'security_group');
  assert.equal(sg.shared, false);
  expectError(await target.client.get(`/security-groups/${sg.id}`), 404, 'SecurityGroupNotFound');
  const body = { object_type: 'security_group', object_id: sg.id, target_tenant: target.id, action: 'access_as_shared' };
  expectError(await share(target.client, body), 400, 'InvalidInput', /Only admins can manipulate policies on objects they do not own/);
  const policy = await created(share(owner.client, body), 'rbac_policy');
  assert.equal(policy.object_type, 'security_group');

  const seen = (await target.client.get(`/security-groups/${sg.id}`)).body.security_group;
  assert.equal(seen.shared, true);
  assert.equal(seen.security_group_rules.length, 2);
  const sharedIds = (await target.client.get('/security-groups?shared=true')).body.security_groups.map((g: { id: string }) => g.id);
  assert.deepEqual(sharedIds, [sg.id]);
  const unshared = (await target.client.get('/security-groups?shared=false')).body.security_groups.map((g: { id: string }) => g.id);
  assert.ok(!unshared.includes(sg.id));
  assert.ok((await owner.client.get('/security-groups?shared=false')).body.security_groups.some((g: { id: string }) => g.id === sg.id));
  expectError(await third.client.get(`/security-groups/${sg.id}`), 404, 'SecurityGroupNotFound');

  expectError(
    await target.client.put(`/security-groups/${sg.id}`, { security_group: { name: 'mine' } }),
    403,
    'PolicyNotAuthorized',
    'rule:update_security_group is disallowed by policy',
  );
  expectError(
    await target.client.del(`/security-groups/${sg.id}`),
    403,
    'PolicyNotAuthorized',
    'rule:delete_security_group is disallowed by policy',
  );

  // The target's port may use it; the bystander's may not.
  const targetNet = await networkWithSubnet(target.client);
  const port = await created(target.client.post('/ports', { port: { network_id: targetNet.id, security_groups: [sg.id] } }), 'port');
  assert.deepEqual(port.security_groups, [sg.id]);
  const thirdNet = await networkWithSubnet(third.client);
  expectError(
    await third.client.post('/ports', { port: { network_id: thirdNet.id, security_groups: [sg.id] } }),
    404,
    'SecurityGroupNotFound',
  );
  expectError(
    await owner.client.del(`/rbac-policies/${policy.id}`),
    409,
    'RbacPolicyInUse',
    new RegExp(
      `failed with "RBAC policy on object ${sg.id} cannot be removed because other objects depend on it.\\nDetails: project_id=${target.id}"$`,
    ),
  );
  assert.equal((await target.client.del(`/ports/${port.id}`)).status, 204);
  assert.equal((await owner.client.del(`/rbac-policies/${policy.id}`)).status, 204);
  expectError(await target.client.get(`/security-groups/${sg.id}`), 404, 'SecurityGroupNotFound');
  // Deleting the group deletes its policies.
  await created(share(owner.client, body), 'rbac_policy');
  assert.equal((await owner.client.del(`/security-groups/${sg.id}`)).status, 204);
  assert.deepEqual((await owner.client.get(`/rbac-policies?object_id=${sg.id}`)).body.rbac_policies, []);
});

test('refusals: validation, objects not the caller’s, actions per type, quota', async () => {
  const { owner, target } = await projects();
  const net = await networkWithSubnet(owner.client);
  const ok = { object_type: 'network', object_id: net.id, target_tenant: target.id, action: 'access_as_shared' };

  expectError(
    await share(owner.client, { ...ok, object_type: 'router' }),
    400,
    'InvalidInput',
    "Invalid input for operation: 'router' is not a valid RBAC object type.",
  );
  expectError(
    await share(owner.client, { ...ok, target_tenant: 'bob' }),
    400,
    'InvalidInput',
    "Invalid input for operation: 'bob' is not a valid target project ID; expected a UUID or '*'.",
  );
  expectError(
    await share(owner.client, { ...ok, object_id: 'x' }),
    400,
    'HTTPBadRequest',
    "Invalid input for object_id. Reason: 'x' is not a valid UUID.",
  );
  expectError(
    await share(owner.client, { ...ok, action: 'access_as_readonly' }),
    400,
    'InvalidActionForType',
    "Invalid action 'access_as_readonly' for object type 'network'. Valid actions: ('access_as_shared', 'access_as_external')",
  );
  const { action: _drop, ...noAction } = ok;
  expectError(
    await share(owner.client, noAction),
    400,
    'HTTPBadRequest',
    "Failed to parse request. Required attribute 'action' not specified",
  );
  expectError(await share(owner.client, { ...ok, shared: true }), 400, 'HTTPBadRequest', "Unrecognized attribute(s) 'shared'");
  expectError(
    await share(owner.client, { ...ok, project_id: target.id }),
    400,
    'HTTPBadRequest',
    "Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin privileges",
  );
  // Object type in any case and with blanks; a group takes only access_as_shared.
  const sg = await created(owner.client.post('/security-groups', { security_group: { name: 'g' } }), 'security_group');
  expectError(
    await share(owner.client, { ...ok, object_type: ' Security_Group ', object_id: sg.id, action: 'access_as_external' }),
    400,
    'InvalidActionForType',
    "Invalid action 'access_as_external' for object type 'security_group'. Valid actions: ('access_as_shared',)",
  );

  // Another project's network: invisible, or visible but not its own.
  const theirs = { ...ok, target_tenant: owner.id };
  expectError(
    await share(target.client, theirs),
    400,
    'InvalidInput',
    `Invalid input for operation: Callback neutron.plugins.ml2.plugin.Ml2Plugin.validate_network_rbac_policy_change failed with "Network ${net.id} could not be found.".`,
  );
  expectError(await share(target.client, { ...theirs, object_id: randomUUID() }), 400, 'InvalidInput', /could not be found/);
  const policy = await created(share(owner.client, ok), 'rbac_policy');
  expectError(
    await share(target.client, { ...theirs, action: 'access_as_external' }),
    400,
    'InvalidInput',
    `Invalid input for operation: Callback neutron.plugins.ml2.plugin.Ml2Plugin._process_ext_policy_create failed with "Invalid input for operation: Only admins can manipulate policies on networks they do not own.".`,
  );
  assert.equal((await owner.client.get(`/networks/${net.id}`)).body.network['router:external'], false, 'a refused policy changes nothing');
  // Admins may share anyone's network; the policy is the admin's.
  const byAdmin = await shareNetwork(suite.admin, net.id, randomUUID().replace(/-/g, ''));
  assert.notEqual(byAdmin.project_id, owner.id);

  // Read-only attributes; unknown policies.
  expectError(
    await owner.client.put(`/rbac-policies/${policy.id}`, { rbac_policy: { action: 'access_as_external' } }),
    400,
    'HTTPBadRequest',
    'Cannot update read-only attribute action',
  );
  expectError(
    await owner.client.put(`/rbac-policies/${randomUUID()}`, { rbac_policy: { target_tenant: owner.id } }),
    404,
    'RbacPolicyNotFound',
  );
  expectError(await owner.client.del(`/rbac-policies/${randomUUID()}`), 404, 'RbacPolicyNotFound');

  // Quota: rbac_policy, 10 by default.
  assert.equal((await suite.admin.put(`/quotas/${owner.id}`, { quota: { rbac_policy: 1 } })).status, 200);
  expectError(
    await share(owner.client, { ...ok, target_tenant: randomUUID() }),
    409,
    'OverQuota',
    "Quota exceeded for resources: ['rbac_policy'].",
  );
  assert.equal((await owner.client.get(`/quotas/${owner.id}/details`)).body.quota.rbac_policy.used, 1);
});

test('the extensions are listed', async () => {
  const aliases = (await suite.admin.get('/extensions')).body.extensions.map((e: { alias: string }) => e.alias);
  for (const alias of ['rbac-policies', 'rbac-security-groups', 'security-groups-shared-filtering'])
    assert.ok(aliases.includes(alias), alias);
  const r = await suite.admin.get('/');
  assert.ok(
    r.body.resources.some((x: { name: string; collection: string }) => x.name === 'rbac_policy' && x.collection === 'rbac-policies'),
  );
});
