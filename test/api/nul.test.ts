// A NUL character in a request: PostgreSQL text cannot hold one, so the answer must not depend on
// the engine. In a body it is refused (400, nothing changes); as an id or a filter value it names
// nothing (404 / empty list) — on SQLite and, in the PostgreSQL pass, on PostgreSQL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { request } from '../helpers/client.ts';
import { adminDemoOther, created, expectError } from '../helpers/networking.ts';

const NUL_ID = 'a%00b';

test('a NUL in an id is an unknown id for every resource, on show, update, delete and actions', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { admin, adminToken, demo } = await adminDemoOther(srv.url);
  const cases: Array<[string, string, object]> = [
    ['networks', 'NetworkNotFound', { network: { name: 'x' } }],
    ['subnets', 'SubnetNotFound', { subnet: { name: 'x' } }],
    ['ports', 'PortNotFound', { port: { name: 'x' } }],
    ['routers', 'RouterNotFound', { router: { name: 'x' } }],
    ['floatingips', 'FloatingIPNotFound', { floatingip: { port_id: null } }],
    ['security-groups', 'SecurityGroupNotFound', { security_group: { name: 'x' } }],
    ['security-group-rules', 'SecurityGroupRuleNotFound', { security_group_rule: {} }],
  ];
  for (const [path, type] of cases) {
    expectError(await demo.get(`/${path}/${NUL_ID}`), 404, type);
    expectError(await demo.del(`/${path}/${NUL_ID}`), 404, type);
  }
  for (const [path, type, body] of cases) {
    if (path === 'security-group-rules') continue; // rules have no update
    expectError(await demo.put(`/${path}/${NUL_ID}`, body), 404, type);
  }
  expectError(await demo.put(`/routers/${NUL_ID}/add_router_interface`, { subnet_id: 'x' }), 404, 'RouterNotFound');
  expectError(await admin.get(`/agents/${NUL_ID}`), 404, 'AgentNotFound');
  const quota = await admin.get(`/quotas/${NUL_ID}`);
  assert.equal(quota.status, 200, JSON.stringify(quota.body)); // Neutron: a project it never heard of has the defaults
  const user = await request(`${srv.url}/identity/v3/users/${NUL_ID}`, 'GET', adminToken);
  assert.equal(user.status, 404, JSON.stringify(user.body));
});

test('a NUL in a filter value matches nothing; with other values it drops out', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { demo } = await adminDemoOther(srv.url);
  const router = await created(demo.post('/routers', { router: { name: 'r1' } }), 'router');
  for (const path of ['routers', 'floatingips', 'security-groups', 'security-group-rules', 'networks', 'ports']) {
    const r = await demo.get(`/${path}?id=${NUL_ID}&description=${NUL_ID}`);
    assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.body)}`);
    assert.deepEqual(Object.values(r.body)[0], [], path);
  }
  const both = await demo.get(`/routers?id=${NUL_ID}&id=${router.id}`);
  assert.deepEqual(
    both.body.routers.map((r: { id: string }) => r.id),
    [router.id],
  );
});

test('a NUL in a request body is refused with 400 and nothing is created', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { demo } = await adminDemoOther(srv.url);
  const before = (await demo.get('/routers')).body.routers.length;
  for (const [path, body] of [
    ['/routers', { router: { name: 'r\u0000' } }],
    ['/networks', { network: { name: 'n', description: '\u0000' } }],
    ['/security-groups', { security_group: { name: 'g', tags: ['\u0000'] } }],
  ] as const) {
    expectError(await demo.post(path, body), 400, 'HTTPBadRequest', 'Malformed request body: NUL character in a string');
  }
  assert.equal((await demo.get('/routers')).body.routers.length, before);
  assert.deepEqual((await demo.get('/networks')).body.networks, []);
});
