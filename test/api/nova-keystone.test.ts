// The [nova] options against a real Keystone (Debian's, see helpers/keystone.ts): the notifier logs
// in as a service user there, finds Nova's internal endpoint in that token's catalog, and the
// stand-in Nova accepts the token only because that Keystone validates it — while the server's own
// API keeps its built-in identity.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { keystoneMissing, KeystoneAdmin, startKeystone, type KeystoneServer } from '../helpers/keystone.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { adminToken, api } from '../helpers/client.ts';
import { startStandInNova, type StandInNova } from '../helpers/nova.ts';

const skip = keystoneMissing() ?? false;
let keystone: KeystoneServer;
let nova: StandInNova;
let server: TestServer;

before(async () => {
  if (skip) return;
  keystone = await startKeystone();
  nova = await startStandInNova({ identityUrl: `${keystone.url}/v3` });
  const ks = new KeystoneAdmin(keystone.url);
  const service = await ks.project('service');
  await ks.user('neutron', 'neutron-secret', service, 'service');
  const compute = await ks.create('services', 'service', { type: 'compute', name: 'nova' });
  // Only an internal endpoint in RegionOne: endpoint_type and region_name must pick it.
  await ks.create('endpoints', 'endpoint', { service_id: compute, interface: 'internal', region_id: 'RegionOne', url: nova.endpoint });
  server = await startTestServer({
    nova: {
      authUrl: keystone.url,
      auth: {
        username: 'neutron',
        password: 'neutron-secret',
        projectName: 'service',
        userDomainName: 'Default',
        projectDomainName: 'Default',
      },
      endpointType: 'internal',
      regionName: 'RegionOne',
      timeout: 10,
      notifyOnStatusChanges: true,
      notifyOnDataChanges: true,
      sendEventsInterval: 1,
      httpRetries: 3,
    },
  });
});

after(async () => {
  await server?.close();
  await nova?.close();
  await keystone?.cleanup();
});

test('network-vif-plugged reaches Nova with a token of the real Keystone named by [nova]', { skip }, async () => {
  const admin = api(server.url, await adminToken(server.url));
  const net = (await admin.post('/networks', { network: { name: 'n' } })).body.network.id as string;
  await admin.post('/subnets', { subnet: { network_id: net, cidr: '10.7.0.0/24', ip_version: 4 } });
  const deviceId = randomUUID();
  nova.instances.add(deviceId);
  const port = (
    await admin.post('/ports', { port: { network_id: net, device_owner: 'compute:nova', device_id: deviceId, 'binding:host_id': 'c1' } })
  ).body.port.id as string;
  assert.equal((await admin.post('/neutrino/hosts/c1/port-status', { ports: { [port]: 'ACTIVE' } })).status, 200);
  const events = await nova.waitFor((e) => e.some((x) => x.tag === port), 30_000);
  assert.deepEqual(events, [{ server_uuid: deviceId, name: 'network-vif-plugged', status: 'completed', tag: port }]);
  assert.deepEqual(nova.violations, []);
  assert.deepEqual(
    nova.requests.map((r) => r.status),
    [200],
  );
});
