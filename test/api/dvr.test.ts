// The dvr and router-admin-state-down-before-update extensions: `distributed` exists, admin-only and
// false; a change to true needs the router down before and after the update, then is refused
// because Linux bridge has no DVR; `enable_dvr = false` drops both extensions and the attribute.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { adminDemoOther, created, expectError } from '../helpers/networking.ts';

const DVR_ALIASES = ['dvr', 'router-admin-state-down-before-update'];

test('dvr: listed, distributed false, a change to true refused in Neutron order', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { admin, demo } = await adminDemoOther(srv.url);

  const aliases = (await admin.get('/extensions')).body.extensions.map((e: { alias: string }) => e.alias);
  for (const alias of DVR_ALIASES) assert.ok(aliases.includes(alias), `${alias} listed`);
  assert.equal((await admin.get('/extensions/dvr')).status, 200);

  const router = await created(admin.post('/routers', { router: { name: 'r', distributed: false } }), 'router');
  assert.equal(router.distributed, false);
  expectError(await demo.put(`/routers/${router.id}`, { router: { distributed: false } }), 404, 'RouterNotFound');

  // Up before (and after): Neutron's migration check comes first.
  expectError(
    await admin.put(`/routers/${router.id}`, { router: { distributed: true } }),
    400,
    'BadRequest',
    /Cannot change the 'distributed' attribute of active routers/,
  );
  // Going down in the same request is not enough: the router is up before it.
  expectError(
    await admin.put(`/routers/${router.id}`, { router: { distributed: true, admin_state_up: false } }),
    400,
    'BadRequest',
    /Cannot change the 'distributed' attribute of active routers/,
  );
  // Asking for what it is changes nothing and passes.
  const same = await admin.put(`/routers/${router.id}`, { router: { distributed: false } });
  assert.equal(same.status, 200);
  assert.equal(same.body.router.distributed, false);

  // Down before and after: the migration would be allowed, and DVR itself is refused.
  assert.equal((await admin.put(`/routers/${router.id}`, { router: { admin_state_up: false } })).status, 200);
  const before = (await admin.get(`/routers/${router.id}`)).body.router;
  expectError(
    await admin.put(`/routers/${router.id}`, { router: { distributed: true } }),
    400,
    'BadRequest',
    /Distributed routers are not supported/,
  );
  // Coming up in the same request: the collective state is up.
  expectError(
    await admin.put(`/routers/${router.id}`, { router: { distributed: true, admin_state_up: true } }),
    400,
    'BadRequest',
    /Cannot change the 'distributed' attribute of active routers/,
  );
  assert.deepEqual((await admin.get(`/routers/${router.id}`)).body.router, before, 'refused updates changed nothing');
});

test('dvr: enable_dvr = false drops both extensions and the distributed attribute', async (t) => {
  const srv = await startTestServer({ enableDvr: false });
  t.after(() => srv.close());
  const { admin } = await adminDemoOther(srv.url);

  const aliases = (await admin.get('/extensions')).body.extensions.map((e: { alias: string }) => e.alias);
  for (const alias of DVR_ALIASES) assert.ok(!aliases.includes(alias), `${alias} not listed`);
  assert.ok(aliases.includes('router'));
  expectError(await admin.get('/extensions/dvr'), 404, 'HTTPNotFound');
  expectError(
    await admin.post('/routers', { router: { name: 'r', distributed: false } }),
    400,
    'HTTPBadRequest',
    /Unrecognized attribute\(s\) 'distributed'/,
  );
  const router = await created(admin.post('/routers', { router: { name: 'r' } }), 'router');
  expectError(
    await admin.put(`/routers/${router.id}`, { router: { distributed: false } }),
    400,
    'HTTPBadRequest',
    /Unrecognized attribute/,
  );
});
