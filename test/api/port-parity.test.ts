// Port extensions over HTTP as Neutron's ML2 has them: binding:host_id null or "" unbinds,
// port-mac-address-regenerate (mac_address null), port-mac-override (a direct-physical port takes its
// device's MAC from the binding profile), l3-port-ip-change-not-allowed, ip-substring-filtering,
// filtering by security_groups, port-numa-affinity-policy and port-device-profile.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import type { Api } from '../helpers/client.ts';
import { adminDemoOther, created, expectError, feedHead } from '../helpers/networking.ts';
import type { Resource } from '../helpers/shapes.ts';

let srv: TestServer;
let admin: Api;
let demo: Api;
let other: Api;
let net: Resource;
let subnet: Resource;

interface PortWire extends Resource {
  mac_address: string;
  status: string;
  fixed_ips: Array<{ subnet_id: string; ip_address: string }>;
  'binding:host_id': string;
  'binding:vif_type': string;
  'binding:profile': Record<string, unknown>;
  numa_affinity_policy: string | null;
  device_profile: string | null;
}

const MAC = /^fa:16:3e(:[0-9a-f]{2}){3}$/;

before(async () => {
  srv = await startTestServer();
  ({ admin, demo, other } = await adminDemoOther(srv.url));
  net = await created(demo.post('/networks', { network: { name: 'ports' } }), 'network');
  // Allocations stay below .90, so the addresses the tests name (.98, .99) are never taken at random.
  const allocation_pools = [{ start: '10.30.0.2', end: '10.30.0.89' }];
  subnet = await created(
    demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.30.0.0/24', allocation_pools } }),
    'subnet',
  );
});
after(() => srv.close());

const newPort = (body: Record<string, unknown> = {}, as: Api = demo) =>
  created<PortWire>(as.post('/ports', { port: { network_id: net.id, ...body } }), 'port');

test('binding:host_id null or "" unbinds the port; a member may not set it', async () => {
  for (const unset of [null, '']) {
    const port = await newPort({ 'binding:host_id': 'compute1' }, admin);
    assert.equal(port['binding:vif_type'], 'bridge');
    const r = await admin.put(`/ports/${port.id}`, { port: { 'binding:host_id': unset } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.port['binding:host_id'], '');
    assert.equal(r.body.port['binding:vif_type'], 'unbound');
    assert.deepEqual(r.body.port['binding:vif_details'], {});
    assert.equal(r.body.port.status, 'DOWN');
  }
  const port = await newPort({}, admin);
  const created2 = await admin.post('/ports', { port: { network_id: net.id, 'binding:host_id': null } });
  assert.equal(created2.status, 201, JSON.stringify(created2.body));
  assert.equal(created2.body.port['binding:host_id'], '');
  expectError(
    await demo.put(`/ports/${port.id}`, { port: { 'binding:host_id': null } }),
    403,
    'PolicyNotAuthorized',
    '(rule:update_port and rule:update_port:binding:host_id) is disallowed by policy',
  );
  expectError(await admin.put(`/ports/${port.id}`, { port: { 'binding:host_id': 5 } }), 400, 'HTTPBadRequest', /binding:host_id/);
});

test('binding:profile null clears it; one too large for ml2’s column is InvalidInput', async () => {
  const port = await newPort({ 'binding:profile': { a: 'b' } }, admin);
  assert.deepEqual(port['binding:profile'], { a: 'b' });
  const r = await admin.put(`/ports/${port.id}`, { port: { 'binding:profile': null } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.port['binding:profile'], {});
  // {"k": "xxx…"}: 9 characters around the value, as Python writes it.
  const fits = await admin.put(`/ports/${port.id}`, { port: { 'binding:profile': { k: 'x'.repeat(4095 - 9) } } });
  assert.equal(fits.status, 200, JSON.stringify(fits.body));
  expectError(
    await admin.put(`/ports/${port.id}`, { port: { 'binding:profile': { k: 'x'.repeat(4095 - 8) } } }),
    400,
    'InvalidInput',
    'Invalid input for operation: binding:profile value too large.',
  );
  expectError(await admin.put(`/ports/${port.id}`, { port: { 'binding:profile': [] } }), 400, 'HTTPBadRequest', /is not a dictionary/);
});

test('mac_address null regenerates the MAC (admin, unbound port); refused while bound and for members', async () => {
  const port = await newPort({}, admin);
  const r = await admin.put(`/ports/${port.id}`, { port: { mac_address: null } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.match(r.body.port.mac_address, MAC);
  assert.notEqual(r.body.port.mac_address, port.mac_address);
  assert.deepEqual(r.body.port.fixed_ips, port.fixed_ips);
  // On create, null is a random MAC too.
  const p2 = await admin.post('/ports', { port: { network_id: net.id, mac_address: null } });
  assert.equal(p2.status, 201, JSON.stringify(p2.body));
  assert.match(p2.body.port.mac_address, MAC);

  const bound = await newPort({ 'binding:host_id': 'compute1' }, admin);
  const head = await feedHead(admin);
  expectError(
    await admin.put(`/ports/${bound.id}`, { port: { mac_address: null } }),
    409,
    'PortBound',
    new RegExp(
      `^Unable to complete operation on port ${bound.id}, port is already bound, port type: bridge, old_mac ${bound.mac_address}, new_mac fa:16:3e`,
    ),
  );
  assert.equal((await admin.get(`/ports/${bound.id}`)).body.port.mac_address, bound.mac_address);
  assert.equal(await feedHead(admin), head);
  const mine = await newPort();
  expectError(
    await demo.put(`/ports/${mine.id}`, { port: { mac_address: null } }),
    403,
    'PolicyNotAuthorized',
    '(rule:update_port and rule:update_port:mac_address) is disallowed by policy',
  );
});

test('port-mac-override: a direct-physical port bound to a host takes the profile’s device_mac_address', async () => {
  const port = await newPort({ 'binding:vnic_type': 'direct-physical' }, admin);
  const original = port.mac_address;
  const bound = await admin.put(`/ports/${port.id}`, {
    port: { 'binding:host_id': 'compute1', 'binding:profile': { device_mac_address: 'aa:bb:cc:dd:ee:01' } },
  });
  assert.equal(bound.status, 200, JSON.stringify(bound.body));
  assert.equal(bound.body.port.mac_address, 'aa:bb:cc:dd:ee:01');
  // Rebound without a device MAC: a new random one, never the device's.
  const rebound = await admin.put(`/ports/${port.id}`, { port: { 'binding:profile': {} } });
  assert.match(rebound.body.port.mac_address, MAC);
  assert.notEqual(rebound.body.port.mac_address, original);
  // Set on create as well.
  const onCreate = await newPort(
    {
      'binding:vnic_type': 'direct-physical',
      'binding:host_id': 'compute2',
      'binding:profile': { device_mac_address: 'aa:bb:cc:dd:ee:02' },
    },
    admin,
  );
  assert.equal(onCreate.mac_address, 'aa:bb:cc:dd:ee:02');
  // Released from its instance (device_id and device_owner cleared, port unbound): a new MAC.
  const inUse = await newPort({ 'binding:vnic_type': 'direct-physical', device_id: 'vm-1', device_owner: 'compute:nova' }, admin);
  const released = await admin.put(`/ports/${inUse.id}`, { port: { device_id: '', device_owner: '' } });
  assert.equal(released.status, 200, JSON.stringify(released.body));
  assert.notEqual(released.body.port.mac_address, inUse.mac_address);
  // A normal port keeps its MAC whatever its profile says.
  const normal = await newPort({}, admin);
  const kept = await admin.put(`/ports/${normal.id}`, {
    port: { 'binding:host_id': 'compute1', 'binding:profile': { device_mac_address: 'aa:bb:cc:dd:ee:03' } },
  });
  assert.equal(kept.body.port.mac_address, normal.mac_address);
});

test('l3-port-ip-change-not-allowed: a router interface port keeps its IPv4 address', async () => {
  const router = await created<Resource>(demo.post('/routers', { router: { name: 'r' } }), 'router');
  const s2 = await created<Resource>(
    demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.31.0.0/24', gateway_ip: null } }),
    'subnet',
  );
  const intf = await demo.put(`/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id });
  assert.equal(intf.status, 200, JSON.stringify(intf.body));
  const portId = intf.body.port_id as string;
  const head = await feedHead(admin);
  for (const fixed of [[{ subnet_id: subnet.id, ip_address: '10.30.0.99' }], [{ subnet_id: subnet.id }, { subnet_id: s2.id }]]) {
    expectError(
      await admin.put(`/ports/${portId}`, { port: { fixed_ips: fixed } }),
      400,
      'BadRequest',
      `Bad ports request: IP updates for port ${portId} are not allowed.`,
    );
  }
  assert.equal(await feedHead(admin), head);
  // Other attributes of the port may change; so may a router-owned port whose device is no router.
  assert.equal((await admin.put(`/ports/${portId}`, { port: { name: 'gw' } })).status, 200);
  const orphan = await newPort({ device_owner: 'network:router_interface', device_id: 'not-a-router' }, admin);
  const moved = await admin.put(`/ports/${orphan.id}`, { port: { fixed_ips: [{ subnet_id: subnet.id, ip_address: '10.30.0.98' }] } });
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
});

test('ip-substring-filtering and filtering by security_groups', async () => {
  const sgA = await created<Resource>(demo.post('/security-groups', { security_group: { name: 'a' } }), 'security_group');
  const sgB = await created<Resource>(demo.post('/security-groups', { security_group: { name: 'b' } }), 'security_group');
  const n = await created<Resource>(demo.post('/networks', { network: { name: 'filters' } }), 'network');
  const s = await created<Resource>(demo.post('/subnets', { subnet: { network_id: n.id, ip_version: 4, cidr: '10.32.0.0/24' } }), 'subnet');
  const port = (ip: string, groups: string[]) =>
    created<PortWire>(
      demo.post('/ports', { port: { network_id: n.id, fixed_ips: [{ subnet_id: s.id, ip_address: ip }], security_groups: groups } }),
      'port',
    );
  const p1 = await port('10.32.0.123', [sgA.id]);
  const p2 = await port('10.32.0.124', [sgA.id, sgB.id]);
  const ids = async (q: string) => ((await demo.get(`/ports?${q}`)).body.ports as Resource[]).map((p) => p.id).sort();
  assert.deepEqual(await ids('fixed_ips=ip_address_substr%3D32.0.12'), [p1.id, p2.id].sort());
  assert.deepEqual(await ids('fixed_ips=ip_address_substr%3D32.0.124'), [p2.id]);
  assert.deepEqual(await ids('fixed_ips=ip_address%3D10.32.0.123'), [p1.id]);
  assert.deepEqual(await ids(`security_groups=${sgB.id}`), [p2.id]);
  assert.deepEqual(await ids(`security_groups=${sgA.id}`), [p1.id, p2.id].sort());
  // Another project sees none of them.
  assert.deepEqual(((await other.get(`/ports?security_groups=${sgA.id}`)).body.ports as Resource[]).length, 0);
});

test('numa_affinity_policy: stored, returned, updatable, validated', async () => {
  const port = await newPort({ numa_affinity_policy: 'required' });
  assert.equal(port.numa_affinity_policy, 'required');
  assert.equal((await newPort()).numa_affinity_policy, null);
  for (const v of ['preferred', 'legacy', null]) {
    const r = await demo.put(`/ports/${port.id}`, { port: { numa_affinity_policy: v } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.port.numa_affinity_policy, v);
  }
  expectError(
    await demo.put(`/ports/${port.id}`, { port: { numa_affinity_policy: 'socketz' } }),
    400,
    'HTTPBadRequest',
    'Invalid input for numa_affinity_policy. Reason: socketz is not in valid_values.',
  );
  assert.equal((await demo.get(`/ports/${port.id}`)).body.port.numa_affinity_policy, null);
});

test('device_profile: set on create only, a string of at most 255 or null', async () => {
  const port = await newPort({ device_profile: 'cyborg-dp1' });
  assert.equal(port.device_profile, 'cyborg-dp1');
  assert.equal((await demo.get(`/ports/${port.id}`)).body.port.device_profile, 'cyborg-dp1');
  assert.equal((await newPort({ device_profile: null })).device_profile, null);
  expectError(
    await demo.put(`/ports/${port.id}`, { port: { device_profile: 'x' } }),
    400,
    'HTTPBadRequest',
    'Cannot update read-only attribute device_profile',
  );
  expectError(
    await demo.post('/ports', { port: { network_id: net.id, device_profile: 'x'.repeat(256) } }),
    400,
    'HTTPBadRequest',
    /device_profile/,
  );
  expectError(await demo.post('/ports', { port: { network_id: net.id, device_profile: 7 } }), 400, 'HTTPBadRequest', /device_profile/);
});
