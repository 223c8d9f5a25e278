// Neutron's vocabulary, defined once for server, agent, planner, tracer and lab: agent types,
// port device owners, IP protocol numbers, the VXLAN port (values of neutron_lib.constants). Pure.

/** The agents neutrino runs, as they register (agent_type, topic: GET /v2.0/agents). */
export const AGENT_TYPES = {
  l2: { agent_type: 'Linux bridge agent', topic: 'N/A' },
  dhcp: { agent_type: 'DHCP agent', topic: 'dhcp_agent' },
  l3: { agent_type: 'L3 agent', topic: 'l3_agent' },
} as const;
export type AgentRole = keyof typeof AGENT_TYPES;
/** Each agent type by itself, as messages name it ('the Linux bridge agent on HOST'). */
export const AGENT_L2 = AGENT_TYPES.l2.agent_type;
export const AGENT_L3 = AGENT_TYPES.l3.agent_type;
export const AGENT_DHCP = AGENT_TYPES.dhcp.agent_type;
/** AGENT_TYPE_METADATA: the metadata agent, which every node with the DHCP or L3 role runs (no role of its own). */
export const AGENT_METADATA = 'Metadata agent';
/** Every agent type the server registers: the roles' and the metadata agent. */
export const REPORTED_AGENT_TYPES: ReadonlyArray<{ agent_type: string; topic: string }> = [
  ...Object.values(AGENT_TYPES),
  { agent_type: AGENT_METADATA, topic: 'N/A' },
];

/** DEVICE_OWNER_NETWORK_PREFIX: ports of Neutron's own services (DHCP, routers, floating IPs). */
export const NETWORK_OWNER_PREFIX = 'network:';
/** DEVICE_OWNER_DHCP */
export const DHCP_OWNER = 'network:dhcp';
/** DEVICE_OWNER_FLOATINGIP */
export const FLOATINGIP_OWNER = 'network:floatingip';
/** DEVICE_OWNER_ROUTER_GW */
export const ROUTER_GW_OWNER = 'network:router_gateway';
/** DEVICE_OWNER_ROUTER_INTF */
export const ROUTER_INTF_OWNER = 'network:router_interface';
/** DEVICE_OWNER_ROUTER_HA_INTF: an HA router's `ha-` port on the HA network, one per agent */
export const ROUTER_HA_INTF_OWNER = 'network:router_ha_interface';
/** DEVICE_OWNER_HA_REPLICATED_INT: an interface of an HA router (replicated on each of its agents) */
export const ROUTER_HA_REPLICATED_INTF_OWNER = 'network:ha_router_replicated_interface';
/** DEVICE_OWNER_DISTRIBUTED */
export const DISTRIBUTED_OWNER = 'network:distributed';
/** DEVICE_OWNER_AGENT_GW */
export const AGENT_GW_OWNER = 'network:floatingip_agent_gateway';
/** DEVICE_OWNER_COMPUTE_PREFIX: an instance's port is owned by `compute:<zone>`. */
export const COMPUTE_OWNER_PREFIX = 'compute:';
/** Owners of ports that connect a router to an internal subnet (ROUTER_INTERFACE_OWNERS). */
export const ROUTER_INTERFACE_OWNERS = [ROUTER_INTF_OWNER, 'network:router_interface_distributed', ROUTER_HA_REPLICATED_INTF_OWNER];
/** ROUTER_INTERFACE_OWNERS_SNAT: router interfaces and DVR SNAT ports, which take no automatic EUI-64 address. */
export const ROUTER_INTERFACE_OWNERS_SNAT = [...ROUTER_INTERFACE_OWNERS, 'network:router_centralized_snat'];
/** ROUTER_PORT_OWNERS: the owners of a router's ports (interfaces, gateway, HA and distributed interfaces). */
export const ROUTER_PORT_OWNERS = [...ROUTER_INTERFACE_OWNERS_SNAT, ROUTER_GW_OWNER, ROUTER_HA_INTF_OWNER];
/** Every port a router owns (its "attached ports"): interfaces and the gateway. */
export const ROUTER_OWNED = [...ROUTER_INTERFACE_OWNERS, ROUTER_GW_OWNER];
/** The L3 plugin's IP_UPDATE_NOT_ALLOWED_LIST: router ports whose IPv4 addresses the port API may not change. */
export const IP_UPDATE_NOT_ALLOWED_OWNERS = [...ROUTER_INTERFACE_OWNERS_SNAT, ROUTER_HA_INTF_OWNER];
/** Port owners whose ports go away with their network (AUTO_DELETE_PORT_OWNERS). */
export const AUTO_DELETE_PORT_OWNERS = [DHCP_OWNER, DISTRIBUTED_OWNER, AGENT_GW_OWNER];
/** Owners Neutron writes no DHCP host entry for (dhcp.py port_requires_dhcp_configuration). */
export const NO_DHCP_OWNERS = [ROUTER_HA_INTF_OWNER, FLOATINGIP_OWNER, DHCP_OWNER, DISTRIBUTED_OWNER];

/** IP_PROTOCOL_MAP (with the legacy `icmpv6` alias of `ipv6-icmp`). */
export const IP_PROTOCOL_MAP: Readonly<Record<string, number>> = {
  ah: 51,
  dccp: 33,
  egp: 8,
  esp: 50,
  gre: 47,
  hopopt: 0,
  icmp: 1,
  igmp: 2,
  ip: 0,
  ipip: 4,
  'ipv6-encap': 41,
  'ipv6-frag': 44,
  'ipv6-icmp': 58,
  icmpv6: 58,
  'ipv6-nonxt': 59,
  'ipv6-opts': 60,
  'ipv6-route': 43,
  ospf: 89,
  pgm: 113,
  rsvp: 46,
  sctp: 132,
  tcp: 6,
  udp: 17,
  udplite: 136,
  vrrp: 112,
};

/** Linux's default VXLAN port: what Neutron gets when [vxlan] udp_dstport is unset (not IANA's 4789). */
export const VXLAN_UDP_PORT = 8472;

/** ipv6_ra_mode / ipv6_address_mode values. */
export const IPV6_SLAAC = 'slaac';
export const DHCPV6_STATEFUL = 'dhcpv6-stateful';
export const DHCPV6_STATELESS = 'dhcpv6-stateless';
