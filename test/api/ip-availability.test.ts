// Network IP availability over HTTP (network-ip-availability): per-network and per-subnet totals (the
// allocation pools' size, exact beyond 2^53 for IPv6) and used counts, filters and fields, admin only.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { request, type Api, type Wire } from '../helpers/client.ts';
import { adminDemoOther, created, expectError } from '../helpers/networking.ts';

let srv: TestServer;
let admin: Api;
let demo: Api;
let adminToken: string;
let demoProject: string;
let net: Wire;
let v4: Wire;
let v6: Wire;
let empty: Wire;

before(async () => {
  srv = await startTestServer();
  ({ admin, demo, demoProject, adminToken } = await adminDemoOther(srv.url));
  net = await created(demo.post('/networks', { network: { name: 'avail' } }), 'network');
  v4 = await created(
    demo.post('/subnets', {
      subnet: {
        network_id: net.id,
        ip_version: 4,
        cidr: '10.5.0.0/24',
        name: 'four',
        allocation_pools: [
          { start: '10.5.0.10', end: '10.5.0.19' },
          { start: '10.5.0.100', end: '10.5.0.104' },
        ],
      },
    }),
    'subnet',
  );
  v6 = await created(
    demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 6, cidr: '2001:db8:5::/64', name: 'six' } }),
    'subnet',
  );
  // Two ports: each takes an IPv4 and an IPv6 address; one more address outside the pools (a fixed IP).
  await created(demo.post('/ports', { port: { network_id: net.id } }), 'port');
  await created(demo.post('/ports', { port: { network_id: net.id, fixed_ips: [{ subnet_id: v4.id, ip_address: '10.5.0.200' }] } }), 'port');
  empty = await created(demo.post('/networks', { network: { name: 'empty' } }), 'network');
});

after(() => srv.close());

test('show: totals from the allocation pools, used addresses counted per subnet and summed per network', async () => {
  const raw = await request(`${srv.url}/v2.0/network-ip-availabilities/${net.id}`, 'GET', adminToken);
  assert.equal(raw.status, 200, JSON.stringify(raw.body));
  const r = raw.body.network_ip_availability;
  assert.equal(r.network_id, net.id);
  assert.equal(r.network_name, 'avail');
  assert.equal(r.project_id, demoProject);
  assert.equal(r.tenant_id, demoProject);
  const byName = Object.fromEntries(r.subnet_ip_availability.map((s: Wire) => [s.subnet_name, s]));
  assert.deepEqual(byName.four, { subnet_id: v4.id, ip_version: 4, cidr: '10.5.0.0/24', subnet_name: 'four', used_ips: 2, total_ips: 15 });
  assert.equal(byName.six.used_ips, 1);
  assert.equal(byName.six.ip_version, 6);
  assert.equal(r.used_ips, 3);
  // 2^64 - 1 addresses in the default IPv6 pool: the JSON number is written exactly.
  const text = await (
    await fetch(`${srv.url}/v2.0/network-ip-availabilities/${net.id}`, { headers: { 'X-Auth-Token': adminToken } })
  ).text();
  assert.match(text, /"total_ips":18446744073709551615[,}]/);
  assert.match(text, /"total_ips":18446744073709551630[,}]/, 'the network total is the exact sum');
});

test('list: every network (those without subnets too), filters and fields', async () => {
  const all = (await admin.get('/network-ip-availabilities')).body.network_ip_availabilities;
  const e = all.find((x: Wire) => x.network_id === empty.id);
  assert.deepEqual(e, {
    network_id: empty.id,
    network_name: 'empty',
    tenant_id: demoProject,
    project_id: demoProject,
    subnet_ip_availability: [],
    used_ips: 0,
    total_ips: 0,
  });
  const v6only = (await admin.get(`/network-ip-availabilities?ip_version=6&project_id=${demoProject}`)).body.network_ip_availabilities;
  assert.deepEqual(
    v6only.map((x: Wire) => [x.network_id, x.subnet_ip_availability.map((s: Wire) => s.subnet_id)]),
    [[net.id, [v6.id]]],
    'the family filter keeps only that family’s subnets, and networks that have one',
  );
  const named = (await admin.get('/network-ip-availabilities?network_name=empty&fields=network_id&fields=used_ips')).body;
  assert.deepEqual(named.network_ip_availabilities, [{ network_id: empty.id, used_ips: 0 }]);
  const fields = (await admin.get(`/network-ip-availabilities/${net.id}?fields=network_name`)).body;
  assert.deepEqual(fields, { network_ip_availability: { network_name: 'avail' } });
  const sorted = (await admin.get('/network-ip-availabilities?sort_key=network_id&sort_dir=desc')).body.network_ip_availabilities;
  const ids = sorted.map((x: Wire) => x.network_id);
  assert.deepEqual(ids, [...ids].sort().reverse());
  const first = (await admin.get('/network-ip-availabilities?limit=1')).body;
  assert.equal(first.network_ip_availabilities.length, 1);
  assert.equal(first.network_ip_availabilities[0].network_id, [...ids].sort()[0]);
  const next = first.network_ip_availabilities_links.find((l: Wire) => l.rel === 'next');
  assert.match(
    next.href,
    new RegExp(`/v2\\.0/network-ip-availabilities\\?limit=1&marker=${first.network_ip_availabilities[0].network_id}$`),
  );
  expectError(
    await admin.get('/network-ip-availabilities?sort_key=used_ips'),
    400,
    'HTTPBadRequest',
    "['used_ips'] is invalid attribute for sort_keys",
  );
  expectError(await admin.get('/network-ip-availabilities?bogus=1'), 400, 'HTTPBadRequest', "['bogus'] is invalid attribute for filtering");
  expectError(
    await admin.get('/network-ip-availabilities?ip_version=x'),
    400,
    'HTTPBadRequest',
    "Invalid input for ip_version. Reason: 'x' is not an integer.",
  );
});

test('admin only: others list nothing and find nothing; an unknown network is NetworkNotFound', async () => {
  assert.deepEqual((await demo.get('/network-ip-availabilities')).body, { network_ip_availabilities: [] });
  expectError(await demo.get(`/network-ip-availabilities/${net.id}`), 404, 'HTTPNotFound', 'The resource could not be found.');
  const missing = '3c338602-d806-488a-ae66-c4c8f8d13b9b';
  expectError(await admin.get(`/network-ip-availabilities/${missing}`), 404, 'NetworkNotFound', `Network ${missing} could not be found.`);
  const ext = (await demo.get('/extensions')).body.extensions.map((x: Wire) => x.alias);
  for (const alias of [
    'network-ip-availability',
    'address-scope',
    'subnet_allocation',
    'default-subnetpools',
    'subnetpool-prefix-ops',
    'subnet_onboard',
  ]) {
    assert.ok(ext.includes(alias), alias);
  }
});
