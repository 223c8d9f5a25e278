import type { Generated } from 'kysely';

// Row types of the networking tables. Booleans are 0/1 integers and lists are JSON text so the
// same schema runs on SQLite and PostgreSQL.

/** Columns every Neutron "standard attribute" resource carries. */
export interface StandardColumns {
  id: string;
  project_id: string;
  name: string;
  description: string;
  revision_number: number;
  created_at: string;
  updated_at: string;
}

export interface NetworkRow extends StandardColumns {
  admin_state_up: number;
  status: string;
  /** the network is external (Neutron's externalnetworks row); who may use it is RBAC's access_as_external */
  router_external: number;
  mtu: number;
  port_security_enabled: number;
  /** JSON list of availability zone names */
  availability_zone_hints: string;
  /** the default external network (auto-allocated topology); kept only while the network is external */
  is_default: number;
}

export interface SubnetRow extends StandardColumns {
  network_id: string;
  ip_version: number;
  cidr: string;
  gateway_ip: string | null;
  enable_dhcp: number;
  /** JSON [{start, end}] */
  allocation_pools: string;
  /** JSON [ip] */
  dns_nameservers: string;
  /** JSON [{destination, nexthop}] */
  host_routes: string;
  ipv6_ra_mode: string | null;
  ipv6_address_mode: string | null;
  /** the subnet pool the CIDR was allocated from (null: none) */
  subnetpool_id: string | null;
  /** JSON list of device owners whose ports may take addresses here (empty: any) */
  service_types: string;
}

/** A project's auto-allocated network and router (get-me-a-network): at most one per project. */
export interface AutoAllocatedTopologyRow {
  project_id: string;
  network_id: string;
  router_id: string | null;
}

export interface PortRow extends StandardColumns {
  network_id: string;
  admin_state_up: number;
  mac_address: string;
  device_id: string;
  device_owner: string;
  status: string;
  port_security_enabled: number;
  binding_host_id: string;
  binding_vnic_type: string;
  binding_vif_type: string;
  /** JSON object */
  binding_vif_details: string;
  /** JSON object */
  binding_profile: string;
  /** JSON [{ip_address, mac_address}] */
  allowed_address_pairs: string;
  /** JSON [{opt_name, opt_value, ip_version}] */
  extra_dhcp_opts: string;
  /** required, preferred, legacy or null (port-numa-affinity-policy) */
  numa_affinity_policy: string | null;
  /** Cyborg device profile name or null (port-device-profile) */
  device_profile: string | null;
}

/** An INACTIVE binding of a port on another host (the active one is the port's binding_* columns). */
export interface PortBindingRow {
  port_id: string;
  host: string;
  vnic_type: string;
  vif_type: string;
  /** JSON object */
  vif_details: string;
  /** JSON object */
  profile: string;
}

export interface IpAllocationRow {
  port_id: string;
  subnet_id: string;
  network_id: string;
  ip_address: string;
  /** The address as a number, zero-padded decimal: sorts as the addresses do (ipamKey). */
  ip_key: string;
}

/** Every address of the subnet's pools whose key is below floor_key is allocated (migration 004). */
/** One of a network's segments (networksegments), in the network's order of segment_index. */
export interface NetworkSegmentRow {
  id: string;
  network_id: string;
  network_type: string;
  physical_network: string | null;
  segmentation_id: number | null;
  /** "vxlan:41", "vlan:physnet1:100" or "flat:provider": unique, so one segment is never given to two networks */
  segment_key: string;
  segment_index: number;
  name: string | null;
  description: string;
  revision_number: number;
  created_at: string;
  updated_at: string;
}

/** An allocated VLAN of a physical network (ml2_vlan_allocations). */
export interface VlanAllocationRow {
  physical_network: string;
  vlan_id: number;
  network_id: string;
}

export interface IpamFloorRow {
  subnet_id: string;
  floor_key: string;
  generation: number;
}

export interface PortSecurityGroupRow {
  port_id: string;
  security_group_id: string;
}

export interface SecurityGroupRow extends StandardColumns {
  stateful: number;
}

/** One row per project: makes lazy creation of the `default` group happen exactly once. */
export interface DefaultSecurityGroupRow {
  project_id: string;
  security_group_id: string;
}

export interface SecurityGroupRuleRow {
  id: string;
  project_id: string;
  security_group_id: string;
  direction: string;
  ethertype: string;
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
  /** an address group whose addresses are the remote (migration 021) */
  remote_address_group_id: string | null;
  description: string;
  revision_number: number;
  created_at: string;
  updated_at: string;
}

export interface RouterRow extends StandardColumns {
  admin_state_up: number;
  status: string;
  gw_port_id: string | null;
  enable_snat: number;
  /** JSON [{destination, nexthop}] */
  routes: string;
  /** JSON list of availability zone names */
  availability_zone_hints: string;
  /** The flavor the router was created with (migration 014), if any. */
  flavor_id: string | null;
  /** l3-ha (migration 020): 1 for a VRRP router kept by keepalived on several L3 agents. */
  ha: number;
  /** The router's VRRP id on its project's HA network (1–254); 0 when not HA. */
  ha_vr_id: number;
}

export interface FloatingIpRow {
  id: string;
  project_id: string;
  description: string;
  floating_network_id: string;
  floating_ip_address: string;
  floating_port_id: string;
  fixed_port_id: string | null;
  fixed_ip_address: string | null;
  router_id: string | null;
  status: string;
  revision_number: number;
  created_at: string;
  updated_at: string;
}

export interface PortForwardingRow {
  id: string;
  floatingip_id: string;
  internal_port_id: string;
  internal_ip_address: string;
  protocol: string;
  /** the first port of each side's range; a single port is a range of one */
  external_port: number;
  external_port_end: number;
  internal_port: number;
  internal_port_end: number;
  description: string;
  created_at: string;
}

export interface QuotaRow {
  project_id: string;
  resource: string;
  limit: number;
}

export interface AgentRow {
  id: string;
  agent_type: string;
  binary: string;
  topic: string;
  host: string;
  admin_state_up: number;
  availability_zone: string | null;
  description: string;
  /** JSON object */
  configurations: string;
  created_at: string;
  started_at: string;
  heartbeat_timestamp: string;
}

export interface NetworkDhcpAgentRow {
  network_id: string;
  agent_id: string;
}

export interface RouterL3AgentRow {
  router_id: string;
  agent_id: string;
  /** An HA router's `ha-` port on that agent's host (migration 020); null for a legacy router. */
  ha_port_id: string | null;
  /** What that agent's keepalived reported: active, standby, fault, unknown; null until it reports. */
  ha_state: string | null;
}

/** The HA network of a project (migration 020): VRRP traffic of its HA routers. */
export interface HaRouterNetworkRow {
  project_id: string;
  network_id: string;
}

/** An address scope (migration 007): no standard attributes, as in Neutron; shared through RBAC (migration 017). */
export interface AddressScopeRow {
  id: string;
  project_id: string;
  name: string;
  ip_version: number;
}

/** A service flavor (migration 014): no project and no standard attributes, as in Neutron. */
export interface FlavorRow {
  id: string;
  name: string;
  description: string | null;
  service_type: string;
  enabled: number;
}

/** A service profile (migration 014): a provider driver and/or operator metainfo. */
export interface ServiceProfileRow {
  id: string;
  description: string | null;
  driver: string;
  enabled: number;
  metainfo: string;
}

export interface FlavorServiceProfileBindingRow {
  flavor_id: string;
  service_profile_id: string;
}

/** An address group (migration 014): standard attributes, no tags (Neutron gives it no tag support). */
export type AddressGroupRow = StandardColumns;

/** A metering label (migration 021): traffic of a project's routers counted by its rules. */
export interface MeteringLabelRow {
  id: string;
  project_id: string;
  name: string;
  description: string;
  shared: number;
}

export interface MeteringLabelRuleRow {
  id: string;
  project_id: string;
  metering_label_id: string;
  direction: string;
  excluded: number;
  remote_ip_prefix: string | null;
  source_ip_prefix: string | null;
  destination_ip_prefix: string | null;
}

/** The totals of one label in one router on one host: the sum of what its L3 agent reported. */
export interface MeteringCounterRow {
  label_id: string;
  router_id: string;
  host: string;
  packets: number;
  bytes: number;
  updated_at: string;
}

export interface AddressAssociationRow {
  address_group_id: string;
  address: string;
}

/** A subnet pool (migration 007): shared through RBAC (migration 017). */
export interface SubnetPoolRow extends StandardColumns {
  ip_version: number;
  default_prefixlen: number;
  min_prefixlen: number;
  max_prefixlen: number;
  is_default: number;
  default_quota: number | null;
  /** replaced by every allocation from the pool: concurrent allocations meet on the row */
  hash: string;
  address_scope_id: string | null;
  /** JSON [cidr], compacted */
  prefixes: string;
}

/** One tag of one resource (the <resource table>_tags tables). */
export interface TagRow {
  resource_id: string;
  tag: string;
}

/** The change feed: every write appends one row; `revision` is the feed's resource version. */
export interface ChangeRow {
  revision: Generated<number>;
  resource: string;
  resource_id: string;
  op: string;
  project_id: string | null;
  at: string;
}

export interface NetworkingTables {
  networks: NetworkRow;
  network_segments: NetworkSegmentRow;
  subnets: SubnetRow;
  ports: PortRow;
  port_bindings: PortBindingRow;
  ip_allocations: IpAllocationRow;
  ipam_floors: IpamFloorRow;
  ml2_vlan_allocations: VlanAllocationRow;
  port_security_groups: PortSecurityGroupRow;
  security_groups: SecurityGroupRow;
  default_security_groups: DefaultSecurityGroupRow;
  security_group_rules: SecurityGroupRuleRow;
  routers: RouterRow;
  floatingips: FloatingIpRow;
  port_forwardings: PortForwardingRow;
  quotas: QuotaRow;
  agents: AgentRow;
  network_dhcp_agents: NetworkDhcpAgentRow;
  router_l3_agents: RouterL3AgentRow;
  ha_router_networks: HaRouterNetworkRow;
  changes: ChangeRow;
  networks_tags: TagRow;
  subnets_tags: TagRow;
  ports_tags: TagRow;
  routers_tags: TagRow;
  floatingips_tags: TagRow;
  security_groups_tags: TagRow;
  address_scopes: AddressScopeRow;
  subnetpools: SubnetPoolRow;
  subnetpools_tags: TagRow;
  flavors: FlavorRow;
  service_profiles: ServiceProfileRow;
  flavor_service_profile_bindings: FlavorServiceProfileBindingRow;
  address_groups: AddressGroupRow;
  address_associations: AddressAssociationRow;
  auto_allocated_topologies: AutoAllocatedTopologyRow;
  metering_labels: MeteringLabelRow;
  metering_label_rules: MeteringLabelRuleRow;
  metering_counters: MeteringCounterRow;
}
