// IPv6 over HTTP, with Neutron's semantics: subnet modes and their refusals, default gateway and
// pools, EUI-64 addresses on SLAAC / DHCPv6-stateless subnets, DHCPv6-stateful pools, dual-stack ports.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { adminDemoOther, created, expectError } from '../helpers/networking.ts';
import { eui64Address } from '../../src/model/ip.ts';

async function network(t: TestContext) {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const clients = await adminDemoOther(srv.url);
  const net = await created(clients.demo.post('/networks', { network: { name: 'dual' } }), 'network');
  return { ...clients, netId: net.id as string };
}

const v6 = (netId: string, extra: Record<string, unknown> = {}) => ({
  subnet: { network_id: netId, ip_version: 6, cidr: '2001:db8:1::/64', ...extra },
});

test('IPv6 subnet defaults: gateway the prefix address, pool from ::1, no modes', async (t) => {
  const { demo, netId } = await network(t);
  const s = await created(demo.post('/subnets', v6(netId)), 'subnet');
  assert.equal(s.ip_version, 6);
  assert.equal(s.cidr, '2001:db8:1::/64');
  assert.equal(s.gateway_ip, '2001:db8:1::');
  assert.deepEqual(s.allocation_pools, [{ start: '2001:db8:1::1', end: '2001:db8:1:0:ffff:ffff:ffff:ffff' }]);
  assert.equal(s.ipv6_ra_mode, null);
  assert.equal(s.ipv6_address_mode, null);
  assert.equal(s.enable_dhcp, true);
});

test('IPv6 subnet: modes, gateway, DNS and routes as given; canonical text', async (t) => {
  const { demo, netId } = await network(t);
  const s = await created(
    demo.post(
      '/subnets',
      v6(netId, {
        cidr: '2001:DB8:1:0::/64',
        ipv6_ra_mode: 'slaac',
        ipv6_address_mode: 'slaac',
        gateway_ip: '2001:db8:1::1',
        dns_nameservers: ['2001:4860:4860::8888'],
        host_routes: [{ destination: '2001:db8:9::/64', nexthop: '2001:db8:1::9' }],
      }),
    ),
    'subnet',
  );
  assert.equal(s.cidr, '2001:db8:1::/64');
  assert.equal(s.ipv6_ra_mode, 'slaac');
  assert.equal(s.ipv6_address_mode, 'slaac');
  assert.equal(s.gateway_ip, '2001:db8:1::1');
  assert.deepEqual(s.allocation_pools, [{ start: '2001:db8:1::2', end: '2001:db8:1:0:ffff:ffff:ffff:ffff' }]);
  const none = await created(demo.post('/subnets', v6(netId, { cidr: '2001:db8:2::/64', gateway_ip: null })), 'subnet');
  assert.equal(none.gateway_ip, null);
  assert.deepEqual(none.allocation_pools, [{ start: '2001:db8:2::1', end: '2001:db8:2:0:ffff:ffff:ffff:ffff' }]);
  for (const mode of ['dhcpv6-stateful', 'dhcpv6-stateless']) {
    const only = await created(
      demo.post('/subnets', v6(netId, { cidr: `2001:db8:${mode.length}::/64`, ipv6_address_mode: mode })),
      'subnet',
    );
    assert.equal(only.ipv6_address_mode, mode);
    assert.equal(only.ipv6_ra_mode, null);
  }
  // A stateful subnet need not be a /64.
  await created(demo.post('/subnets', v6(netId, { cidr: '2001:db8:5::/80', ipv6_ra_mode: 'dhcpv6-stateful' })), 'subnet');
});

test('IPv6 subnet refusals, each with Neutron error', async (t) => {
  const { demo, netId } = await network(t);
  await created(demo.post('/subnets', { subnet: { network_id: netId, ip_version: 4, cidr: '10.0.0.0/24' } }), 'subnet');
  await created(demo.post('/subnets', v6(netId)), 'subnet');
  const cases: Array<[Record<string, unknown>, number, string, string]> = [
    [
      { ipv6_ra_mode: 'slaac', ipv6_address_mode: 'dhcpv6-stateful', cidr: '2001:db8:2::/64' },
      400,
      'InvalidInput',
      "Invalid input for operation: ipv6_ra_mode set to 'slaac' with ipv6_address_mode set to 'dhcpv6-stateful' is not valid. If both attributes are set, they must be the same value.",
    ],
    [
      { ipv6_address_mode: 'slaac', enable_dhcp: false, cidr: '2001:db8:2::/64' },
      400,
      'InvalidInput',
      'Invalid input for operation: ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False.',
    ],
    [
      { ipv6_address_mode: 'slaac', cidr: '2001:db8:2::/80' },
      400,
      'InvalidInput',
      'Invalid input for operation: Invalid CIDR 2001:db8:2::/80 for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64.',
    ],
    [
      { ipv6_ra_mode: 'dhcpv6-stateless', cidr: '2001:db8:2::/56' },
      400,
      'InvalidInput',
      'Invalid input for operation: Invalid CIDR 2001:db8:2::/56 for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64.',
    ],
    [
      { cidr: '2001:db8:1:0:8000::/65' },
      400,
      'InvalidInput',
      'Invalid input for operation: Requested subnet with cidr: 2001:db8:1:0:8000::/65 for network: NET overlaps with another subnet.',
    ],
    [{ cidr: '10.1.0.0/24' }, 400, 'InvalidInput', "Invalid input for operation: cidr '10.1.0.0/24' does not match the ip_version '6'."],
    [{ cidr: '::/64' }, 400, 'InvalidInput', "Invalid input for operation: IPv6 subnet '::' is not supported."],
    [
      { cidr: '2001:db8:2::/127' },
      400,
      'InvalidInput',
      'Invalid input for operation: Subnet has a prefix length that is incompatible with DHCP service enabled.',
    ],
    [
      { cidr: 'ff02::/64' },
      400,
      'InvalidInput',
      'Invalid input for operation: Multicast IP subnet is not supported if enable_dhcp is True.',
    ],
    [
      { cidr: '2001:db8:2::/64', gateway_ip: '10.0.0.1' },
      400,
      'InvalidInput',
      "Invalid input for operation: gateway_ip '10.0.0.1' does not match the ip_version '6'.",
    ],
    [
      { cidr: '2001:db8:2::/64', dns_nameservers: ['8.8.8.8'] },
      400,
      'InvalidInput',
      "Invalid input for operation: dns_nameserver '8.8.8.8' does not match the ip_version '6'.",
    ],
    [
      { cidr: '2001:db8:2::/64', host_routes: [{ destination: '2001:db8:9::/64', nexthop: '10.0.0.9' }] },
      400,
      'InvalidInput',
      "Invalid input for operation: nexthop '10.0.0.9' does not match the ip_version '6'.",
    ],
    [
      { cidr: '2001:db8:2::/64', allocation_pools: [{ start: '10.0.0.2', end: '10.0.0.9' }] },
      400,
      'InvalidAllocationPool',
      'The allocation pool 10.0.0.2-10.0.0.9 is not valid.',
    ],
    [{ ipv6_ra_mode: 'bogus', cidr: '2001:db8:2::/64' }, 400, 'HTTPBadRequest', ''],
  ];
  for (const [extra, status, type, message] of cases) {
    const r = await demo.post('/subnets', v6(netId, extra));
    expectError(r, status, type, message ? message.replace('NET', netId) : undefined);
  }
  // An IPv4 subnet takes no IPv6 attribute and no IPv6 nameserver.
  expectError(
    await demo.post('/subnets', { subnet: { network_id: netId, ip_version: 4, cidr: '10.2.0.0/24', ipv6_address_mode: 'slaac' } }),
    400,
    'InvalidInput',
    'Invalid input for operation: ipv6_address_mode is not valid when ip_version is 4.',
  );
  expectError(
    await demo.post('/subnets', { subnet: { network_id: netId, ip_version: 4, cidr: '10.2.0.0/24', dns_nameservers: ['2001:db8::53'] } }),
    400,
    'InvalidInput',
    "Invalid input for operation: dns_nameserver '2001:db8::53' does not match the ip_version '4'.",
  );
});

test('IPv6 subnet update: modes are read-only, DHCP stays on with a mode, gateway and DNS of family 6', async (t) => {
  const { demo, netId } = await network(t);
  const s = await created(demo.post('/subnets', v6(netId, { ipv6_ra_mode: 'slaac', ipv6_address_mode: 'slaac' })), 'subnet');
  expectError(
    await demo.put(`/subnets/${s.id}`, { subnet: { ipv6_address_mode: 'dhcpv6-stateful' } }),
    400,
    'HTTPBadRequest',
    'Cannot update read-only attribute ipv6_address_mode',
  );
  expectError(
    await demo.put(`/subnets/${s.id}`, { subnet: { enable_dhcp: false } }),
    400,
    'InvalidInput',
    'Invalid input for operation: Cannot disable enable_dhcp with ipv6 attributes set.',
  );
  expectError(
    await demo.put(`/subnets/${s.id}`, { subnet: { dns_nameservers: ['8.8.8.8'] } }),
    400,
    'InvalidInput',
    "Invalid input for operation: dns_nameserver '8.8.8.8' does not match the ip_version '6'.",
  );
  // Like IPv4, a gateway moved into the pool conflicts with it.
  expectError(
    await demo.put(`/subnets/${s.id}`, { subnet: { gateway_ip: '2001:db8:1::1' } }),
    409,
    'GatewayConflictWithAllocationPools',
    'Gateway ip 2001:db8:1::1 conflicts with allocation pool 2001:db8:1::1-2001:db8:1:0:ffff:ffff:ffff:ffff',
  );
  const r = await demo.put(`/subnets/${s.id}`, {
    subnet: {
      gateway_ip: '2001:db8:1::1',
      allocation_pools: [{ start: '2001:db8:1::2', end: '2001:db8:1::ff' }],
      dns_nameservers: ['2001:db8::53'],
    },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.subnet.gateway_ip, '2001:db8:1::1');
  assert.deepEqual(r.body.subnet.dns_nameservers, ['2001:db8::53']);
  // A subnet without modes may switch DHCP off.
  const plain = await created(demo.post('/subnets', v6(netId, { cidr: '2001:db8:2::/64' })), 'subnet');
  assert.equal((await demo.put(`/subnets/${plain.id}`, { subnet: { enable_dhcp: false } })).status, 200);
});

test('subnet update turning DHCP on runs the create checks of the prefix (both families), each refusal Neutron error', async (t) => {
  const { demo, netId } = await network(t);
  const dhcpOff = async (ip_version: number, cidr: string) =>
    (await created(demo.post('/subnets', { subnet: { network_id: netId, ip_version, cidr, enable_dhcp: false } }), 'subnet')).id as string;
  const refusals: Array<[number, string, string]> = [
    [6, '2001:db8:7::/127', 'Subnet has a prefix length that is incompatible with DHCP service enabled.'],
    [6, 'ff05::/64', 'Multicast IP subnet is not supported if enable_dhcp is True.'],
    [4, '10.9.0.0/31', 'Subnet has a prefix length that is incompatible with DHCP service enabled.'],
    [4, '239.1.0.0/24', 'Multicast IP subnet is not supported if enable_dhcp is True.'],
    [4, '127.0.0.0/24', 'Loopback IP subnet is not supported if enable_dhcp is True.'],
    [4, '0.0.0.0/24', "First IP '0.0.0.0' of network is not supported if enable_dhcp is True.."],
  ];
  for (const [version, cidr, message] of refusals) {
    const id = await dhcpOff(version, cidr);
    const r = await demo.put(`/subnets/${id}`, { subnet: { enable_dhcp: true } });
    expectError(r, 400, 'InvalidInput', `Invalid input for operation: ${message}`);
    assert.equal((await demo.get(`/subnets/${id}`)).body.subnet.enable_dhcp, false, cidr);
    // Create refuses the same prefix with DHCP on, with the same words.
    const c = await demo.post('/subnets', { subnet: { network_id: netId, ip_version: version, cidr, name: 'again' } });
    expectError(c, 400, 'InvalidInput', `Invalid input for operation: ${message}`);
  }
  // A subnet whose DHCP is on already is not checked again; a servable prefix may turn DHCP on.
  const ok = await dhcpOff(6, '2001:db8:8::/64');
  const on = await demo.put(`/subnets/${ok}`, { subnet: { enable_dhcp: true } });
  assert.equal(on.status, 200, JSON.stringify(on.body));
  assert.equal(on.body.subnet.enable_dhcp, true);
  assert.equal((await demo.put(`/subnets/${ok}`, { subnet: { enable_dhcp: true, name: 'still' } })).status, 200);
  // Modes stay read-only on a subnet without them too: DHCP can be turned on, a mode never set by update.
  const v4 = await dhcpOff(4, '10.10.0.0/24');
  expectError(
    await demo.put(`/subnets/${v4}`, { subnet: { enable_dhcp: true, ipv6_ra_mode: 'slaac' } }),
    400,
    'HTTPBadRequest',
    'Cannot update read-only attribute ipv6_ra_mode',
  );
  expectError(
    await demo.put(`/subnets/${ok}`, { subnet: { ipv6_address_mode: 'slaac' } }),
    400,
    'HTTPBadRequest',
    'Cannot update read-only attribute ipv6_address_mode',
  );
});

test('ports on a dual-stack network: one IPv4, one DHCPv6-stateful, an EUI-64 on each auto-address subnet', async (t) => {
  const { demo, netId } = await network(t);
  const s4 = await created(demo.post('/subnets', { subnet: { network_id: netId, ip_version: 4, cidr: '10.0.0.0/24' } }), 'subnet');
  const stateful = await created(
    demo.post('/subnets', v6(netId, { cidr: '2001:db8:a::/64', ipv6_address_mode: 'dhcpv6-stateful' })),
    'subnet',
  );
  const stateful2 = await created(
    demo.post('/subnets', v6(netId, { cidr: '2001:db8:b::/64', ipv6_address_mode: 'dhcpv6-stateful' })),
    'subnet',
  );
  const slaac = await created(
    demo.post('/subnets', v6(netId, { cidr: '2001:db8:c::/64', ipv6_ra_mode: 'slaac', ipv6_address_mode: 'slaac' })),
    'subnet',
  );
  const stateless = await created(
    demo.post('/subnets', v6(netId, { cidr: '2001:db8:d::/64', ipv6_address_mode: 'dhcpv6-stateless' })),
    'subnet',
  );
  const p = await created(demo.post('/ports', { port: { network_id: netId, mac_address: 'fa:16:3e:33:44:55' } }), 'port');
  const bySubnet = new Map((p.fixed_ips as Array<{ subnet_id: string; ip_address: string }>).map((f) => [f.subnet_id, f.ip_address]));
  assert.equal(bySubnet.size, 4, JSON.stringify(p.fixed_ips));
  assert.match(bySubnet.get(s4.id)!, /^10\.0\.0\./);
  // One address from the DHCPv6-stateful subnets (the first with room), none from the other.
  const statefulIp = bySubnet.get(stateful.id) ?? bySubnet.get(stateful2.id)!;
  assert.match(statefulIp, /^2001:db8:[ab]:/);
  assert.equal(bySubnet.get(slaac.id), '2001:db8:c:0:f816:3eff:fe33:4455');
  assert.equal(bySubnet.get(stateless.id), '2001:db8:d:0:f816:3eff:fe33:4455');

  // fixed_ips filters work for both families, in SQL lists and pages alike.
  for (const q of [
    `ip_address=${bySubnet.get(slaac.id)}`,
    `ip_address=${statefulIp}`,
    `subnet_id=${slaac.id}`,
    'ip_address_substr=f816:3eff:fe33',
  ]) {
    for (const page of ['', '&limit=5']) {
      const r = await demo.get(`/ports?fixed_ips=${encodeURIComponent(q)}${page}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(
        r.body.ports.map((x: { id: string }) => x.id),
        [p.id],
        q,
      );
    }
  }
  assert.deepEqual((await demo.get(`/ports?fixed_ips=${encodeURIComponent('ip_address=2001:db8:c::1')}`)).body.ports, []);
});

test('auto-address subnets: fixed addresses refused unless EUI-64, kept on update, follow a MAC change', async (t) => {
  const { admin, demo, netId } = await network(t);
  // The pool ends at .49: the port's random address is never the 10.0.0.77 it moves to below.
  const allocation_pools = [{ start: '10.0.0.2', end: '10.0.0.49' }];
  const s4 = await created(
    demo.post('/subnets', { subnet: { network_id: netId, ip_version: 4, cidr: '10.0.0.0/24', allocation_pools } }),
    'subnet',
  );
  const slaac = await created(demo.post('/subnets', v6(netId, { ipv6_ra_mode: 'slaac', ipv6_address_mode: 'slaac' })), 'subnet');
  expectError(
    await demo.post('/ports', { port: { network_id: netId, fixed_ips: [{ subnet_id: slaac.id, ip_address: '2001:db8:1::5' }] } }),
    400,
    'AllocationOnAutoAddressSubnet',
    `IPv6 address 2001:db8:1::5 cannot be directly assigned to a port on subnet ${slaac.id} as the subnet is configured for automatic addresses`,
  );
  expectError(
    await demo.post('/ports', { port: { network_id: netId, fixed_ips: [{ ip_address: '2001:db8:1::5' }] } }),
    400,
    'AllocationOnAutoAddressSubnet',
  );
  // The port's own EUI-64 address may be named; a subnet-only request is met by it.
  const mac = 'fa:16:3e:00:00:01';
  const eui = eui64Address('2001:db8:1::/64', mac)!;
  const named = await created(
    demo.post('/ports', { port: { network_id: netId, mac_address: mac, fixed_ips: [{ ip_address: eui }] } }),
    'port',
  );
  assert.deepEqual(named.fixed_ips, [{ subnet_id: slaac.id, ip_address: eui }]);
  const bySubnet = await created(demo.post('/ports', { port: { network_id: netId, fixed_ips: [{ subnet_id: slaac.id }] } }), 'port');
  assert.deepEqual(bySubnet.fixed_ips, [{ subnet_id: slaac.id, ip_address: eui64Address(slaac.cidr, bySubnet.mac_address) }]);
  // An IPv4-only request still gets the automatic address.
  const p = await created(demo.post('/ports', { port: { network_id: netId, fixed_ips: [{ subnet_id: s4.id }] } }), 'port');
  assert.equal(p.fixed_ips.length, 2);
  const v4 = p.fixed_ips.find((f: { subnet_id: string }) => f.subnet_id === s4.id);
  // Changing the IPv4 address keeps the automatic one.
  let r = await demo.put(`/ports/${p.id}`, { port: { fixed_ips: [{ subnet_id: s4.id, ip_address: '10.0.0.77' }] } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(
    new Set(r.body.port.fixed_ips.map((f: { ip_address: string }) => f.ip_address)),
    new Set(['10.0.0.77', eui64Address(slaac.cidr, p.mac_address)]),
  );
  // Even fixed_ips [] keeps it: only router ports give up automatic addresses.
  r = await demo.put(`/ports/${p.id}`, { port: { fixed_ips: [] } });
  assert.deepEqual(r.body.port.fixed_ips, [{ subnet_id: slaac.id, ip_address: eui64Address(slaac.cidr, p.mac_address) }]);
  // A new MAC re-derives the EUI-64 address (admin only, unbound port).
  r = await admin.put(`/ports/${p.id}`, { port: { mac_address: 'fa:16:3e:aa:bb:cc' } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.port.fixed_ips, [{ subnet_id: slaac.id, ip_address: '2001:db8:1:0:f816:3eff:feaa:bbcc' }]);
  void v4;
});

test('a new auto-address subnet gives existing ports (router interfaces excepted) their EUI-64 address', async (t) => {
  const { demo, netId } = await network(t);
  const s4 = await created(demo.post('/subnets', { subnet: { network_id: netId, ip_version: 4, cidr: '10.0.0.0/24' } }), 'subnet');
  const port = await created(demo.post('/ports', { port: { network_id: netId } }), 'port');
  const router = await created(demo.post('/routers', { router: { name: 'r' } }), 'router');
  const intf = await demo.put(`/routers/${router.id}/add_router_interface`, { subnet_id: s4.id });
  assert.equal(intf.status, 200, JSON.stringify(intf.body));
  const stateless = await created(demo.post('/subnets', v6(netId, { ipv6_address_mode: 'dhcpv6-stateless' })), 'subnet');
  const after = (await demo.get(`/ports/${port.id}`)).body.port;
  assert.equal(after.revision_number, port.revision_number + 1);
  assert.deepEqual(
    after.fixed_ips.find((f: { subnet_id: string }) => f.subnet_id === stateless.id),
    { subnet_id: stateless.id, ip_address: eui64Address(stateless.cidr, port.mac_address) },
  );
  const rport = (await demo.get(`/ports/${intf.body.port_id}`)).body.port;
  assert.deepEqual(
    rport.fixed_ips.map((f: { subnet_id: string }) => f.subnet_id),
    [s4.id],
  );
  // A stateful subnet adds nothing to existing ports.
  await created(demo.post('/subnets', v6(netId, { cidr: '2001:db8:2::/64', ipv6_address_mode: 'dhcpv6-stateful' })), 'subnet');
  assert.equal((await demo.get(`/ports/${port.id}`)).body.port.fixed_ips.length, 2);
});

test('DHCPv6-stateful: addresses from the pool, explicit ones checked like IPv4, exhaustion is Neutron error', async (t) => {
  const { demo, netId } = await network(t);
  const s = await created(
    demo.post(
      '/subnets',
      v6(netId, {
        ipv6_address_mode: 'dhcpv6-stateful',
        ipv6_ra_mode: 'dhcpv6-stateful',
        allocation_pools: [{ start: '2001:db8:1::10', end: '2001:db8:1::11' }],
      }),
    ),
    'subnet',
  );
  const a = await created(demo.post('/ports', { port: { network_id: netId } }), 'port');
  const b = await created(demo.post('/ports', { port: { network_id: netId, fixed_ips: [{ subnet_id: s.id }] } }), 'port');
  assert.deepEqual(new Set([a.fixed_ips[0].ip_address, b.fixed_ips[0].ip_address]), new Set(['2001:db8:1::10', '2001:db8:1::11']));
  expectError(
    await demo.post('/ports', { port: { network_id: netId } }),
    409,
    'IpAddressGenerationFailure',
    `No more IP addresses available on network ${netId}.`,
  );
  // Outside the pool but in the subnet is fine for the network's owner; the subnet-router address is not.
  const c = await created(demo.post('/ports', { port: { network_id: netId, fixed_ips: [{ ip_address: '2001:db8:1:0::abc' }] } }), 'port');
  assert.deepEqual(c.fixed_ips, [{ subnet_id: s.id, ip_address: '2001:db8:1::abc' }]);
  expectError(
    await demo.post('/ports', { port: { network_id: netId, fixed_ips: [{ ip_address: '2001:db8:1::abc' }] } }),
    409,
    'IpAddressAlreadyAllocated',
    `IP address 2001:db8:1::abc already allocated in subnet ${s.id}`,
  );
  expectError(
    await demo.post('/ports', { port: { network_id: netId, device_owner: 'compute:nova', fixed_ips: [{ ip_address: '2001:db8:1::' }] } }),
    400,
    'InvalidIpForSubnet',
    'IP address 2001:db8:1:: is not a valid IP for the specified subnet.',
  );
  expectError(
    await demo.post('/ports', { port: { network_id: netId, fixed_ips: [{ ip_address: '2001:db8:9::1' }] } }),
    400,
    'InvalidIpForNetwork',
  );
});

test('deleting an auto-address subnet takes the ports addresses with it; a router interface still blocks it', async (t) => {
  const { demo, netId } = await network(t);
  const slaac = await created(demo.post('/subnets', v6(netId, { ipv6_ra_mode: 'slaac', ipv6_address_mode: 'slaac' })), 'subnet');
  const stateful = await created(
    demo.post('/subnets', v6(netId, { cidr: '2001:db8:2::/64', ipv6_address_mode: 'dhcpv6-stateful' })),
    'subnet',
  );
  const port = await created(demo.post('/ports', { port: { network_id: netId } }), 'port');
  assert.equal(port.fixed_ips.length, 2);
  expectError(
    await demo.del(`/subnets/${stateful.id}`),
    409,
    'SubnetInUse',
    `Unable to complete operation on subnet ${stateful.id}: One or more ports have an IP allocation from this subnet.`,
  );
  assert.equal((await demo.del(`/subnets/${slaac.id}`)).status, 204);
  const after = (await demo.get(`/ports/${port.id}`)).body.port;
  assert.deepEqual(
    after.fixed_ips.map((f: { subnet_id: string }) => f.subnet_id),
    [stateful.id],
  );
  // The address going is a change of the port (Neutron's IPAllocation revises its port).
  assert.equal(after.revision_number, port.revision_number + 1);
  const again = await created(
    demo.post('/subnets', v6(netId, { cidr: '2001:db8:3::/64', ipv6_address_mode: 'dhcpv6-stateless', ipv6_ra_mode: 'dhcpv6-stateless' })),
    'subnet',
  );
  const router = await created(demo.post('/routers', { router: { name: 'r' } }), 'router');
  assert.equal((await demo.put(`/routers/${router.id}/add_router_interface`, { subnet_id: again.id })).status, 200);
  expectError(await demo.del(`/subnets/${again.id}`), 409, 'SubnetInUse');
});
