// IPv6 beyond subnets and ports, with Neutron's semantics: router interfaces (one port per network for
// all its IPv6 prefixes), dual-stack external gateways, floating IPs that stay IPv4, IPv6 security
// group rules and allowed address pairs.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { adminDemoOther, created, expectError } from '../helpers/networking.ts';
import { eui64Address } from '../../src/model/ip.ts';

type Ip = { subnet_id: string; ip_address: string };

async function clients(t: TestContext) {
  const srv = await startTestServer();
  t.after(() => srv.close());
  return adminDemoOther(srv.url);
}

test('router interfaces: IPv6 prefixes of a network share one port, IPv4 gets its own, removal keeps the rest', async (t) => {
  const { demo } = await clients(t);
  const net = await created(demo.post('/networks', { network: { name: 'dual' } }), 'network');
  const sub = (body: Record<string, unknown>) => created(demo.post('/subnets', { subnet: { network_id: net.id, ...body } }), 'subnet');
  const s4 = await sub({ ip_version: 4, cidr: '10.0.0.0/24' });
  const a = await sub({ ip_version: 6, cidr: '2001:db8:a::/64', ipv6_ra_mode: 'slaac', ipv6_address_mode: 'slaac' });
  const b = await sub({ ip_version: 6, cidr: '2001:db8:b::/64', ipv6_ra_mode: 'dhcpv6-stateful', ipv6_address_mode: 'dhcpv6-stateful' });
  const external = await sub({ ip_version: 6, cidr: '2001:db8:c::/64', ipv6_address_mode: 'slaac' });
  const router = await created(demo.post('/routers', { router: { name: 'r' } }), 'router');
  const add = (body: unknown) => demo.put(`/routers/${router.id}/add_router_interface`, body);
  const remove = (body: unknown) => demo.put(`/routers/${router.id}/remove_router_interface`, body);

  const ra = await add({ subnet_id: a.id });
  assert.equal(ra.status, 200, JSON.stringify(ra.body));
  assert.deepEqual(ra.body.subnet_ids, [a.id]);
  const rb = await add({ subnet_id: b.id });
  assert.equal(rb.status, 200, JSON.stringify(rb.body));
  assert.equal(rb.body.port_id, ra.body.port_id);
  assert.equal(rb.body.subnet_id, b.id);
  assert.deepEqual(rb.body.subnet_ids, [b.id]);
  const r4 = await add({ subnet_id: s4.id });
  assert.equal(r4.status, 200, JSON.stringify(r4.body));
  assert.notEqual(r4.body.port_id, ra.body.port_id);

  // The shared port holds each subnet's gateway (the prefix address) and no EUI-64 address.
  let port = (await demo.get(`/ports/${ra.body.port_id}`)).body.port;
  assert.equal(port.device_owner, 'network:router_interface');
  assert.deepEqual(new Set(port.fixed_ips.map((f: Ip) => f.ip_address)), new Set(['2001:db8:a::', '2001:db8:b::']));
  assert.deepEqual(
    (await demo.get(`/ports/${r4.body.port_id}`)).body.port.fixed_ips.map((f: Ip) => f.ip_address),
    ['10.0.0.1'],
  );
  expectError(await add({ subnet_id: b.id }), 400, 'BadRequest', `Bad router request: Router already has a port on subnet ${b.id}.`);
  expectError(
    await add({ subnet_id: external.id }),
    400,
    'BadRequest',
    `Bad router request: IPv6 subnet ${external.id} configured to receive RAs from an external router cannot be added to Neutron Router..`,
  );

  // Removing one prefix keeps the port and the other prefix.
  const rm = await remove({ subnet_id: a.id });
  assert.equal(rm.status, 200, JSON.stringify(rm.body));
  assert.equal(rm.body.port_id, ra.body.port_id);
  port = (await demo.get(`/ports/${ra.body.port_id}`)).body.port;
  assert.deepEqual(port.fixed_ips, [{ subnet_id: b.id, ip_address: '2001:db8:b::' }]);
  // Removing the last one removes the port.
  assert.equal((await remove({ subnet_id: b.id })).status, 200);
  assert.equal((await demo.get(`/ports/${ra.body.port_id}`)).status, 404);
});

test('router interface by port: a second IPv6 port on one network is refused', async (t) => {
  const { demo } = await clients(t);
  const net = await created(demo.post('/networks', { network: { name: 'v6' } }), 'network');
  const a = await created(
    demo.post('/subnets', {
      subnet: { network_id: net.id, ip_version: 6, cidr: '2001:db8:a::/64', ipv6_ra_mode: 'slaac', ipv6_address_mode: 'slaac' },
    }),
    'subnet',
  );
  const b = await created(
    demo.post('/subnets', {
      subnet: {
        network_id: net.id,
        ip_version: 6,
        cidr: '2001:db8:b::/64',
        ipv6_ra_mode: 'dhcpv6-stateful',
        ipv6_address_mode: 'dhcpv6-stateful',
      },
    }),
    'subnet',
  );
  const router = await created(demo.post('/routers', { router: { name: 'r' } }), 'router');
  const first = await demo.put(`/routers/${router.id}/add_router_interface`, { subnet_id: a.id });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  const port = await created(demo.post('/ports', { port: { network_id: net.id, fixed_ips: [{ subnet_id: b.id }] } }), 'port');
  expectError(
    await demo.put(`/routers/${router.id}/add_router_interface`, { port_id: port.id }),
    400,
    'BadRequest',
    `Bad router request: Router already contains IPv6 port ${first.body.port_id} belonging to network id ${net.id}. Only one IPv6 port from the same network subnet can be connected to a router..`,
  );
  // A router port may hold the subnet-router address; a compute port may not.
  const gwPort = await created(
    demo.post('/ports', {
      port: { network_id: net.id, device_owner: 'network:router_interface', fixed_ips: [{ ip_address: '2001:db8:b::' }] },
    }),
    'port',
  );
  assert.deepEqual(gwPort.fixed_ips, [{ subnet_id: b.id, ip_address: '2001:db8:b::' }]);
});

test('dual-stack external network: gateway addresses in both families; floating IPs stay IPv4', async (t) => {
  const { admin, demo } = await clients(t);
  const ext = await created(admin.post('/networks', { network: { name: 'ext', 'router:external': true } }), 'network');
  // The pools start at .100: the first router's random gateway addresses cannot be the .50 that r2 names.
  const e4 = await created(
    admin.post('/subnets', {
      subnet: {
        network_id: ext.id,
        ip_version: 4,
        cidr: '203.0.113.0/24',
        allocation_pools: [{ start: '203.0.113.100', end: '203.0.113.200' }],
      },
    }),
    'subnet',
  );
  const e6 = await created(
    admin.post('/subnets', {
      subnet: {
        network_id: ext.id,
        ip_version: 6,
        cidr: '2001:db8:e::/64',
        allocation_pools: [{ start: '2001:db8:e::100', end: '2001:db8:e::1ff' }],
        ipv6_ra_mode: 'dhcpv6-stateful',
        ipv6_address_mode: 'dhcpv6-stateful',
      },
    }),
    'subnet',
  );
  const slaac = await created(
    admin.post('/subnets', {
      subnet: { network_id: ext.id, ip_version: 6, cidr: '2001:db8:f::/64', ipv6_ra_mode: 'slaac', ipv6_address_mode: 'slaac' },
    }),
    'subnet',
  );
  const router = await created(demo.post('/routers', { router: { name: 'r', external_gateway_info: { network_id: ext.id } } }), 'router');
  const gwIps: Ip[] = router.external_gateway_info.external_fixed_ips;
  assert.deepEqual(gwIps.map((f) => f.subnet_id).sort(), [e4.id, e6.id, slaac.id].sort());
  const gwPort = (await admin.get(`/ports?device_id=${router.id}&device_owner=network:router_gateway`)).body.ports[0];
  assert.equal(gwIps.find((f) => f.subnet_id === slaac.id)!.ip_address, eui64Address(slaac.cidr, gwPort.mac_address));

  // Explicit addresses in both families (admin only).
  const r2 = await created(
    admin.post('/routers', {
      router: {
        name: 'r2',
        external_gateway_info: {
          network_id: ext.id,
          external_fixed_ips: [
            { subnet_id: e4.id, ip_address: '203.0.113.50' },
            { subnet_id: e6.id, ip_address: '2001:db8:e::50' },
          ],
        },
      },
    }),
    'router',
  );
  const r2Ips = (r2.external_gateway_info.external_fixed_ips as Ip[]).map((f) => f.ip_address);
  assert.ok(r2Ips.includes('203.0.113.50') && r2Ips.includes('2001:db8:e::50'), JSON.stringify(r2Ips));

  // A floating IP is an IPv4 address: an IPv6 one is refused, as is an IPv6-only external network.
  expectError(
    await admin.post('/floatingips', { floatingip: { floating_network_id: ext.id, floating_ip_address: '2001:db8:e::99' } }),
    400,
    'ExternalIpAddressExhausted',
    `Unable to find any IP address on external network ${ext.id}.`,
  );
  const fip = await created(demo.post('/floatingips', { floatingip: { floating_network_id: ext.id } }), 'floatingip');
  assert.match(fip.floating_ip_address, /^203\.0\.113\./);
  const ext6 = await created(admin.post('/networks', { network: { name: 'ext6', 'router:external': true } }), 'network');
  await created(admin.post('/subnets', { subnet: { network_id: ext6.id, ip_version: 6, cidr: '2001:db8:6::/64' } }), 'subnet');
  expectError(
    await demo.post('/floatingips', { floatingip: { floating_network_id: ext6.id } }),
    400,
    'BadRequest',
    `Bad floatingip request: Network ${ext6.id} does not contain any IPv4 subnet.`,
  );

  // Associating with an IPv6 fixed address is refused.
  const net = await created(demo.post('/networks', { network: { name: 'in' } }), 'network');
  const in4 = await created(demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.0.0.0/24' } }), 'subnet');
  const in6 = await created(
    demo.post('/subnets', {
      subnet: { network_id: net.id, ip_version: 6, cidr: '2001:db8:1::/64', ipv6_ra_mode: 'slaac', ipv6_address_mode: 'slaac' },
    }),
    'subnet',
  );
  for (const s of [in4, in6]) assert.equal((await demo.put(`/routers/${router.id}/add_router_interface`, { subnet_id: s.id })).status, 200);
  const vm = await created(demo.post('/ports', { port: { network_id: net.id } }), 'port');
  const vm6 = (vm.fixed_ips as Ip[]).find((f) => f.subnet_id === in6.id)!.ip_address;
  expectError(
    await demo.put(`/floatingips/${fip.id}`, { floatingip: { port_id: vm.id, fixed_ip_address: vm6 } }),
    400,
    'BadRequest',
    `Bad floatingip request: Cannot process floating IP association with ${vm6}, since that is not an IPv4 address.`,
  );
  const assoc = await demo.put(`/floatingips/${fip.id}`, { floatingip: { port_id: vm.id } });
  assert.equal(assoc.status, 200, JSON.stringify(assoc.body));
  assert.match(assoc.body.floatingip.fixed_ip_address, /^10\.0\.0\./);
});

test('security group rules: IPv6 ethertype, ICMPv6 names normalised, remote prefix of the rule family', async (t) => {
  const { demo } = await clients(t);
  const sg = await created(demo.post('/security-groups', { security_group: { name: 'v6' } }), 'security_group');
  const rule = (body: Record<string, unknown>) =>
    demo.post('/security-group-rules', {
      security_group_rule: { security_group_id: sg.id, direction: 'ingress', ethertype: 'IPv6', ...body },
    });
  for (const [given, stored] of [
    ['icmp', 'ipv6-icmp'],
    ['icmpv6', 'ipv6-icmp'],
    ['1', '58'],
    ['ipv6-icmp', 'ipv6-icmp'],
  ]) {
    const r = await rule({ protocol: given, remote_ip_prefix: `2001:db8:${given.length}::/64` });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.security_group_rule.protocol, stored, given);
  }
  const tcp = await created(
    rule({ protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '2001:db8:99::/48' }),
    'security_group_rule',
  );
  assert.equal(tcp.remote_ip_prefix, '2001:db8:99::/48');
  expectError(
    await rule({ protocol: 'tcp', remote_ip_prefix: '10.0.0.0/8' }),
    400,
    'SecurityGroupRuleParameterConflict',
    'Conflicting value ethertype IPv6 for CIDR 10.0.0.0/8',
  );
  expectError(
    await rule({ ethertype: 'IPv4', protocol: 'tcp', remote_ip_prefix: '2001:db8::/32' }),
    400,
    'SecurityGroupRuleParameterConflict',
    'Conflicting value ethertype IPv4 for CIDR 2001:db8::/32',
  );
  expectError(
    await rule({ ethertype: 'IPv4', protocol: 'ipv6-icmp' }),
    400,
    'SecurityGroupEthertypeConflictWithProtocol',
    'Invalid ethertype IPv4 for protocol ipv6-icmp.',
  );
  // 'icmp' on IPv6 is the rule 'icmpv6' already made.
  expectError(await rule({ protocol: 'icmp', remote_ip_prefix: '2001:db8:6::/64' }), 409, 'SecurityGroupRuleExists');

  // The default group: ingress from the group itself and egress anywhere, in both families.
  // Listing groups creates the project's default group, as Neutron does.
  const [dflt] = (await demo.get('/security-groups?name=default')).body.security_groups;
  const v6rules = (dflt.security_group_rules as Array<Record<string, unknown>>).filter((r) => r.ethertype === 'IPv6');
  assert.deepEqual(v6rules.map((r) => [r.direction, r.protocol, r.remote_ip_prefix, r.remote_group_id]).sort(), [
    ['egress', null, null, null],
    ['ingress', null, null, dflt.id],
  ]);
});

test('allowed address pairs: IPv6 addresses and prefixes', async (t) => {
  const { demo } = await clients(t);
  const net = await created(demo.post('/networks', { network: { name: 'v6' } }), 'network');
  await created(
    demo.post('/subnets', {
      subnet: { network_id: net.id, ip_version: 6, cidr: '2001:db8:1::/64', ipv6_ra_mode: 'slaac', ipv6_address_mode: 'slaac' },
    }),
    'subnet',
  );
  const pairs = [
    { ip_address: '2001:db8:1::100' },
    { ip_address: '2001:db8:1:1::/64', mac_address: 'fa:16:3e:00:00:09' },
    { ip_address: '10.0.0.9' },
  ];
  const port = await created(demo.post('/ports', { port: { network_id: net.id, allowed_address_pairs: pairs } }), 'port');
  assert.deepEqual(port.allowed_address_pairs, [
    { ip_address: '2001:db8:1::100', mac_address: port.mac_address },
    { ip_address: '2001:db8:1:1::/64', mac_address: 'fa:16:3e:00:00:09' },
    { ip_address: '10.0.0.9', mac_address: port.mac_address },
  ]);
  expectError(
    await demo.put(`/ports/${port.id}`, {
      port: { allowed_address_pairs: [{ ip_address: '2001:db8:1::100' }, { ip_address: '2001:db8:1::100' }] },
    }),
    400,
    'DuplicateAddressPairInRequest',
  );
  expectError(
    await demo.put(`/ports/${port.id}`, { port: { allowed_address_pairs: [{ ip_address: '2001:db8:1::/129' }] } }),
    400,
    'HTTPBadRequest',
  );
});

test('a new IPv6 subnet on an external network gives existing router gateways an address there', async (t) => {
  const { admin, demo } = await clients(t);
  const ext = await created(admin.post('/networks', { network: { name: 'ext', 'router:external': true } }), 'network');
  const e4 = await created(admin.post('/subnets', { subnet: { network_id: ext.id, ip_version: 4, cidr: '203.0.113.0/24' } }), 'subnet');
  const router = await created(demo.post('/routers', { router: { name: 'r', external_gateway_info: { network_id: ext.id } } }), 'router');
  assert.deepEqual(
    router.external_gateway_info.external_fixed_ips.map((f: Ip) => f.subnet_id),
    [e4.id],
  );
  const e6 = await created(
    admin.post('/subnets', {
      subnet: { network_id: ext.id, ip_version: 6, cidr: '2001:db8:e::/64', ipv6_address_mode: 'dhcpv6-stateful' },
    }),
    'subnet',
  );
  let info = (await demo.get(`/routers/${router.id}`)).body.router.external_gateway_info;
  assert.deepEqual(info.external_fixed_ips.map((f: Ip) => f.subnet_id).sort(), [e4.id, e6.id].sort());
  // A second stateful IPv6 subnet adds nothing: the gateway already has one of each family.
  await created(
    admin.post('/subnets', {
      subnet: { network_id: ext.id, ip_version: 6, cidr: '2001:db8:d::/64', ipv6_address_mode: 'dhcpv6-stateful' },
    }),
    'subnet',
  );
  info = (await demo.get(`/routers/${router.id}`)).body.router.external_gateway_info;
  assert.equal(info.external_fixed_ips.length, 2);
});
