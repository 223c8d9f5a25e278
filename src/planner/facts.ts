// What the planner knows about a node besides the resources: a leaf module, so the planner's parts
// (l2, l3, …) can take it without importing the planner's entry point.
import type { MetadataFacts } from './metadata.ts';

/** What the planner needs to know about the node besides the resources. */
export interface NodeFacts {
  host: string;
  roles: Array<'l2' | 'dhcp' | 'l3'>;
  localIp: string | null;
  /** the NIC holding local_ip, found at agent start */
  localIpDevice: string | null;
  physicalInterfaceMappings: Record<string, string>;
  /** [linux_bridge] bridge_mappings: physical network → an existing bridge (not neutrino's: never created or deleted) */
  bridgeMappings?: Record<string, string>;
  /** [vxlan] arp_responder (with l2population): VXLAN devices answer ARP themselves; default off */
  arpResponder?: boolean;
  statePath: string;
  /** How the VXLAN devices are made ([vxlan] udp_dstport, ttl, tos, l2_population, vxlan_group); unset: neutrino's defaults. */
  vxlan?: VxlanSettings;
  /**
   * IPv6 on in the node's kernel (Neutron's is_ipv6_enabled: net.ipv6.conf.default.disable_ipv6 is
   * 0): only then are ip6tables, NIPv6 sets and per-device IPv6 sysctls planned. Default on.
   */
  ipv6?: boolean;
  /** [securitygroup] enable_ipset: remote-group rules match IP sets; off: one rule per member address. Default on. */
  enableIpset?: boolean;
  /** the kernel makes 802.1Q subinterfaces (VLAN networks are wired only then); default yes */
  vlan?: boolean;
  /** radvd's `-u`: the agent's own user name, as Neutron passes it (radvd_user unset); none: no `-u` */
  radvdUser?: string | null;
  /**
   * The metadata proxies' settings (metadata_proxy_socket, the proxy's user and group, the DHCP
   * agent's enable_isolated_metadata and force_metadata); none: no metadata proxy anywhere.
   */
  metadata?: MetadataFacts | null;
  /** keepalived's VRRP advertisement interval of HA routers (ha_vrrp_advert_int); default Neutron's 2 s */
  haVrrpAdvertInt?: number;
  /**
   * The HA routers keepalived made primary on this node (their primary VIP is on `ha-`), as last
   * read from the kernel; the others are standby here. Default: none.
   */
  haPrimary?: ReadonlySet<string>;
  /** tap<port[:11]> devices present in HOST (hypervisor taps, lab veth ends) */
  presentTaps: Set<string>;
}

/** [vxlan] settings of the node's VXLAN devices. */
export interface VxlanSettings {
  /** UDP destination port (udp_dstport; the kernel's 8472 when unset) */
  dstport: number;
  ttl: number | null;
  tos: number | null;
  /** with l2population: unicast flooding to the VTEPs from fdb entries; without: flooding to `group` */
  l2Population: boolean;
  /** vxlan_group: an address, or a network of which each VNI gets one address */
  group: string;
}
