// Extra routes over HTTP (extraroute, extraroute-atomic): the router's `routes` on update, the
// atomic add_extraroutes / remove_extraroutes, Neutron's refusals (next hop not connected or the
// router's own, too many, malformed, another project's router, an interface a route needs), each
// leaving the router as it was.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { adminDemoOther, created, expectError, providerNetwork } from '../helpers/networking.ts';

/** demo's router: gateway on the external `provider` (10.123.123.0/24), interfaces on 172.16.1.0/24 and 2001:db8:1::/64. */
async function routerScenario(t: TestContext) {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { admin, demo, other } = await adminDemoOther(srv.url);
  const provider = await providerNetwork(admin, { gateway_ip: '10.123.123.1' });
  const net = await created(demo.post('/networks', { network: { name: 'selfservice' } }), 'network');
  const subnet = await created(demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '172.16.1.0/24' } }), 'subnet');
  const subnet6 = await created(
    demo.post('/subnets', {
      subnet: { network_id: net.id, ip_version: 6, cidr: '2001:db8:1::/64', ipv6_ra_mode: 'slaac', ipv6_address_mode: 'slaac' },
    }),
    'subnet',
  );
  const router = await created(
    demo.post('/routers', { router: { name: 'router', external_gateway_info: { network_id: provider.id } } }),
    'router',
  );
  for (const s of [subnet, subnet6]) {
    const r = await demo.put(`/routers/${router.id}/add_router_interface`, { subnet_id: s.id });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  const routesOf = async () => (await demo.get(`/routers/${router.id}`)).body.router.routes;
  return { admin, demo, other, router, subnet, subnet6, routesOf };
}

test('extensions: extraroute and extraroute-atomic are listed', async (t) => {
  const { demo } = await routerScenario(t);
  const aliases = ((await demo.get('/extensions')).body.extensions as Array<{ alias: string }>).map((e) => e.alias);
  assert.ok(aliases.includes('extraroute') && aliases.includes('extraroute-atomic'), aliases.join(','));
});

test('routes on update: set, shown in canonical form, replaced, cleared by null', async (t) => {
  const { demo, router, routesOf } = await routerScenario(t);
  const r = await demo.put(`/routers/${router.id}`, {
    router: {
      routes: [
        { destination: '10.9.0.0/24', nexthop: '172.16.1.5' },
        { destination: '2001:DB8:9::/64', nexthop: '2001:db8:1:0::5' },
        { destination: '192.0.2.0/24', nexthop: '10.123.123.50' },
      ],
    },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.router.routes, [
    { destination: '10.9.0.0/24', nexthop: '172.16.1.5' },
    { destination: '2001:db8:9::/64', nexthop: '2001:db8:1::5' },
    { destination: '192.0.2.0/24', nexthop: '10.123.123.50' },
  ]);
  assert.ok(r.body.router.revision_number > router.revision_number);
  assert.deepEqual(await routesOf(), r.body.router.routes);
  assert.equal((await demo.put(`/routers/${router.id}`, { router: { routes: null } })).status, 200);
  assert.deepEqual(await routesOf(), []);
});

test('routes refused as Neutron refuses them, the router left as it was', async (t) => {
  const { demo, other, router, routesOf } = await routerScenario(t);
  const keep = [{ destination: '10.9.0.0/24', nexthop: '172.16.1.5' }];
  assert.equal((await demo.put(`/routers/${router.id}`, { router: { routes: keep } })).status, 200);
  const put = (routes: unknown) => demo.put(`/routers/${router.id}`, { router: { routes } });
  expectError(
    await put([{ destination: '10.8.0.0/16', nexthop: '192.168.99.1' }]),
    400,
    'InvalidRoutes',
    "Invalid format for routes: [{'destination': '10.8.0.0/16', 'nexthop': '192.168.99.1'}], the nexthop is not connected with router",
  );
  expectError(await put([{ destination: '10.8.0.0/16', nexthop: '172.16.1.1' }]), 400, 'InvalidRoutes', /the nexthop is used by router$/);
  const many = Array.from({ length: 31 }, (_, i) => ({ destination: `10.${i}.0.0/16`, nexthop: '172.16.1.5' }));
  expectError(
    await put(many),
    400,
    'RoutesExhausted',
    `Unable to complete operation for ${router.id}. The number of routes exceeds the maximum 30.`,
  );
  expectError(await put([{ destination: '10.8.0.1/16', nexthop: '172.16.1.5' }]), 400, 'HTTPBadRequest', /Invalid input for routes/);
  expectError(await put([{ destination: '10.8.0.0/16', nexthop: 'x' }]), 400, 'HTTPBadRequest', /Invalid input for routes/);
  expectError(await put([{ destination: '10.8.0.0/16' }]), 400, 'HTTPBadRequest', /Expected keys/);
  expectError(await put([keep[0], keep[0]]), 400, 'HTTPBadRequest', /Duplicate hostroute/);
  expectError(await put('10.8.0.0/16'), 400, 'HTTPBadRequest', /Invalid input for routes/);
  expectError(await other.put(`/routers/${router.id}`, { router: { routes: [] } }), 404, 'RouterNotFound');
  expectError(await demo.post('/routers', { router: { name: 'r2', routes: keep } }), 400, 'HTTPBadRequest', /routes/);
  assert.deepEqual(await routesOf(), keep);
});

test('add_extraroutes / remove_extraroutes: atomic merges answering the router, checked whole', async (t) => {
  const { demo, other, router, routesOf } = await routerScenario(t);
  const add = (routes: unknown) => demo.put(`/routers/${router.id}/add_extraroutes`, { router: { routes } });
  const remove = (routes: unknown) => demo.put(`/routers/${router.id}/remove_extraroutes`, { router: { routes } });
  const a = { destination: '10.9.0.0/24', nexthop: '172.16.1.5' };
  const b = { destination: '10.9.0.0/24', nexthop: '172.16.1.6' };
  const c = { destination: '2001:db8:9::/64', nexthop: '2001:db8:1::5' };
  let r = await add([a]);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.router.id, router.id);
  assert.deepEqual(r.body.router.routes, [a]);
  // An exact duplicate is merged; another next hop for the same destination is kept.
  r = await add([a, b, c]);
  assert.deepEqual(r.body.router.routes, [a, b, c]);
  // Removing what is not there is no error.
  r = await remove([b, { destination: '10.7.0.0/24', nexthop: '172.16.1.7' }]);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.router.routes, [a, c]);
  expectError(await add([{ destination: '10.8.0.0/16', nexthop: '192.168.99.1' }]), 400, 'InvalidRoutes', /not connected with router/);
  expectError(await add([{ destination: 'nope', nexthop: '172.16.1.5' }]), 400, 'HTTPBadRequest', /Invalid input for routes/);
  expectError(await demo.put(`/routers/${router.id}/add_extraroutes`, { routes: [a] }), 400, 'HTTPBadRequest');
  const many = Array.from({ length: 29 }, (_, i) => ({ destination: `10.${i}.0.0/16`, nexthop: '172.16.1.5' }));
  expectError(await add(many), 400, 'RoutesExhausted');
  expectError(await other.put(`/routers/${router.id}/add_extraroutes`, { router: { routes: [b] } }), 404, 'RouterNotFound');
  expectError(await other.put(`/routers/${router.id}/remove_extraroutes`, { router: { routes: [a] } }), 404, 'RouterNotFound');
  assert.deepEqual(await routesOf(), [a, c]);
  r = await remove([a, c]);
  assert.deepEqual(r.body.router.routes, []);
});

test('an interface whose subnet holds a next hop cannot be removed: 409 RouterInterfaceInUseByRoute', async (t) => {
  const { demo, router, subnet, subnet6 } = await routerScenario(t);
  const route = { destination: '10.9.0.0/24', nexthop: '172.16.1.5' };
  assert.equal((await demo.put(`/routers/${router.id}/add_extraroutes`, { router: { routes: [route] } })).status, 200);
  const message = `Router interface for subnet ${subnet.id} on router ${router.id} cannot be deleted, as it is required by one or more routes.`;
  expectError(
    await demo.put(`/routers/${router.id}/remove_router_interface`, { subnet_id: subnet.id }),
    409,
    'RouterInterfaceInUseByRoute',
    message,
  );
  const port = (await demo.get(`/ports?device_id=${router.id}&device_owner=network:router_interface`)).body.ports.find(
    (p: { fixed_ips: Array<{ subnet_id: string }> }) => p.fixed_ips.some((f) => f.subnet_id === subnet.id),
  );
  expectError(await demo.put(`/routers/${router.id}/remove_router_interface`, { port_id: port.id }), 409, 'RouterInterfaceInUseByRoute');
  // The IPv6 interface carries no next hop: it goes.
  assert.equal((await demo.put(`/routers/${router.id}/remove_router_interface`, { subnet_id: subnet6.id })).status, 200);
  assert.equal((await demo.put(`/routers/${router.id}/remove_extraroutes`, { router: { routes: [route] } })).status, 200);
  assert.equal((await demo.put(`/routers/${router.id}/remove_router_interface`, { subnet_id: subnet.id })).status, 200);
});
