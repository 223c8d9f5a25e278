// Floating IP pools: every IPv4 subnet of every external network — also an external network another
// project owns and did not share — answered with the caller's project id; filters, fields, sorts and
// paging as on any list; the extension is listed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { adminDemoOther, created } from '../helpers/networking.ts';

test('floating IP pools: the IPv4 subnets of the external networks, for every project', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { admin, demo } = await adminDemoOther(srv.url);
  const ext = await created(admin.post('/networks', { network: { name: 'public', 'router:external': true } }), 'network');
  const v4a = await created(
    admin.post('/subnets', { subnet: { network_id: ext.id, ip_version: 4, cidr: '203.0.113.0/24', name: 'pub-a' } }),
    'subnet',
  );
  const v4b = await created(
    admin.post('/subnets', { subnet: { network_id: ext.id, ip_version: 4, cidr: '198.51.100.0/24', name: 'pub-b' } }),
    'subnet',
  );
  await created(admin.post('/subnets', { subnet: { network_id: ext.id, ip_version: 6, cidr: '2001:db8:9::/64' } }), 'subnet');
  const internal = await created(demo.post('/networks', { network: { name: 'private' } }), 'network');
  await created(demo.post('/subnets', { subnet: { network_id: internal.id, ip_version: 4, cidr: '10.9.0.0/24' } }), 'subnet');

  // The caller's project: its own network's (the external network is listed to it too).
  const demoProject = internal.project_id as string;
  const r = await demo.get('/floatingip_pools?sort_key=cidr&sort_dir=asc');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.floatingip_pools, [
    {
      subnet_id: v4b.id,
      subnet_name: 'pub-b',
      network_id: ext.id,
      cidr: '198.51.100.0/24',
      project_id: demoProject,
      tenant_id: demoProject,
    },
    {
      subnet_id: v4a.id,
      subnet_name: 'pub-a',
      network_id: ext.id,
      cidr: '203.0.113.0/24',
      project_id: demoProject,
      tenant_id: demoProject,
    },
  ]);

  const named = await demo.get('/floatingip_pools?subnet_name=pub-a&fields=subnet_id&fields=cidr');
  assert.deepEqual(named.body.floatingip_pools, [{ subnet_id: v4a.id, cidr: '203.0.113.0/24' }]);

  const first = await demo.get('/floatingip_pools?limit=1');
  assert.equal(first.body.floatingip_pools.length, 1);
  const next = first.body.floatingip_pools_links.find((l: { rel: string }) => l.rel === 'next');
  const second = await demo.get(next.href.slice(next.href.indexOf('/v2.0') + 5));
  assert.equal(second.body.floatingip_pools.length, 1);
  assert.notEqual(second.body.floatingip_pools[0].subnet_id, first.body.floatingip_pools[0].subnet_id);

  const bad = await demo.get('/floatingip_pools?color=blue');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.NeutronError.type, 'HTTPBadRequest');

  const exts = await demo.get('/extensions/floatingip-pools');
  assert.equal(exts.status, 200);
  assert.equal(exts.body.extension.name, 'Floating IP Pools Extension');
});
