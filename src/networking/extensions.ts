// The API extensions neutrino implements, under Neutron's aliases (GET /v2.0/extensions).
// Only what works is listed: clients probe this list to decide which attributes to send.

const ext = (alias: string, name: string, description: string) => ({
  alias,
  name,
  description,
  updated: '2013-01-01T10:00:00-00:00',
  links: [] as string[],
});

export const EXTENSIONS = [
  ext('address-group', 'Address group', 'Support address group'),
  ext('address-scope', 'Address scope', 'Address scopes extension.'),
  ext('agent', 'agent', 'The agent management extension.'),
  ext('agent-resources-synced', "Agent's Resource View Synced to Placement", 'Stores success/failure of last sync to Placement'),
  ext('allowed-address-pairs', 'Allowed Address Pairs', 'Provides allowed address pairs'),
  ext('auto-allocated-topology', 'Auto Allocated Topology Services', 'Auto Allocated Topology Services.'),
  ext('availability_zone', 'Availability Zone', 'The availability zone extension.'),
  ext('availability_zone_filter', 'Availability Zone Filter Extension', 'Add filter parameters to AvailabilityZone resource'),
  ext('binding', 'Port Binding', 'Expose port bindings of a virtual port to external application'),
  ext('binding-extended', 'Port Bindings Extended', 'Expose port bindings of a virtual port to external application'),
  ext('default-subnetpools', 'Default Subnetpools', 'Provides ability to mark and use a subnetpool as the default.'),
  ext('dhcp_agent_scheduler', 'DHCP Agent Scheduler', 'Schedule networks among dhcp agents'),
  // `distributed` exists (false, admin-only) and `true` is refused: Linux bridge has no DVR.
  ext('dvr', 'Distributed Virtual Router', 'Enables configuration of Distributed Virtual Routers.'),
  ext('empty-string-filtering', 'Empty String Filtering Extension', 'Allow filtering by attributes with empty string value'),
  ext('expose-port-forwarding-in-fip', 'Expose Floating IP port forwardings', 'Expose port forwarding fields in floating IP response'),
  ext('external-net', 'Neutron external network', 'Adds external network attribute to network resource.'),
  ext(
    'ext-gw-mode',
    'Neutron L3 Configurable external gateway mode',
    'Extension of the router abstraction for specifying whether SNAT should occur on the external gateway',
  ),
  ext(
    'extra_dhcp_opt',
    'Neutron Extra DHCP options',
    'Extra options configuration for DHCP. For example PXE boot options to DHCP clients can be specified (e.g. tftp-server, server-ip-address, bootfile-name)',
  ),
  ext('extraroute', 'Neutron Extra Route', 'Extra routes configuration for L3 router'),
  ext(
    'extraroute-atomic',
    'Atomically add/remove extra routes',
    'Edit extra routes of a router on server side by atomically adding/removing extra routes',
  ),
  ext('filter-validation', 'Filter parameters validation', 'Provides validation on filter parameters.'),
  ext('fip-port-details', 'Floating IP Port Details Extension', 'Add port_details attribute to Floating IP resource'),
  ext('flavors', 'Neutron Service Flavors', 'Flavor specification for Neutron advanced services.'),
  ext('floating-ip-port-forwarding', 'Floating IP Port Forwarding', 'Allow port forwarding from floating IP port to an internal port'),
  ext(
    'floating-ip-port-forwarding-description',
    'Floating IP Port Forwarding new attribute description',
    'Add a description field to Port Forwarding rules',
  ),
  ext(
    'floating-ip-port-forwarding-detail',
    'Floating IP port forwarding detail',
    "Allow list floating ip return more port forwarding data, include'id' and 'internal_port_id'",
  ),
  ext('floating-ip-port-forwarding-port-ranges', 'Floating IP Port Forwarding support port ranges', 'Add support to port ranges'),
  ext('floatingip-pools', 'Floating IP Pools Extension', 'Provides a floating IP pools API.'),
  ext('ip-substring-filtering', 'IP address substring filtering', 'Provides IP address substring filtering when listing ports'),
  ext('l3-flavors', 'Router Flavor Extension', 'Flavor support for routers.'),
  ext('l3-ha', 'HA Router extension', 'Adds HA capability to routers.'),
  ext('l3_agent_scheduler', 'L3 Agent Scheduler', 'Schedule routers among l3 agents'),
  ext(
    'l3-port-ip-change-not-allowed',
    'Prevent L3 router ports IP address change extension',
    'Prevent change of IP address for some L3 router ports',
  ),
  ext('metering', 'Neutron Metering', 'Neutron Metering extension.'),
  ext(
    'metering_source_and_destination_fields',
    'Neutron Metering with source and destination filtering',
    'Neutron Metering extension that enables the use of source and destination IP prefixes to create metering label rules.',
  ),
  ext('multi-provider', 'Multi Provider Network', 'Expose mapping of virtual networks to multiple physical networks'),
  ext('net-mtu', 'Network MTU', 'Provides MTU attribute for a network resource.'),
  ext('net-mtu-writable', 'Network MTU (writable)', 'Provides a writable MTU attribute for a network resource.'),
  ext('network-ip-availability', 'Network IP Availability', 'Provides IP availability data for each network and subnet.'),
  ext('network_availability_zone', 'Network Availability Zone', 'Availability zone support for network.'),
  ext('pagination', 'Pagination support', 'Extension that indicates that pagination is enabled.'),
  ext('port-device-profile', 'Port device profile', 'Expose the port device profile (Cyborg)'),
  ext('port-mac-address-regenerate', 'Neutron Port MAC address regenerate', 'Network port MAC address regenerate'),
  ext(
    'port-mac-override',
    'Neutron Port MAC address override',
    'Allow overriding the MAC address of a direct-physical Port via the active binding profile',
  ),
  ext('port-numa-affinity-policy', 'Port NUMA affinity policy', 'Expose the port NUMA affinity policy'),
  ext('port-security', 'Port Security', 'Provides port security'),
  ext('port-security-groups-filtering', 'Port filtering on security groups', 'Provides security groups filtering when listing ports'),
  ext('project-id', 'project_id field enabled', 'Extension that indicates that project_id field is enabled.'),
  ext('provider', 'Provider Network', 'Expose mapping of virtual networks to physical networks'),
  ext('quotas', 'Quota management support', 'Expose functions for quotas management per project'),
  ext('quota_details', 'Quota details management support', 'Expose functions for quotas usage statistics per project'),
  ext('quota-check-limit', 'Quota engine limit check', 'Support for checking the resource usage before applying a new quota limit'),
  ext('rbac-address-group', 'Add address_group type to RBAC', 'Add address_group type to network RBAC'),
  ext('rbac-address-scope', 'Add address_scope type to RBAC', 'Add address_scope type to RBAC'),
  ext('rbac-policies', 'RBAC Policies', 'Allows creation and modification of policies that control project access to resources.'),
  ext('rbac-security-groups', 'Add security_group type to network RBAC', 'Add security_group type to network RBAC'),
  ext('rbac-subnetpool', 'Add subnetpool type to RBAC', 'Add subnetpool type to RBAC'),
  ext(
    'revision-if-match',
    'If-Match constraints based on revision_number',
    'Extension indicating that If-Match based on revision_number is supported.',
  ),
  ext(
    'router',
    'Neutron L3 Router',
    'Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway.',
  ),
  ext(
    'router-admin-state-down-before-update',
    "Enforce Router's Admin State Down Before Update Extension",
    'Ensure that the admin state of a router is DOWN (admin_state_up=False) before updating the distributed attribute',
  ),
  ext('router_availability_zone', 'Router Availability Zone', 'Availability zone support for router.'),
  ext('security-group', 'security-group', 'The security groups extension.'),
  ext(
    'security-groups-normalized-cidr',
    'Normalized CIDR field for security group rules',
    'Add new field with normalized remote_ip_prefix cidr in SG rule',
  ),
  ext(
    'security-groups-remote-address-group',
    'Remote address group id field for security group rules',
    'Add new field of remote address group id in SG rules',
  ),
  ext(
    'security-groups-shared-filtering',
    'Security group filtering on the shared field',
    'Support filtering security groups on the shared field',
  ),
  ext('service-type', 'Neutron Service Type Management', 'API for retrieving service providers for Neutron advanced services'),
  ext('sorting', 'Sorting support', 'Extension that indicates that sorting is enabled.'),
  ext('standard-attr-description', 'standard-attr-description', 'Extension to add descriptions to standard attributes'),
  ext('standard-attr-revisions', 'Resource revision numbers', 'This extension will display the revision number of neutron resources.'),
  ext(
    'standard-attr-tag',
    'Tag support for resources with standard attribute: network, subnet, port, security_group, router, floatingip, subnetpool',
    'Enables to set tag on resources with standard attribute.',
  ),
  ext(
    'standard-attr-timestamp',
    'Resource timestamps',
    'Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes.',
  ),
  ext('stateful-security-group', 'Stateful security group', 'Indicates if the security group is stateful or not'),
  ext('subnet-service-types', 'Subnet service types', 'Provides ability to set the subnet service_types field'),
  ext('subnet_allocation', 'Subnet Allocation', 'Enables allocation of subnets from a subnet pool'),
  ext('subnet_onboard', 'Subnet Onboard', 'Provides support for onboarding subnets into subnet pools'),
  ext('subnetpool-prefix-ops', 'Subnet Pool Prefix Operations', 'Provides support for adjusting the prefix list of subnet pools'),
  ext('tag-creation', 'Tag creation extension', 'Allow to create multiple tags for a resource'),
  ext('tag-ports-during-bulk-creation', 'Tag Ports During Bulk Creation', 'Allow to tag ports during bulk creation'),
];

/** Neutron's L3 plugin drops the DVR extensions when `enable_dvr = false`. */
const DVR_ALIASES = new Set(['dvr', 'router-admin-state-down-before-update']);

export function listedExtensions(config: { enableDvr: boolean }): typeof EXTENSIONS {
  return config.enableDvr ? EXTENSIONS : EXTENSIONS.filter((e) => !DVR_ALIASES.has(e.alias));
}
