// What the server tells one node's agent: every resource that shapes that node's kernel state.
// The server builds it (networking/hostview.ts); the agent's planner consumes it. Plain data.

export interface SegmentView {
  network_type: 'flat' | 'vlan' | 'vxlan' | string;
  physical_network: string | null;
  segmentation_id: number | null;
}

/** A network; its own segment fields are its first segment's, or, once planned, the one its node realizes. */
export interface NetworkView extends SegmentView {
  id: string;
  name: string;
  /** every segment of a network with several (multi-provider), in order; absent for one */
  segments?: SegmentView[];
  mtu: number;
  admin_state_up: boolean;
  router_external: boolean;
}

export interface SubnetView {
  id: string;
  network_id: string;
  ip_version: number;
  cidr: string;
  gateway_ip: string | null;
  /** IPv6 only: how router advertisements and addresses are given (slaac, dhcpv6-stateful, dhcpv6-stateless); null when unset */
  ipv6_ra_mode: string | null;
  ipv6_address_mode: string | null;
  enable_dhcp: boolean;
  dns_nameservers: string[];
  host_routes: Array<{ destination: string; nexthop: string }>;
  allocation_pools: Array<{ start: string; end: string }>;
}

export interface FixedIpView {
  subnet_id: string;
  ip_address: string;
}

export interface PortView {
  id: string;
  network_id: string;
  mac_address: string;
  fixed_ips: FixedIpView[];
  device_owner: string;
  device_id: string;
  admin_state_up: boolean;
  port_security_enabled: boolean;
  security_groups: string[];
  allowed_address_pairs: Array<{ ip_address: string; mac_address: string }>;
  /** options dnsmasq gives this port alone (tag port-<id>): a name or number, its value, the DHCP family */
  extra_dhcp_opts: Array<{ opt_name: string; opt_value: string; ip_version: number }>;
  binding_host_id: string;
}

/** A port on another node, as l2population needs it: where to send frames for its MAC. */
export interface RemotePortView {
  network_id: string;
  host: string;
  /** the remote node's VXLAN endpoint (its agent's tunneling_ip) */
  vtep: string;
  mac_address: string;
  ip_addresses: string[];
}

export interface SecurityGroupRuleView {
  id: string;
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
  /** an address group whose addresses are the remote (absent in views recorded before address groups were matched) */
  remote_address_group_id?: string | null;
}

export interface SecurityGroupView {
  id: string;
  name: string;
  stateful: boolean;
  rules: SecurityGroupRuleView[];
  /** addresses of the group's member ports, for remote-group rules */
  member_ips: string[];
}

/** An address group a rule names as its remote: its addresses (CIDRs, as the API shows them). */
export interface AddressGroupView {
  id: string;
  addresses: string[];
}

/** A subnet of a router port, as Neutron's L3 RPC gives it in the port's `subnets`. */
export interface RouterSubnetView {
  id: string;
  ip_version: number;
  cidr: string;
  gateway_ip: string | null;
  ipv6_ra_mode: string | null;
  ipv6_address_mode: string | null;
  dns_nameservers: string[];
}

/** The address scope of each family on a network (null: none), keyed as the L3 RPC's JSON keys them. */
export interface AddressScopesView {
  '4': string | null;
  '6': string | null;
}

/** A router port and the subnets of its fixed IPs (both families, in fixed-IP order, each once). */
export interface RouterPortView {
  port: PortView;
  subnets: RouterSubnetView[];
  /**
   * The address scopes of the port's network (the L3 RPC's port['address_scopes']): the router marks
   * and filters traffic by them and skips NAT within the gateway's scope (planner/address-scope.ts).
   */
  address_scopes: AddressScopesView;
}

/** A router hosted by this node's L3 role (legacy: one qrouter- namespace). */
export interface RouterView {
  id: string;
  name: string;
  admin_state_up: boolean;
  enable_snat: boolean;
  /** the gateway port and its external subnets */
  gateway: RouterPortView | null;
  /** one entry per interface port with at least one known subnet */
  interfaces: RouterPortView[];
  /** associated floating IPs only */
  floating_ips: Array<{ id: string; floating_ip_address: string; fixed_ip_address: string; port_id: string }>;
  /** extra routes (the router's `routes`), in their API order */
  routes: Array<{ destination: string; nexthop: string }>;
  /** floating IP port forwardings through this router (absent in views recorded before they existed) */
  port_forwardings?: PortForwardingView[];
  /** the metering labels counting its traffic (absent when none applies) */
  metering_labels?: MeteringLabelView[];
  /** an HA router's VRRP side on this host (absent: a legacy router) */
  ha?: RouterHaView;
}

/** A metering label on a router: its rules (traffic through the gateway to or from a prefix), in id order. */
export interface MeteringLabelView {
  id: string;
  rules: MeteringRuleView[];
}

/** A metering rule: the deprecated remote prefix (egress from it, ingress to it), or a source and/or a destination prefix. */
export interface MeteringRuleView {
  id: string;
  direction: 'ingress' | 'egress';
  excluded: boolean;
  remote_ip_prefix: string | null;
  source_ip_prefix: string | null;
  destination_ip_prefix: string | null;
}

/** One label's counters in one router: what its label chain counted (since the last report, as the L3 agent reports them; totals as the server shows them). */
export interface MeteringCounter {
  label_id: string;
  router_id: string;
  packets: number;
  bytes: number;
}

/** What keepalived of an HA router needs on one host (the L3 RPC's `_ha_interface`, `ha_vr_id`, `_ha_state`). */
export interface RouterHaView {
  vr_id: number;
  /** this host's `ha-` port on the project's HA network */
  port: PortView;
  /** the HA network's subnet (l3_ha_net_cidr) */
  cidr: string;
  /** the state last reported from this host */
  state: string | null;
}

/** One forwarding: (floating IP, protocol, external ports) → (internal address, internal ports); a single port is start = end. */
export interface PortForwardingView {
  id: string;
  floatingip_id: string;
  floating_ip_address: string;
  protocol: string;
  external_port: number;
  external_port_end: number;
  internal_ip_address: string;
  internal_port: number;
  internal_port_end: number;
}

export interface HostView {
  host: string;
  /** change-feed revision this view is consistent with */
  revision: number;
  networks: NetworkView[];
  subnets: SubnetView[];
  /** ports bound to this host (instances, DHCP and router ports) */
  ports: PortView[];
  remote_ports: RemotePortView[];
  /** VXLAN endpoints of other nodes sharing each VXLAN network: flooding entries */
  remote_vteps: Array<{ network_id: string; host: string; vtep: string }>;
  security_groups: SecurityGroupView[];
  /** the address groups the rules of `security_groups` name, by id (absent when none is named) */
  address_groups?: AddressGroupView[];
  /** networks whose DHCP this host serves, and every port on them (static leases) */
  dhcp_networks: string[];
  dhcp_ports: PortView[];
  /** routers scheduled to this host's L3 agent */
  routers: RouterView[];
}
