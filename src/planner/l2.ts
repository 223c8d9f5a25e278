// L2 of one node (Neutron's Linux bridge agent with l2population): per realized network a brq
// bridge with its vxlan-N, mapped NIC (flat) or the NIC's VLAN subinterface `<nic>.<vid>` — or, for
// a flat network of bridge_mappings, that existing bridge — the ports' taps in it, and fdb/ARP
// entries toward the other nodes' VTEPs. Pure.
import { bridgeName, tapName, vlanSubinterfaceName, vxlanName } from '../kernel/names.ts';
import type { FdbSpec, LinkSpec, NeighSpec } from '../kernel/types.ts';
import type { HostView, NetworkView, PortView } from '../model/hostview.ts';
import type { NodeFacts, VxlanSettings } from './facts.ts';
import { DHCP_OWNER, ROUTER_PORT_OWNERS, VXLAN_UDP_PORT } from '../model/neutron.ts';
import { vxlanGroupOf } from './vxlan-group.ts';

export const FLOOD_MAC = '00:00:00:00:00:00';

/** Neutron's defaults as neutrino runs them: the kernel's port, no ttl/tos, l2population. */
const DEFAULT_VXLAN: VxlanSettings = { dstport: VXLAN_UDP_PORT, ttl: null, tos: null, l2Population: true, group: '224.0.0.1' };

const vxlanOf = (node: NodeFacts): VxlanSettings => node.vxlan ?? DEFAULT_VXLAN;

/** Ports whose host side the L2 role plugs but another role (DHCP, L3) creates. */
export const isServicePort = (p: PortView) => p.device_owner === DHCP_OWNER || ROUTER_PORT_OWNERS.includes(p.device_owner);

export interface L2Plan {
  links: LinkSpec[];
  fdb: FdbSpec[];
  neigh: NeighSpec[];
  /** networks wired on this node */
  networks: NetworkView[];
  /** ports whose tap is (or will be) in its bridge: they are ACTIVE once applied */
  plugged: PortView[];
}

/**
 * The existing bridge bridge_mappings gives a flat network's physical network (Neutron's
 * ensure_flat_bridge with phy_bridge_name: its ports join that bridge, no brq is made), or null.
 */
export function mappedBridge(net: NetworkView, node: NodeFacts): string | null {
  if (net.network_type !== 'flat' || !net.physical_network) return null;
  return node.bridgeMappings?.[net.physical_network] ?? null;
}

/** The bridge a network's ports join on this node. */
export const networkBridge = (net: NetworkView, node: NodeFacts): string => mappedBridge(net, node) ?? bridgeName(net.id);

/** Whether this node can wire the network: a bridge of bridge_mappings, or an uplink it can make. */
export const canWireNetwork = (net: NetworkView, node: NodeFacts): boolean =>
  mappedBridge(net, node) !== null || uplink(net, node) !== null;

/** The uplink of a network on this node, or null when the node cannot wire it. */
export function uplink(net: NetworkView, node: NodeFacts): LinkSpec | null {
  if (net.network_type === 'vxlan' && node.localIp && node.localIpDevice && net.segmentation_id !== null) {
    const s = vxlanOf(node);
    return {
      kind: 'vxlan',
      name: vxlanName(net.segmentation_id),
      mtu: net.mtu,
      up: true,
      master: bridgeName(net.id),
      vxlan: {
        vni: net.segmentation_id,
        local: node.localIp,
        dev: node.localIpDevice,
        dstport: s.dstport,
        // Without l2population no fdb entries are written: the device learns remote MACs itself and
        // floods the rest to the group (Neutron's VXLAN MCAST mode).
        learning: !s.l2Population,
        proxy: node.arpResponder === true,
        ...(s.l2Population ? {} : { group: vxlanGroupOf(s.group, net.segmentation_id) }),
        ...(s.ttl !== null ? { ttl: s.ttl } : {}),
        ...(s.tos !== null ? { tos: s.tos } : {}),
      },
    };
  }
  if (net.network_type === 'flat' && net.physical_network) {
    const nic = node.physicalInterfaceMappings[net.physical_network];
    if (nic) return { kind: 'device', name: nic, up: true, master: bridgeName(net.id) };
  }
  if (net.network_type === 'vlan' && net.physical_network && net.segmentation_id !== null && node.vlan !== false) {
    const nic = node.physicalInterfaceMappings[net.physical_network];
    if (nic) {
      const vlan = { id: net.segmentation_id, dev: nic };
      return { kind: 'vlan', name: vlanSubinterfaceName(nic, vlan.id), up: true, master: bridgeName(net.id), vlan };
    }
  }
  return null;
}

/**
 * The NICs VLAN subinterfaces sit on, up (a subinterface carries nothing while its parent is down),
 * unless a flat network already declares the NIC. They are not neutrino's: never created or deleted.
 */
function vlanParents(links: readonly LinkSpec[]): LinkSpec[] {
  const declared = new Set(links.map((l) => l.name));
  const parents = new Set(links.flatMap((l) => (l.kind === 'vlan' && !declared.has(l.vlan.dev) ? [l.vlan.dev] : [])));
  return [...parents].sort().map((name) => ({ kind: 'device', name, up: true }));
}

/**
 * A tap's link, the same object again while its port, MTU and bridge stay the same (a host
 * view keeps the objects a change left alone): on a big node the next pass's comparison then
 * passes over the unchanged taps at once. Specs are never changed once planned.
 */
const tapLinks = new WeakMap<PortView, LinkSpec>();
function tapLink(p: PortView, net: NetworkView, master: string): LinkSpec {
  const hit = tapLinks.get(p);
  if (hit && hit.mtu === net.mtu && hit.master === master) return hit;
  const link: LinkSpec = { kind: 'device', name: tapName(p.id), mtu: net.mtu, up: p.admin_state_up, master };
  tapLinks.set(p, link);
  return link;
}

export function planL2(
  view: HostView,
  node: NodeFacts,
  servicePortsPlugged: Set<string>,
  serviceNetworks: ReadonlySet<string> = new Set(),
): L2Plan {
  // A port is plugged when its tap exists (a hypervisor's tap or a veth end) or a role here makes it.
  const plugged = view.ports.filter((p) => node.presentTaps.has(tapName(p.id)) || servicePortsPlugged.has(p.id));
  // serviceNetworks: networks a service port of this node joins without being bound here (an HA router's standby side).
  const networks = view.networks.filter(
    (n) => (plugged.some((p) => p.network_id === n.id) || serviceNetworks.has(n.id)) && canWireNetwork(n, node),
  );
  const links: LinkSpec[] = [];
  const fdb: FdbSpec[] = [];
  const neigh: NeighSpec[] = [];
  for (const net of networks) {
    const existing = mappedBridge(net, node);
    // Not neutrino's: only brought up (Neutron's ensure_bridge), never created or deleted.
    if (existing) {
      if (!links.some((l) => l.name === existing)) links.push({ kind: 'device', name: existing, up: true });
      continue;
    }
    // IPv6 on the bridge and the VXLAN device is switched off with the service ports' ends (host-ipv6.ts).
    links.push({ kind: 'bridge', name: bridgeName(net.id), up: true }, uplink(net, node)!);
    if (net.network_type !== 'vxlan' || !vxlanOf(node).l2Population) continue;
    const dev = vxlanName(net.segmentation_id!);
    const vteps = [...new Set(view.remote_vteps.filter((v) => v.network_id === net.id).map((v) => v.vtep))].sort();
    for (const dst of vteps) fdb.push({ dev, mac: FLOOD_MAC, dst });
    for (const rp of view.remote_ports.filter((r) => r.network_id === net.id)) {
      fdb.push({ dev, mac: rp.mac_address, dst: rp.vtep });
      // Permanent ARP entries only for the ARP responder (Neutron's add_fdb_ip_entry with arp_responder):
      // without it ARP is flooded to the VTEPs, so gratuitous ARP and allowed-address-pair VIPs work.
      if (node.arpResponder) for (const ip of rp.ip_addresses) neigh.push({ dev, ip, lladdr: rp.mac_address });
    }
  }
  links.push(...vlanParents(links));
  // The underlay NIC is not neutrino's: declared so the VXLAN devices can name it, never changed.
  if (node.localIpDevice && networks.some((n) => n.network_type === 'vxlan')) links.push({ kind: 'device', name: node.localIpDevice });
  const wired = new Set(networks.map((n) => n.id));
  const byId = new Map(networks.map((n) => [n.id, n]));
  for (const p of plugged) {
    const net = byId.get(p.network_id);
    // Instance taps are the hypervisor's: only their attributes are neutrino's (never created or deleted).
    if (net && !isServicePort(p)) links.push(tapLink(p, net, networkBridge(net, node)));
  }
  return { links, fdb, neigh, networks, plugged: plugged.filter((p) => wired.has(p.network_id)) };
}
