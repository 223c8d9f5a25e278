// Subnets and ports over HTTP. Every test starts a server of its own with demo's network
// `selfservice` (and, where it needs it, the subnet 172.16.1.0/24), so it passes alone.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { adminDemoOther, errType } from '../helpers/networking.ts';

/** A new server (closed when the test ends) with admin, demo and other, and demo's network `selfservice`. */
async function selfservice(t: TestContext) {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { admin, demo, other } = await adminDemoOther(srv.url);
  const net = await demo.post('/networks', { network: { name: 'selfservice' } });
  assert.equal(net.status, 201, JSON.stringify(net.body));
  return { admin, demo, other, netId: net.body.network.id as string };
}

/** selfservice with its subnet 172.16.1.0/24. */
async function selfserviceSubnet(t: TestContext) {
  const ctx = await selfservice(t);
  const sub = await ctx.demo.post('/subnets', { subnet: { network_id: ctx.netId, ip_version: 4, cidr: '172.16.1.0/24' } });
  assert.equal(sub.status, 201, JSON.stringify(sub.body));
  return { ...ctx, subnetId: sub.body.subnet.id as string };
}

test('subnet defaults: gateway first host, pool the rest, DHCP on', async (t) => {
  const { demo, netId } = await selfservice(t);
  const r = await demo.post('/subnets', {
    subnet: { network_id: netId, ip_version: 4, cidr: '172.16.1.0/24', name: 'selfservice', dns_nameservers: ['8.8.4.4'] },
  });
  assert.equal(r.status, 201);
  const s = r.body.subnet;
  assert.equal(s.gateway_ip, '172.16.1.1');
  assert.deepEqual(s.allocation_pools, [{ start: '172.16.1.2', end: '172.16.1.254' }]);
  assert.equal(s.enable_dhcp, true);
  assert.deepEqual(s.dns_nameservers, ['8.8.4.4']);
  assert.deepEqual((await demo.get(`/networks/${netId}`)).body.network.subnets, [s.id]);
});

test('subnet validation errors', async (t) => {
  const { demo, other, netId } = await selfserviceSubnet(t);
  const cases: Array<[unknown, number, string]> = [
    [{ network_id: netId, ip_version: 4, cidr: '172.16.1.128/25' }, 400, 'InvalidInput'],
    [{ network_id: netId, ip_version: 4, cidr: '10.0.0.0/33' }, 400, 'HTTPBadRequest'],
    [{ network_id: netId, ip_version: 4, cidr: '10.0.0.5/24' }, 400, 'HTTPBadRequest'],
    [{ network_id: netId, ip_version: 6, cidr: '10.9.0.0/24' }, 400, 'InvalidInput'],
    [{ network_id: netId, ip_version: 4, cidr: '10.9.0.0/24', gateway_ip: '10.9.0.255' }, 400, 'InvalidInput'],
    [
      { network_id: netId, ip_version: 4, cidr: '10.9.0.0/24', allocation_pools: [{ start: '10.9.0.1', end: '10.9.0.9' }] },
      409,
      'GatewayConflictWithAllocationPools',
    ],
    [
      { network_id: netId, ip_version: 4, cidr: '10.9.0.0/24', allocation_pools: [{ start: '10.9.0.5', end: '10.9.1.9' }] },
      400,
      'OutOfBoundsAllocationPool',
    ],
    [
      {
        network_id: netId,
        ip_version: 4,
        cidr: '10.9.0.0/24',
        dns_nameservers: ['1.1.1.1', '1.1.1.2', '1.1.1.3', '1.1.1.4', '1.1.1.5', '1.1.1.6'],
      },
      400,
      'DNSNameServersExhausted',
    ],
    // Neither a CIDR nor a pool: _create_subnet_precommit's BadRequest (subnet_allocation).
    [{ network_id: netId, ip_version: 4 }, 400, 'BadRequest'],
    [{ network_id: netId, cidr: '10.9.0.0/24' }, 400, 'HTTPBadRequest'],
    [{ network_id: '3c338602-d806-488a-ae66-c4c8f8d13b9b', ip_version: 4, cidr: '10.9.0.0/24' }, 404, 'NetworkNotFound'],
  ];
  for (const [body, status, type] of cases) {
    const r = await demo.post('/subnets', { subnet: body });
    assert.equal(r.status, status, JSON.stringify(body) + JSON.stringify(r.body));
    assert.equal(errType(r), type, JSON.stringify(body));
  }
  assert.equal((await demo.get(`/networks/${netId}`)).body.network.subnets.length, 1, 'refused requests changed nothing');
  const foreign = await other.post('/subnets', { subnet: { network_id: netId, ip_version: 4, cidr: '10.9.0.0/24' } });
  assert.equal(foreign.status, 404);
});

test('ports: allocated address, generated MAC, default security group, DOWN', async (t) => {
  const { demo, netId, subnetId } = await selfserviceSubnet(t);
  const r = await demo.post('/ports', { port: { network_id: netId, name: 'p1' } });
  assert.equal(r.status, 201);
  const p = r.body.port;
  assert.match(p.mac_address, /^fa:16:3e(:[0-9a-f]{2}){3}$/);
  assert.equal(p.status, 'DOWN');
  assert.equal(p.fixed_ips.length, 1);
  assert.equal(p.fixed_ips[0].subnet_id, subnetId);
  assert.ok(!['172.16.1.0', '172.16.1.1', '172.16.1.255'].includes(p.fixed_ips[0].ip_address));
  assert.equal(p.security_groups.length, 1);
  assert.ok(!('binding:host_id' in p), 'binding attributes are admin-only');
  const sg = await demo.get(`/security-groups/${p.security_groups[0]}`);
  if (sg.status === 200) assert.equal(sg.body.security_group.name, 'default');
});

test('ports: requested address, taken address, address outside subnet, MAC in use', async (t) => {
  const { demo, netId, subnetId } = await selfserviceSubnet(t);
  const r = await demo.post('/ports', {
    port: { network_id: netId, fixed_ips: [{ ip_address: '172.16.1.3' }], mac_address: 'fa:16:3e:a7:f7:5a' },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.deepEqual(r.body.port.fixed_ips, [{ subnet_id: subnetId, ip_address: '172.16.1.3' }]);
  assert.equal(r.body.port.mac_address, 'fa:16:3e:a7:f7:5a');
  const taken = await demo.post('/ports', { port: { network_id: netId, fixed_ips: [{ ip_address: '172.16.1.3' }] } });
  assert.equal(taken.status, 409);
  assert.equal(errType(taken), 'IpAddressAlreadyAllocated');
  assert.equal(taken.body.NeutronError.message, `IP address 172.16.1.3 already allocated in subnet ${subnetId}`);
  const outside = await demo.post('/ports', { port: { network_id: netId, fixed_ips: [{ subnet_id: subnetId, ip_address: '10.0.0.3' }] } });
  assert.equal(outside.status, 400);
  assert.equal(errType(outside), 'InvalidIpForSubnet');
  const nowhere = await demo.post('/ports', { port: { network_id: netId, fixed_ips: [{ ip_address: '10.0.0.3' }] } });
  assert.equal(errType(nowhere), 'InvalidIpForNetwork');
  const mac = await demo.post('/ports', { port: { network_id: netId, mac_address: 'FA:16:3E:A7:F7:5A' } });
  assert.equal(mac.status, 409);
  assert.equal(errType(mac), 'MacAddressInUse');
  const badMac = await demo.post('/ports', { port: { network_id: netId, mac_address: 'ff:ff:ff:ff:ff:ff' } });
  assert.equal(badMac.status, 400);
});

test('ports: filters the CLI uses, binding by admin, update fixed_ips, delete', async (t) => {
  const { admin, demo, other, netId } = await selfserviceSubnet(t);
  assert.equal((await demo.post('/ports', { port: { network_id: netId, fixed_ips: [{ ip_address: '172.16.1.3' }] } })).status, 201);
  const byIp = await demo.get('/ports?fixed_ips=ip_address%3D172.16.1.3');
  assert.equal(byIp.body.ports.length, 1);
  const id = byIp.body.ports[0].id;
  const bind = await admin.put(`/ports/${id}`, {
    port: { 'binding:host_id': 'compute1', device_id: 'vm-1', device_owner: 'compute:nova' },
  });
  assert.equal(bind.status, 200);
  assert.equal(bind.body.port['binding:host_id'], 'compute1');
  assert.equal(bind.body.port['binding:vif_type'], 'bridge');
  assert.equal((await demo.put(`/ports/${id}`, { port: { 'binding:host_id': 'x' } })).status, 403);
  assert.equal((await demo.get('/ports?device_id=vm-1')).body.ports[0].id, id);
  const moved = await demo.put(`/ports/${id}`, { port: { fixed_ips: [{ ip_address: '172.16.1.3' }, { ip_address: '172.16.1.200' }] } });
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  assert.deepEqual(moved.body.port.fixed_ips.map((f: { ip_address: string }) => f.ip_address).sort(), ['172.16.1.200', '172.16.1.3']);
  const macChange = await admin.put(`/ports/${id}`, { port: { mac_address: 'fa:16:3e:00:00:01' } });
  assert.equal(macChange.status, 409);
  assert.equal(errType(macChange), 'PortBound');
  assert.equal((await other.get(`/ports/${id}`)).status, 404);
  assert.equal((await demo.del(`/ports/${id}`)).status, 204);
  assert.equal((await demo.get(`/ports/${id}`)).status, 404);
});

test('port security and address pairs', async (t) => {
  const { demo, netId } = await selfserviceSubnet(t);
  const noSec = await demo.post('/ports', { port: { network_id: netId, port_security_enabled: false } });
  assert.equal(noSec.status, 201);
  assert.deepEqual(noSec.body.port.security_groups, []);
  const conflictBody = await demo.post('/ports', {
    port: { network_id: netId, port_security_enabled: false, allowed_address_pairs: [{ ip_address: '10.0.0.9' }] },
  });
  assert.equal(errType(conflictBody), 'AddressPairAndPortSecurityRequired');
  const withSg = (await demo.post('/ports', { port: { network_id: netId } })).body.port;
  const off = await demo.put(`/ports/${withSg.id}`, { port: { port_security_enabled: false } });
  assert.equal(off.status, 409);
  assert.equal(errType(off), 'PortSecurityPortHasSecurityGroup');
  const offCleared = await demo.put(`/ports/${withSg.id}`, { port: { port_security_enabled: false, security_groups: [] } });
  assert.equal(offCleared.status, 200);
  const pairs = await demo.post('/ports', {
    port: {
      network_id: netId,
      allowed_address_pairs: [{ ip_address: '172.16.1.250' }, { ip_address: '10.1.0.0/24', mac_address: 'fa:16:3e:11:22:33' }],
    },
  });
  assert.equal(pairs.status, 201);
  assert.equal(pairs.body.port.allowed_address_pairs[0].mac_address, pairs.body.port.mac_address);
  const dup = await demo.post('/ports', {
    port: { network_id: netId, allowed_address_pairs: [{ ip_address: '1.2.3.4' }, { ip_address: '1.2.3.4' }] },
  });
  assert.equal(errType(dup), 'DuplicateAddressPairInRequest');
});

test('exhaustion gives IpAddressGenerationFailure; in-use subnet and network cannot be deleted', async (t) => {
  const { demo } = await selfservice(t);
  const net = (await demo.post('/networks', { network: { name: 'tiny' } })).body.network;
  const sub = (await demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.5.0.0/29' } })).body.subnet;
  const made = [];
  for (let i = 0; i < 5; i++) made.push((await demo.post('/ports', { port: { network_id: net.id } })).status);
  assert.deepEqual(made, [201, 201, 201, 201, 201]);
  const full = await demo.post('/ports', { port: { network_id: net.id } });
  assert.equal(full.status, 409);
  assert.equal(errType(full), 'IpAddressGenerationFailure');
  const subDel = await demo.del(`/subnets/${sub.id}`);
  assert.equal(subDel.status, 409);
  assert.equal(errType(subDel), 'SubnetInUse');
  const netDel = await demo.del(`/networks/${net.id}`);
  assert.equal(netDel.status, 409);
  assert.equal(errType(netDel), 'NetworkInUse');
  for (const p of (await demo.get(`/ports?network_id=${net.id}`)).body.ports) assert.equal((await demo.del(`/ports/${p.id}`)).status, 204);
  assert.equal((await demo.del(`/networks/${net.id}`)).status, 204);
  assert.equal((await demo.get(`/subnets/${sub.id}`)).status, 404);
});

test('ports on a network of another project: forbidden unless shared', async (t) => {
  const { admin, other, netId } = await selfservice(t);
  const r = await other.post('/ports', { port: { network_id: netId } });
  assert.equal(r.status, 404);
  const shared = (await admin.post('/networks', { network: { name: 'shared', shared: true } })).body.network;
  await admin.post('/subnets', { subnet: { network_id: shared.id, ip_version: 4, cidr: '10.7.0.0/24' } });
  assert.equal((await other.post('/ports', { port: { network_id: shared.id } })).status, 201);
  const explicit = await other.post('/ports', { port: { network_id: shared.id, fixed_ips: [{ ip_address: '10.7.0.50' }] } });
  assert.equal(explicit.status, 403);
  assert.equal(errType(explicit), 'PolicyNotAuthorized');
});

test('the lowest free address is found again after ports go and after the pools change', async (t) => {
  const { admin, demo, netId, subnetId } = await selfserviceSubnet(t);
  const dhcp = async () => {
    const r = await admin.post('/ports', { port: { network_id: netId, device_owner: 'network:dhcp' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return { id: r.body.port.id as string, ip: r.body.port.fixed_ips[0].ip_address as string };
  };
  const first = await dhcp();
  assert.equal(first.ip, '172.16.1.2');
  const explicit: Record<string, string> = {};
  for (const ip of ['172.16.1.3', '172.16.1.4', '172.16.1.5']) {
    const r = await demo.post('/ports', { port: { network_id: netId, fixed_ips: [{ ip_address: ip }] } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    explicit[ip] = r.body.port.id;
  }
  assert.equal((await dhcp()).ip, '172.16.1.6');
  assert.equal((await admin.del(`/ports/${first.id}`)).status, 204);
  assert.equal((await dhcp()).ip, '172.16.1.2');
  assert.equal((await demo.del(`/ports/${explicit['172.16.1.4']}`)).status, 204);
  assert.equal((await dhcp()).ip, '172.16.1.4');
  const pools = (p: { start: string; end: string }) => demo.put(`/subnets/${subnetId}`, { subnet: { allocation_pools: [p] } });
  assert.equal((await pools({ start: '172.16.1.100', end: '172.16.1.200' })).status, 200);
  assert.equal((await dhcp()).ip, '172.16.1.100');
  assert.equal((await pools({ start: '172.16.1.2', end: '172.16.1.254' })).status, 200);
  assert.equal((await dhcp()).ip, '172.16.1.7');
});
