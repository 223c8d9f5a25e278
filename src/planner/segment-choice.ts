// A network of several segments (multi-provider) is realized on a node from the first of its
// segments the node can wire — a flat or VLAN segment whose physical network is mapped here, a
// VXLAN segment where the node has a tunnel endpoint — as ML2 binds a port to the first segment
// its agent's mappings and tunnel types support. Pure.
import type { HostView, NetworkView, SegmentView } from '../model/hostview.ts';
import type { NodeFacts } from './facts.ts';
import { canWireNetwork } from './l2.ts';

const withSegment = (net: NetworkView, s: SegmentView): NetworkView => ({
  ...net,
  network_type: s.network_type,
  physical_network: s.physical_network,
  segmentation_id: s.segmentation_id,
});

/** The network as this node realizes it: its segment fields those of the segment chosen here. */
export function realizedOn(net: NetworkView, node: NodeFacts): NetworkView {
  if (!net.segments?.length) return net;
  const chosen = net.segments.find((s) => canWireNetwork(withSegment(net, s), node)) ?? net.segments[0]!;
  return withSegment(net, chosen);
}

/** The view with each network's segment the one this node realizes. */
export function withRealizedSegments(view: HostView, node: NodeFacts): HostView {
  if (!view.networks.some((n) => n.segments?.length)) return view;
  return { ...view, networks: view.networks.map((n) => realizedOn(n, node)) };
}
