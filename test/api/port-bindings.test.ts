// Port bindings over HTTP (binding-extended): an instance's port bound on compute1 gets an INACTIVE
// binding on compute2, which activate makes the port's binding (its wiring moves to compute2's host
// view); listing with filters, Neutron's refusals, and the admin-only policy.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { adminDemoOther, created, expectError } from '../helpers/networking.ts';
import type { Api } from '../helpers/client.ts';

const NOT_FOUND = 'The resource could not be found.';
const BRIDGE_DETAILS = { port_filter: true, connectivity: 'l2' };

/** demo's network and an instance port on compute1 (bound by the admin, as Nova does). */
async function scenario(t: TestContext) {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const clients = await adminDemoOther(srv.url);
  const { admin, demo } = clients;
  const net = await created(demo.post('/networks', { network: { name: 'selfservice' } }), 'network');
  await created(demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '172.16.1.0/24' } }), 'subnet');
  const vm = await created(demo.post('/ports', { port: { network_id: net.id, device_owner: 'compute:nova', device_id: 'vm1' } }), 'port');
  const bound = await admin.put(`/ports/${vm.id}`, { port: { 'binding:host_id': 'compute1' } });
  assert.equal(bound.status, 200, JSON.stringify(bound.body));
  return { ...clients, net, port: bound.body.port, bindings: `/ports/${vm.id}/bindings` };
}

const hostsOf = (items: Array<{ host: string; status: string }>) => items.map((b) => `${b.host}:${b.status}`);

async function prepare(admin: Api, bindings: string, host = 'compute2') {
  return created(admin.post(bindings, { binding: { host, profile: { migrating_to: host } } }), 'binding');
}

test('extensions: binding-extended is listed', async (t) => {
  const { demo } = await scenario(t);
  const ext = await demo.get('/extensions/binding-extended');
  assert.equal(ext.status, 200);
  assert.equal(ext.body.extension.name, 'Port Bindings Extended');
});

test('the active binding is listed and shown; a new one on another host is INACTIVE', async (t) => {
  const { admin, bindings } = await scenario(t);
  const listed = await admin.get(bindings);
  assert.equal(listed.status, 200);
  assert.deepEqual(listed.body.bindings, [
    { host: 'compute1', vif_type: 'bridge', vnic_type: 'normal', status: 'ACTIVE', profile: {}, vif_details: BRIDGE_DETAILS },
  ]);
  const made = await prepare(admin, bindings);
  assert.deepEqual(made, {
    host: 'compute2',
    vif_type: 'bridge',
    vnic_type: 'normal',
    status: 'INACTIVE',
    profile: { migrating_to: 'compute2' },
    vif_details: BRIDGE_DETAILS,
  });
  assert.deepEqual((await admin.get(`${bindings}/compute2`)).body.binding, made);
  assert.deepEqual(hostsOf((await admin.get(bindings)).body.bindings), ['compute1:ACTIVE', 'compute2:INACTIVE']);
  assert.deepEqual((await admin.get(`${bindings}/compute1?fields=status`)).body.binding, { status: 'ACTIVE' });
});

test('the list filters on host, vif_type, vnic_type and status', async (t) => {
  const { admin, bindings } = await scenario(t);
  await created(admin.post(bindings, { binding: { host: 'compute3', vnic_type: 'direct' } }), 'binding');
  await prepare(admin, bindings);
  const hosts = async (query: string) => hostsOf((await admin.get(`${bindings}?${query}`)).body.bindings);
  assert.deepEqual(await hosts('status=INACTIVE'), ['compute2:INACTIVE', 'compute3:INACTIVE']);
  assert.deepEqual(await hosts('status=ACTIVE'), ['compute1:ACTIVE']);
  assert.deepEqual(await hosts('host=compute3'), ['compute3:INACTIVE']);
  assert.deepEqual(await hosts('host=compute1&host=compute2'), ['compute1:ACTIVE', 'compute2:INACTIVE']);
  assert.deepEqual(await hosts('vnic_type=direct'), ['compute3:INACTIVE']);
  assert.deepEqual(await hosts('vif_type=bridge&vnic_type=normal'), ['compute1:ACTIVE', 'compute2:INACTIVE']);
  assert.deepEqual(await hosts('vif_type=unbound'), []);
  assert.deepEqual((await admin.get(`${bindings}?status=ACTIVE&fields=host`)).body.bindings, [{ host: 'compute1' }]);
  expectError(await admin.get(`${bindings}?profile=x`), 400, 'HTTPBadRequest', "['profile'] is invalid attribute for filtering");
  expectError(await admin.get(`${bindings}?colour=red`), 400, 'HTTPBadRequest', "['colour'] is invalid attribute for filtering");
});

test("activate: the binding becomes the port's, the previous one INACTIVE, the port DOWN at a new revision", async (t) => {
  const { admin, demo, port, bindings } = await scenario(t);
  await prepare(admin, bindings);
  const r = await admin.put(`${bindings}/compute2/activate`, undefined);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.binding, {
    host: 'compute2',
    vif_type: 'bridge',
    vnic_type: 'normal',
    status: 'ACTIVE',
    profile: { migrating_to: 'compute2' },
    vif_details: BRIDGE_DETAILS,
  });
  assert.deepEqual(hostsOf((await admin.get(bindings)).body.bindings), ['compute2:ACTIVE', 'compute1:INACTIVE']);
  const moved = (await admin.get(`/ports/${port.id}`)).body.port;
  assert.equal(moved['binding:host_id'], 'compute2');
  assert.deepEqual(moved['binding:profile'], { migrating_to: 'compute2' });
  assert.equal(moved.status, 'DOWN');
  assert.equal(moved.revision_number, port.revision_number + 1);
  // The member sees its port, without the admin-only binding attributes.
  assert.equal((await demo.get(`/ports/${port.id}`)).body.port['binding:host_id'], undefined);
  // Nova then deletes the source host's binding.
  assert.equal((await admin.del(`${bindings}/compute1`)).status, 204);
  assert.deepEqual(hostsOf((await admin.get(bindings)).body.bindings), ['compute2:ACTIVE']);
});

test("activate moves the port from the source host's view to the destination's", async (t) => {
  const { admin, port, bindings } = await scenario(t);
  const report = (host: string, tunneling_ip: string) =>
    admin.post('/neutrino/agents/report', {
      agent: { agent_type: 'Linux bridge agent', host, configurations: { tunneling_ip }, start_flag: true },
    });
  assert.equal((await report('compute1', '192.168.0.105')).status, 200);
  assert.equal((await report('compute2', '192.168.0.106')).status, 200);
  const localPorts = async (host: string) =>
    ((await admin.get(`/neutrino/hosts/${host}/view`)).body.view.ports as Array<{ id: string }>).map((p) => p.id);
  assert.deepEqual(await localPorts('compute1'), [port.id]);
  assert.deepEqual(await localPorts('compute2'), []);
  await prepare(admin, bindings);
  // An INACTIVE binding wires nothing yet.
  assert.deepEqual(await localPorts('compute2'), []);
  assert.equal((await admin.put(`${bindings}/compute2/activate`, undefined)).status, 200);
  assert.deepEqual(await localPorts('compute1'), []);
  assert.deepEqual(await localPorts('compute2'), [port.id]);
});

test('refusals: PortBindingAlreadyExists, PortBindingAlreadyActive, PortBindingNotFound, PortNotFound', async (t) => {
  const { admin, port, bindings } = await scenario(t);
  await prepare(admin, bindings);
  const exists = (host: string) => `Binding for port ${port.id} on host ${host} already exists.`;
  expectError(await admin.post(bindings, { binding: { host: 'compute2' } }), 409, 'PortBindingAlreadyExists', exists('compute2'));
  expectError(await admin.post(bindings, { binding: { host: 'compute1' } }), 409, 'PortBindingAlreadyExists', exists('compute1'));
  expectError(
    await admin.put(`${bindings}/compute1/activate`, undefined),
    409,
    'PortBindingAlreadyActive',
    `Binding for port ${port.id} on host compute1 is already active.`,
  );
  const missing = `Binding for port ${port.id} for host compute9 could not be found.`;
  expectError(await admin.get(`${bindings}/compute9`), 404, 'PortBindingNotFound', missing);
  expectError(await admin.put(`${bindings}/compute9/activate`, undefined), 404, 'PortBindingNotFound', missing);
  expectError(await admin.del(`${bindings}/compute9`), 404, 'PortBindingNotFound', missing);
  const ghost = '3c338602-d806-488a-ae66-c4c8f8d13b9b';
  expectError(await admin.get(`/ports/${ghost}/bindings`), 404, 'PortNotFound', `Port ${ghost} could not be found.`);
  expectError(await admin.post(`/ports/${ghost}/bindings`, { binding: { host: 'h' } }), 404, 'PortNotFound');
  // Nothing changed: compute1 still active, compute2 still inactive.
  assert.deepEqual(hostsOf((await admin.get(bindings)).body.bindings), ['compute1:ACTIVE', 'compute2:INACTIVE']);
});

test('refusals: only instance and shared file system ports have several bindings', async (t) => {
  const { admin, demo, net } = await scenario(t);
  const plain = await created(demo.post('/ports', { port: { network_id: net.id } }), 'port');
  const invalid = `Invalid port ${plain.id}. Operation only valid on compute and shared filesystem ports`;
  expectError(await admin.get(`/ports/${plain.id}/bindings`), 400, 'BadRequest', invalid);
  expectError(await admin.post(`/ports/${plain.id}/bindings`, { binding: { host: 'h' } }), 400, 'BadRequest', invalid);
  const share = await created(admin.post('/ports', { port: { network_id: net.id, device_owner: 'manila:share' } }), 'port');
  assert.equal((await admin.post(`/ports/${share.id}/bindings`, { binding: { host: 'h' } })).status, 201);
});

test('refusals: malformed bodies', async (t) => {
  const { admin, bindings } = await scenario(t);
  expectError(
    await admin.post(bindings, { binding: {} }),
    400,
    'HTTPBadRequest',
    "Failed to parse request. Required attribute 'host' not specified",
  );
  expectError(
    await admin.post(bindings, { binding: { host: 'h', vnic_type: 'weird' } }),
    400,
    'HTTPBadRequest',
    /^Invalid input for vnic_type/,
  );
  expectError(await admin.post(bindings, { binding: { host: 'h', profile: 'x' } }), 400, 'HTTPBadRequest', /^Invalid input for profile/);
  expectError(
    await admin.post(bindings, { binding: { host: 'h', status: 'ACTIVE' } }),
    400,
    'HTTPBadRequest',
    "Attribute 'status' not allowed in POST",
  );
  // profile null is no profile.
  assert.deepEqual((await created(admin.post(bindings, { binding: { host: 'h', profile: null } }), 'binding')).profile, {});
});

test('policy: admin only — members are refused or see nothing', async (t) => {
  const { admin, demo, other, port, bindings } = await scenario(t);
  await prepare(admin, bindings);
  // The port's own project: an empty list, the bindings hidden, creating forbidden.
  assert.deepEqual((await demo.get(bindings)).body, { bindings: [] });
  expectError(await demo.get(`${bindings}/compute1`), 404, 'HTTPNotFound', NOT_FOUND);
  expectError(
    await demo.post(bindings, { binding: { host: 'compute3' } }),
    403,
    'PolicyNotAuthorized',
    'rule:create_port_binding is disallowed by policy',
  );
  expectError(await demo.put(`${bindings}/compute2/activate`, undefined), 404, 'HTTPNotFound', NOT_FOUND);
  expectError(await demo.del(`${bindings}/compute2`), 404, 'HTTPNotFound', NOT_FOUND);
  // Another project does not see the port at all.
  expectError(await other.get(bindings), 404, 'PortNotFound', `Port ${port.id} could not be found.`);
  expectError(await other.get(`${bindings}/compute1`), 404, 'PortNotFound');
  expectError(await other.put(`${bindings}/compute2/activate`, undefined), 404, 'PortNotFound');
  expectError(await other.del(`${bindings}/compute2`), 404, 'PortNotFound');
  // Nothing changed.
  assert.deepEqual(hostsOf((await admin.get(bindings)).body.bindings), ['compute1:ACTIVE', 'compute2:INACTIVE']);
  assert.equal((await admin.get(`/ports/${port.id}`)).body.port.revision_number, port.revision_number);
});

test('deleting the active binding leaves the port unbound; deleting the port removes its bindings', async (t) => {
  const { admin, port, bindings } = await scenario(t);
  await prepare(admin, bindings);
  assert.equal((await admin.del(`${bindings}/compute1`)).status, 204);
  const unbound = (await admin.get(`/ports/${port.id}`)).body.port;
  assert.equal(unbound['binding:host_id'], '');
  assert.equal(unbound['binding:vif_type'], 'unbound');
  assert.deepEqual(hostsOf((await admin.get(bindings)).body.bindings), [':ACTIVE', 'compute2:INACTIVE']);
  assert.equal((await admin.del(`/ports/${port.id}`)).status, 204);
  expectError(await admin.get(bindings), 404, 'PortNotFound');
});
