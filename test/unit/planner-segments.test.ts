// A network of several segments on a node: the node wires it from the first segment it can — a VLAN
// or flat segment of a physical network mapped here, a VXLAN segment where it has a tunnel endpoint —
// and leaves it unwired when it can wire none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planNode, type NodeFacts } from '../../src/planner/index.ts';
import type { HostView, NetworkView, SegmentView } from '../../src/model/hostview.ts';
import { HOST, type LinkSpec } from '../../src/kernel/types.ts';
import { l2Port } from '../helpers/l2-view.ts';

const NET = 'e6e37ba0-3b3f-4d4f-9a1b-2c3d4e5f6a7b';
const VLAN: SegmentView = { network_type: 'vlan', physical_network: 'physnet1', segmentation_id: 12 };
const VXLAN: SegmentView = { network_type: 'vxlan', physical_network: null, segmentation_id: 40 };
const FLAT: SegmentView = { network_type: 'flat', physical_network: 'provider', segmentation_id: null };

const network = (segments: SegmentView[]): NetworkView => ({
  id: NET,
  name: 'multi',
  ...segments[0]!,
  segments,
  mtu: 1450,
  admin_state_up: true,
  router_external: false,
});
const vm = l2Port('3c338602-d806-488a-ae66-c4c8f8d13b9b', NET);
const view = (segments: SegmentView[]): HostView => ({
  host: 'compute1',
  revision: 1,
  networks: [network(segments)],
  subnets: [],
  ports: [vm],
  remote_ports: [],
  remote_vteps: [],
  security_groups: [],
  dhcp_networks: [],
  dhcp_ports: [],
  routers: [],
});
const node = (facts: Partial<NodeFacts>): NodeFacts => ({
  host: 'compute1',
  roles: ['l2'],
  localIp: null,
  localIpDevice: null,
  physicalInterfaceMappings: {},
  statePath: '/var/lib/neutrino',
  presentTaps: new Set(['tap3c338602-d8']),
  ...facts,
});
const tunnel = { localIp: '192.168.0.105', localIpDevice: 'eth0' };

/** The uplink of brq<net> the plan makes (its VXLAN device, VLAN subinterface or NIC), or null. */
function uplinkOf(segments: SegmentView[], facts: Partial<NodeFacts>): LinkSpec | null {
  const links = planNode(view(segments), node(facts)).desired.namespaces[HOST]!.links;
  return links.find((l) => l.master === 'brqe6e37ba0-3b' && !l.name.startsWith('tap')) ?? null;
}

test('the first segment the node can wire is the one it realizes', () => {
  // physnet1 mapped: the VLAN segment, first in order.
  const vlan = uplinkOf([VLAN, VXLAN], { ...tunnel, physicalInterfaceMappings: { physnet1: 'eth1' } });
  assert.equal(vlan?.kind, 'vlan');
  assert.equal(vlan?.name, 'eth1.12');
  // Not mapped here: the VXLAN segment.
  const vx = uplinkOf([VLAN, VXLAN], tunnel);
  assert.equal(vx?.kind, 'vxlan');
  assert.equal(vx?.name, 'vxlan-40');
  // Both possible: the order decides.
  assert.equal(uplinkOf([VXLAN, VLAN], { ...tunnel, physicalInterfaceMappings: { physnet1: 'eth1' } })?.name, 'vxlan-40');
  // A flat segment of a mapped physical network, after a VLAN segment this node cannot wire.
  assert.equal(uplinkOf([VLAN, FLAT], { physicalInterfaceMappings: { provider: 'eth2' } })?.name, 'eth2');
});

test('a node that can wire none of the segments leaves the network unwired', () => {
  const plan = planNode(view([VLAN, FLAT]), node({ physicalInterfaceMappings: { other: 'eth3' } }));
  assert.deepEqual(plan.plugged, []);
  assert.equal(uplinkOf([VLAN, FLAT], { physicalInterfaceMappings: { other: 'eth3' } }), null);
});
