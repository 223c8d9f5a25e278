// IPv6 off on the node's own ends of the networks, as Neutron and os-vif leave them: the VXLAN
// devices (ensure_vxlan), the VLAN subinterfaces (ensure_vlan), the host ends of router and DHCP ports' veths (BridgeInterfaceDriver.plug_new),
// and the bridges (os-vif's _ensure_bridge_privileged). A bridge with IPv6 would autoconfigure an
// address from a tenant network's router advertisements: the node would be reachable there, and
// the address is not neutrino's to keep. Instance taps are left as the hypervisor made them. Pure.
import { deviceSysctl, DHCP_NS_PREFIX, ROUTER_NS_PREFIX } from '../kernel/names.ts';
import type { LinkSpec, SysctlSpec } from '../kernel/types.ts';

const serviceEnd = (l: LinkSpec): boolean =>
  l.kind === 'veth' && (l.peer.netns.startsWith(ROUTER_NS_PREFIX) || l.peer.netns.startsWith(DHCP_NS_PREFIX));

export function hostIpv6Off(links: readonly LinkSpec[]): SysctlSpec[] {
  return links
    .filter((l) => l.kind === 'bridge' || l.kind === 'vxlan' || l.kind === 'vlan' || serviceEnd(l))
    .map((l) => ({ key: deviceSysctl('ipv6', l.name, 'disable_ipv6'), value: '1' }));
}
