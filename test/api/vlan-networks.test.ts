// VLAN networks over HTTP (Neutron's ML2 vlan type driver): provider validation and its refusals,
// tenant allocation from network_vlan_ranges in tenant_network_types' order, the VLAN freed with its
// network, and the MTU of a physical network.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerConfig } from '../../src/server-config.ts';
import { startTestServer } from '../helpers/server.ts';
import type { Api } from '../helpers/client.ts';
import { adminDemoOther } from '../helpers/networking.ts';

async function freshServer(t: TestContext, overrides: Partial<ServerConfig> = {}) {
  const srv = await startTestServer({
    vniRanges: [[40, 40]],
    networkVlanRanges: [
      { physicalNetwork: 'physnet1', ranges: [[100, 101]] },
      { physicalNetwork: 'physnet2', ranges: [[1, 4094]] },
    ],
    physicalNetworkMtus: { physnet1: 9000, physnet2: 1400 },
    ...overrides,
  });
  t.after(() => srv.close());
  return { srv, ...(await adminDemoOther(srv.url)) };
}

const vlanNet = (physnet?: string, vid?: number) => ({
  network: {
    'provider:network_type': 'vlan',
    ...(physnet === undefined ? {} : { 'provider:physical_network': physnet }),
    ...(vid === undefined ? {} : { 'provider:segmentation_id': vid }),
  },
});

async function refused(api: Api, body: object, status: number, type: string, message?: string) {
  const r = await api.post('/networks', body);
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.NeutronError.type, type);
  if (message !== undefined) assert.equal(r.body.NeutronError.message, message);
}

test('an admin creates a VLAN provider network; the same VLAN on the same physnet is refused, on another one not', async (t) => {
  const { admin } = await freshServer(t);
  const r = await admin.post('/networks', vlanNet('physnet2', 100));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.network['provider:network_type'], 'vlan');
  assert.equal(r.body.network['provider:physical_network'], 'physnet2');
  assert.equal(r.body.network['provider:segmentation_id'], 100);
  // physical_network_mtus lowers the underlay's 1500 for physnet2, and cannot raise it for physnet1.
  assert.equal(r.body.network.mtu, 1400);
  await refused(
    admin,
    vlanNet('physnet2', 100),
    409,
    'VlanIdInUse',
    'Unable to create the network. The VLAN 100 on physical network physnet2 is in use.',
  );
  const other = await admin.post('/networks', vlanNet('physnet1', 100));
  assert.equal(other.status, 201);
  assert.equal(other.body.network.mtu, 1500);
  // A VLAN outside the tenant ranges may be named by an admin.
  assert.equal((await admin.post('/networks', vlanNet('physnet1', 4094))).status, 201);
  // Deleting the network frees its VLAN.
  assert.equal((await admin.del(`/networks/${r.body.network.id}`)).status, 204);
  assert.equal((await admin.post('/networks', vlanNet('physnet2', 100))).status, 201);
});

test('VLAN provider refusals: range, unknown physnet, VLAN without physnet, member, MTU too big, update', async (t) => {
  const { admin, demo } = await freshServer(t);
  for (const vid of [0, 4095]) {
    await refused(
      admin,
      vlanNet('physnet1', vid),
      400,
      'InvalidInput',
      'Invalid input for operation: segmentation_id out of range (1 through 4094).',
    );
  }
  await refused(
    admin,
    vlanNet('nope', 100),
    400,
    'InvalidInput',
    "Invalid input for operation: physical_network 'nope' unknown for VLAN provider network.",
  );
  await refused(
    admin,
    vlanNet(undefined, 100),
    400,
    'InvalidInput',
    'Invalid input for operation: segmentation_id requires physical_network for VLAN provider network.',
  );
  await refused(demo, vlanNet('physnet1', 100), 403, 'PolicyNotAuthorized');
  await refused(
    admin,
    { network: { ...vlanNet('physnet2', 7).network, mtu: 1401 } },
    400,
    'InvalidInput',
    'Invalid input for operation: Requested MTU is too big, maximum is 1400.',
  );
  const net = (await admin.post('/networks', vlanNet('physnet1', 100))).body.network;
  const change = await admin.put(`/networks/${net.id}`, { network: { 'provider:segmentation_id': 101 } });
  assert.equal(change.status, 400);
  assert.equal(change.body.NeutronError.type, 'InvalidInput');
});

test('a VLAN network without a VLAN id gets a free one of its physnet; an exhausted physnet is 503', async (t) => {
  const { admin } = await freshServer(t);
  const first = await admin.post('/networks', vlanNet('physnet1'));
  assert.equal(first.status, 201);
  assert.equal(first.body.network['provider:segmentation_id'], 100);
  assert.equal((await admin.post('/networks', vlanNet('physnet1'))).body.network['provider:segmentation_id'], 101);
  await refused(
    admin,
    vlanNet('physnet1'),
    503,
    'NoNetworkAvailable',
    'Unable to create the network. No tenant network is available for allocation.',
  );
  // No physnet named: the first physnet of network_vlan_ranges with a free VLAN.
  const any = await admin.post('/networks', vlanNet());
  assert.equal(any.body.network['provider:physical_network'], 'physnet2');
  assert.equal(any.body.network['provider:segmentation_id'], 1);
});

test('tenant networks follow tenant_network_types: VXLAN first, then VLANs of the ranges, then 503', async (t) => {
  const { admin, demo } = await freshServer(t, {
    tenantNetworkTypes: ['vxlan', 'vlan'],
    networkVlanRanges: [{ physicalNetwork: 'physnet1', ranges: [[100, 100]] }],
  });
  const seen = async () => {
    const r = await demo.post('/networks', { network: {} });
    if (r.status !== 201) return r.body.NeutronError.type;
    const n = (await admin.get(`/networks/${r.body.network.id}`)).body.network;
    assert.ok(!('provider:network_type' in r.body.network), 'provider attributes are admin-only');
    return `${n['provider:network_type']}:${n['provider:physical_network']}:${n['provider:segmentation_id']}:${n.mtu}`;
  };
  assert.equal(await seen(), 'vxlan:null:40:1450');
  assert.equal(await seen(), 'vlan:physnet1:100:1500');
  assert.equal(await seen(), 'NoNetworkAvailable');
});

test('VLAN as the only tenant type: allocation in the order of the ranges, the VLAN reused once freed', async (t) => {
  const { admin, demo } = await freshServer(t, { tenantNetworkTypes: ['vlan'] });
  const ids: string[] = [];
  for (const want of ['physnet1:100', 'physnet1:101', 'physnet2:1']) {
    const r = await demo.post('/networks', { network: {} });
    assert.equal(r.status, 201);
    ids.push(r.body.network.id);
    const n = (await admin.get(`/networks/${r.body.network.id}`)).body.network;
    assert.equal(`${n['provider:physical_network']}:${n['provider:segmentation_id']}`, want);
  }
  assert.equal((await demo.del(`/networks/${ids[0]}`)).status, 204);
  const again = (await demo.post('/networks', { network: {} })).body.network;
  assert.equal((await admin.get(`/networks/${again.id}`)).body.network['provider:segmentation_id'], 100);
});
