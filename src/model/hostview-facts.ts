// Neutron's names that the host view is built from, shared by the server (which builds a node's
// view from its database) and the tracer (which rebuilds it from any Neutron's API): the agent
// types the agents report, and the device owners of the ports a router or a DHCP server owns.
// Plain data, so the tracer needs none of the server's modules.

/** Each agent's agent_type and RPC topic, as Neutron's agents report them. */
export const AGENT_TYPES = {
  l2: { agent_type: 'Linux bridge agent', topic: 'N/A' },
  dhcp: { agent_type: 'DHCP agent', topic: 'dhcp_agent' },
  l3: { agent_type: 'L3 agent', topic: 'l3_agent' },
} as const;

/** constants.DEVICE_OWNER_DHCP */
export const DHCP_OWNER = 'network:dhcp';
export const ROUTER_GW_OWNER = 'network:router_gateway';
export const ROUTER_INTF_OWNER = 'network:router_interface';
/** Owners of ports that connect a router to an internal subnet (constants.ROUTER_INTERFACE_OWNERS). */
export const ROUTER_INTERFACE_OWNERS = [ROUTER_INTF_OWNER, 'network:router_interface_distributed', 'network:ha_router_replicated_interface'];
/** Every port a router owns (its "attached ports"): interfaces and the gateway. */
export const ROUTER_OWNED = [...ROUTER_INTERFACE_OWNERS, ROUTER_GW_OWNER];
