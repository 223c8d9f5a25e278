// A router's extra routes in qrouter-<id>: one route per destination through the device whose subnet
// holds the next hop (IPv4 and IPv6; several next hops make one multipath route), a default extra route over the gateway's, routes whose next hop
// has no device here left out; converging on the fake kernel and removed with the route.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planNode } from '../../src/planner/index.ts';
import { extraRoutes } from '../../src/planner/extra-routes.ts';
import { controllerFacts, controllerHost, NS, router, view } from '../helpers/router-view.ts';
import { HOST } from '../../src/kernel/types.ts';
import { diff } from '../../src/kernel/diff.ts';
import { FakeKernel } from '../../src/exec/fake.ts';
import { scopeFor } from '../../src/kernel/scope.ts';

const facts = controllerFacts(['l2', 'dhcp', 'l3']);
const QR = 'qr-0b1c2d3e-4f';
const QG = 'qg-7a8b9c0d-1e';

test('extra routes: through the next hop’s device, several next hops one multipath route, unreachable ones left out', () => {
  const devices = [
    { dev: QR, cidrs: ['172.16.1.0/24', '2001:db8:1::/64'] },
    { dev: QG, cidrs: ['10.123.123.0/24'] },
  ];
  const routes = extraRoutes(
    [
      { destination: '10.9.0.0/24', nexthop: '172.16.1.5' },
      { destination: '10.9.0.0/24', nexthop: '172.16.1.6' },
      { destination: '192.0.2.0/24', nexthop: '10.123.123.50' },
      { destination: '10.8.0.0/16', nexthop: '192.168.99.1' },
      { destination: '2001:db8:9::/64', nexthop: '2001:db8:1::5' },
      { destination: '0.0.0.0/0', nexthop: '172.16.1.254' },
    ],
    devices,
  );
  assert.deepEqual(routes, [
    {
      dst: '10.9.0.0/24',
      nexthops: [
        { via: '172.16.1.5', dev: QR },
        { via: '172.16.1.6', dev: QR },
      ],
      family: 4,
    },
    { dst: '192.0.2.0/24', via: '10.123.123.50', dev: QG, family: 4 },
    { dst: '2001:db8:9::/64', via: '2001:db8:1::5', dev: QR, family: 6 },
    { dst: 'default', via: '172.16.1.254', dev: QR, family: 4 },
  ]);
});

test('the router namespace: extra routes next to the gateway’s default route, a default extra route replacing it', () => {
  const plain = planNode(view([router({ routes: [{ destination: '10.9.0.0/24', nexthop: '172.16.1.5' }] })]), facts);
  assert.deepEqual(plain.desired.namespaces[NS]!.routes, [
    { dst: 'default', via: '10.123.123.1', dev: QG },
    { dst: '10.9.0.0/24', via: '172.16.1.5', dev: QR, family: 4 },
  ]);
  const dflt = planNode(view([router({ routes: [{ destination: '0.0.0.0/0', nexthop: '172.16.1.254' }] })]), facts);
  assert.deepEqual(dflt.desired.namespaces[NS]!.routes, [{ dst: 'default', via: '172.16.1.254', dev: QR, family: 4 }]);
});

test('apply to the FakeKernel: the route is added, the second diff is empty, removing it deletes it', async () => {
  const withRoute = planNode(view([router({ routes: [{ destination: '10.9.0.0/24', nexthop: '172.16.1.5' }] })]), facts).desired;
  const host = controllerHost();
  const kernel = new FakeKernel({ namespaces: { [HOST]: host } });
  const scope = (d: typeof withRoute) => scopeFor(d, { prefixes: ['qrouter-', 'qdhcp-'] });
  await kernel.apply(diff(withRoute, await kernel.observe(scope(withRoute))).ops);
  const seen = await kernel.observe(scope(withRoute));
  assert.ok(seen.namespaces[NS]!.routes.some((r) => r.dst === '10.9.0.0/24' && r.via === '172.16.1.5' && r.dev === QR));
  assert.deepEqual(diff(withRoute, seen).ops, []);
  const without = planNode(view([router()]), facts).desired;
  const plan = diff(without, await kernel.observe(scope(without)));
  assert.deepEqual(
    plan.ops.map((o) => o.op),
    ['route-del'],
  );
  await kernel.apply(plan.ops);
  assert.deepEqual(diff(without, await kernel.observe(scope(without))).ops, []);
});

test('several next hops for one destination: one multipath route, converging on the FakeKernel; one next hop left: a plain route', async () => {
  const two = [
    { destination: '10.9.0.0/24', nexthop: '172.16.1.5' },
    { destination: '10.9.0.0/24', nexthop: '172.16.1.6' },
  ];
  const ecmp = planNode(view([router({ routes: two })]), facts).desired;
  const host = controllerHost();
  const kernel = new FakeKernel({ namespaces: { [HOST]: host } });
  const scope = (d: typeof ecmp) => scopeFor(d, { prefixes: ['qrouter-', 'qdhcp-'] });
  await kernel.apply(diff(ecmp, await kernel.observe(scope(ecmp))).ops);
  assert.deepEqual(diff(ecmp, await kernel.observe(scope(ecmp))).ops, []);
  const one = planNode(view([router({ routes: [two[1]!] })]), facts).desired;
  const plan = diff(one, await kernel.observe(scope(one)));
  assert.deepEqual(
    plan.ops.map((o) => (o.op === 'route-replace' ? `${o.op} ${o.route.dst} via ${o.route.via}` : o.op)),
    ['route-replace 10.9.0.0/24 via 172.16.1.6'],
  );
});
