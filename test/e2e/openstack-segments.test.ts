// Provider networks and their segments through Debian's real `openstack` CLI: network create
// --provider-*, network segment create/list/show/set/delete, and the network's `segments` once it
// has several.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliSuite } from '../helpers/cli-suite.ts';
import type { Wire } from '../helpers/client.ts';

const suite = cliSuite({ config: { vniRanges: [[40, 49]], networkVlanRanges: [{ physicalNetwork: 'physnet1', ranges: [[100, 199]] }] } });
const skip = suite.skip;

const admin = (...a: string[]): Promise<Wire> => suite.cli.json('admin', a);
const run = (...a: string[]) => suite.cli.run('admin', a);
const VLAN_150 = ['--provider-network-type', 'vlan', '--provider-physical-network', 'physnet1', '--provider-segment', '150'];

test('a VLAN provider network, a VXLAN segment added and removed, segments listed', { skip, timeout: 300_000 }, async () => {
  // The MTU leaves room for a VXLAN segment (a segment the network's MTU does not fit is refused).
  const net = await admin('network', 'create', ...VLAN_150, '--mtu', '1450', 'vlan150');
  assert.equal(net.provider_network_type ?? net['provider:network_type'], 'vlan');
  assert.equal(net.provider_segmentation_id ?? net['provider:segmentation_id'], 150);

  const listed = await admin('network', 'segment', 'list', '--network', 'vlan150');
  assert.equal(listed.length, 1);
  assert.equal(listed[0]['Network Type'], 'vlan');
  assert.equal(listed[0].Segment, 150);
  assert.equal(listed[0].Network, net.id);

  const added = await admin('network', 'segment', 'create', '--network', 'vlan150', '--network-type', 'vxlan', 'overlay');
  assert.equal(added.network_type, 'vxlan');
  assert.equal(added.segmentation_id, 40);
  assert.equal(added.name, 'overlay');
  await run('network', 'segment', 'set', '--name', 'tunnel', added.id);
  assert.equal((await admin('network', 'segment', 'show', added.id)).name, 'tunnel');
  const shown = await admin('network', 'show', 'vlan150');
  assert.deepEqual(
    shown.segments.map((s: Wire) => [s['provider:network_type'], s['provider:segmentation_id']]),
    [
      ['vlan', 150],
      ['vxlan', 40],
    ],
  );
  assert.equal((await admin('network', 'segment', 'list')).length, 2);

  await run('network', 'segment', 'delete', added.id);
  assert.equal((await admin('network', 'segment', 'list', '--network', net.id)).length, 1);
  // The VLAN is held until the network goes.
  await assert.rejects(run('network', 'create', ...VLAN_150, 'again'), /VLAN 150 on physical network physnet1 is in use/);
  await run('network', 'delete', 'vlan150');
  assert.deepEqual(await admin('network', 'segment', 'list'), []);
});
