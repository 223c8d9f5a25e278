// Nova's port events (Neutron's nova notifier) against a stand-in Nova that checks every request
// against Nova's API reference: network-vif-plugged / -unplugged / -deleted for instances' ports
// only, batched per send_events_interval, retried a bounded number of times, 207 and 404 answers
// taken as Nova means them. The [nova] user logs in at the server's own built-in identity, whose
// catalog lists the stand-in as the compute endpoint ([neutrino] catalog_compute_url).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { FastifyBaseLogger } from 'fastify';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';
import { adminToken, api, type Api } from '../helpers/client.ts';
import { startStandInNova, type StandInNova } from '../helpers/nova.ts';
import { freeLoopbackPort } from '../../src/lab/server-proc.ts';
import type { NovaConfig } from '../../src/server-config-nova.ts';

let server: TestServer;
let nova: StandInNova;
let admin: Api;
let networkId: string;
const logs: Array<{ level: number; msg: string; [k: string]: unknown }> = [];

const HOST = 'compute1';
const INTERVAL_S = 2;

export function novaOptions(authUrl: string, overrides: Partial<NovaConfig> = {}): NovaConfig {
  return {
    authUrl,
    auth: { username: 'admin', password: ADMIN_PASSWORD, projectName: 'admin', userDomainName: 'Default', projectDomainName: 'Default' },
    endpointType: 'internal',
    regionName: 'RegionOne',
    timeout: 5,
    notifyOnStatusChanges: true,
    notifyOnDataChanges: true,
    sendEventsInterval: INTERVAL_S,
    httpRetries: 2,
    ...overrides,
  };
}

before(async () => {
  const port = await freeLoopbackPort();
  const base = `http://127.0.0.1:${port}`;
  nova = await startStandInNova({ identityUrl: `${base}/identity/v3` });
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) }) as unknown as FastifyBaseLogger;
  server = await startTestServer({ port, nova: novaOptions(`${base}/identity/v3`), catalogComputeUrl: nova.endpoint }, logger);
  admin = api(server.url, await adminToken(server.url));
  networkId = (await admin.post('/networks', { network: { name: 'n' } })).body.network.id;
  await admin.post('/subnets', { subnet: { network_id: networkId, cidr: '10.9.0.0/24', ip_version: 4 } });
});

after(async () => {
  await server?.close();
  await nova?.close();
  assert.deepEqual(nova?.violations ?? [], [], 'every request kept to Nova API reference');
});

/** A port of an instance Nova knows (unless `known` is false), bound to HOST. */
async function instancePort(opts: { owner?: string; deviceId?: string; known?: boolean } = {}) {
  const deviceId = opts.deviceId ?? randomUUID();
  if (opts.known !== false) nova.instances.add(deviceId);
  const r = await admin.post('/ports', {
    port: { network_id: networkId, device_owner: opts.owner ?? 'compute:nova', device_id: deviceId, 'binding:host_id': HOST },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { id: r.body.port.id as string, deviceId };
}

const setStatus = async (ports: Record<string, string>) => {
  const r = await admin.post(`/neutrino/hosts/${HOST}/port-status`, { ports });
  assert.equal(r.status, 200, JSON.stringify(r.body));
};

/** Waits until an event for `tag` named `name` has arrived; returns everything delivered. */
const arrived = (tag: string, name: string) => nova.waitFor((events) => events.some((e) => e.tag === tag && e.name === name));

test('a port of an instance: ACTIVE is network-vif-plugged, DOWN network-vif-unplugged, delete network-vif-deleted', async () => {
  const p = await instancePort();
  await setStatus({ [p.id]: 'ACTIVE' });
  await setStatus({ [p.id]: 'DOWN' });
  assert.equal((await admin.del(`/ports/${p.id}`)).status, 204);
  const events = (await arrived(p.id, 'network-vif-deleted')).filter((e) => e.tag === p.id);
  assert.deepEqual(events, [
    { server_uuid: p.deviceId, name: 'network-vif-plugged', status: 'completed', tag: p.id },
    { server_uuid: p.deviceId, name: 'network-vif-unplugged', status: 'completed', tag: p.id },
    { server_uuid: p.deviceId, name: 'network-vif-deleted', tag: p.id },
  ]);
});

test('ERROR from BUILD is network-vif-plugged with status failed; other transitions send nothing', async () => {
  const p = await instancePort();
  await setStatus({ [p.id]: 'BUILD' }); // DOWN → BUILD: nothing
  await setStatus({ [p.id]: 'ERROR' }); // BUILD → ERROR: plugged, failed
  await setStatus({ [p.id]: 'DOWN' }); // ERROR → DOWN: nothing
  const marker = await instancePort();
  await setStatus({ [marker.id]: 'ACTIVE' });
  const events = (await arrived(marker.id, 'network-vif-plugged')).filter((e) => e.tag === p.id);
  assert.deepEqual(events, [{ server_uuid: p.deviceId, name: 'network-vif-plugged', status: 'failed', tag: p.id }]);
});

test('no event for ports that are not an instance’s (owner not compute:*, or a device_id that is no UUID)', async () => {
  const dhcp = await instancePort({ owner: 'network:dhcp' });
  const none = await instancePort({ owner: '' });
  const named = await instancePort({ deviceId: 'vm-1' });
  await setStatus({ [dhcp.id]: 'ACTIVE', [none.id]: 'ACTIVE', [named.id]: 'ACTIVE' });
  for (const p of [dhcp, none, named]) assert.equal((await admin.del(`/ports/${p.id}`)).status, 204);
  // Events go out in order: once the marker's has arrived, any for the others would have too.
  const marker = await instancePort();
  await setStatus({ [marker.id]: 'ACTIVE' });
  const tags = (await arrived(marker.id, 'network-vif-plugged')).map((e) => e.tag);
  for (const p of [dhcp, none, named]) assert.ok(!tags.includes(p.id), `no event for ${p.id}`);
});

test('events are batched: the first goes out at once, those of the next interval together', async () => {
  const first = await instancePort();
  const rest = await Promise.all([1, 2, 3, 4].map(() => instancePort()));
  await arrived((await instancePort().then(async (m) => (await setStatus({ [m.id]: 'ACTIVE' }), m))).id, 'network-vif-plugged');
  // The sender now rests for the interval after that send: what follows within it forms one batch.
  const before = nova.requests.length;
  await setStatus({ [first.id]: 'ACTIVE' });
  for (const p of rest) await setStatus({ [p.id]: 'ACTIVE' });
  await arrived(rest[3]!.id, 'network-vif-plugged');
  const batches = nova.requests.slice(before).map((r) => r.events.map((e) => e.tag));
  assert.deepEqual(batches, [[first.id, ...rest.map((p) => p.id)]], 'one request with the five events');
  // Nothing else goes out until there is something to send.
  await new Promise((r) => setTimeout(r, INTERVAL_S * 1000 + 300));
  assert.equal(nova.requests.length, before + 1);
});

test('a batch Nova fails with 503 is sent again, at most http_retries times, then dropped', async () => {
  const p = await instancePort();
  nova.failNext(2);
  const before = nova.requests.length;
  await setStatus({ [p.id]: 'ACTIVE' });
  await arrived(p.id, 'network-vif-plugged');
  assert.deepEqual(
    nova.requests.slice(before).map((r) => [r.status, r.events.map((e) => e.tag)]),
    [
      [503, [p.id]],
      [503, [p.id]],
      [200, [p.id]],
    ],
  );
  // Beyond the bound (2 retries) the batch is given up and logged; later events still go out.
  const lost = await instancePort();
  nova.failNext(3);
  const mark = nova.requests.length;
  await setStatus({ [lost.id]: 'ACTIVE' });
  const attemptsFor = (tag: string) => nova.requests.slice(mark).filter((r) => r.events.some((e) => e.tag === tag));
  while (attemptsFor(lost.id).length < 3) await new Promise((r) => setTimeout(r, 25));
  const after = await instancePort();
  await setStatus({ [after.id]: 'ACTIVE' });
  await arrived(after.id, 'network-vif-plugged');
  assert.deepEqual(
    attemptsFor(lost.id).map((r) => r.status),
    [503, 503, 503],
    'the first attempt and two retries, then no more',
  );
  assert.ok(logs.some((l) => l.msg === 'failed to notify Nova on events' && JSON.stringify(l.events).includes(lost.id)));
});

test('207: events for unknown instances are answered 404 each and logged; 404 for a batch of only those', async () => {
  const known = await instancePort();
  const unknown = await instancePort({ known: false });
  await setStatus({ [known.id]: 'ACTIVE', [unknown.id]: 'ACTIVE' });
  await arrived(unknown.id, 'network-vif-plugged');
  const partial = nova.requests.find((r) => r.events.some((e) => e.tag === unknown.id))!;
  assert.equal(partial.status, 207);
  await waitForLog((l) => l.msg === 'Nova event returned with failed status' && (l.event as { tag: string }).tag === unknown.id);
  const alone = await instancePort({ known: false });
  await setStatus({ [alone.id]: 'ACTIVE' });
  await arrived(alone.id, 'network-vif-plugged');
  assert.equal(nova.requests.find((r) => r.events.some((e) => e.tag === alone.id))!.status, 404);
  await waitForLog((l) => l.msg === 'Nova returned NotFound for the events');
});

async function waitForLog(match: (l: (typeof logs)[number]) => boolean): Promise<void> {
  const until = Date.now() + 5000;
  while (!logs.some(match)) {
    if (Date.now() > until) throw new Error(`no such log line; logged: ${logs.map((l) => l.msg).join(' | ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('network-changed, as Neutron sends it: an API update of an instance port, and each port a floating IP joins or leaves', async () => {
  const ext = (await admin.post('/networks', { network: { name: 'ext', 'router:external': true } })).body.network;
  await admin.post('/subnets', { subnet: { network_id: ext.id, cidr: '198.51.100.0/24', ip_version: 4 } });
  const subnetId = (await admin.get(`/subnets?network_id=${networkId}`)).body.subnets[0].id as string;
  const router = (await admin.post('/routers', { router: { name: 'r', external_gateway_info: { network_id: ext.id } } })).body.router;
  assert.equal((await admin.put(`/routers/${router.id}/add_router_interface`, { subnet_id: subnetId })).status, 200);
  const [p1, p2] = [await instancePort(), await instancePort()];
  const other = await instancePort({ owner: 'network:dhcp' });
  const mark = nova.delivered().length;
  assert.equal((await admin.put(`/ports/${p1.id}`, { port: { name: 'renamed' } })).status, 200);
  assert.equal((await admin.put(`/ports/${other.id}`, { port: { name: 'renamed' } })).status, 200);
  const fip = await admin.post('/floatingips', { floatingip: { floating_network_id: ext.id, port_id: p1.id } });
  assert.equal(fip.status, 201, JSON.stringify(fip.body));
  const fipPath = `/floatingips/${fip.body.floatingip.id}`;
  const update = async (port_id: string | null) => assert.equal((await admin.put(fipPath, { floatingip: { port_id } })).status, 200);
  await update(p2.id); // moved: the port it had, then the one it has
  await update(null); // disassociated: the port it had
  await update(p1.id);
  // An update that keeps the port names it twice (Neutron's notifier counts it as "had one and has one").
  assert.equal((await admin.put(fipPath, { floatingip: { description: 'd' } })).status, 200);
  assert.equal((await admin.del(fipPath)).status, 204);
  const last = await instancePort();
  assert.equal((await admin.put(`/ports/${last.id}`, { port: { name: 'marker' } })).status, 200);
  const changed = (await arrived(last.id, 'network-changed'))
    .slice(mark)
    .filter((e) => e.name === 'network-changed' && e.tag !== last.id)
    .map((e) => [e.tag === p1.id ? 'p1' : e.tag === p2.id ? 'p2' : e.tag, e.server_uuid === (e.tag === p1.id ? p1 : p2).deviceId]);
  assert.deepEqual(changed, [
    ['p1', true], // port update
    ['p1', true], // created associated
    ['p1', true], // moved from p1 …
    ['p2', true], // … to p2
    ['p2', true], // disassociated
    ['p1', true], // associated again
    ['p1', true], // description: had p1 …
    ['p1', true], // … has p1
    ['p1', true], // deleted while associated
  ]);
  assert.ok(!nova.delivered().some((e) => e.tag === other.id), 'nothing for a port that is not an instance’s');
  assert.ok(!nova.delivered().some((e) => 'status' in e && e.name === 'network-changed'), 'network-changed carries no status');
});

test('a token the identity revoked: Nova answers 401, the notifier logs in again and sends the batch once more', async () => {
  const warm = await instancePort();
  await setStatus({ [warm.id]: 'ACTIVE' });
  await arrived(warm.id, 'network-vif-plugged');
  for (const token of nova.tokensSeen) {
    const r = await fetch(`${server.url}/identity/v3/auth/tokens`, {
      method: 'DELETE',
      headers: { 'x-auth-token': await adminToken(server.url), 'x-subject-token': token },
    });
    assert.equal(r.status, 204);
  }
  const refusedBefore = nova.refusedTokens.length;
  const p = await instancePort();
  await setStatus({ [p.id]: 'ACTIVE' });
  await arrived(p.id, 'network-vif-plugged');
  assert.equal(nova.refusedTokens.length, refusedBefore + 1, 'one refusal, then a new token');
  assert.equal(nova.delivered().filter((e) => e.tag === p.id).length, 1);
});
