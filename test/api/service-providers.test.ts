// Service providers: the one L3 provider neutrino builds (single_node, default), for every
// authenticated project; Neutron's filters (service_type, name; other keys are dropped, not refused;
// a `default` filter never matches, as its text is compared with a boolean) and fields; no token, 401.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { adminDemoOther } from '../helpers/networking.ts';
import { request } from '../helpers/client.ts';

const singleNode = { service_type: 'L3_ROUTER_NAT', name: 'single_node', default: true };

test('service providers: the single-node L3 provider, listed for admins and members alike', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { admin, demo } = await adminDemoOther(srv.url);

  for (const client of [admin, demo]) {
    const r = await client.get('/service-providers');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { service_providers: [singleNode] });
  }

  const l3 = await demo.get('/service-providers?service_type=L3_ROUTER_NAT&name=single_node&fields=name');
  assert.deepEqual(l3.body.service_providers, [{ name: 'single_node' }]);
  const vpn = await demo.get('/service-providers?service_type=VPN');
  assert.deepEqual(vpn.body.service_providers, []);
  const ha = await demo.get('/service-providers?name=ha');
  assert.deepEqual(ha.body.service_providers, [], 'ha is not built, so not listed');

  const unknownFilter = await demo.get('/service-providers?color=blue');
  assert.equal(unknownFilter.status, 200, 'filter validation is off for service providers, as in Neutron');
  assert.deepEqual(unknownFilter.body.service_providers, [singleNode]);
  const byDefault = await demo.get('/service-providers?default=True');
  assert.deepEqual(byDefault.body.service_providers, []);

  const anonymous = await request(`${srv.url}/v2.0/service-providers`, 'GET', null);
  assert.equal(anonymous.status, 401);

  const exts = await demo.get('/extensions/service-type');
  assert.equal(exts.status, 200);
  assert.equal(exts.body.extension.name, 'Neutron Service Type Management');
});
