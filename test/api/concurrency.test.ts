// Many clients creating ports on one small subnet at once: no duplicate address or MAC, none lost,
// and the right error once the pool is exhausted.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { adminToken, api, memberProject, type Api } from '../helpers/client.ts';

let srv: TestServer;
let demo: Api;

before(async () => {
  srv = await startTestServer();
  demo = api(srv.url, (await memberProject(srv.url, await adminToken(srv.url), 'demo')).token);
});
after(() => srv.close());

test('300 concurrent port creates on a /24: 253 distinct addresses and MACs, 47 exhaustion errors', async () => {
  const net = (await demo.post('/networks', { network: { name: 'busy' } })).body.network;
  const sub = (await demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.20.0.0/24' } })).body.subnet;
  const replies = await Promise.all(Array.from({ length: 300 }, () => demo.post('/ports', { port: { network_id: net.id } })));
  const ok = replies.filter((r) => r.status === 201).map((r) => r.body.port);
  const failed = replies.filter((r) => r.status !== 201);
  assert.equal(ok.length, 253);
  assert.equal(failed.length, 47);
  for (const f of failed) {
    assert.equal(f.status, 409);
    assert.equal(f.body.NeutronError.type, 'IpAddressGenerationFailure');
  }
  const ips = ok.map((p) => p.fixed_ips[0].ip_address);
  assert.equal(new Set(ips).size, 253, 'no duplicate address');
  assert.ok(!ips.includes(sub.gateway_ip));
  assert.equal(new Set(ok.map((p) => p.mac_address)).size, 253, 'no duplicate MAC');
  // None lost: what the API answered is exactly what the store holds.
  const listed = (await demo.get(`/ports?network_id=${net.id}`)).body.ports;
  assert.deepEqual(listed.map((p: { fixed_ips: Array<{ ip_address: string }> }) => p.fixed_ips[0].ip_address).sort(), [...ips].sort());
  // Freed addresses are reusable.
  await demo.del(`/ports/${ok[0].id}`);
  const again = await demo.post('/ports', { port: { network_id: net.id } });
  assert.equal(again.status, 201);
  assert.equal(again.body.port.fixed_ips[0].ip_address, ips[0]);
});
