// Networks of several segments over HTTP (Neutron's multi-provider extension and the segments
// resource): create with `segments`, the dict as ML2 extends it, every refusal with Neutron's error,
// provider filters over any segment, updates, VLANs freed with the network, the host view's segments,
// and admins' list, show, rename, add and removal of segments.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerConfig } from '../../src/server-config.ts';
import { startTestServer } from '../helpers/server.ts';
import { adminDemoOther, created, expectError } from '../helpers/networking.ts';

async function freshServer(t: TestContext, overrides: Partial<ServerConfig> = {}) {
  const srv = await startTestServer({
    vniRanges: [[40, 41]],
    flatNetworks: ['provider'],
    networkVlanRanges: [
      { physicalNetwork: 'physnet1', ranges: [[100, 101]] },
      { physicalNetwork: 'physnet2', ranges: [[1, 4094]] },
    ],
    physicalNetworkMtus: { physnet2: 1400 },
    ...overrides,
  });
  t.after(() => srv.close());
  return { srv, ...(await adminDemoOther(srv.url)) };
}

const vxlan = (id?: number) => ({ 'provider:network_type': 'vxlan', ...(id === undefined ? {} : { 'provider:segmentation_id': id }) });
const vlan = (physnet?: string, id?: number) => ({
  'provider:network_type': 'vlan',
  ...(physnet === undefined ? {} : { 'provider:physical_network': physnet }),
  ...(id === undefined ? {} : { 'provider:segmentation_id': id }),
});
const seg = (type: string, physnet: string | null, id: number | null) => ({
  'provider:network_type': type,
  'provider:physical_network': physnet,
  'provider:segmentation_id': id,
});

test('a network of several segments: allocated in order, shown as `segments` to admins only, MTU of the smallest', async (t) => {
  const { admin, demo, demoProject } = await freshServer(t);
  const net = await created(
    admin.post('/networks', {
      network: { name: 'multi', project_id: demoProject, segments: [vxlan(), vlan('physnet2', 200), vlan('physnet1')] },
    }),
    'network',
  );
  assert.deepEqual(net.segments, [seg('vxlan', null, 40), seg('vlan', 'physnet2', 200), seg('vlan', 'physnet1', 100)]);
  for (const k of ['provider:network_type', 'provider:physical_network', 'provider:segmentation_id']) assert.ok(!(k in net), k);
  // The smallest of the segments' MTUs: physnet2's 1400 (VXLAN's would be 1450).
  assert.equal(net.mtu, 1400);
  assert.deepEqual((await admin.get(`/networks/${net.id}`)).body.network.segments, net.segments);
  const seen = (await demo.get(`/networks/${net.id}`)).body.network;
  assert.equal(seen.name, 'multi');
  assert.ok(!('segments' in seen));

  // One segment in `segments` is a network like any other: provider attributes, no `segments`.
  const one = await created(admin.post('/networks', { network: { segments: [vlan('physnet2', 201)] } }), 'network');
  assert.equal(one['provider:network_type'], 'vlan');
  assert.equal(one['provider:physical_network'], 'physnet2');
  assert.equal(one['provider:segmentation_id'], 201);
  assert.ok(!('segments' in one));
  // The provider attributes as before, with null provider attributes next to `segments` ignored.
  const nulls = await created(
    admin.post('/networks', { network: { 'provider:physical_network': null, segments: [{ 'provider:network_type': 'vxlan' }] } }),
    'network',
  );
  assert.equal(nulls['provider:segmentation_id'], 41);
  // An empty list names nothing: a tenant segment, when one is free.
  expectError(
    await admin.post('/networks', { network: { segments: [] } }),
    503,
    'NoNetworkAvailable',
    'Unable to create the network. No tenant network is available for allocation.',
  );
});

test('every refusal of `segments` is Neutron’s', async (t) => {
  const { admin, demo } = await freshServer(t);
  const post = (network: object) => admin.post('/networks', { network });
  expectError(
    await post({ 'provider:network_type': 'vxlan', segments: [vxlan()] }),
    400,
    'InvalidInput',
    'Invalid input for operation: Segments and provider values cannot both be set.',
  );
  expectError(
    await post({ segments: [vlan('physnet2', 300), vxlan(), vlan('physnet2', 300)] }),
    400,
    'InvalidInput',
    'Invalid input for operation: Duplicate segment entry in request.',
  );
  expectError(
    await post({ segments: [{ 'provider:physical_network': 'physnet2' }] }),
    400,
    'InvalidInput',
    'Invalid input for operation: network_type required.',
  );
  expectError(
    await post({ segments: [vxlan(), { 'provider:network_type': 'vxlan', color: 'blue' }] }),
    400,
    'HTTPBadRequest',
    "Unrecognized attribute(s) 'color'",
  );
  expectError(
    await post({ segments: [{ 'provider:network_type': 'vxlan', 'provider:segmentation_id': 'abc' }] }),
    400,
    'InvalidInput',
    "Invalid input for operation: 'abc' is not an integer.",
  );
  expectError(await post({ segments: 'vxlan' }), 400, 'HTTPBadRequest', "Invalid input for segments. Reason: 'vxlan' is not a list.");
  expectError(await post({ segments: [7] }), 400, 'HTTPBadRequest', "Invalid input for segments. Reason: '7' is not a dictionary.");
  // Each segment is validated by its type driver, as the provider attributes are.
  expectError(
    await post({ segments: [vxlan(), vlan('physnet9', 5)] }),
    400,
    'InvalidInput',
    "Invalid input for operation: physical_network 'physnet9' unknown for VLAN provider network.",
  );
  expectError(
    await post({ segments: [{ 'provider:network_type': 'gre' }] }),
    400,
    'InvalidInput',
    "Invalid input for operation: network_type value 'gre' not supported.",
  );
  expectError(await demo.post('/networks', { network: { segments: [vxlan()] } }), 403, 'PolicyNotAuthorized');

  // A segment another network holds is refused, whichever network holds it and however it was named.
  await created(post({ segments: [vxlan(40), vlan('physnet2', 7), seg('flat', 'provider', null)] }), 'network');
  expectError(
    await post(vlan('physnet2', 7)),
    409,
    'VlanIdInUse',
    'Unable to create the network. The VLAN 7 on physical network physnet2 is in use.',
  );
  expectError(
    await post({ segments: [vxlan(41), vxlan(40)] }),
    409,
    'TunnelIdInUse',
    'Unable to create the network. The tunnel ID 40 is in use.',
  );
  expectError(
    await post({ 'provider:network_type': 'flat', 'provider:physical_network': 'provider' }),
    409,
    'FlatNetworkInUse',
    'Unable to create the flat network. Physical network provider is in use.',
  );
  // Partial segments are not duplicates: each gets its own id.
  const partial = await created(post({ segments: [vlan('physnet1'), vlan('physnet1')] }), 'network');
  assert.deepEqual(partial.segments, [seg('vlan', 'physnet1', 100), seg('vlan', 'physnet1', 101)]);
  // The MTU must fit the smallest segment.
  expectError(
    await post({ mtu: 1450, segments: [vxlan(), vlan('physnet2', 8)] }),
    400,
    'InvalidInput',
    'Invalid input for operation: Requested MTU is too big, maximum is 1400.',
  );
});

test('provider filters match any segment; updates may repeat segments, not change them; a delete frees them', async (t) => {
  const { admin } = await freshServer(t);
  const multi = await created(admin.post('/networks', { network: { segments: [vxlan(40), vlan('physnet2', 9)] } }), 'network');
  const single = await created(admin.post('/networks', { network: vxlan(41) }), 'network');
  const ids = async (q: string) => ((await admin.get(`/networks?${q}`)).body.networks as Array<{ id: string }>).map((n) => n.id).sort();
  assert.deepEqual(await ids('provider:network_type=vlan'), [multi.id]);
  assert.deepEqual(await ids('provider:network_type=vxlan'), [multi.id, single.id].sort());
  assert.deepEqual(await ids('provider:physical_network=physnet2'), [multi.id]);
  assert.deepEqual(await ids('provider:segmentation_id=9'), [multi.id]);
  assert.deepEqual(await ids('provider:segmentation_id=41'), [single.id]);
  assert.deepEqual(await ids('provider:network_type=vlan&limit=5'), [multi.id]);

  const same = await admin.put(`/networks/${multi.id}`, { network: { name: 'renamed', segments: multi.segments } });
  assert.equal(same.status, 200, JSON.stringify(same.body));
  assert.equal(same.body.network.name, 'renamed');
  expectError(
    await admin.put(`/networks/${multi.id}`, { network: { segments: [vxlan(40)] } }),
    400,
    'InvalidInput',
    'Invalid input for operation: Plugin does not support updating the following provider network attributes: segments.',
  );
  expectError(
    await admin.put(`/networks/${multi.id}`, { network: { 'provider:segmentation_id': 40 } }),
    400,
    'InvalidInput',
    'Invalid input for operation: Provider network attributes can be updated only in provider networks with a single segment.',
  );
  assert.equal((await admin.put(`/networks/${single.id}`, { network: { 'provider:segmentation_id': 41 } })).status, 200);

  assert.equal((await admin.del(`/networks/${multi.id}`)).status, 204);
  const again = await created(admin.post('/networks', { network: { segments: [vlan('physnet2', 9), vxlan(40)] } }), 'network');
  assert.deepEqual(again.segments, [seg('vlan', 'physnet2', 9), seg('vxlan', null, 40)]);
});

test('the host view carries every segment of a network in order', async (t) => {
  const { admin, demoProject } = await freshServer(t);
  const net = await created(
    admin.post('/networks', { network: { project_id: demoProject, segments: [vlan('physnet2', 12), vxlan(40)] } }),
    'network',
  );
  await created(admin.post('/ports', { port: { network_id: net.id, project_id: demoProject, 'binding:host_id': 'compute1' } }), 'port');
  const view = (await admin.get('/neutrino/hosts/compute1/view')).body.view;
  const n = view.networks.find((x: { id: string }) => x.id === net.id);
  assert.equal(n.network_type, 'vlan');
  assert.equal(n.segmentation_id, 12);
  assert.deepEqual(n.segments, [
    { network_type: 'vlan', physical_network: 'physnet2', segmentation_id: 12 },
    { network_type: 'vxlan', physical_network: null, segmentation_id: 40 },
  ]);
});

test('the segments resource: admins list, show, rename, add and remove segments; others see none', async (t) => {
  const { admin, demo } = await freshServer(t);
  const report = (host: string, configurations: object) =>
    admin.post('/neutrino/agents/report', { agent: { agent_type: 'Linux bridge agent', host, configurations, start_flag: true } });
  assert.equal((await report('compute2', { interface_mappings: { physnet2: 'eth2' } })).status, 200);
  assert.equal(
    (await report('compute1', { interface_mappings: { physnet1: 'eth1' }, bridge_mappings: { physnet2: 'br-ex' } })).status,
    200,
  );
  const net = await created(admin.post('/networks', { network: { segments: [vxlan(40), vlan('physnet2', 20)] } }), 'network');

  const all = (await admin.get(`/segments?network_id=${net.id}`)).body.segments;
  assert.equal(all.length, 2);
  const [first, second] = [...all].sort((a, b) => a.segment_index - b.segment_index);
  assert.equal(first.network_type, 'vxlan');
  assert.equal(first.segmentation_id, 40);
  assert.deepEqual(first.hosts, []);
  assert.equal(first.name, null);
  assert.equal(second.physical_network, 'physnet2');
  assert.equal(second.segment_index, 1);
  assert.deepEqual(second.hosts, ['compute1', 'compute2']);
  assert.equal(second.revision_number, 0);
  assert.deepEqual(
    (await admin.get(`/segments?network_type=vlan&physical_network=physnet2`)).body.segments.map((s: { id: string }) => s.id),
    [second.id],
  );

  assert.deepEqual((await demo.get('/segments')).body.segments, []);
  expectError(await demo.get(`/segments/${first.id}`), 404, 'HTTPNotFound', 'The resource could not be found.');
  expectError(await demo.post('/segments', { segment: { network_id: net.id, network_type: 'vxlan' } }), 403, 'PolicyNotAuthorized');
  expectError(
    await admin.get('/segments/9b3d1d4a-0000-4000-8000-000000000000'),
    404,
    'SegmentNotFound',
    'Segment 9b3d1d4a-0000-4000-8000-000000000000 could not be found.',
  );

  const renamed = await admin.put(`/segments/${first.id}`, { segment: { name: 'overlay', description: 'the tunnel' } });
  assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
  assert.equal(renamed.body.segment.name, 'overlay');
  assert.equal(renamed.body.segment.revision_number, 1);
  expectError(
    await admin.put(`/segments/${first.id}`, { segment: { segmentation_id: 41 } }),
    400,
    'HTTPBadRequest',
    'Cannot update read-only attribute segmentation_id',
  );

  // Adding a segment: reserved as on network create, after the others; the network shows it.
  const added = await created(
    admin.post('/segments', { segment: { network_id: net.id, network_type: 'vlan', physical_network: 'physnet1' } }),
    'segment',
  );
  assert.equal(added.segmentation_id, 100);
  assert.equal(added.segment_index, 2);
  assert.equal((await admin.get(`/networks/${net.id}`)).body.network.segments.length, 3);
  expectError(
    await admin.post('/segments', {
      segment: { network_id: net.id, network_type: 'vlan', physical_network: 'physnet1', segmentation_id: 100 },
    }),
    409,
    'VlanIdInUse',
  );
  expectError(
    await admin.post('/segments', { segment: { network_id: '9b3d1d4a-0000-4000-8000-000000000000', network_type: 'vxlan' } }),
    404,
    'NetworkNotFound',
  );
  expectError(
    await admin.post('/segments', { segment: { network_id: net.id } }),
    400,
    'HTTPBadRequest',
    "Failed to parse request. Required attribute 'network_type' not specified",
  );
  // A VXLAN network's MTU (1450) does not fit physnet2's 1400.
  const tunnel = await created(admin.post('/networks', { network: vxlan(41) }), 'network');
  expectError(
    await admin.post('/segments', { segment: { network_id: tunnel.id, network_type: 'vlan', physical_network: 'physnet2' } }),
    400,
    'InvalidInput',
    'Invalid input for operation: Requested MTU is too big, maximum is 1400.',
  );

  // Removing segments frees their VLANs; one left, the network shows provider attributes again.
  assert.equal((await admin.del(`/segments/${added.id}`)).status, 204);
  assert.equal((await admin.del(`/segments/${second.id}`)).status, 204);
  const back = (await admin.get(`/networks/${net.id}`)).body.network;
  assert.ok(!('segments' in back));
  assert.equal(back['provider:segmentation_id'], 40);
  await created(admin.post('/networks', { network: vlan('physnet2', 20) }), 'network');
  expectError(await admin.del(`/segments/${added.id}`), 404, 'SegmentNotFound');
});
