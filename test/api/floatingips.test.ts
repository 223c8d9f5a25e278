// Floating IPs over HTTP: the canonical 10.123.123.104 → 172.16.1.3, association rules and Neutron's
// errors, tenant isolation, the hidden floating IP port, and that refused requests change nothing.
// The topology is shared; each test makes (and removes) the floating IPs it needs, so it passes alone.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import type { Api } from '../helpers/client.ts';
import { adminDemoOther, created, expectError, feedHead, l3Snapshot } from '../helpers/networking.ts';
import type { Change, FloatingIp, Port, Resource, Router } from '../helpers/shapes.ts';
import { setFloatingIpStatus } from '../../src/networking/floatingips.ts';

let srv: TestServer;
let admin: Api;
let demo: Api;
let other: Api;
let demoProject: string;
let otherProject: string;
let provider: Resource;
let providerSubnet: Resource;
let selfservice: Resource;
let selfSubnet: Resource;
let router: Router;
let instancePort: Port;

const MISSING = '3c338602-d806-488a-ae66-c4c8f8d13b9b';

/** Resources and the change feed: what a refused request must leave alone. */
const snapshot = () => l3Snapshot(admin);

before(async () => {
  srv = await startTestServer();
  ({ admin, demo, demoProject, other, otherProject } = await adminDemoOther(srv.url));

  provider = await created(
    admin.post('/networks', {
      network: { name: 'provider', 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'provider' },
    }),
    'network',
  );
  providerSubnet = await created(
    admin.post('/subnets', {
      subnet: {
        network_id: provider.id,
        ip_version: 4,
        cidr: '10.123.123.0/24',
        gateway_ip: '10.123.123.1',
        allocation_pools: [{ start: '10.123.123.100', end: '10.123.123.200' }],
      },
    }),
    'subnet',
  );
  selfservice = await created(demo.post('/networks', { network: { name: 'selfservice' } }), 'network');
  selfSubnet = await created(
    demo.post('/subnets', { subnet: { network_id: selfservice.id, ip_version: 4, cidr: '172.16.1.0/24' } }),
    'subnet',
  );
  router = await created(demo.post('/routers', { router: { name: 'router' } }), 'router');
  const gw = await admin.put(`/routers/${router.id}`, {
    router: {
      external_gateway_info: {
        network_id: provider.id,
        external_fixed_ips: [{ subnet_id: providerSubnet.id, ip_address: '10.123.123.102' }],
      },
    },
  });
  assert.equal(gw.status, 200, JSON.stringify(gw.body));
  const intf = await demo.put(`/routers/${router.id}/add_router_interface`, { subnet_id: selfSubnet.id });
  assert.equal(intf.status, 200, JSON.stringify(intf.body));
  instancePort = await created(
    demo.post('/ports', {
      port: {
        network_id: selfservice.id,
        name: 'instance-port',
        device_owner: 'compute:nova',
        fixed_ips: [{ subnet_id: selfSubnet.id, ip_address: '172.16.1.3' }],
      },
    }),
    'port',
  );
});
after(() => srv.close());

/** Deletes a floating IP the test made, unless the test deleted it already. */
async function removeFloatingIp(id: string) {
  const r = await admin.del(`/floatingips/${id}`);
  assert.ok(r.status === 204 || r.status === 404, JSON.stringify(r.body));
}

/** demo's canonical floating IP 10.123.123.104, associated with 172.16.1.3; removed when the test ends. */
async function canonicalFloatingIp(t: TestContext) {
  const fip = await created(
    admin.post('/floatingips', {
      floatingip: {
        floating_network_id: provider.id,
        floating_ip_address: '10.123.123.104',
        project_id: demoProject,
        port_id: instancePort.id,
      },
    }),
    'floatingip',
  );
  t.after(() => removeFloatingIp(fip.id));
  return fip;
}

test('the canonical floating IP: 10.123.123.104 for demo, associated with 172.16.1.3 through the router', async (t) => {
  // Choosing the address is admin-only; admins may create for another project.
  expectError(
    await demo.post('/floatingips', { floatingip: { floating_network_id: provider.id, floating_ip_address: '10.123.123.104' } }),
    403,
    'PolicyNotAuthorized',
    '(rule:create_floatingip and rule:create_floatingip:floating_ip_address) is disallowed by policy',
  );
  const fip = await created(
    admin.post('/floatingips', {
      floatingip: { floating_network_id: provider.id, floating_ip_address: '10.123.123.104', project_id: demoProject },
    }),
    'floatingip',
  );
  t.after(() => removeFloatingIp(fip.id));
  assert.equal(fip.floating_ip_address, '10.123.123.104');
  assert.equal(fip.floating_network_id, provider.id);
  assert.equal(fip.project_id, demoProject);
  assert.equal(fip.tenant_id, demoProject);
  assert.equal(fip.status, 'DOWN');
  assert.equal(fip.port_id, null);
  assert.equal(fip.fixed_ip_address, null);
  assert.equal(fip.router_id, null);
  assert.equal(fip.port_details, null);
  assert.equal(fip.description, '');
  assert.ok(!('floating_port_id' in fip) && !('subnet_id' in fip));

  // Its port on the provider network: hidden, owned by the floating IP, status N/A.
  const fipPorts = (await admin.get(`/ports?device_owner=network:floatingip&device_id=${fip.id}`)).body.ports;
  assert.equal(fipPorts.length, 1);
  assert.equal(fipPorts[0].project_id, '');
  assert.equal(fipPorts[0].status, 'N/A');
  assert.equal(fipPorts[0].network_id, provider.id);
  assert.deepEqual(fipPorts[0].security_groups, []);
  assert.deepEqual(fipPorts[0].fixed_ips, [{ subnet_id: providerSubnet.id, ip_address: '10.123.123.104' }]);
  assert.deepEqual((await demo.get('/ports?device_owner=network:floatingip')).body.ports, []);
  expectError(
    await admin.del(`/ports/${fipPorts[0].id}`),
    409,
    'ServicePortInUse',
    `Port ${fipPorts[0].id} cannot be deleted directly via the port API: has device owner network:floatingip.`,
  );

  const r = await demo.put(`/floatingips/${fip.id}`, { floatingip: { port_id: instancePort.id } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const f = r.body.floatingip;
  assert.equal(f.port_id, instancePort.id);
  assert.equal(f.fixed_ip_address, '172.16.1.3');
  assert.equal(f.router_id, router.id);
  assert.equal(f.status, 'DOWN', 'ACTIVE only once the L3 agent reports it');
  assert.equal(f.revision_number, fip.revision_number + 1);
  assert.deepEqual(f.port_details, {
    name: 'instance-port',
    network_id: selfservice.id,
    mac_address: instancePort.mac_address,
    admin_state_up: true,
    status: 'DOWN',
    device_id: '',
    device_owner: 'compute:nova',
  });
  assert.deepEqual((await demo.get(`/floatingips/${fip.id}`)).body.floatingip, f);
});

test('list filters the CLI uses', async (t) => {
  const fip = await canonicalFloatingIp(t);
  const ids = async (q: string) => (await demo.get(`/floatingips${q}`)).body.floatingips.map((x: FloatingIp) => x.id);
  assert.deepEqual(await ids(''), [fip.id]);
  assert.deepEqual(await ids('?floating_ip_address=10.123.123.104'), [fip.id]);
  assert.deepEqual(await ids('?floating_ip_address=10.123.123.105'), []);
  assert.deepEqual(await ids(`?port_id=${instancePort.id}`), [fip.id]);
  assert.deepEqual(await ids(`?router_id=${router.id}`), [fip.id]);
  assert.deepEqual(await ids(`?floating_network_id=${provider.id}`), [fip.id]);
  assert.deepEqual(await ids('?fixed_ip_address=172.16.1.3'), [fip.id]);
  assert.deepEqual(await ids('?status=DOWN'), [fip.id]);
  assert.deepEqual(await ids('?status=ACTIVE'), []);
  assert.deepEqual(await ids(`?project_id=${demoProject}`), [fip.id]);
  assert.deepEqual(await ids(`?tenant_id=${demoProject}`), [fip.id]);
  assert.deepEqual(await ids('?fields=id&fields=floating_ip_address'), [fip.id]);
  assert.deepEqual((await demo.get('/floatingips?fields=floating_ip_address')).body.floatingips, [
    { floating_ip_address: '10.123.123.104' },
  ]);
  expectError(
    await demo.get('/floatingips?floating_port_id=x'),
    400,
    'HTTPBadRequest',
    "['floating_port_id'] is invalid attribute for filtering",
  );
});

test('other projects see nothing of demo floating IPs', async (t) => {
  const fip = await canonicalFloatingIp(t);
  const before = await snapshot();
  assert.deepEqual((await other.get('/floatingips')).body.floatingips, []);
  const msg = `Floating IP ${fip.id} could not be found`;
  expectError(await other.get(`/floatingips/${fip.id}`), 404, 'FloatingIPNotFound', msg);
  expectError(await other.put(`/floatingips/${fip.id}`, { floatingip: { port_id: null } }), 404, 'FloatingIPNotFound', msg);
  expectError(await other.del(`/floatingips/${fip.id}`), 404, 'FloatingIPNotFound', msg);
  expectError(await demo.get('/floatingips/10.123.123.104'), 404, 'FloatingIPNotFound');
  assert.equal(await snapshot(), before);
});

test('creation errors: network not external, missing, without IPv4 subnet, address taken, pool exhausted', async () => {
  const noSubnet = await created(admin.post('/networks', { network: { name: 'ext-empty', 'router:external': true } }), 'network');
  const tiny = await created(admin.post('/networks', { network: { name: 'tiny', 'router:external': true } }), 'network');
  await created(
    admin.post('/subnets', {
      subnet: {
        network_id: tiny.id,
        ip_version: 4,
        cidr: '192.0.2.0/24',
        enable_dhcp: false,
        allocation_pools: [{ start: '192.0.2.10', end: '192.0.2.10' }],
      },
    }),
    'subnet',
  );
  const first = await created(demo.post('/floatingips', { floatingip: { floating_network_id: tiny.id } }), 'floatingip');
  assert.equal(first.floating_ip_address, '192.0.2.10');

  const before = await snapshot();
  expectError(
    await demo.post('/floatingips', { floatingip: { floating_network_id: selfservice.id } }),
    400,
    'BadRequest',
    `Bad floatingip request: Network ${selfservice.id} is not a valid external network.`,
  );
  expectError(
    await demo.post('/floatingips', { floatingip: { floating_network_id: MISSING } }),
    404,
    'NetworkNotFound',
    `Network ${MISSING} could not be found.`,
  );
  expectError(
    await demo.post('/floatingips', { floatingip: {} }),
    400,
    'HTTPBadRequest',
    "Failed to parse request. Required attribute 'floating_network_id' not specified",
  );
  expectError(
    await demo.post('/floatingips', { floatingip: { floating_network_id: noSubnet.id } }),
    400,
    'BadRequest',
    `Bad floatingip request: Network ${noSubnet.id} does not contain any IPv4 subnet.`,
  );
  expectError(
    await admin.post('/floatingips', { floatingip: { floating_network_id: provider.id, floating_ip_address: '10.123.123.102' } }),
    409,
    'IpAddressAlreadyAllocated',
    `IP address 10.123.123.102 already allocated in subnet ${providerSubnet.id}`,
  );
  expectError(
    await admin.post('/floatingips', { floatingip: { floating_network_id: provider.id, floating_ip_address: '10.9.9.9' } }),
    400,
    'InvalidIpForNetwork',
  );
  expectError(
    await demo.post('/floatingips', { floatingip: { floating_network_id: tiny.id } }),
    409,
    'IpAddressGenerationFailure',
    `No more IP addresses available on network ${tiny.id}.`,
  );
  expectError(
    await demo.post('/floatingips', { floatingip: { floating_network_id: provider.id, fixed_ip_address: '172.16.1.3' } }),
    400,
    'BadRequest',
    'Bad floatingip request: fixed_ip_address cannot be specified without a port_id.',
  );
  expectError(
    await demo.post('/floatingips', { floatingip: { floating_network_id: provider.id, router_id: router.id } }),
    400,
    'HTTPBadRequest',
  );
  assert.equal(await snapshot(), before, 'refused creates changed nothing');

  assert.equal((await demo.del(`/floatingips/${first.id}`)).status, 204);
  assert.deepEqual((await admin.get(`/ports?network_id=${tiny.id}`)).body.ports, [], 'the floating IP port went with it');
  assert.equal((await admin.del(`/networks/${tiny.id}`)).status, 204);
  assert.equal((await admin.del(`/networks/${noSubnet.id}`)).status, 204);
});

test('association errors', async (t) => {
  await canonicalFloatingIp(t); // 172.16.1.3 has a floating IP already
  // A network with no router to the provider network.
  const isolated = await created(demo.post('/networks', { network: { name: 'isolated' } }), 'network');
  const isoSub = await created(
    demo.post('/subnets', { subnet: { network_id: isolated.id, ip_version: 4, cidr: '10.77.0.0/24' } }),
    'subnet',
  );
  const isoPort = await created(demo.post('/ports', { port: { network_id: isolated.id } }), 'port');
  // A port with two IPv4 addresses, a DHCP port, a port of another project on demo's network.
  const twoIps = await created(
    demo.post('/ports', {
      port: { network_id: selfservice.id, fixed_ips: [{ ip_address: '172.16.1.20' }, { ip_address: '172.16.1.21' }] },
    }),
    'port',
  );
  const dhcp = await created(
    admin.post('/ports', {
      port: { network_id: selfservice.id, project_id: demoProject, device_owner: 'network:dhcp', device_id: 'dhcp-x' },
    }),
    'port',
  );
  const foreign = await created(admin.post('/ports', { port: { network_id: selfservice.id, project_id: otherProject } }), 'port');
  const othersNet = await created(other.post('/networks', { network: { name: 'o' } }), 'network');
  const othersPort = await created(other.post('/ports', { port: { network_id: othersNet.id } }), 'port');
  const spare = await created(
    demo.post('/floatingips', { floatingip: { floating_network_id: provider.id, description: 'spare' } }),
    'floatingip',
  );
  assert.equal(spare.description, 'spare');
  assert.ok(/^10\.123\.123\.(1\d\d|200)$/.test(spare.floating_ip_address), spare.floating_ip_address);

  const before = await snapshot();
  const assoc = (body: unknown, as: Api = demo) => as.put(`/floatingips/${spare.id}`, { floatingip: body });
  expectError(
    await assoc({ port_id: isoPort.id }),
    404,
    'ExternalGatewayForFloatingIPNotFound',
    `External network ${provider.id} is not reachable from subnet ${isoSub.id}.  Therefore, cannot associate Port ${isoPort.id} with a Floating IP.`,
  );
  expectError(
    await assoc({ port_id: instancePort.id }),
    409,
    'FloatingIPPortAlreadyAssociated',
    `Cannot associate floating IP ${spare.floating_ip_address} (${spare.id}) with port ${instancePort.id} using fixed IP 172.16.1.3, as that fixed IP already has a floating IP on external network ${provider.id}.`,
  );
  expectError(
    await assoc({ port_id: twoIps.id }),
    400,
    'BadRequest',
    `Bad floatingip request: Port ${twoIps.id} has multiple fixed IPv4 addresses.  Must provide a specific IPv4 address when assigning a floating IP.`,
  );
  expectError(
    await assoc({ port_id: twoIps.id, fixed_ip_address: '172.16.1.99' }),
    400,
    'BadRequest',
    `Bad floatingip request: Port ${twoIps.id} does not have fixed ip 172.16.1.99.`,
  );
  expectError(
    await assoc({ port_id: dhcp.id }),
    400,
    'BadRequest',
    `Bad floatingip request: Port ${dhcp.id} is unable to be assigned a floating IP.`,
  );
  expectError(
    await assoc({ port_id: foreign.id }),
    400,
    'BadRequest',
    `Bad floatingip request: Cannot process floating IP association with Port ${foreign.id}, since that port is owned by a different tenant.`,
  );
  expectError(await assoc({ port_id: othersPort.id }), 404, 'PortNotFound', `Port ${othersPort.id} could not be found.`);
  expectError(await assoc({ port_id: MISSING }), 404, 'PortNotFound');
  expectError(await assoc({ fixed_ip_address: '172.16.1.3' }), 400, 'BadRequest', /fixed_ip_address cannot be specified without a port_id/);
  expectError(await assoc({ port_id: 'nope' }), 400, 'HTTPBadRequest', "Invalid input for port_id. Reason: 'nope' is not a valid UUID.");
  expectError(
    await assoc({ floating_network_id: selfservice.id }),
    400,
    'HTTPBadRequest',
    'Cannot update read-only attribute floating_network_id',
  );
  // Creating with an unreachable port creates nothing, not even the floating IP port.
  expectError(
    await demo.post('/floatingips', { floatingip: { floating_network_id: provider.id, port_id: isoPort.id } }),
    404,
    'ExternalGatewayForFloatingIPNotFound',
  );
  assert.equal(await snapshot(), before, 'refused associations changed nothing');

  // Admins may associate across projects; the port's own checks still apply (this one has no address).
  expectError(
    await assoc({ port_id: othersPort.id }, admin),
    400,
    'BadRequest',
    `Bad floatingip request: Cannot add floating IP to port ${othersPort.id} that has no fixed IPv4 addresses.`,
  );
  const cross = await assoc({ port_id: foreign.id }, admin);
  assert.equal(cross.status, 200, JSON.stringify(cross.body));
  assert.equal(cross.body.floatingip.port_id, foreign.id);
  assert.equal((await assoc({ port_id: null })).body.floatingip.port_id, null);

  // With a chosen address, the two-address port works; the same address cannot get a second one.
  const ok = await assoc({ port_id: twoIps.id, fixed_ip_address: '172.16.1.21' });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.floatingip.fixed_ip_address, '172.16.1.21');
  assert.equal(ok.body.floatingip.router_id, router.id);
  const third = await demo.post('/floatingips', {
    floatingip: { floating_network_id: provider.id, port_id: twoIps.id, fixed_ip_address: '172.16.1.21' },
  });
  expectError(third, 409, 'FloatingIPPortAlreadyAssociated');
  const fourth = await created(
    demo.post('/floatingips', { floatingip: { floating_network_id: provider.id, port_id: twoIps.id, fixed_ip_address: '172.16.1.20' } }),
    'floatingip',
  );
  assert.equal(fourth.router_id, router.id);
  assert.equal(fourth.fixed_ip_address, '172.16.1.20');
  // A description-only update keeps the association.
  const desc = await demo.put(`/floatingips/${fourth.id}`, { floatingip: { description: 'web' } });
  assert.equal(desc.body.floatingip.description, 'web');
  assert.equal(desc.body.floatingip.port_id, twoIps.id);

  // Deleting the instance's port disassociates its floating IPs.
  assert.equal((await demo.del(`/ports/${twoIps.id}`)).status, 204);
  for (const id of [spare.id, fourth.id]) {
    const f = (await demo.get(`/floatingips/${id}`)).body.floatingip;
    assert.equal(f.port_id, null);
    assert.equal(f.fixed_ip_address, null);
    assert.equal(f.router_id, null);
    assert.equal(f.port_details, null);
  }
  for (const id of [spare.id, fourth.id]) assert.equal((await demo.del(`/floatingips/${id}`)).status, 204);
  for (const id of [isoPort.id, dhcp.id, foreign.id]) assert.equal((await admin.del(`/ports/${id}`)).status, 204);
  assert.equal((await other.del(`/ports/${othersPort.id}`)).status, 204);
  assert.equal((await other.del(`/networks/${othersNet.id}`)).status, 204);
  assert.equal((await demo.del(`/subnets/${isoSub.id}`)).status, 204);
  assert.equal((await demo.del(`/networks/${isolated.id}`)).status, 204);
});

test('disassociation, status reported by the agent side, and deletion', async (t) => {
  const fip = await canonicalFloatingIp(t);
  const r = await demo.put(`/floatingips/${fip.id}`, { floatingip: { port_id: null } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.floatingip.port_id, null);
  assert.equal(r.body.floatingip.fixed_ip_address, null);
  assert.equal(r.body.floatingip.router_id, null);
  assert.equal(r.body.floatingip.port_details, null);
  assert.equal(r.body.floatingip.floating_ip_address, '10.123.123.104');

  // Re-association, with the fixed address given.
  const again = await demo.put(`/floatingips/${fip.id}`, { floatingip: { port_id: instancePort.id, fixed_ip_address: '172.16.1.3' } });
  assert.equal(again.body.floatingip.router_id, router.id);
  // Re-associating to the same port is not a conflict with itself.
  const same = await demo.put(`/floatingips/${fip.id}`, { floatingip: { port_id: instancePort.id } });
  assert.equal(same.status, 200, JSON.stringify(same.body));

  // The L3 agent's report (no HTTP route yet): status goes ACTIVE, with a 'status' change in the feed.
  {
    // The server's own store, beside its HTTP API.
    const db = srv.db;
    const head0 = await feedHead(admin);
    assert.equal(await db.transaction().execute((tx) => setFloatingIpStatus(tx, fip.id, 'ACTIVE')), true);
    assert.equal(
      await db.transaction().execute((tx) => setFloatingIpStatus(tx, fip.id, 'ACTIVE')),
      false,
      'unchanged status is not a change',
    );
    await assert.rejects(
      db.transaction().execute((tx) => setFloatingIpStatus(tx, fip.id, 'UP')),
      /is not in/,
    );
    assert.equal((await demo.get(`/floatingips/${fip.id}`)).body.floatingip.status, 'ACTIVE');
    const changes = (await admin.get(`/neutrino/changes?since=${head0}`)).body.changes;
    assert.deepEqual(
      changes.map((c: Change) => [c.resource, c.op, c.resource_id]),
      [['floatingip', 'status', fip.id]],
    );
  }

  const fipPort = (await admin.get(`/ports?device_id=${fip.id}`)).body.ports[0];
  const head = await feedHead(admin);
  assert.equal((await demo.del(`/floatingips/${fip.id}`)).status, 204);
  const changes = (await admin.get(`/neutrino/changes?since=${head}`)).body.changes.map(
    (c: Change) => `${c.resource}:${c.op}:${c.resource_id}`,
  );
  assert.ok(changes.includes(`floatingip:delete:${fip.id}`), changes.join(' '));
  assert.ok(changes.includes(`port:delete:${fipPort.id}`), changes.join(' '));
  assert.ok(changes.includes(`router:update:${router.id}`), changes.join(' '));
  expectError(await demo.get(`/floatingips/${fip.id}`), 404, 'FloatingIPNotFound');
  expectError(await admin.get(`/ports/${fipPort.id}`), 404, 'PortNotFound');
  // The interface is free again.
  const rm = await demo.put(`/routers/${router.id}/remove_router_interface`, { subnet_id: selfSubnet.id });
  assert.equal(rm.status, 200, JSON.stringify(rm.body));
  // Put it back: the other tests route 172.16.1.0/24 through this router.
  assert.equal((await demo.put(`/routers/${router.id}/add_router_interface`, { subnet_id: selfSubnet.id })).status, 200);
});

test('floating IP quota', async (t) => {
  assert.equal((await admin.put(`/quotas/${otherProject}`, { quota: { floatingip: 1 } })).status, 200);
  t.after(async () => assert.equal((await admin.del(`/quotas/${otherProject}`)).status, 204));
  const only = await created(other.post('/floatingips', { floatingip: { floating_network_id: provider.id } }), 'floatingip');
  t.after(() => removeFloatingIp(only.id));
  const before = await snapshot();
  expectError(await other.post('/floatingips', { floatingip: { floating_network_id: provider.id } }), 409, 'OverQuota');
  assert.equal(await snapshot(), before);
});
