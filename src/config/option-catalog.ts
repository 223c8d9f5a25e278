// Which options of a config file neutrino acts on, and which others Neutron (or the oslo libraries
// and services it runs with) defines, per section: an option in neither is a typo or belongs to
// another service. Neutron's names are from its neutron/conf/ modules and the oslo libraries' options.
import { iniOptions } from './ini-lines.ts';

export interface OptionCatalog {
  /** section → options neutrino reads and honours */
  supported: Record<string, readonly string[]>;
  /** section → options Neutron defines that neutrino does not act on ('*': all of that section's) */
  neutronOnly: Record<string, readonly string[]>;
  /** sections read by a parser of their own, which reports on its options itself */
  checkedElsewhere?: readonly string[];
}

// Options of oslo.log, oslo.messaging, oslo.service and oslo.concurrency that every Neutron service's
// [DEFAULT] accepts.
const OSLO_DEFAULT = [
  'debug',
  'log_config_append',
  'log_date_format',
  'log_file',
  'log_dir',
  'use_syslog',
  'use_journal',
  'use_json',
  'use_stderr',
  'use_eventlog',
  'syslog_log_facility',
  'logging_context_format_string',
  'logging_default_format_string',
  'logging_debug_format_suffix',
  'logging_exception_prefix',
  'logging_user_identity_format',
  'default_log_levels',
  'publish_errors',
  'instance_format',
  'instance_uuid_format',
  'rate_limit_interval',
  'rate_limit_burst',
  'rate_limit_except_level',
  'fatal_deprecations',
  'watch_log_file',
  'transport_url',
  'control_exchange',
  'rpc_response_timeout',
  'rpc_conn_pool_size',
  'executor_thread_pool_size',
  'run_external_periodic_tasks',
  'backdoor_port',
  'backdoor_socket',
  'log_options',
  'api_paste_config',
  'wsgi_log_format',
  'tcp_keepidle',
  'wsgi_default_pool_size',
  'max_header_line',
  'wsgi_keep_alive',
  'client_socket_timeout',
  'lock_path',
  'disable_process_locking',
];

const AGENT_DEFAULT_NEUTRON = [
  ...OSLO_DEFAULT,
  'external_pids',
  'ovs_use_veth',
  'interface_driver',
  'rpc_workers',
  'rpc_state_report_workers',
  'periodic_interval',
  'periodic_fuzzy_delay',
  'rpc_response_max_timeout',
  'setproctitle',
];

/** linuxbridge_agent.ini (Neutron's Linux-bridge agent), plus neutrino's [neutrino] section. */
export const AGENT_OPTIONS: OptionCatalog = {
  supported: {
    DEFAULT: [
      'host',
      'state_path',
      'graceful_shutdown_timeout',
      // The metadata service (l3_agent.ini, dhcp_agent.ini and metadata_agent.ini).
      'enable_metadata_proxy',
      'enable_isolated_metadata',
      'force_metadata',
      'metadata_proxy_socket',
      'nova_metadata_host',
      'nova_metadata_port',
      'nova_metadata_protocol',
      'metadata_proxy_shared_secret',
      // HA routers (l3_agent.ini).
      'ha_vrrp_advert_int',
    ],
    neutrino: [
      'server_url',
      'username',
      'password',
      'project',
      'user_domain_name',
      'project_domain_name',
      'auth_url',
      'roles',
      'resync_interval',
    ],
    agent: ['report_interval', 'availability_zone'],
    AGENT: ['availability_zone'],
    linux_bridge: ['physical_interface_mappings', 'bridge_mappings'],
    vxlan: ['enable_vxlan', 'local_ip', 'l2_population', 'arp_responder', 'udp_dstport', 'ttl', 'tos', 'vxlan_group'],
    securitygroup: ['firewall_driver', 'enable_ipset'],
    metadata_rate_limiting: [
      'rate_limit_enabled',
      'ip_versions',
      'base_window_duration',
      'base_query_rate_limit',
      'burst_window_duration',
      'burst_query_rate_limit',
    ],
  },
  neutronOnly: {
    DEFAULT: AGENT_DEFAULT_NEUTRON,
    agent: [
      'polling_interval',
      'quitting_rpc_timeout',
      'dscp',
      'dscp_inherit',
      'log_agent_heartbeats',
      'root_helper',
      'use_helper_for_ns_read',
      'root_helper_daemon',
      'comment_iptables_rules',
      'debug_iptables_rules',
      'use_random_fully',
      'check_child_processes_action',
      'check_child_processes_interval',
      'kill_scripts_path',
      'availability_zone',
      'extensions',
    ],
    linux_bridge: ['bridge_mappings'],
    vxlan: ['udp_srcport_min', 'udp_srcport_max', 'multicast_ranges'],
    securitygroup: ['enable_security_group', 'permitted_ethertypes'],
    qos: ['kernel_hz', 'tbf_latency'],
    network_log: ['rate_limit', 'burst_limit', 'local_output_log_base'],
  },
};

/** neutron.conf with ml2_conf.ini's sections, plus Keystone's and neutrino's own. */
export const SERVER_OPTIONS: OptionCatalog = {
  supported: {
    DEFAULT: [
      'state_path',
      'bind_host',
      'bind_port',
      'api_workers',
      'global_physnet_mtu',
      'agent_down_time',
      'graceful_shutdown_timeout',
      'auth_strategy',
      // Nova's port events (server-config-nova.ts).
      'notify_nova_on_port_status_changes',
      'notify_nova_on_port_data_changes',
      'send_events_interval',
      'http_retries',
      // HA routers (server-config-l3ha.ts).
      'l3_ha',
      'max_l3_agents_per_router',
      'l3_ha_net_cidr',
      // DVR (server-config.ts): the extensions' listing; router_distributed = true is refused.
      'enable_dvr',
      'router_distributed',
    ],
    database: ['connection'],
    ml2: ['tenant_network_types', 'physical_network_mtus'],
    ml2_type_flat: ['flat_networks'],
    ml2_type_vlan: ['network_vlan_ranges'],
    ml2_type_vxlan: ['vni_ranges'],
    neutrino: ['change_feed_window', 'metrics_listen', 'catalog_compute_url'],
    // Default limits (server-config-quotas.ts).
    quotas: [
      'default_quota',
      'quota_network',
      'quota_subnet',
      'quota_port',
      'quota_router',
      'quota_floatingip',
      'quota_security_group',
      'quota_security_group_rule',
      'quota_rbac_policy',
    ],
    token: ['expiration'],
    identity: ['lockout_failure_attempts', 'lockout_duration', 'failure_backoff_max', 'password_hash_rounds'],
    api: ['header_timeout', 'request_timeout', 'keepalive_timeout'],
  },
  neutronOnly: {
    DEFAULT: [
      ...OSLO_DEFAULT,
      'api_extensions_path',
      'core_plugin',
      'service_plugins',
      'base_mac',
      'allow_bulk',
      'pagination_max_limit',
      'default_availability_zones',
      'max_dns_nameservers',
      'max_subnet_host_routes',
      'ipv6_pd_enabled',
      'dhcp_lease_duration',
      'dns_domain',
      'external_dns_driver',
      'dhcp_agent_notification',
      'host',
      'setproctitle',
      'ipam_driver',
      'vlan_transparent',
      'vlan_qinq',
      'filter_validation',
      'enable_traditional_dhcp',
      'my_ip',
      'my_ipv6',
      'periodic_interval',
      'rpc_workers',
      'rpc_state_report_workers',
      'periodic_fuzzy_delay',
      'rpc_response_max_timeout',
      'dhcp_load_type',
      'enable_new_agents',
      'network_scheduler_driver',
      'network_auto_schedule',
      'allow_automatic_dhcp_failover',
      'dhcp_agents_per_network',
      'enable_services_on_agents_with_admin_state_down',
      'router_scheduler_driver',
      'router_auto_schedule',
      'allow_automatic_l3agent_failover',
      'host_dvr_for_dhcp',
      'l3_ha_network_type',
      'l3_ha_network_physical_name',
      'enable_snat_by_default',
      'max_routes',
      'dvr_base_mac',
      'allow_overlapping_ips',
    ],
    database: [
      'slave_connection',
      'sqlite_synchronous',
      'backend',
      'mysql_sql_mode',
      'mysql_wsrep_sync_wait',
      'mysql_enable_ndb',
      'connection_recycle_time',
      'max_pool_size',
      'max_retries',
      'retry_interval',
      'max_overflow',
      'connection_debug',
      'connection_trace',
      'pool_timeout',
      'use_db_reconnect',
      'db_retry_interval',
      'db_inc_retry_interval',
      'db_max_retry_interval',
      'db_max_retries',
      'connection_parameters',
      'engine',
    ],
    ml2: [
      'type_drivers',
      'project_network_types',
      'mechanism_drivers',
      'extension_drivers',
      'path_mtu',
      'physical_network_mtus',
      'external_network_type',
      'overlay_ip_version',
      'tunnelled_network_rp_name',
    ],
    ml2_type_vxlan: ['vxlan_group'],
    ml2_type_vlan: ['network_vlan_ranges'],
    ml2_type_gre: ['tunnel_id_ranges'],
    ml2_type_geneve: ['vni_ranges', 'max_header_size'],
    quotas: ['quota_driver', 'track_quota_usage', 'quota_router_route'],
    nova: ['region_name', 'endpoint_type', 'auth_type', 'auth_url', 'username', 'password', 'project_name'],
    placement: ['region_name', 'endpoint_type', 'auth_type', 'auth_url', 'username', 'password', 'project_name'],
    ironic: ['enable_notifications'],
    agent: ['report_interval', 'log_agent_heartbeats', 'root_helper', 'root_helper_daemon'],
    oslo_concurrency: ['lock_path', 'disable_process_locking'],
    oslo_messaging_rabbit: ['*'],
    oslo_policy: ['policy_file', 'enforce_scope', 'enforce_new_defaults', 'policy_default_rule', 'policy_dirs'],
  },
  checkedElsewhere: ['keystone_authtoken', 'nova'],
};

const has = (table: Record<string, readonly string[]>, section: string, option: string) =>
  Object.hasOwn(table, section) && (table[section].includes(option) || table[section].includes('*'));

/** One warning per option neutrino does not act on: `file:line: [section] option: why`. */
export function optionWarnings(file: string, text: string, catalog: OptionCatalog): string[] {
  const out: string[] = [];
  for (const { section, option, line } of iniOptions(text)) {
    if (catalog.checkedElsewhere?.includes(section) || has(catalog.supported, section, option)) continue;
    const why = has(catalog.neutronOnly, section, option) ? 'not supported by neutrino, ignored' : 'unknown option';
    out.push(`${file}:${line}: [${section}] ${option}: ${why}`);
  }
  return out;
}
