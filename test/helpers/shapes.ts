// The JSON the tests read, as the wire gives it: only the fields the tests look at. Written here from
// the Networking API and the CLIs' output, not imported from src/, so that a test does not trust the
// server's own types for what it is checking.

/** A Networking API resource's common fields. */
export interface Resource {
  id: string;
  name: string;
  project_id: string;
}

export interface Port extends Resource {
  network_id: string;
  mac_address: string;
  device_id: string;
  device_owner: string;
  status: string;
  'binding:host_id': string;
  'binding:vif_type': string;
  fixed_ips: Array<{ subnet_id: string; ip_address: string }>;
}

export interface SecurityGroupRule extends Omit<Resource, 'name'> {
  security_group_id: string;
  direction: string;
  ethertype: string;
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_group_id: string | null;
}

export interface SecurityGroup extends Resource {
  security_group_rules: SecurityGroupRule[];
}

export interface Router extends Resource {
  external_gateway_info: { network_id: string; external_fixed_ips: Array<{ subnet_id: string; ip_address: string }> } | null;
}

export interface FloatingIp extends Omit<Resource, 'name'> {
  floating_ip_address: string;
  floating_network_id: string;
  port_id: string | null;
  router_id: string | null;
  status: string;
}

/** One entry of the change feed (/neutrino/changes). */
export interface Change {
  resource: string;
  resource_id: string;
  op: string;
}

export interface Agent {
  id: string;
  host: string;
  agent_type: string;
}

/** A router in an L3 agent's view (/neutrino/l3-view): its interfaces' subnets. */
export interface ViewRouter {
  id: string;
  interfaces: Array<{ subnets: Array<{ cidr: string }> }>;
}

/** A Keystone v3 token request body. */
export interface AuthRequest {
  auth: { identity: Record<string, unknown>; scope?: unknown };
}

/** A device from `ip -j [-d] link show` / `ip -j addr show`. */
export interface IpLink {
  ifname: string;
  address?: string;
  master?: string;
  mtu?: number;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
  addr_info?: Array<{ family: string; local: string; prefixlen: number }>;
}

/** An instance from `neutrino instance list --json`. */
export interface InstanceJson {
  name: string;
  id: string;
  host: string;
  network: string;
  port_id: string;
  mac: string;
  ip: string | null;
  /** every global address of both families on eth0 (DHCP, SLAAC) */
  addresses: string[];
  namespace: string;
  tap: string;
}

/** `neutrino lab status --json`: the nodes and their agents. */
export interface LabStatusJson {
  nodes: Array<{ name: string; namespace: string; agentPid: number | null; agentAlive: boolean }>;
}

/** A row of an `openstack ... list -f json`: columns by their printed names. */
export interface OpenStackRow {
  ID: string;
  Name: string;
  [column: string]: unknown;
}

/** A row of `openstack port list --long -f json`. */
export interface OpenStackPortRow extends OpenStackRow {
  Status: string;
  'Device Owner': string;
  'MAC Address': string;
  /** A list of {subnet_id, ip_address}, or its Python repr as text (older clients). */
  'Fixed IP Addresses': unknown;
}
