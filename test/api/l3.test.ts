// L3 scheduling over HTTP: routers wait for an L3 agent, go to the least loaded live one, their ports
// are bound to its host, and that host's view carries the router (gateway, interfaces, floating IPs).
// Agents are server-wide, so every test starts a server of its own and builds what it needs.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { adminDemoOther, created } from '../helpers/networking.ts';
import type { Agent, Port, Resource, ViewRouter } from '../helpers/shapes.ts';

/** A new server (closed when the test ends) with the provider network and demo's `selfservice`. */
async function providerAndSelfservice(t: TestContext) {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { admin, demo, demoProject } = await adminDemoOther(srv.url);
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
        ip_version: 4,
        cidr: '10.123.123.0/24',
        gateway_ip: '10.123.123.1',
        allocation_pools: [{ start: '10.123.123.100', end: '10.123.123.200' }],
      },
    }),
    'subnet',
  );
  const selfservice = await created(demo.post('/networks', { network: { name: 'selfservice' } }), 'network');
  const selfSubnet = await created(
    demo.post('/subnets', { subnet: { network_id: selfservice.id, ip_version: 4, cidr: '172.16.1.0/24' } }),
    'subnet',
  );
  const report = (agent_type: string, host: string, configurations: object = {}) =>
    admin.post('/neutrino/agents/report', { agent: { agent_type, host, configurations, start_flag: true } });
  const view = async (host: string) => {
    const r = await admin.get(`/neutrino/hosts/${host}/view`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.view;
  };
  const routerPorts = async (id: string) =>
    (await admin.get<{ ports: Port[] }>(`/ports?device_id=${id}`)).body.ports.filter((p) => p.device_owner.startsWith('network:router'));
  return { admin, demo, demoProject, provider, providerSubnet, selfservice, selfSubnet, report, view, routerPorts };
}
type L3 = Awaited<ReturnType<typeof providerAndSelfservice>>;

/** demo's `router`: gateway 10.123.123.102 on the provider network, interface on selfservice. */
async function scenarioRouter({ admin, demo, provider, providerSubnet, selfSubnet }: L3) {
  const router = await created(demo.post('/routers', { router: { name: 'router' } }), 'router');
  const gw = await admin.put(`/routers/${router.id}`, {
    router: {
      external_gateway_info: {
        network_id: provider.id,
        external_fixed_ips: [{ subnet_id: providerSubnet.id, ip_address: '10.123.123.102' }],
      },
    },
  });
  assert.equal(gw.status, 200, JSON.stringify(gw.body));
  assert.equal((await demo.put(`/routers/${router.id}/add_router_interface`, { subnet_id: selfSubnet.id })).status, 200);
  return router;
}

/** The controller's Linux bridge agent (provider on eth2) and its L3 agent. */
async function reportController({ report }: L3) {
  assert.equal(
    (await report('Linux bridge agent', 'controller', { tunneling_ip: '192.168.0.104', interface_mappings: { provider: 'eth2' } })).status,
    200,
  );
  assert.equal((await report('L3 agent', 'controller')).status, 200);
}

/** The scenario's router, scheduled to the controller's L3 agent. */
async function scheduledRouter(l3: L3) {
  const router = await scenarioRouter(l3);
  await reportController(l3);
  return router;
}

test('a router with ports waits for an L3 agent, then is scheduled and its ports bound to that host', async (t) => {
  const l3 = await providerAndSelfservice(t);
  const { admin, demo, provider, providerSubnet, selfservice, selfSubnet, view, routerPorts } = l3;
  const router = await scenarioRouter(l3);
  // No L3 agent yet: the ports stay unbound.
  assert.deepEqual(
    (await routerPorts(router.id)).map((p) => p['binding:host_id']),
    ['', ''],
  );

  await reportController(l3);
  const ports = await routerPorts(router.id);
  assert.equal(ports.length, 2);
  for (const p of ports) {
    assert.equal(p['binding:host_id'], 'controller');
    assert.equal(p['binding:vif_type'], 'bridge');
  }

  const v = await view('controller');
  assert.equal(v.routers.length, 1);
  const r = v.routers[0];
  assert.equal(r.id, router.id);
  assert.equal(r.name, 'router');
  assert.equal(r.admin_state_up, true);
  assert.equal(r.enable_snat, true);
  assert.equal(r.gateway.port.device_owner, 'network:router_gateway');
  assert.deepEqual(r.gateway.port.fixed_ips, [{ subnet_id: providerSubnet.id, ip_address: '10.123.123.102' }]);
  assert.deepEqual(
    r.gateway.subnets.map((s: { cidr: string; gateway_ip: string | null }) => [s.cidr, s.gateway_ip]),
    [['10.123.123.0/24', '10.123.123.1']],
  );
  assert.equal(r.interfaces.length, 1);
  assert.deepEqual(
    r.interfaces[0].subnets.map((s: { cidr: string }) => s.cidr),
    ['172.16.1.0/24'],
  );
  assert.deepEqual(r.interfaces[0].port.fixed_ips, [{ subnet_id: selfSubnet.id, ip_address: '172.16.1.1' }]);
  assert.deepEqual(r.floating_ips, []);
  // The router's ports are local ports of the host, and their networks are in its view.
  const portIds = v.ports.map((p: Resource) => p.id);
  for (const p of ports) assert.ok(portIds.includes(p.id));
  assert.deepEqual(v.networks.map((n: Resource) => n.id).sort(), [provider.id, selfservice.id].sort());
  assert.deepEqual((await view('compute1')).routers, []);
  // l3_agent_scheduler: the hosting agent, admin only; an unknown router is RouterNotFound.
  const hosting = await admin.get(`/routers/${router.id}/l3-agents`);
  assert.equal(hosting.status, 200, JSON.stringify(hosting.body));
  assert.deepEqual(
    hosting.body.agents.map((a: Agent) => `${a.host}/${a.agent_type}`),
    ['controller/L3 agent'],
  );
  assert.equal((await demo.get(`/routers/${router.id}/l3-agents`)).status, 403);
  const missing = await admin.get('/routers/3c338602-d806-488a-ae66-c4c8f8d13b9b/l3-agents');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.NeutronError.type, 'RouterNotFound');
});

test('floating IPs appear in the hosting view once associated, and leave when disassociated', async (t) => {
  const l3 = await providerAndSelfservice(t);
  const { admin, demo, demoProject, provider, selfservice, selfSubnet, view } = l3;
  await scheduledRouter(l3);
  const port = await created(
    demo.post('/ports', {
      port: {
        network_id: selfservice.id,
        device_owner: 'compute:nova',
        fixed_ips: [{ subnet_id: selfSubnet.id, ip_address: '172.16.1.3' }],
      },
    }),
    'port',
  );
  const fip = await created(
    admin.post('/floatingips', {
      floatingip: { floating_network_id: provider.id, floating_ip_address: '10.123.123.104', project_id: demoProject },
    }),
    'floatingip',
  );
  assert.deepEqual((await view('controller')).routers[0].floating_ips, []);
  assert.equal((await demo.put(`/floatingips/${fip.id}`, { floatingip: { port_id: port.id } })).status, 200);
  assert.deepEqual((await view('controller')).routers[0].floating_ips, [
    { id: fip.id, floating_ip_address: '10.123.123.104', fixed_ip_address: '172.16.1.3', port_id: port.id },
  ]);
  // Status: ACTIVE only from the host serving the router; DOWN from anyone (agents are admin).
  const status = (host: string, st: string) => admin.post(`/neutrino/hosts/${host}/floatingip-status`, { floatingips: { [fip.id]: st } });
  assert.deepEqual((await status('compute1', 'ACTIVE')).body, { updated: [] });
  assert.deepEqual((await status('controller', 'ACTIVE')).body, { updated: [fip.id] });
  assert.equal((await demo.get(`/floatingips/${fip.id}`)).body.floatingip.status, 'ACTIVE');
  assert.deepEqual((await status('controller', 'ACTIVE')).body, { updated: [] });
  assert.equal((await status('controller', 'BOGUS')).status, 400);
  assert.equal((await demo.post(`/neutrino/hosts/controller/floatingip-status`, { floatingips: { [fip.id]: 'DOWN' } })).status, 403);
  assert.equal((await demo.put(`/floatingips/${fip.id}`, { floatingip: { port_id: null } })).status, 200);
  assert.deepEqual((await status('controller', 'DOWN')).body, { updated: [fip.id] });
  assert.deepEqual((await view('controller')).routers[0].floating_ips, []);
  assert.equal((await demo.del(`/floatingips/${fip.id}`)).status, 204);
  assert.equal((await demo.del(`/ports/${port.id}`)).status, 204);
});

test('a new router goes to the least loaded live L3 agent; interface changes follow the router', async (t) => {
  const l3 = await providerAndSelfservice(t);
  const { demo, selfSubnet, report, view, routerPorts } = l3;
  const router = await scheduledRouter(l3);
  assert.equal((await report('L3 agent', 'network2')).status, 200);
  const net = await created(demo.post('/networks', { network: { name: 'net2' } }), 'network');
  const sub = await created(demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '172.16.2.0/24' } }), 'subnet');
  const r2 = await created(demo.post('/routers', { router: { name: 'r2' } }), 'router');
  // No ports yet: not scheduled.
  assert.deepEqual((await view('network2')).routers, []);
  assert.equal((await demo.put(`/routers/${r2.id}/add_router_interface`, { subnet_id: sub.id })).status, 200);
  const v2 = await view('network2');
  assert.deepEqual(
    v2.routers.map((r: ViewRouter) => r.id),
    [r2.id],
  );
  assert.equal(v2.routers[0].gateway, null);
  assert.deepEqual(
    v2.routers[0].interfaces.flatMap((i: ViewRouter['interfaces'][number]) => i.subnets.map((s) => s.cidr)),
    ['172.16.2.0/24'],
  );
  assert.deepEqual(
    (await routerPorts(r2.id)).map((p) => p['binding:host_id']),
    ['network2'],
  );
  assert.deepEqual(
    (await view('controller')).routers.map((r: ViewRouter) => r.id),
    [router.id],
  );

  // Removing the last port unschedules it; deleting the router leaves no view behind.
  assert.equal((await demo.put(`/routers/${r2.id}/remove_router_interface`, { subnet_id: sub.id })).status, 200);
  assert.deepEqual((await view('network2')).routers, []);
  assert.equal((await demo.del(`/routers/${r2.id}`)).status, 204);

  // Removing the interface of the first router leaves it with its gateway only.
  assert.equal((await demo.put(`/routers/${router.id}/remove_router_interface`, { subnet_id: selfSubnet.id })).status, 200);
  const v = await view('controller');
  assert.deepEqual(v.routers[0].interfaces, []);
  assert.equal(v.routers[0].gateway.port.fixed_ips[0].ip_address, '10.123.123.102');
});
