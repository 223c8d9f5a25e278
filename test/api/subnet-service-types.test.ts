// Subnet service types over HTTP (subnet-service-types): the attribute (admin only, device-owner-like
// strings, updatable), and IP allocation that gives a port addresses only on subnets reserved for its
// device owner or reserved for none, with Neutron's refusals; router gateways and floating IPs too.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import type { Api } from '../helpers/client.ts';
import { adminDemoOther, created, expectError } from '../helpers/networking.ts';

let srv: TestServer;
let admin: Api;
let demo: Api;

before(async () => {
  srv = await startTestServer();
  ({ admin, demo } = await adminDemoOther(srv.url));
});

after(() => srv.close());

const network = (api: Api, body: Record<string, unknown> = {}) =>
  created(api.post('/networks', { network: { name: 'n', ...body } }), 'network');
const subnet = (api: Api, body: Record<string, unknown>) => created(api.post('/subnets', { subnet: { ip_version: 4, ...body } }), 'subnet');
const port = (api: Api, body: Record<string, unknown>) => api.post('/ports', { port: body });

test('service_types: [] by default, set by admins on create and update, shown to everyone', async () => {
  const net = await network(demo);
  const plain = await subnet(demo, { network_id: net.id, cidr: '10.1.0.0/24' });
  assert.deepEqual(plain.service_types, []);
  const typed = await subnet(admin, {
    network_id: net.id,
    cidr: '10.1.1.0/24',
    project_id: net.project_id,
    service_types: ['compute:nova', 'network:router_gateway'],
  });
  assert.deepEqual(typed.service_types, ['compute:nova', 'network:router_gateway']);
  assert.deepEqual((await demo.get(`/subnets/${typed.id}`)).body.subnet.service_types, ['compute:nova', 'network:router_gateway']);
  const updated = (await admin.put(`/subnets/${typed.id}`, { subnet: { service_types: ['network:floatingip'] } })).body.subnet;
  assert.deepEqual(updated.service_types, ['network:floatingip']);
  assert.equal(updated.revision_number, typed.revision_number + 1);
  const cleared = (await admin.put(`/subnets/${typed.id}`, { subnet: { service_types: [] } })).body.subnet;
  assert.deepEqual(cleared.service_types, []);
  // Another update leaves them as they are.
  await admin.put(`/subnets/${plain.id}`, { subnet: { service_types: ['neutron:LOADBALANCERV2'] } });
  const renamed = (await admin.put(`/subnets/${plain.id}`, { subnet: { name: 'x' } })).body.subnet;
  assert.deepEqual(renamed.service_types, ['neutron:LOADBALANCERV2']);
});

test('service_types: only admins set them (policy), even to an empty list', async () => {
  const net = await network(demo);
  expectError(
    await demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.2.0.0/24', service_types: [] } }),
    403,
    'PolicyNotAuthorized',
    '(rule:create_subnet and rule:create_subnet:service_types) is disallowed by policy',
  );
  const s = await subnet(demo, { network_id: net.id, cidr: '10.2.0.0/24' });
  expectError(
    await demo.put(`/subnets/${s.id}`, { subnet: { service_types: ['compute:nova'] } }),
    403,
    'PolicyNotAuthorized',
    '(rule:update_subnet and rule:update_subnet:service_types) is disallowed by policy',
  );
});

test('service_types validation: a list of strings, each starting as a device owner does', async () => {
  const net = await network(admin);
  const post = (types: unknown) =>
    admin.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.3.0.0/24', service_types: types } });
  expectError(await post('network:dhcp'), 400, 'HTTPBadRequest', 'Subnet service types must be a list.');
  expectError(await post(['network:dhcp', 7]), 400, 'InvalidInputSubnetServiceType', 'Subnet service type 7 is not a string.');
  expectError(await post([null]), 400, 'InvalidInputSubnetServiceType', 'Subnet service type None is not a string.');
  expectError(await post(['foo']), 400, 'InvalidSubnetServiceType', 'Subnet service type foo does not correspond to a valid device owner.');
  expectError(
    await post(['baremetal:none']),
    400,
    'InvalidSubnetServiceType',
    'Subnet service type baremetal:none does not correspond to a valid device owner.',
  );
  const s = await subnet(admin, { network_id: net.id, cidr: '10.3.0.0/24' });
  expectError(
    await admin.put(`/subnets/${s.id}`, { subnet: { service_types: ['bogus:x'] } }),
    400,
    'InvalidSubnetServiceType',
    'Subnet service type bogus:x does not correspond to a valid device owner.',
  );
  // neutron-lib's prefixes include the letters of "compute:" one by one, so these pass as in Neutron.
  const odd = (await admin.put(`/subnets/${s.id}`, { subnet: { service_types: ['ceph', 'network:foo'] } })).body.subnet;
  assert.deepEqual(odd.service_types, ['ceph', 'network:foo']);
  // A falsy value is no service types at all.
  const none = (await admin.put(`/subnets/${s.id}`, { subnet: { service_types: null } })).body.subnet;
  assert.deepEqual(none.service_types, []);
});

test('allocation: a port takes addresses on subnets for its device owner first, then on untyped ones, never on others', async () => {
  const net = await network(admin, { 'provider:network_type': 'vxlan' });
  // The pools end below .50: the addresses named below (10.4.1.77, 10.4.2.50) are never a random allocation's.
  const allocation_pools = (prefix: string) => [{ start: `${prefix}.2`, end: `${prefix}.49` }];
  const computeSubnet = await subnet(admin, {
    network_id: net.id,
    cidr: '10.4.1.0/24',
    service_types: ['compute:nova'],
    allocation_pools: allocation_pools('10.4.1'),
  });
  const lbSubnet = await subnet(admin, {
    network_id: net.id,
    cidr: '10.4.2.0/24',
    service_types: ['neutron:LOADBALANCERV2'],
    allocation_pools: allocation_pools('10.4.2'),
  });
  const plainSubnet = await subnet(admin, { network_id: net.id, cidr: '10.4.3.0/24' });

  const vm = (await port(admin, { network_id: net.id, device_owner: 'compute:nova' })).body.port;
  assert.deepEqual(
    vm.fixed_ips.map((f: { subnet_id: string }) => f.subnet_id),
    [computeSubnet.id],
  );
  const lb = (await port(admin, { network_id: net.id, device_owner: 'neutron:LOADBALANCERV2' })).body.port;
  assert.deepEqual(
    lb.fixed_ips.map((f: { subnet_id: string }) => f.subnet_id),
    [lbSubnet.id],
  );
  const bare = (await port(admin, { network_id: net.id })).body.port;
  assert.deepEqual(
    bare.fixed_ips.map((f: { subnet_id: string }) => f.subnet_id),
    [plainSubnet.id],
  );
  const otherVm = (await port(admin, { network_id: net.id, device_owner: 'compute:az2' })).body.port;
  assert.deepEqual(
    otherVm.fixed_ips.map((f: { subnet_id: string }) => f.subnet_id),
    [plainSubnet.id],
  );

  // A subnet, or an address, reserved for another owner is refused as Neutron refuses subnets not on the network.
  expectError(
    await port(admin, { network_id: net.id, fixed_ips: [{ subnet_id: computeSubnet.id }] }),
    400,
    'InvalidInput',
    `Invalid input for operation: Failed to create port on network ${net.id}, because fixed_ips included invalid subnet ${computeSubnet.id}.`,
  );
  expectError(
    await port(admin, { network_id: net.id, fixed_ips: [{ ip_address: '10.4.2.50' }] }),
    400,
    'InvalidIpForNetwork',
    'IP address 10.4.2.50 is not a valid IP for any of the subnets on the specified network.',
  );
  const explicit = (await port(admin, { network_id: net.id, device_owner: 'compute:nova', fixed_ips: [{ ip_address: '10.4.1.77' }] })).body
    .port;
  assert.deepEqual(explicit.fixed_ips, [{ subnet_id: computeSubnet.id, ip_address: '10.4.1.77' }]);
  // An update asking for a reserved subnet is refused alike; the addresses held stay.
  expectError(
    await admin.put(`/ports/${bare.id}`, { port: { fixed_ips: [...bare.fixed_ips, { subnet_id: lbSubnet.id }] } }),
    400,
    'InvalidInput',
    `Invalid input for operation: Failed to create port on network ${net.id}, because fixed_ips included invalid subnet ${lbSubnet.id}.`,
  );
});

test('allocation: no subnet for the owner is IpAddressGenerationFailureNoMatchingSubnet; DHCP ports use any DHCP subnet', async () => {
  const net = await network(admin);
  const only = await subnet(admin, { network_id: net.id, cidr: '10.5.0.0/24', service_types: ['compute:nova'] });
  expectError(
    await port(admin, { network_id: net.id, device_owner: 'compute:other' }),
    409,
    'IpAddressGenerationFailureNoMatchingSubnet',
    `No valid service subnet for the given device owner, network ${net.id}, service type compute:other.`,
  );
  expectError(
    await port(admin, { network_id: net.id }),
    409,
    'IpAddressGenerationFailureNoMatchingSubnet',
    `No valid service subnet for the given device owner, network ${net.id}, service type .`,
  );
  const dhcp = (await port(admin, { network_id: net.id, device_owner: 'network:dhcp' })).body.port;
  assert.deepEqual(
    dhcp.fixed_ips.map((f: { subnet_id: string }) => f.subnet_id),
    [only.id],
  );
  // A network without subnets gives no address and no error.
  const empty = await network(admin);
  const p = (await port(admin, { network_id: empty.id, device_owner: 'compute:other' })).body.port;
  assert.deepEqual(p.fixed_ips, []);
});

test('router gateways and floating IPs take their addresses from the subnets reserved for them', async () => {
  const ext = await network(admin, { 'router:external': true });
  const fipSubnet = await subnet(admin, { network_id: ext.id, cidr: '172.24.10.0/24', service_types: ['network:floatingip'] });
  const gwSubnet = await subnet(admin, { network_id: ext.id, cidr: '172.24.20.0/24', service_types: ['network:router_gateway'] });
  const router = await created(admin.post('/routers', { router: { name: 'r', external_gateway_info: { network_id: ext.id } } }), 'router');
  assert.deepEqual(
    router.external_gateway_info.external_fixed_ips.map((f: { subnet_id: string }) => f.subnet_id),
    [gwSubnet.id],
  );
  const fip = await created(admin.post('/floatingips', { floatingip: { floating_network_id: ext.id } }), 'floatingip');
  assert.ok(fip.floating_ip_address.startsWith('172.24.10.'), fip.floating_ip_address);
  // A floating IP asked for on the gateways' subnet is refused as a subnet the port may not use.
  expectError(
    await admin.post('/floatingips', { floatingip: { floating_network_id: ext.id, subnet_id: gwSubnet.id } }),
    400,
    'InvalidInput',
    new RegExp(`because fixed_ips included invalid subnet ${gwSubnet.id}`),
  );
  // A new IPv4 subnet reserved for gateways reaches the existing gateway port only if it has no IPv4 address yet.
  const second = await subnet(admin, { network_id: ext.id, cidr: '172.24.30.0/24', service_types: ['network:router_gateway'] });
  const after1 = (await admin.get(`/routers/${router.id}`)).body.router;
  assert.deepEqual(
    after1.external_gateway_info.external_fixed_ips.map((f: { subnet_id: string }) => f.subnet_id),
    [gwSubnet.id],
  );
  assert.notEqual(second.id, fipSubnet.id);
});
