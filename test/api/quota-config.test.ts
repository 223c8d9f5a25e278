// [quotas] defaults over HTTP: a server started with quota_* options shows them as every project's
// default and enforces them where a project has no limit of its own; -1 is unlimited. In a file of
// its own: the defaults belong to the process's one server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { QUOTA_DEFAULTS } from '../../src/networking/quotas.ts';
import { adminDemoOther, created, expectError } from '../helpers/networking.ts';

test('[quotas] quota_network / quota_router as defaults, -1 unlimited, a per-project limit over them', async (t) => {
  const srv = await startTestServer({ quotaDefaults: { ...QUOTA_DEFAULTS, network: 1, router: -1 } });
  t.after(() => srv.close());
  const { admin, demo, demoProject, otherProject, other } = await adminDemoOther(srv.url);
  const shown = (await demo.get(`/quotas/${demoProject}/default`)).body.quota;
  assert.equal(shown.network, 1);
  assert.equal(shown.router, -1);
  assert.equal((await demo.get(`/quotas/${demoProject}`)).body.quota.network, 1);

  await created(demo.post('/networks', { network: { name: 'one' } }), 'network');
  expectError(await demo.post('/networks', { network: { name: 'two' } }), 409, 'OverQuota', "Quota exceeded for resources: ['network'].");
  for (let i = 0; i < 12; i++) await created(demo.post('/routers', { router: { name: `r${i}` } }), 'router');

  assert.equal((await admin.put(`/quotas/${otherProject}`, { quota: { network: 2 } })).status, 200);
  await created(other.post('/networks', { network: { name: 'a' } }), 'network');
  await created(other.post('/networks', { network: { name: 'b' } }), 'network');
  expectError(await other.post('/networks', { network: { name: 'c' } }), 409, 'OverQuota');
});
