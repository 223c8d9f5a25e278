// Quotas over HTTP: Neutron's defaults, per-project limits set by admins, OverQuota on create,
// check_limit against current usage, usage details, reset, and who may do what.
// Each test makes member projects of its own, so it passes alone and in any order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adminSuite } from '../helpers/admin-suite.ts';
import { randomUUID } from 'node:crypto';
import { api, memberProject, type Api } from '../helpers/client.ts';
import { expectError } from '../helpers/networking.ts';

const suite = adminSuite();

const DEFAULTS = {
  network: 100,
  subnet: 100,
  port: 500,
  router: 10,
  floatingip: 50,
  security_group: 10,
  security_group_rule: 100,
  rbac_policy: 10,
};

/** A new member project (a unique name per call) with its client. */
async function freshProject(label: string): Promise<{ client: Api; projectId: string }> {
  const p = await memberProject(suite.srv.url, suite.adminTok, `${label}-${randomUUID().slice(0, 8)}`);
  return { client: api(suite.srv.url, p.token), projectId: p.projectId };
}

/** `demo` and `other`: two new member projects, as the tests below call them. */
async function demoAndOther() {
  const d = await freshProject('demo');
  const o = await freshProject('other');
  return { demo: d.client, demoProject: d.projectId, other: o.client, otherProject: o.projectId };
}

const customLimits = async () =>
  (await suite.admin.get('/quotas')).body.quotas as Array<{ project_id: string; network: number; tenant_id: string }>;

test('defaults: a project without limits of its own has Neutron’s defaults', async () => {
  const { demo, demoProject, otherProject } = await demoAndOther();
  const mine = await demo.get(`/quotas/${demoProject}`);
  assert.equal(mine.status, 200);
  for (const [k, v] of Object.entries(DEFAULTS)) assert.equal(mine.body.quota[k], v, k);
  const defaults = await demo.get(`/quotas/${demoProject}/default`);
  assert.equal(defaults.status, 200);
  for (const [k, v] of Object.entries(DEFAULTS)) assert.equal(defaults.body.quota[k], v, k);
  const byAdmin = await suite.admin.get(`/quotas/${otherProject}`);
  assert.equal(byAdmin.status, 200);
  assert.equal(byAdmin.body.quota.network, 100);
  // Neither has custom limits, so neither is listed.
  assert.deepEqual(
    (await customLimits()).filter((q) => [demoProject, otherProject].includes(q.project_id)),
    [],
  );
});

test('members read only their own quotas and change none', async () => {
  const { demo, demoProject, otherProject } = await demoAndOther();
  expectError(await demo.get(`/quotas/${otherProject}`), 403, 'PolicyNotAuthorized');
  expectError(await demo.get(`/quotas/${otherProject}/details`), 403, 'PolicyNotAuthorized');
  expectError(await demo.get('/quotas'), 403, 'PolicyNotAuthorized');
  expectError(
    await demo.put(`/quotas/${demoProject}`, { quota: { network: 1000 } }),
    403,
    'PolicyNotAuthorized',
    'rule:update_quota is disallowed by policy',
  );
  expectError(await demo.del(`/quotas/${demoProject}`), 403, 'PolicyNotAuthorized');
  assert.equal((await demo.get(`/quotas/${demoProject}`)).body.quota.network, 100);
});

test('a network limit of 1: the second network is over quota; usage shows in details', async () => {
  const { demo, demoProject, other } = await demoAndOther();
  const set = await suite.admin.put(`/quotas/${demoProject}`, { quota: { network: 1 } });
  assert.equal(set.status, 200);
  assert.equal(set.body.quota.network, 1);
  assert.equal(set.body.quota.subnet, 100);
  assert.equal((await demo.get(`/quotas/${demoProject}`)).body.quota.network, 1);
  const listed = (await customLimits()).filter((q) => q.project_id === demoProject);
  assert.equal(listed.length, 1);
  assert.equal(listed[0].project_id, demoProject);
  assert.equal(listed[0].tenant_id, demoProject);
  assert.equal(listed[0].network, 1);

  const first = await demo.post('/networks', { network: { name: 'one' } });
  assert.equal(first.status, 201);
  expectError(await demo.post('/networks', { network: { name: 'two' } }), 409, 'OverQuota', "Quota exceeded for resources: ['network'].");
  // A bulk create that would cross the limit creates nothing.
  expectError(await demo.post('/networks', { networks: [{ name: 'a' }, { name: 'b' }] }), 409, 'OverQuota');
  assert.equal((await demo.get('/networks')).body.networks.length, 1);
  // Other projects are not affected.
  assert.equal((await other.post('/networks', { network: { name: 'o1' } })).status, 201);
  assert.equal((await other.post('/networks', { network: { name: 'o2' } })).status, 201);

  const details = await demo.get(`/quotas/${demoProject}/details`);
  assert.equal(details.status, 200);
  assert.deepEqual(details.body.quota.network, { limit: 1, used: 1, reserved: 0 });
  assert.deepEqual(details.body.quota.security_group, { limit: 10, used: 1, reserved: 0 }, 'the default group counts');
  assert.deepEqual(details.body.quota.security_group_rule, { limit: 100, used: 4, reserved: 0 });
  assert.deepEqual(details.body.quota.port, { limit: 500, used: 0, reserved: 0 });
});

test('check_limit refuses a limit below current usage unless forced; without it any limit is stored', async () => {
  const { client: other, projectId: otherProject } = await freshProject('other');
  for (const name of ['o1', 'o2']) assert.equal((await other.post('/networks', { network: { name } })).status, 201);
  const net = (await other.get('/networks')).body.networks.length;
  assert.equal(net, 2);
  expectError(
    await suite.admin.put(`/quotas/${otherProject}`, { quota: { network: 1, check_limit: true } }),
    400,
    'HTTPBadRequest',
    'Quota limit 1 for network must be greater than or equal to already used 2',
  );
  assert.equal((await suite.admin.get(`/quotas/${otherProject}`)).body.quota.network, 100, 'nothing stored');
  // Equal to usage, unlimited, and forced values pass the check.
  assert.equal((await suite.admin.put(`/quotas/${otherProject}`, { quota: { network: 2, check_limit: 'True' } })).body.quota.network, 2);
  assert.equal((await suite.admin.put(`/quotas/${otherProject}`, { quota: { network: -1, check_limit: true } })).body.quota.network, -1);
  assert.equal(
    (await suite.admin.put(`/quotas/${otherProject}`, { quota: { network: 0, check_limit: true, force: true } })).body.quota.network,
    0,
  );
  assert.equal((await suite.admin.put(`/quotas/${otherProject}`, { quota: { network: 1 } })).body.quota.network, 1);
  expectError(await other.post('/networks', { network: { name: 'o3' } }), 409, 'OverQuota');
  // -1 is unlimited.
  await suite.admin.put(`/quotas/${otherProject}`, { quota: { network: -1, subnet: '7' } });
  const q = (await suite.admin.get(`/quotas/${otherProject}`)).body.quota;
  assert.equal(q.network, -1);
  assert.equal(q.subnet, 7);
  assert.equal((await other.post('/networks', { network: { name: 'o3' } })).status, 201);
});

test('quota bodies are validated', async () => {
  const { projectId: demoProject } = await freshProject('demo');
  assert.equal((await suite.admin.put(`/quotas/${demoProject}`, { quota: { network: 1 } })).status, 200);
  expectError(
    await suite.admin.put(`/quotas/${demoProject}`, { quota: { widgets: 3 } }),
    400,
    'HTTPBadRequest',
    "Unrecognized attribute(s) 'widgets'",
  );
  expectError(
    await suite.admin.put(`/quotas/${demoProject}`, { quota: { network: -2 } }),
    400,
    'HTTPBadRequest',
    "Invalid input for network. Reason: '-2' is too small - must be at least '-1'.",
  );
  expectError(
    await suite.admin.put(`/quotas/${demoProject}`, { quota: { network: 'lots' } }),
    400,
    'InvalidInput',
    "Invalid input for operation: 'lots' is not an integer.",
  );
  expectError(await suite.admin.put(`/quotas/${demoProject}`, { quota: { network: 2 ** 31 } }), 400, 'HTTPBadRequest');
  expectError(
    await suite.admin.put(`/quotas/${demoProject}`, { network: 3 }),
    400,
    'HTTPBadRequest',
    "Unable to find 'quota' in request body",
  );
  assert.equal((await suite.admin.get(`/quotas/${demoProject}`)).body.quota.network, 1, 'nothing changed');
});

test('DELETE resets a project to the defaults', async () => {
  const { client: demo, projectId: demoProject } = await freshProject('demo');
  assert.equal((await suite.admin.put(`/quotas/${demoProject}`, { quota: { network: 1 } })).status, 200);
  assert.equal((await demo.post('/networks', { network: { name: 'one' } })).status, 201);
  expectError(await demo.post('/networks', { network: { name: 'two' } }), 409, 'OverQuota');
  const r = await suite.admin.del(`/quotas/${demoProject}`);
  assert.equal(r.status, 204);
  const q = (await demo.get(`/quotas/${demoProject}`)).body.quota;
  for (const [k, v] of Object.entries(DEFAULTS)) assert.equal(q[k], v, k);
  assert.ok(!(await customLimits()).some((x) => x.project_id === demoProject));
  assert.equal((await demo.post('/networks', { network: { name: 'two' } })).status, 201);
});

test('port and subnet limits are enforced too', async () => {
  const { client, projectId } = await freshProject('tight');
  await suite.admin.put(`/quotas/${projectId}`, { quota: { subnet: 1, port: 1 } });
  const net = (await client.post('/networks', { network: { name: 'n' } })).body.network;
  assert.equal((await client.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.9.0.0/24' } })).status, 201);
  expectError(
    await client.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.9.1.0/24' } }),
    409,
    'OverQuota',
    "Quota exceeded for resources: ['subnet'].",
  );
  assert.equal((await client.post('/ports', { port: { network_id: net.id } })).status, 201);
  expectError(await client.post('/ports', { port: { network_id: net.id } }), 409, 'OverQuota', "Quota exceeded for resources: ['port'].");
});
