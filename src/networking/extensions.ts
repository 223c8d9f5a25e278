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
  ext('agent', 'agent', 'The agent management extension.'),
  ext('allowed-address-pairs', 'Allowed Address Pairs', 'Provides allowed address pairs'),
  ext('binding', 'Port Binding', 'Expose port bindings of a virtual port to external application'),
  ext('dhcp_agent_scheduler', 'DHCP Agent Scheduler', 'Schedule networks among dhcp agents'),
  ext('empty-string-filtering', 'Empty String Filtering Extension', 'Allow filtering by attributes with empty string value'),
  ext('external-net', 'Neutron external network', 'Adds external network attribute to network resource.'),
  ext(
    'ext-gw-mode',
    'Neutron L3 Configurable external gateway mode',
    'Extension of the router abstraction for specifying whether SNAT should occur on the external gateway',
  ),
  ext('filter-validation', 'Filter parameters validation', 'Provides validation on filter parameters.'),
  ext('fip-port-details', 'Floating IP Port Details Extension', 'Add port_details attribute to Floating IP resource'),
  ext('l3_agent_scheduler', 'L3 Agent Scheduler', 'Schedule routers among l3 agents'),
  ext('net-mtu', 'Network MTU', 'Provides MTU attribute for a network resource.'),
  ext('net-mtu-writable', 'Network MTU (writable)', 'Provides a writable MTU attribute for a network resource.'),
  ext('pagination', 'Pagination support', 'Extension that indicates that pagination is enabled.'),
  ext('port-security', 'Port Security', 'Provides port security'),
  ext('project-id', 'project_id field enabled', 'Extension that indicates that project_id field is enabled.'),
  ext('provider', 'Provider Network', 'Expose mapping of virtual networks to physical networks'),
  ext('quotas', 'Quota management support', 'Expose functions for quotas management per project'),
  ext('quota_details', 'Quota details management support', 'Expose functions for quotas usage statistics per project'),
  ext('quota-check-limit', 'Quota engine limit check', 'Support for checking the resource usage before applying a new quota limit'),
  ext('rbac-policies', 'RBAC Policies', 'Allows creation and modification of policies that control project access to resources.'),
  ext('rbac-security-groups', 'Add security_group type to network RBAC', 'Add security_group type to network RBAC'),
  ext(
    'router',
    'Neutron L3 Router',
    'Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway.',
  ),
  ext('security-group', 'security-group', 'The security groups extension.'),
  ext(
    'security-groups-normalized-cidr',
    'Normalized CIDR field for security group rules',
    'Add new field with normalized remote_ip_prefix cidr in SG rule',
  ),
  ext(
    'security-groups-shared-filtering',
    'Security group filtering on the shared field',
    'Support filtering security groups on the shared field',
  ),
  ext('sorting', 'Sorting support', 'Extension that indicates that sorting is enabled.'),
  ext('standard-attr-description', 'standard-attr-description', 'Extension to add descriptions to standard attributes'),
  ext('standard-attr-revisions', 'Resource revision numbers', 'This extension will display the revision number of neutron resources.'),
  ext(
    'standard-attr-tag',
    'Tag support for resources with standard attribute: network, subnet, port, security_group, router, floatingip',
    'Enables to set tag on resources with standard attribute.',
  ),
  ext(
    'standard-attr-timestamp',
    'Resource timestamps',
    'Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes.',
  ),
  ext('stateful-security-group', 'Stateful security group', 'Indicates if the security group is stateful or not'),
  ext('tag-creation', 'Tag creation extension', 'Allow to create multiple tags for a resource'),
  ext('tag-ports-during-bulk-creation', 'Tag Ports During Bulk Creation', 'Allow to tag ports during bulk creation'),
];
