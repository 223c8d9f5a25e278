// Routers over HTTP: the canonical scenario's router (gateway 10.123.123.102 on the flat external
// provider network, interface 172.16.1.1 on selfservice), Neutron's router errors, and that every
// refused request leaves the state as it was.
// Every test starts a server of its own and builds the scenario up to what it needs, so it passes alone.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import type { Api } from '../helpers/client.ts';
import { adminDemoOther, created, expectError, feedHead, l3Snapshot } from '../helpers/networking.ts';
import type { Change, Port } from '../helpers/shapes.ts';

/** A new server (closed when the test ends): the external flat `provider` network and demo's `selfservice`. */
async function providerAndSelfservice(t: TestContext) {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { admin, demo, demoProject, other, otherProject } = await adminDemoOther(srv.url);

  const provider = await created(
    admin.post('/networks', {
      network: { name: 'provider', 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'provider' },
    }),
    'network',
  );
  const providerSubnet = await created(
    admin.post('/subnets', {
      subnet: {
        network_id: provider.id,
        name: 'provider',
        ip_version: 4,
        cidr: '10.123.123.0/24',
        gateway_ip: '10.123.123.1',
        allocation_pools: [{ start: '10.123.123.100', end: '10.123.123.200' }],
        dns_nameservers: ['8.8.4.4'],
      },
    }),
    'subnet',
  );
  const selfservice = await created(demo.post('/networks', { network: { name: 'selfservice' } }), 'network');
  const selfSubnet = await created(
    demo.post('/subnets', {
      subnet: { network_id: selfservice.id, name: 'selfservice', ip_version: 4, cidr: '172.16.1.0/24', dns_nameservers: ['8.8.4.4'] },
    }),
    'subnet',
  );
  /** Everything a refused request must leave alone (resources and, unless `feed` is false, the change feed). */
  const snapshot = (feed = true) => l3Snapshot(admin, feed);
  return { admin, demo, demoProject, other, otherProject, provider, providerSubnet, selfservice, selfSubnet, snapshot };
}
type Scenario = Awaited<ReturnType<typeof providerAndSelfservice>>;

/** demo's `router` (gateway 10.123.123.102, interface 172.16.1.1) and the instance port 172.16.1.3 behind floating IP 10.123.123.104. */
async function canonicalRouter({ admin, demo, demoProject, provider, providerSubnet, selfservice, selfSubnet }: Scenario) {
  const routerId = (await created(demo.post('/routers', { router: { name: 'router' } }), 'router')).id;
  const gw = await admin.put(`/routers/${routerId}`, {
    router: {
      external_gateway_info: {
        network_id: provider.id,
        external_fixed_ips: [{ subnet_id: providerSubnet.id, ip_address: '10.123.123.102' }],
      },
    },
  });
  assert.equal(gw.status, 200, JSON.stringify(gw.body));
  const add = await demo.put(`/routers/${routerId}/add_router_interface`, { subnet_id: selfSubnet.id });
  assert.equal(add.status, 200, JSON.stringify(add.body));
  const instancePort = await created(
    demo.post('/ports', {
      port: { network_id: selfservice.id, name: 'instance-port', fixed_ips: [{ subnet_id: selfSubnet.id, ip_address: '172.16.1.3' }] },
    }),
    'port',
  );
  await created(
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
  return { routerId, intfPortId: add.body.port_id as string, instancePort };
}

test('the canonical router: gateway 10.123.123.102 on provider, interface 172.16.1.1 on selfservice', async (t) => {
  const { admin, demo, demoProject, provider, providerSubnet, selfservice, selfSubnet, snapshot } = await providerAndSelfservice(t);
  const router = await created(demo.post('/routers', { router: { name: 'router' } }), 'router');
  const routerId = router.id;
  assert.equal(router.status, 'ACTIVE');
  assert.equal(router.admin_state_up, true);
  assert.equal(router.external_gateway_info, null);
  assert.deepEqual(router.routes, []);
  assert.equal(router.project_id, demoProject);
  assert.equal(router.tenant_id, demoProject);
  assert.equal(router.revision_number, 0);
  assert.ok(!('distributed' in router) && !('ha' in router), 'distributed/ha are admin-only to read');
  const asAdmin = (await admin.get(`/routers/${routerId}`)).body.router;
  assert.equal(asAdmin.distributed, false);
  assert.equal(asAdmin.ha, false);

  // Choosing the gateway address is admin-only.
  const before = await snapshot();
  const denied = await demo.put(`/routers/${routerId}`, {
    router: { external_gateway_info: { network_id: provider.id, external_fixed_ips: [{ ip_address: '10.123.123.102' }] } },
  });
  expectError(denied, 403, 'PolicyNotAuthorized', /external_gateway_info:external_fixed_ips.*is disallowed by policy/);
  const snat = await demo.put(`/routers/${routerId}`, {
    router: { external_gateway_info: { network_id: provider.id, enable_snat: false } },
  });
  expectError(snat, 403, 'PolicyNotAuthorized', /enable_snat/);
  assert.equal(await snapshot(), before, 'refused gateway changes changed nothing');

  const set = await admin.put(`/routers/${routerId}`, {
    router: {
      external_gateway_info: {
        network_id: provider.id,
        external_fixed_ips: [{ subnet_id: providerSubnet.id, ip_address: '10.123.123.102' }],
      },
    },
  });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  assert.deepEqual(set.body.router.external_gateway_info, {
    network_id: provider.id,
    enable_snat: true,
    external_fixed_ips: [{ subnet_id: providerSubnet.id, ip_address: '10.123.123.102' }],
  });
  const shown = (await demo.get(`/routers/${routerId}`)).body.router;
  assert.deepEqual(shown.external_gateway_info, set.body.router.external_gateway_info);

  // The gateway port: on provider, owned by nobody (admins only see it), DOWN until an agent plugs it.
  const gwPorts = (await admin.get(`/ports?device_id=${routerId}&device_owner=network:router_gateway`)).body.ports;
  assert.equal(gwPorts.length, 1);
  const gw = gwPorts[0];
  assert.equal(gw.network_id, provider.id);
  assert.equal(gw.project_id, '');
  assert.equal(gw.status, 'DOWN');
  assert.deepEqual(gw.security_groups, []);
  assert.deepEqual(gw.fixed_ips, [{ subnet_id: providerSubnet.id, ip_address: '10.123.123.102' }]);
  assert.deepEqual((await demo.get(`/ports?device_id=${routerId}`)).body.ports, [], 'the gateway port is hidden from the router owner');
  assert.equal((await demo.get(`/ports/${gw.id}`)).status, 404);

  // The interface on selfservice takes the subnet's gateway address.
  const add = await demo.put(`/routers/${routerId}/add_router_interface`, { subnet_id: selfSubnet.id });
  assert.equal(add.status, 200, JSON.stringify(add.body));
  const intfPortId = add.body.port_id;
  assert.deepEqual(add.body, {
    id: routerId,
    tenant_id: demoProject,
    project_id: demoProject,
    port_id: intfPortId,
    network_id: selfservice.id,
    subnet_id: selfSubnet.id,
    subnet_ids: [selfSubnet.id],
  });
  const intf = (await demo.get(`/ports/${intfPortId}`)).body.port;
  assert.deepEqual(intf.fixed_ips, [{ subnet_id: selfSubnet.id, ip_address: '172.16.1.1' }]);
  assert.equal(intf.device_owner, 'network:router_interface');
  assert.equal(intf.device_id, routerId);
  assert.equal(intf.project_id, demoProject);
  assert.deepEqual(intf.security_groups, []);
  const listed = (await demo.get(`/ports?device_id=${routerId}`)).body.ports;
  assert.deepEqual(
    listed.map((p: Port) => p.id),
    [intfPortId],
  );
  assert.ok((await demo.get(`/routers/${routerId}`)).body.router.revision_number > router.revision_number);

  // The instance's port and its floating IP 10.123.123.104.
  const instancePort = await created(
    demo.post('/ports', {
      port: { network_id: selfservice.id, name: 'instance-port', fixed_ips: [{ subnet_id: selfSubnet.id, ip_address: '172.16.1.3' }] },
    }),
    'port',
  );
  const fip = await created(
    admin.post('/floatingips', {
      floatingip: { floating_network_id: provider.id, floating_ip_address: '10.123.123.104', project_id: demoProject },
    }),
    'floatingip',
  );
  const assoc = await demo.put(`/floatingips/${fip.id}`, { floatingip: { port_id: instancePort.id } });
  assert.equal(assoc.status, 200, JSON.stringify(assoc.body));
  assert.equal(assoc.body.floatingip.router_id, routerId);
  assert.equal(assoc.body.floatingip.fixed_ip_address, '172.16.1.3');
});

test('other projects see neither the router nor its actions', async (t) => {
  const scenario = await providerAndSelfservice(t);
  const { admin, other, selfSubnet, snapshot } = scenario;
  const { routerId } = await canonicalRouter(scenario);
  assert.deepEqual((await other.get('/routers')).body.routers, []);
  expectError(await other.get(`/routers/${routerId}`), 404, 'RouterNotFound', `Router ${routerId} could not be found`);
  const before = await snapshot();
  expectError(await other.put(`/routers/${routerId}`, { router: { name: 'mine' } }), 404, 'RouterNotFound');
  expectError(await other.del(`/routers/${routerId}`), 404, 'RouterNotFound');
  expectError(await other.put(`/routers/${routerId}/add_router_interface`, { subnet_id: selfSubnet.id }), 404, 'RouterNotFound');
  expectError(await other.put(`/routers/${routerId}/remove_router_interface`, { subnet_id: selfSubnet.id }), 404, 'RouterNotFound');
  assert.equal(await snapshot(), before);
  assert.equal((await admin.get('/routers')).body.routers.length, 1, 'admins see every router');
});

test('gateway errors: not external, not found, address taken, pool exhausted, gateway address', async (t) => {
  const scenario = await providerAndSelfservice(t);
  const { admin, demo, demoProject, other, provider, providerSubnet, selfservice, snapshot } = scenario;
  const { routerId } = await canonicalRouter(scenario);
  const othersNet = await created(other.post('/networks', { network: { name: 'private' } }), 'network');
  const before = await snapshot();
  expectError(
    await demo.post('/routers', { router: { name: 'r2', external_gateway_info: { network_id: selfservice.id } } }),
    400,
    'BadRequest',
    `Bad router request: Network ${selfservice.id} is not an external network.`,
  );
  expectError(
    await demo.put(`/routers/${routerId}`, { router: { external_gateway_info: { network_id: selfservice.id } } }),
    400,
    'BadRequest',
    /is not an external network/,
  );
  const missing = '3c338602-d806-488a-ae66-c4c8f8d13b9b';
  expectError(
    await demo.post('/routers', { router: { external_gateway_info: { network_id: missing } } }),
    404,
    'NetworkNotFound',
    `Network ${missing} could not be found.`,
  );
  expectError(await demo.post('/routers', { router: { external_gateway_info: { network_id: othersNet.id } } }), 404, 'NetworkNotFound');
  expectError(
    await admin.post('/routers', {
      router: {
        name: 'r2',
        project_id: demoProject,
        external_gateway_info: { network_id: provider.id, external_fixed_ips: [{ ip_address: '10.123.123.102' }] },
      },
    }),
    409,
    'IpAddressAlreadyAllocated',
    `IP address 10.123.123.102 already allocated in subnet ${providerSubnet.id}`,
  );
  expectError(
    await admin.post('/routers', {
      router: { external_gateway_info: { network_id: provider.id, external_fixed_ips: [{ ip_address: '10.123.123.1' }] } },
    }),
    400,
    'BadRequest',
    'Bad router request: External IP 10.123.123.1 is the same as the gateway IP.',
  );
  expectError(
    await demo.post('/routers', { router: { external_gateway_info: { network_id: 'not-a-uuid' } } }),
    400,
    'HTTPBadRequest',
    /^Invalid input for external_gateway_info/,
  );
  expectError(await admin.post('/routers', { router: { distributed: true } }), 400, 'BadRequest');
  expectError(await demo.post('/routers', { router: { distributed: false } }), 403, 'PolicyNotAuthorized');
  assert.equal(await snapshot(), before, 'refused router creates/updates changed nothing');

  // A one-address external network: the first gateway takes it, the second finds none.
  const tiny = await created(
    admin.post('/networks', { network: { name: 'tiny', 'router:external': true, 'provider:network_type': 'vxlan' } }),
    'network',
  );
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
  const r1 = await created(demo.post('/routers', { router: { name: 'tiny1', external_gateway_info: { network_id: tiny.id } } }), 'router');
  assert.equal(r1.external_gateway_info.external_fixed_ips[0].ip_address, '192.0.2.10');
  assert.equal(r1.external_gateway_info.enable_snat, true);
  const mid = await snapshot();
  expectError(
    await demo.post('/routers', { router: { name: 'tiny2', external_gateway_info: { network_id: tiny.id } } }),
    409,
    'IpAddressGenerationFailure',
    `No more IP addresses available on network ${tiny.id}.`,
  );
  assert.equal(await snapshot(), mid, 'the router whose gateway failed was not created');

  // Moving the gateway to another external network replaces its port; clearing it removes the port.
  const oldGw = (await admin.get(`/ports?device_id=${r1.id}`)).body.ports[0];
  const moved = await demo.put(`/routers/${r1.id}`, { router: { external_gateway_info: { network_id: provider.id } } });
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  assert.equal(moved.body.router.external_gateway_info.network_id, provider.id);
  const newGw = (await admin.get(`/ports?device_id=${r1.id}`)).body.ports;
  assert.equal(newGw.length, 1);
  assert.notEqual(newGw[0].id, oldGw.id);
  assert.equal(newGw[0].network_id, provider.id);
  assert.equal((await admin.get(`/ports/${oldGw.id}`)).status, 404);
  // Same network, new address (admin): the same port changes its address. The new one lies outside the
  // pool (.100 to .200), where the gateway's random address cannot already be.
  const readdr = await admin.put(`/routers/${r1.id}`, {
    router: { external_gateway_info: { network_id: provider.id, external_fixed_ips: [{ ip_address: '10.123.123.250' }] } },
  });
  assert.equal(readdr.status, 200, JSON.stringify(readdr.body));
  assert.equal(readdr.body.router.external_gateway_info.external_fixed_ips[0].ip_address, '10.123.123.250');
  assert.equal((await admin.get(`/ports?device_id=${r1.id}`)).body.ports[0].id, newGw[0].id);
  // enable_snat is admin-settable and resets to the default when the gateway is set without it.
  const nosnat = await admin.put(`/routers/${r1.id}`, {
    router: { external_gateway_info: { network_id: provider.id, enable_snat: false } },
  });
  assert.equal(nosnat.body.router.external_gateway_info.enable_snat, false);
  const cleared = await demo.put(`/routers/${r1.id}`, { router: { external_gateway_info: {} } });
  assert.equal(cleared.status, 200, JSON.stringify(cleared.body));
  assert.equal(cleared.body.router.external_gateway_info, null);
  assert.deepEqual((await admin.get(`/ports?device_id=${r1.id}`)).body.ports, []);
  assert.equal((await demo.del(`/routers/${r1.id}`)).status, 204);
  assert.equal((await other.del(`/networks/${othersNet.id}`)).status, 204);
});

test('a gateway in use by floating IPs can be neither cleared nor moved', async (t) => {
  const scenario = await providerAndSelfservice(t);
  const { admin, demo, provider, snapshot } = scenario;
  const { routerId } = await canonicalRouter(scenario);
  const before = await snapshot(false);
  const msg = `Gateway cannot be updated for router ${routerId}, since a gateway to external network ${provider.id} is required by one or more floating IPs.`;
  expectError(
    await demo.put(`/routers/${routerId}`, { router: { external_gateway_info: null } }),
    409,
    'RouterExternalGatewayInUseByFloatingIp',
    msg,
  );
  expectError(
    await demo.put(`/routers/${routerId}`, { router: { external_gateway_info: {} } }),
    409,
    'RouterExternalGatewayInUseByFloatingIp',
    msg,
  );
  assert.equal(await snapshot(false), before);
  const ext2 = await created(admin.post('/networks', { network: { name: 'ext2', 'router:external': true } }), 'network');
  await created(
    admin.post('/subnets', { subnet: { network_id: ext2.id, ip_version: 4, cidr: '198.51.100.0/24', enable_dhcp: false } }),
    'subnet',
  );
  const mid = await snapshot();
  expectError(
    await demo.put(`/routers/${routerId}`, { router: { name: 'renamed', external_gateway_info: { network_id: ext2.id } } }),
    409,
    'RouterExternalGatewayInUseByFloatingIp',
  );
  assert.equal(await snapshot(), mid, 'nothing changed, not even the name');
  assert.equal((await demo.get(`/routers/${routerId}`)).body.router.name, 'router');
  assert.equal((await admin.del(`/subnets/${(await admin.get(`/subnets?network_id=${ext2.id}`)).body.subnets[0].id}`)).status, 204);
  assert.equal((await admin.del(`/networks/${ext2.id}`)).status, 204);
  assert.equal(await snapshot(false), before);
  // Plain updates still work.
  const upd = await demo.put(`/routers/${routerId}`, { router: { description: 'edge', admin_state_up: true } });
  assert.equal(upd.status, 200);
  assert.equal(upd.body.router.description, 'edge');
  assert.equal(upd.body.router.external_gateway_info.external_fixed_ips[0].ip_address, '10.123.123.102');
});

test('add_router_interface errors', async (t) => {
  const scenario = await providerAndSelfservice(t);
  const { admin, demo, providerSubnet, selfSubnet, snapshot } = scenario;
  const { routerId, intfPortId, instancePort } = await canonicalRouter(scenario);
  const before = await snapshot(false);
  const add = (body: unknown, as: Api = demo) => as.put(`/routers/${routerId}/add_router_interface`, body);
  expectError(await add({}), 400, 'BadRequest', 'Bad router request: Either subnet_id or port_id must be specified.');
  expectError(await add(undefined), 400, 'BadRequest', /Either subnet_id or port_id/);
  expectError(
    await add({ subnet_id: selfSubnet.id, port_id: instancePort.id }),
    400,
    'BadRequest',
    'Bad router request: Cannot specify both subnet-id and port-id.',
  );
  expectError(await add({ subnet_id: 'nope' }), 400, 'BadRequest', "Bad router request: 'nope' is not a valid UUID.");
  expectError(
    await add({ subnet_id: selfSubnet.id }),
    400,
    'BadRequest',
    `Bad router request: Router already has a port on subnet ${selfSubnet.id}.`,
  );
  expectError(await add({ subnet_id: '3c338602-d806-488a-ae66-c4c8f8d13b9b' }), 404, 'SubnetNotFound');
  expectError(await add({ subnet_id: providerSubnet.id }, admin), 400, 'BadRequest', /Router already has a port on subnet/);

  // A subnet without a gateway.
  const net2 = await created(demo.post('/networks', { network: { name: 'net2' } }), 'network');
  const noGw = await created(
    demo.post('/subnets', { subnet: { network_id: net2.id, ip_version: 4, cidr: '10.50.0.0/24', gateway_ip: null } }),
    'subnet',
  );
  // An overlapping subnet on another network.
  const net3 = await created(demo.post('/networks', { network: { name: 'net3' } }), 'network');
  const wide = await created(demo.post('/subnets', { subnet: { network_id: net3.id, ip_version: 4, cidr: '172.16.0.0/16' } }), 'subnet');
  // A subnet overlapping the external network's.
  const net4 = await created(demo.post('/networks', { network: { name: 'net4' } }), 'network');
  const extOverlap = await created(
    demo.post('/subnets', { subnet: { network_id: net4.id, ip_version: 4, cidr: '10.123.0.0/16' } }),
    'subnet',
  );
  // An admin-owned shared network's subnet.
  const shared = await created(admin.post('/networks', { network: { name: 'shared', shared: true } }), 'network');
  const sharedSub = await created(
    admin.post('/subnets', { subnet: { network_id: shared.id, ip_version: 4, cidr: '10.60.0.0/24' } }),
    'subnet',
  );
  // Ports: one already in use by a device, one without addresses.
  const used = await created(
    demo.post('/ports', { port: { network_id: net3.id, device_id: 'some-instance', device_owner: 'compute:nova' } }),
    'port',
  );
  const net5 = await created(demo.post('/networks', { network: { name: 'net5' } }), 'network');
  const bare = await created(demo.post('/ports', { port: { network_id: net5.id } }), 'port');
  assert.deepEqual(bare.fixed_ips, []);

  const mid = await snapshot();
  expectError(
    await add({ subnet_id: noGw.id }),
    400,
    'BadRequest',
    'Bad router request: Subnet for router interface must have a gateway IP.',
  );
  expectError(
    await add({ subnet_id: wide.id }),
    400,
    'BadRequest',
    `Bad router request: Cidr 172.16.0.0/16 of subnet ${wide.id} overlaps with cidr 172.16.1.0/24 of subnet ${selfSubnet.id}.`,
  );
  expectError(
    await add({ subnet_id: extOverlap.id }),
    400,
    'BadRequest',
    `Bad router request: Cidr 10.123.0.0/16 of subnet ${extOverlap.id} overlaps with cidr 10.123.123.0/24 of subnet ${providerSubnet.id}.`,
  );
  expectError(
    await add({ subnet_id: sharedSub.id }),
    400,
    'BadRequest',
    `Bad router request: Cannot add interface to router because subnet ${sharedSub.id} is not owned by project making the request.`,
  );
  expectError(
    await add({ port_id: used.id }),
    409,
    'PortInUse',
    `Unable to complete operation on port ${used.id} for network ${net3.id}. Port already has an attached device some-instance.`,
  );
  expectError(await add({ port_id: intfPortId }), 409, 'PortInUse');
  expectError(await add({ port_id: bare.id }), 400, 'BadRequest', 'Bad router request: Router port must have at least one fixed IP.');
  expectError(await add({ port_id: '3c338602-d806-488a-ae66-c4c8f8d13b9b' }), 404, 'PortNotFound');
  assert.equal(await snapshot(), mid, 'refused interface additions changed nothing');

  for (const id of [used.id, bare.id]) assert.equal((await demo.del(`/ports/${id}`)).status, 204);
  for (const id of [noGw.id, wide.id, extOverlap.id]) assert.equal((await demo.del(`/subnets/${id}`)).status, 204);
  for (const id of [net2.id, net3.id, net4.id, net5.id]) assert.equal((await demo.del(`/networks/${id}`)).status, 204);
  assert.equal((await admin.del(`/subnets/${sharedSub.id}`)).status, 204);
  assert.equal((await admin.del(`/networks/${shared.id}`)).status, 204);
  assert.equal(await snapshot(false), before);
});

test('interfaces by port: the port becomes the router interface; removal by port deletes it', async (t) => {
  const scenario = await providerAndSelfservice(t);
  const { admin, demo, demoProject, selfSubnet, snapshot } = scenario;
  const { routerId, instancePort } = await canonicalRouter(scenario);
  const net = await created(demo.post('/networks', { network: { name: 'byport' } }), 'network');
  const sub = await created(demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.70.0.0/24' } }), 'subnet');
  const port = await created(
    demo.post('/ports', { port: { network_id: net.id, name: 'rtr', fixed_ips: [{ subnet_id: sub.id, ip_address: '10.70.0.1' }] } }),
    'port',
  );
  const r = await demo.put(`/routers/${routerId}/add_router_interface`, { port_id: port.id });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body, {
    id: routerId,
    tenant_id: demoProject,
    project_id: demoProject,
    port_id: port.id,
    network_id: net.id,
    subnet_id: sub.id,
    subnet_ids: [sub.id],
  });
  const p = (await demo.get(`/ports/${port.id}`)).body.port;
  assert.equal(p.device_owner, 'network:router_interface');
  assert.equal(p.device_id, routerId);

  // Router ports cannot be deleted through the port API while the router exists.
  expectError(
    await demo.del(`/ports/${port.id}`),
    409,
    'ServicePortInUse',
    `Port ${port.id} cannot be deleted directly via the port API: has device owner network:router_interface.`,
  );
  const gw = (await admin.get(`/ports?device_id=${routerId}&device_owner=network:router_gateway`)).body.ports[0];
  expectError(await admin.del(`/ports/${gw.id}`), 409, 'ServicePortInUse', /has device owner network:router_gateway/);

  const before = await snapshot();
  expectError(
    await demo.put(`/routers/${routerId}/remove_router_interface`, { port_id: instancePort.id }),
    404,
    'RouterInterfaceNotFound',
    `Router ${routerId} does not have an interface with id ${instancePort.id}`,
  );
  expectError(
    await demo.put(`/routers/${routerId}/remove_router_interface`, { port_id: port.id, subnet_id: selfSubnet.id }),
    400,
    'SubnetMismatchForPort',
  );
  expectError(await demo.put(`/routers/${routerId}/remove_router_interface`, {}), 400, 'BadRequest', /Either subnet_id or port_id/);
  assert.equal(await snapshot(), before);

  const rm = await demo.put(`/routers/${routerId}/remove_router_interface`, { port_id: port.id, subnet_id: sub.id });
  assert.equal(rm.status, 200, JSON.stringify(rm.body));
  assert.deepEqual(rm.body, {
    id: routerId,
    tenant_id: demoProject,
    project_id: demoProject,
    port_id: port.id,
    network_id: net.id,
    subnet_id: sub.id,
    subnet_ids: [sub.id],
  });
  expectError(await demo.get(`/ports/${port.id}`), 404, 'PortNotFound');

  // By subnet, then removal by subnet; a subnet that is not attached is RouterInterfaceNotFoundForSubnet.
  const add = await demo.put(`/routers/${routerId}/add_router_interface`, { subnet_id: sub.id });
  assert.equal(add.status, 200);
  const rm2 = await demo.put(`/routers/${routerId}/remove_router_interface`, { subnet_id: sub.id });
  assert.equal(rm2.status, 200, JSON.stringify(rm2.body));
  assert.equal(rm2.body.port_id, add.body.port_id);
  expectError(await demo.get(`/ports/${add.body.port_id}`), 404, 'PortNotFound');
  expectError(
    await demo.put(`/routers/${routerId}/remove_router_interface`, { subnet_id: sub.id }),
    404,
    'RouterInterfaceNotFoundForSubnet',
    `Router ${routerId} has no interface on subnet ${sub.id}`,
  );
  assert.equal((await demo.del(`/subnets/${sub.id}`)).status, 204);
  assert.equal((await demo.del(`/networks/${net.id}`)).status, 204);
});

test('an interface serving floating IPs cannot be removed, nor the router deleted while it has interfaces', async (t) => {
  const scenario = await providerAndSelfservice(t);
  const { admin, demo, selfSubnet, snapshot } = scenario;
  const { routerId, intfPortId } = await canonicalRouter(scenario);
  const before = await snapshot();
  expectError(
    await demo.put(`/routers/${routerId}/remove_router_interface`, { subnet_id: selfSubnet.id }),
    409,
    'RouterInterfaceInUseByFloatingIP',
    `Router interface for subnet ${selfSubnet.id} on router ${routerId} cannot be deleted, as it is required by one or more floating IPs.`,
  );
  expectError(
    await demo.put(`/routers/${routerId}/remove_router_interface`, { port_id: intfPortId }),
    409,
    'RouterInterfaceInUseByFloatingIP',
  );
  expectError(await demo.del(`/routers/${routerId}`), 409, 'RouterInUse', `Router ${routerId} has ports still attached: ${intfPortId}`);
  expectError(await demo.del(`/subnets/${selfSubnet.id}`), 409, 'SubnetInUse');
  assert.equal(await snapshot(), before);

  // Tear down in order: floating IP, interface, router (its gateway port goes with it).
  const fip = (await demo.get('/floatingips')).body.floatingips[0];
  assert.equal((await demo.del(`/floatingips/${fip.id}`)).status, 204);
  const rm = await demo.put(`/routers/${routerId}/remove_router_interface`, { subnet_id: selfSubnet.id });
  assert.equal(rm.status, 200, JSON.stringify(rm.body));
  assert.equal(rm.body.port_id, intfPortId);
  const gw = (await admin.get(`/ports?device_id=${routerId}`)).body.ports;
  assert.equal(gw.length, 1);
  assert.equal((await demo.del(`/routers/${routerId}`)).status, 204);
  expectError(await demo.get(`/routers/${routerId}`), 404, 'RouterNotFound');
  assert.equal((await admin.get(`/ports/${gw[0].id}`)).status, 404, 'the gateway port went with the router');
  assert.deepEqual((await admin.get(`/ports?device_id=${routerId}`)).body.ports, []);
});

test('router quota and the change feed', async (t) => {
  const { admin, other, otherProject, snapshot } = await providerAndSelfservice(t);
  const q = await admin.put(`/quotas/${otherProject}`, { quota: { router: 1 } });
  assert.equal(q.status, 200);
  const head = await feedHead(admin);
  const one = await created(other.post('/routers', { router: { name: 'one' } }), 'router');
  const feed = (await admin.get(`/neutrino/changes?since=${head}`)).body.changes;
  assert.deepEqual(
    feed.map((c: Change) => [c.resource, c.resource_id, c.op]),
    [['router', one.id, 'create']],
  );
  const before = await snapshot();
  expectError(await other.post('/routers', { router: { name: 'two' } }), 409, 'OverQuota');
  assert.equal(await snapshot(), before);
  assert.equal((await other.get('/routers')).body.routers.length, 1);
});
