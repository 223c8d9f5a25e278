// Floating IP port forwardings over HTTP (floating-ip-port-forwarding and its detail, description and
// expose-in-fip extensions): CRUD under /floatingips/{id}/port_forwardings, the floating IP's router
// following its forwardings, and every refusal Neutron's pf_plugin makes, each leaving things as they were.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { adminDemoOther, created, expectError } from '../helpers/networking.ts';

/** demo's router between `provider` (external) and selfservice 172.16.1.0/24, an instance port, a free floating IP. */
async function scenario(t: TestContext) {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { admin, demo, other } = await adminDemoOther(srv.url);
  const provider = await created(
    admin.post('/networks', {
      network: { name: 'provider', 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'provider' },
    }),
    'network',
  );
  await created(
    admin.post('/subnets', { subnet: { network_id: provider.id, ip_version: 4, cidr: '10.123.123.0/24', gateway_ip: '10.123.123.1' } }),
    'subnet',
  );
  const net = await created(demo.post('/networks', { network: { name: 'selfservice' } }), 'network');
  const subnet = await created(demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '172.16.1.0/24' } }), 'subnet');
  const router = await created(
    demo.post('/routers', { router: { name: 'router', external_gateway_info: { network_id: provider.id } } }),
    'router',
  );
  assert.equal((await demo.put(`/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id })).status, 200);
  const port = await created(demo.post('/ports', { port: { network_id: net.id, fixed_ips: [{ ip_address: '172.16.1.3' }] } }), 'port');
  const fip = await created(demo.post('/floatingips', { floatingip: { floating_network_id: provider.id } }), 'floatingip');
  const pfs = `/floatingips/${fip.id}/port_forwardings`;
  const ssh = { internal_port_id: port.id, internal_ip_address: '172.16.1.3', internal_port: 22, external_port: 2222, protocol: 'tcp' };
  return { admin, demo, other, provider, net, subnet, router, port, fip, pfs, ssh };
}

test('extensions: floating-ip-port-forwarding and its companions are listed', async (t) => {
  const { demo } = await scenario(t);
  const aliases = ((await demo.get('/extensions')).body.extensions as Array<{ alias: string }>).map((e) => e.alias);
  for (const a of [
    'expose-port-forwarding-in-fip',
    'floating-ip-port-forwarding',
    'floating-ip-port-forwarding-description',
    'floating-ip-port-forwarding-detail',
    'floating-ip-port-forwarding-port-ranges',
  ]) {
    assert.ok(aliases.includes(a), a);
  }
});

test('create, show, list, update, delete; the floating IP shows them and follows with its router', async (t) => {
  const { demo, router, fip, pfs, ssh, port } = await scenario(t);
  const pf = await created(demo.post(pfs, { port_forwarding: { ...ssh, description: 'ssh' } }), 'port_forwarding');
  assert.deepEqual(
    { ...pf, id: undefined },
    {
      id: undefined,
      external_port: 2222,
      internal_port: 22,
      internal_ip_address: '172.16.1.3',
      protocol: 'tcp',
      internal_port_id: port.id,
      description: 'ssh',
      external_port_range: '2222:2222',
      internal_port_range: '22:22',
    },
  );
  assert.deepEqual((await demo.get(`${pfs}/${pf.id}`)).body.port_forwarding, pf);
  assert.deepEqual((await demo.get(pfs)).body.port_forwardings, [pf]);
  assert.deepEqual((await demo.get(`${pfs}?protocol=udp`)).body.port_forwardings, []);
  assert.deepEqual((await demo.get(`${pfs}/${pf.id}?fields=external_port`)).body.port_forwarding, { external_port: 2222 });
  const shown = (await demo.get(`/floatingips/${fip.id}`)).body.floatingip;
  assert.equal(shown.router_id, router.id);
  assert.equal(shown.port_id, null);
  assert.deepEqual(shown.port_forwardings, [
    { id: pf.id, external_port: 2222, internal_port: 22, internal_ip_address: '172.16.1.3', protocol: 'tcp', internal_port_id: port.id },
  ]);

  const up = await demo.put(`${pfs}/${pf.id}`, { port_forwarding: { external_port: 2200, description: 'moved' } });
  assert.equal(up.status, 200, JSON.stringify(up.body));
  assert.equal(up.body.port_forwarding.external_port, 2200);
  assert.equal(up.body.port_forwarding.description, 'moved');

  const udp = await created(demo.post(pfs, { port_forwarding: { ...ssh, protocol: 'udp' } }), 'port_forwarding');
  assert.equal((await demo.del(`${pfs}/${pf.id}`)).status, 204);
  assert.equal((await demo.get(`/floatingips/${fip.id}`)).body.floatingip.router_id, router.id, 'one forwarding left');
  assert.equal((await demo.del(`${pfs}/${udp.id}`)).status, 204);
  const after = (await demo.get(`/floatingips/${fip.id}`)).body.floatingip;
  assert.equal(after.router_id, null, 'the last forwarding takes the router along');
  assert.deepEqual(after.port_forwardings, []);
});

test('refusals: invalid bodies (400)', async (t) => {
  const { demo, pfs, ssh } = await scenario(t);
  const post = (body: object) => demo.post(pfs, { port_forwarding: body });
  expectError(await post({ ...ssh, external_port: 0 }), 400, 'HTTPBadRequest', /Invalid input for external_port/);
  expectError(await post({ ...ssh, internal_port: 65536 }), 400, 'HTTPBadRequest', /Invalid input for internal_port/);
  expectError(await post({ ...ssh, protocol: 'gre' }), 400, 'HTTPBadRequest', /Invalid input for protocol/);
  expectError(await post({ ...ssh, internal_ip_address: 'x' }), 400, 'HTTPBadRequest', /Invalid input for internal_ip_address/);
  expectError(await post({ ...ssh, internal_port_id: 'nope' }), 400, 'HTTPBadRequest', /Invalid input for internal_port_id/);
  const { protocol: _p, ...noProtocol } = ssh;
  expectError(await post(noProtocol), 400, 'HTTPBadRequest', "Failed to parse request. Required attribute 'protocol' not specified");
  expectError(await post({ ...ssh, bogus: 1 }), 400, 'HTTPBadRequest', "Unrecognized attribute(s) 'bogus'");
  expectError(
    await post({ ...ssh, internal_ip_address: '172.16.1.9' }),
    400,
    'BadRequest',
    /^Bad port_forwarding request: Requested internal IP address 172\.16\.1\.9 is not suitable for internal neutron port/,
  );
  expectError(
    await demo.get(`${pfs}?internal_port=22`),
    400,
    'PortForwardingNotSupportFilterField',
    'Port Forwarding filter internal_port is not supported.',
  );
  assert.deepEqual((await demo.get(pfs)).body.port_forwardings, []);
});

test('refusals: an internal port on a subnet no router connects to the external network (400)', async (t) => {
  const { demo, pfs, ssh, provider } = await scenario(t);
  const lonely = await created(demo.post('/networks', { network: { name: 'lonely' } }), 'network');
  const sub = await created(demo.post('/subnets', { subnet: { network_id: lonely.id, ip_version: 4, cidr: '192.168.50.0/24' } }), 'subnet');
  const p = await created(demo.post('/ports', { port: { network_id: lonely.id } }), 'port');
  const r = await demo.post(pfs, { port_forwarding: { ...ssh, internal_port_id: p.id, internal_ip_address: p.fixed_ips[0].ip_address } });
  expectError(
    r,
    400,
    'BadRequest',
    new RegExp(`External network ${provider.id} is not reachable from subnet ${sub.id}\\. Cannot set Port forwarding for port ${p.id}`),
  );
});

test('refusals: collisions on the external port and the internal socket (400, as Neutron)', async (t) => {
  const { demo, pfs, ssh } = await scenario(t);
  const first = await created(demo.post(pfs, { port_forwarding: ssh }), 'port_forwarding');
  expectError(
    await demo.post(pfs, { port_forwarding: { ...ssh, internal_port: 80 } }),
    400,
    'BadRequest',
    'Bad port_forwarding request: There is a port collision with the external_port_range. The following ranges collide: 2222:2222 and 2222:2222.',
  );
  expectError(
    await demo.post(pfs, { port_forwarding: { ...ssh, external_port: 2223 } }),
    400,
    'BadRequest',
    /There is a port collision with the internal_port_range/,
  );
  const second = await created(demo.post(pfs, { port_forwarding: { ...ssh, external_port: 8080, internal_port: 80 } }), 'port_forwarding');
  expectError(
    await demo.put(`${pfs}/${second.id}`, { port_forwarding: { external_port: 2222 } }),
    400,
    'BadRequest',
    /Another port forwarding entry with the same attributes already exists, conflicting values are {'floating_ip_address': '[0-9.]+', 'external_port': 2222}/,
  );
  assert.equal((await demo.get(pfs)).body.port_forwardings.length, 2);
  assert.equal((await demo.get(`${pfs}/${first.id}`)).body.port_forwarding.external_port, 2222);
});

test('port ranges: N:N and N:1 shown as Neutron shows them; the relation, the range syntax and overlaps refused', async (t) => {
  const { demo, fip, pfs, ssh, port } = await scenario(t);
  const { external_port: _e, internal_port: _i, ...socket } = ssh;
  const post = (body: object) => demo.post(pfs, { port_forwarding: { ...socket, ...body } });
  const nn = await created(post({ external_port_range: '2222:2224', internal_port_range: '22:24' }), 'port_forwarding');
  assert.deepEqual(
    [nn.external_port, nn.internal_port, nn.external_port_range, nn.internal_port_range],
    [null, null, '2222:2224', '22:24'],
  );
  const n1 = await created(post({ external_port_range: '8000:8009', internal_port: 80 }), 'port_forwarding');
  assert.deepEqual([n1.external_port, n1.internal_port, n1.external_port_range, n1.internal_port_range], [null, 80, '8000:8009', '80:80']);
  // The floating IP's detail shows a side's port only when it is one port (_extend_floatingip_dict).
  const detail = (await demo.get(`/floatingips/${fip.id}`)).body.floatingip.port_forwardings as Array<Record<string, unknown>>;
  assert.deepEqual(
    detail.find((f) => f.id === n1.id),
    { id: n1.id, internal_port: 80, internal_ip_address: '172.16.1.3', protocol: 'tcp', internal_port_id: port.id },
  );
  assert.deepEqual(
    (await demo.get(`${pfs}?external_port_range=2222:2224`)).body.port_forwardings.map((f: { id: string }) => f.id),
    [nn.id],
  );

  const relation =
    'Bad port_forwarding request: Invalid ranges of internal and/or external ports. The relation between internal and external ports must be N-N or 1-N.';
  expectError(await post({ external_port_range: '3000:3004', internal_port_range: '30:32' }), 400, 'BadRequest', relation);
  expectError(await post({ external_port: 3000, internal_port_range: '30:32' }), 400, 'BadRequest', relation);
  for (const [range, reason] of [
    ['5:4', 'First port in a port range must be lower than the second port'],
    ['0:10', 'Invalid port: 0, the port must be in the range [1, 65535]'],
    ['4:500000', 'Invalid port: 500000'],
    ['1:2:3', 'Port range must be two integers separated by a colon'],
    ['80:', 'Port range must be two integers separated by a colon'],
  ]) {
    expectError(
      await post({ external_port_range: range, internal_port: 30 }),
      400,
      'HTTPBadRequest',
      `Invalid input for external_port_range. Reason: ${reason}.`,
    );
  }
  expectError(
    await post({ internal_port: 30 }),
    400,
    'HTTPBadRequest',
    "Failed to parse request. Required attribute 'external_port' or 'external_port_range' not specified",
  );
  expectError(
    await post({ external_port_range: '2224:2230', internal_port: 30 }),
    400,
    'BadRequest',
    'Bad port_forwarding request: There is a port collision with the external_port_range. The following ranges collide: 2222:2224 and 2224:2230.',
  );
  expectError(
    await post({ external_port_range: '9000:9002', internal_port_range: '23:25' }),
    400,
    'BadRequest',
    'Bad port_forwarding request: There is a port collision with the internal_port_range. The following ranges collide: 22:24 and 23:25.',
  );
  // An update is checked as it would leave the forwarding: a single internal port for a range is N:1.
  const up = await demo.put(`${pfs}/${nn.id}`, { port_forwarding: { internal_port: 2200 } });
  assert.equal(up.status, 200, JSON.stringify(up.body));
  assert.deepEqual([up.body.port_forwarding.internal_port, up.body.port_forwarding.internal_port_range], [2200, '2200:2200']);
  expectError(await demo.put(`${pfs}/${nn.id}`, { port_forwarding: { internal_port_range: '100:110' } }), 400, 'BadRequest', relation);
  assert.equal((await demo.get(pfs)).body.port_forwardings.length, 2);
});

test('refusals: associations (409) — a FIP bound to a port, a port with its own FIP, associating a FIP in use', async (t) => {
  const { demo, pfs, ssh, fip, port, provider, net } = await scenario(t);
  // A floating IP associated to a port takes no forwardings.
  const other = await created(demo.post('/ports', { port: { network_id: net.id } }), 'port');
  const bound = await created(
    demo.post('/floatingips', { floatingip: { floating_network_id: provider.id, port_id: other.id } }),
    'floatingip',
  );
  expectError(
    await demo.post(`/floatingips/${bound.id}/port_forwardings`, { port_forwarding: ssh }),
    409,
    'FloatingIPPortAlreadyAssociated',
    new RegExp(`^Cannot associate floating IP ${bound.floating_ip_address.replace(/\./g, '\\.')} \\(${bound.id}\\) with port ${port.id}`),
  );
  // A port with its own floating IP gets no forwardings.
  expectError(
    await demo.post(pfs, { port_forwarding: { ...ssh, internal_port_id: other.id, internal_ip_address: other.fixed_ips[0].ip_address } }),
    409,
    'PortHasBindingFloatingIP',
    /as that port already has a binding floating IP\.$/,
  );
  // A floating IP in use by forwardings is neither associated nor deleted.
  await created(demo.post(pfs, { port_forwarding: ssh }), 'port_forwarding');
  const third = await created(demo.post('/ports', { port: { network_id: net.id } }), 'port');
  expectError(
    await demo.put(`/floatingips/${fip.id}`, { floatingip: { port_id: third.id } }),
    409,
    'FipInUseByPortForwarding',
    `Floating IP ${fip.id} in use by Port Forwarding resources.`,
  );
  expectError(await demo.del(`/floatingips/${fip.id}`), 409, 'FipInUseByPortForwarding');
  // Updating the description only keeps the forwardings' router.
  assert.equal((await demo.put(`/floatingips/${fip.id}`, { floatingip: { port_id: null } })).body.floatingip.router_id !== null, true);
  assert.equal((await demo.get(pfs)).body.port_forwardings.length, 1);
});

test('not found (404): a floating IP of another project, an unknown forwarding, an invisible port', async (t) => {
  const { demo, other, pfs, ssh, fip } = await scenario(t);
  const pf = await created(demo.post(pfs, { port_forwarding: ssh }), 'port_forwarding');
  const notFip = `Floating IP ${fip.id} could not be found`;
  expectError(await other.get(pfs), 404, 'FloatingIPNotFound', notFip);
  expectError(await other.get(`${pfs}/${pf.id}`), 404, 'FloatingIPNotFound', notFip);
  expectError(await other.post(pfs, { port_forwarding: { ...ssh, external_port: 1 } }), 404, 'FloatingIPNotFound', notFip);
  expectError(await other.put(`${pfs}/${pf.id}`, { port_forwarding: { description: 'x' } }), 404, 'FloatingIPNotFound', notFip);
  expectError(await other.del(`${pfs}/${pf.id}`), 404, 'FloatingIPNotFound', notFip);
  const missing = '6a3c1ad4-8a4d-4b1e-9d57-2f0e5f6b7c8d';
  expectError(await demo.get(`${pfs}/${missing}`), 404, 'PortForwardingNotFound', `Port Forwarding ${missing} could not be found.`);
  expectError(await demo.del(`${pfs}/${missing}`), 404, 'PortForwardingNotFound');
  expectError(await demo.post(pfs, { port_forwarding: { ...ssh, external_port: 3, internal_port_id: missing } }), 404, 'PortNotFound');
  assert.equal((await demo.get(pfs)).body.port_forwardings.length, 1);
});

test('deleting the internal port removes its forwardings and frees the floating IP', async (t) => {
  const { demo, pfs, ssh, fip, port } = await scenario(t);
  await created(demo.post(pfs, { port_forwarding: ssh }), 'port_forwarding');
  assert.equal((await demo.del(`/ports/${port.id}`)).status, 204);
  assert.deepEqual((await demo.get(pfs)).body.port_forwardings, []);
  assert.equal((await demo.get(`/floatingips/${fip.id}`)).body.floatingip.router_id, null);
  assert.equal((await demo.del(`/floatingips/${fip.id}`)).status, 204);
});

test('a port giving up the forwarded address loses those forwardings; other addresses keep theirs', async (t) => {
  const { demo, pfs, ssh, port, subnet } = await scenario(t);
  const two = await demo.put(`/ports/${port.id}`, {
    port: { fixed_ips: [{ ip_address: '172.16.1.3' }, { subnet_id: subnet.id, ip_address: '172.16.1.4' }] },
  });
  assert.equal(two.status, 200, JSON.stringify(two.body));
  await created(demo.post(pfs, { port_forwarding: ssh }), 'port_forwarding');
  const kept = await created(
    demo.post(pfs, { port_forwarding: { ...ssh, internal_ip_address: '172.16.1.4', external_port: 2244 } }),
    'port_forwarding',
  );
  assert.equal((await demo.put(`/ports/${port.id}`, { port: { fixed_ips: [{ ip_address: '172.16.1.4' }] } })).status, 200);
  assert.deepEqual(
    (await demo.get(pfs)).body.port_forwardings.map((p: { id: string }) => p.id),
    [kept.id],
  );
});
