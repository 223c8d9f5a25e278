// The agent's configuration, read from an INI file laid out like Neutron's linuxbridge_agent.ini
// (so the tracer and operators find settings where they expect them), plus flags. Pure parsing.
import { parse } from 'ini';
import { parseIp } from '../model/ip.ts';
import { AGENT_TYPES, VXLAN_UDP_PORT, type AgentRole } from '../model/neutron.ts';
import type { VxlanSettings } from '../planner/facts.ts';
import { vxlanGroupProblem } from '../planner/vxlan-group.ts';
import { DEFAULT_ADVERT_INT } from '../planner/keepalived.ts';

export interface AgentConfig {
  host: string;
  /** where the agent keeps its files (dnsmasq configs, leases) */
  statePath: string;
  /** [neutrino] server_url: one URL, or several servers on one shared database, comma-separated (tried in turn) */
  serverUrl: string;
  username: string;
  password: string;
  project: string;
  /** [neutrino] user_domain_name / project_domain_name: where the agent's user and project are (Keystone's 'Default' unless given) */
  userDomainName: string;
  projectDomainName: string;
  /**
   * [neutrino] auth_url: the Keystone to log in at when the server runs with auth_strategy =
   * keystone; null: the one the server names (its WWW-Authenticate), or the server's own identity.
   */
  authUrl: string | null;
  roles: AgentRole[];
  /** [vxlan] local_ip: the VXLAN interfaces sit on the device holding it */
  localIp: string | null;
  enableVxlan: boolean;
  l2Population: boolean;
  /** [vxlan] arp_responder: with l2population, the VXLAN devices answer ARP from permanent neighbour entries (Neutron's default: off) */
  arpResponder: boolean;
  /** [vxlan] udp_dstport: the VXLAN devices' UDP port; null: the kernel's (8472) */
  udpDstport: number | null;
  /** [vxlan] ttl and tos of the encapsulating packets; null: the kernel's */
  ttl: number | null;
  tos: number | null;
  /** [vxlan] vxlan_group: the multicast group(s) BUM traffic is flooded to without l2population */
  vxlanGroup: string;
  /** [securitygroup] enable_ipset: remote-group rules match IP sets (Neutron's default); off: one rule per member address */
  enableIpset: boolean;
  /** [linux_bridge] physical_interface_mappings: physical network → NIC */
  physicalInterfaceMappings: Record<string, string>;
  /** [linux_bridge] bridge_mappings: physical network → an existing bridge its flat network's ports join */
  bridgeMappings: Record<string, string>;
  /** seconds between state reports (Neutron's report_interval) */
  reportInterval: number;
  /** [agent] availability_zone: the zone the DHCP and L3 roles report (Neutron's default: nova) */
  availabilityZone: string;
  /** seconds between full resyncs that repair drift */
  resyncInterval: number;
  /** seconds the pass under way gets to finish on SIGTERM/SIGINT (oslo.service's graceful_shutdown_timeout) */
  gracefulShutdownTimeout: number;
  /** The metadata service's options, in [DEFAULT] as Neutron's l3_agent.ini, dhcp_agent.ini and metadata_agent.ini have them. */
  metadata: MetadataConfig;
  /** [DEFAULT] ha_vrrp_advert_int (l3_agent.ini): keepalived's VRRP advertisement interval of HA routers, seconds */
  haVrrpAdvertInt: number;
}

/** Neutron's metadata options (defaults as Neutron's). */
export interface MetadataConfig {
  /** enable_metadata_proxy (L3 agent): haproxy in every router namespace */
  enableMetadataProxy: boolean;
  /** enable_isolated_metadata (DHCP agent) */
  enableIsolatedMetadata: boolean;
  /** force_metadata (DHCP agent) */
  forceMetadata: boolean;
  /** metadata_proxy_socket: the metadata agent's UNIX socket; null: $state_path/metadata_proxy */
  socket: string | null;
  novaMetadataHost: string;
  novaMetadataPort: number;
  novaMetadataProtocol: 'http' | 'https';
  /** metadata_proxy_shared_secret: signs X-Instance-ID for Nova */
  sharedSecret: string;
  /** [metadata_rate_limiting] */
  rateLimiting: MetadataRateLimitingConfig;
}

/** Neutron's [metadata_rate_limiting] options (neutron/conf/agent/metadata/config.py). */
export interface MetadataRateLimitingConfig {
  /** rate_limit_enabled */
  enabled: boolean;
  /** ip_versions: the metadata address families limited; haproxy limits one only */
  ipVersions: number[];
  baseWindowDuration: number;
  baseQueryRateLimit: number;
  burstWindowDuration: number;
  burstQueryRateLimit: number;
}

export class AgentConfigError extends Error {}

const ROLES = Object.keys(AGENT_TYPES) as AgentRole[];

export function parseMappings(text: string, option = 'physical_interface_mappings', what = 'INTERFACE'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [physnet, nic, extra] = item.split(':').map((s) => s.trim());
    if (!physnet || !nic || extra !== undefined) throw new AgentConfigError(`invalid ${option} entry '${item}': expected PHYSNET:${what}`);
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(nic)) throw new AgentConfigError(`invalid interface name '${nic}' in ${option}`);
    if (out[physnet]) throw new AgentConfigError(`physical network '${physnet}' is mapped twice`);
    out[physnet] = nic;
  }
  return out;
}

const truthy = (v: unknown, fallback: boolean) => (v === undefined ? fallback : /^(true|1|yes|on)$/i.test(String(v)));

/** An integer option within [min, max]; 0 or unset is null (Neutron passes the value only when it is set and not 0). */
function optionalInt(name: string, v: string | undefined, max: number): number | null {
  if (v === undefined || v.trim() === '') return null;
  if (!/^\d+$/.test(v.trim()) || Number(v) > max)
    throw new AgentConfigError(`[vxlan] ${name} must be an integer from 0 to ${max}, not '${v}'`);
  return Number(v) === 0 ? null : Number(v);
}

/** Neutron's vxlan_group default. */
const DEFAULT_VXLAN_GROUP = '224.0.0.1';

type Ini = Record<string, Record<string, string | boolean> | undefined>;

/** The metadata options' defaults (Neutron's). */
export const DEFAULT_METADATA_CONFIG: MetadataConfig = {
  enableMetadataProxy: true,
  enableIsolatedMetadata: false,
  forceMetadata: false,
  socket: null,
  novaMetadataHost: '127.0.0.1',
  novaMetadataPort: 8775,
  novaMetadataProtocol: 'http',
  sharedSecret: '',
  rateLimiting: {
    enabled: false,
    ipVersions: [4],
    baseWindowDuration: 10,
    baseQueryRateLimit: 10,
    burstWindowDuration: 10,
    burstQueryRateLimit: 10,
  },
};

/** An integer option of at least `min` (oslo.config's IntOpt(min=…)); unset: the default. */
function intOption(name: string, v: string | undefined, dflt: number, min: number): number {
  if (v === undefined || v.trim() === '') return dflt;
  if (!/^\d+$/.test(v.trim()) || Number(v) < min) throw new AgentConfigError(`${name} must be an integer of at least ${min}, not '${v}'`);
  return Number(v);
}

/** [metadata_rate_limiting]: ip_versions takes only 4 and 6, as its oslo.config type does. */
function parseRateLimiting(section: Record<string, string | boolean>, s: (v: unknown) => string | undefined): MetadataRateLimitingConfig {
  const d = DEFAULT_METADATA_CONFIG.rateLimiting;
  const name = (o: string) => `[metadata_rate_limiting] ${o}`;
  const versions = s(section.ip_versions);
  const ipVersions =
    versions === undefined
      ? d.ipVersions
      : versions
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean)
          .map((v) => {
            if (v !== '4' && v !== '6') throw new AgentConfigError(`${name('ip_versions')} takes 4 and 6 only, not '${v}'`);
            return Number(v);
          });
  return {
    enabled: truthy(section.rate_limit_enabled, d.enabled),
    ipVersions,
    baseWindowDuration: intOption(name('base_window_duration'), s(section.base_window_duration), d.baseWindowDuration, 1),
    baseQueryRateLimit: intOption(name('base_query_rate_limit'), s(section.base_query_rate_limit), d.baseQueryRateLimit, 1),
    burstWindowDuration: intOption(name('burst_window_duration'), s(section.burst_window_duration), d.burstWindowDuration, 1),
    burstQueryRateLimit: intOption(name('burst_query_rate_limit'), s(section.burst_query_rate_limit), d.burstQueryRateLimit, 1),
  };
}

/**
 * Why rate limiting is configured but off, as Neutron's parse_ip_versions warns: haproxy's stick
 * tables count one address family, so ip_versions must name exactly one.
 */
export function rateLimitingProblem(r: MetadataRateLimitingConfig): string | null {
  if (!r.enabled || new Set(r.ipVersions).size === 1) return null;
  return `Invalid metadata address IP versions: [${r.ipVersions.join(', ')}]. Metadata rate limiting cannot be enabled for IPv4 and IPv6 at the same time (or for none). Metadata rate limiting will not be enabled.`;
}

/** Parses the INI text; `overrides` (from flags) win over the file. */
export function parseAgentConfig(text: string, overrides: Partial<AgentConfig> = {}): AgentConfig {
  const ini = parse(text) as Ini;
  const d = ini.DEFAULT ?? {};
  const n = ini.neutrino ?? {};
  const lb = ini.linux_bridge ?? {};
  const vx = ini.vxlan ?? {};
  const s = (v: unknown) => (v === undefined || v === true || v === false ? undefined : String(v));
  const roles = (s(n.roles) ?? 'l2')
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const bad = roles.find((r) => !ROLES.includes(r as AgentRole));
  if (bad) throw new AgentConfigError(`unknown role '${bad}' in [neutrino] roles (known: ${ROLES.join(', ')})`);
  if (!roles.includes('l2')) roles.unshift('l2');
  const cfg: AgentConfig = {
    host: s(d.host) ?? '',
    statePath: s(d.state_path) ?? '/var/lib/neutrino/agent',
    serverUrl: s(n.server_url) ?? 'http://127.0.0.1:9696',
    username: s(n.username) ?? 'admin',
    password: s(n.password) ?? '',
    project: s(n.project) ?? 'admin',
    userDomainName: s(n.user_domain_name) ?? 'Default',
    projectDomainName: s(n.project_domain_name) ?? 'Default',
    authUrl: s(n.auth_url) || null,
    roles: roles as AgentRole[],
    localIp: s(vx.local_ip) ?? null,
    enableVxlan: truthy(vx.enable_vxlan, true),
    l2Population: truthy(vx.l2_population, true),
    arpResponder: truthy(vx.arp_responder, false),
    udpDstport: optionalInt('udp_dstport', s(vx.udp_dstport), 65535),
    ttl: optionalInt('ttl', s(vx.ttl), 255),
    tos: optionalInt('tos', s(vx.tos), 255),
    vxlanGroup: s(vx.vxlan_group) ?? DEFAULT_VXLAN_GROUP,
    enableIpset: truthy(ini.securitygroup?.enable_ipset, true),
    physicalInterfaceMappings: parseMappings(s(lb.physical_interface_mappings) ?? ''),
    bridgeMappings: parseMappings(s(lb.bridge_mappings) ?? '', 'bridge_mappings', 'BRIDGE'),
    reportInterval: Number(s(ini.agent?.report_interval) ?? 5),
    availabilityZone: s((ini.agent ?? ini.AGENT)?.availability_zone) ?? 'nova',
    resyncInterval: Number(s(n.resync_interval) ?? 3),
    gracefulShutdownTimeout: Number(s(d.graceful_shutdown_timeout) ?? 5),
    haVrrpAdvertInt: Number(s(d.ha_vrrp_advert_int) ?? DEFAULT_ADVERT_INT),
    metadata: {
      enableMetadataProxy: truthy(d.enable_metadata_proxy, DEFAULT_METADATA_CONFIG.enableMetadataProxy),
      enableIsolatedMetadata: truthy(d.enable_isolated_metadata, DEFAULT_METADATA_CONFIG.enableIsolatedMetadata),
      forceMetadata: truthy(d.force_metadata, DEFAULT_METADATA_CONFIG.forceMetadata),
      socket: s(d.metadata_proxy_socket) ?? null,
      novaMetadataHost: s(d.nova_metadata_host) ?? DEFAULT_METADATA_CONFIG.novaMetadataHost,
      novaMetadataPort: Number(s(d.nova_metadata_port) ?? DEFAULT_METADATA_CONFIG.novaMetadataPort),
      novaMetadataProtocol: (s(d.nova_metadata_protocol) ?? DEFAULT_METADATA_CONFIG.novaMetadataProtocol) as 'http' | 'https',
      sharedSecret: s(d.metadata_proxy_shared_secret) ?? '',
      rateLimiting: parseRateLimiting(ini.metadata_rate_limiting ?? {}, s),
    },
    ...overrides,
  };
  if (!cfg.host) throw new AgentConfigError('no host name: set [DEFAULT] host or --host');
  if (cfg.enableVxlan && !cfg.localIp) throw new AgentConfigError('[vxlan] local_ip is required when enable_vxlan is true');
  if (cfg.localIp !== null && !parseIp(cfg.localIp))
    throw new AgentConfigError(`[vxlan] local_ip must be an IP address, not '${cfg.localIp}'`);
  if (cfg.enableVxlan && !cfg.l2Population) {
    // Neutron's VXLAN MCAST mode: without l2population the group is how BUM traffic reaches the other VTEPs.
    if (!cfg.vxlanGroup) throw new AgentConfigError('[vxlan] vxlan_group must be set when l2_population is false');
    const problem = vxlanGroupProblem(cfg.vxlanGroup, cfg.localIp!);
    if (problem) throw new AgentConfigError(`[vxlan] vxlan_group ${problem}`);
  }
  if (!(cfg.reportInterval > 0) || !(cfg.resyncInterval > 0))
    throw new AgentConfigError('report_interval and resync_interval must be positive numbers');
  if (!Number.isInteger(cfg.haVrrpAdvertInt) || cfg.haVrrpAdvertInt < 1)
    throw new AgentConfigError('ha_vrrp_advert_int must be an integer of 1 or more (seconds)');
  if (!(cfg.gracefulShutdownTimeout > 0)) throw new AgentConfigError('graceful_shutdown_timeout must be a positive number');
  const md = cfg.metadata;
  if (!['http', 'https'].includes(md.novaMetadataProtocol)) throw new AgentConfigError("nova_metadata_protocol must be 'http' or 'https'");
  if (!Number.isInteger(md.novaMetadataPort) || md.novaMetadataPort < 1 || md.novaMetadataPort > 65535)
    throw new AgentConfigError('nova_metadata_port must be a port number');
  return cfg;
}

/** How this agent makes its VXLAN devices. */
export const vxlanSettingsOf = (cfg: AgentConfig): VxlanSettings => ({
  dstport: cfg.udpDstport ?? VXLAN_UDP_PORT,
  ttl: cfg.ttl,
  tos: cfg.tos,
  l2Population: cfg.l2Population,
  group: cfg.vxlanGroup,
});

/** Where each setting lives in the file, as operators and Neutron's docs name it. */
export const AGENT_SETTINGS = {
  host: '[DEFAULT] host',
  statePath: '[DEFAULT] state_path',
  roles: '[neutrino] roles',
  localIp: '[vxlan] local_ip',
  enableVxlan: '[vxlan] enable_vxlan',
  arpResponder: '[vxlan] arp_responder',
  udpDstport: '[vxlan] udp_dstport',
  l2Population: '[vxlan] l2_population',
  vxlanGroup: '[vxlan] vxlan_group',
  physicalInterfaceMappings: '[linux_bridge] physical_interface_mappings',
  availabilityZone: '[agent] availability_zone',
  enableMetadataProxy: '[DEFAULT] enable_metadata_proxy',
  enableIsolatedMetadata: '[DEFAULT] enable_isolated_metadata',
  forceMetadata: '[DEFAULT] force_metadata',
  metadataProxySocket: '[DEFAULT] metadata_proxy_socket',
  bridgeMappings: '[linux_bridge] bridge_mappings',
  enableIpset: '[securitygroup] enable_ipset',
} as const;

/** The options the text sets itself, as '[section] option' (so a value can be told from a default). */
export function optionsSet(text: string): Set<string> {
  const out = new Set<string>();
  for (const [section, options] of Object.entries(parse(text) as Ini)) {
    if (options && typeof options === 'object') for (const option of Object.keys(options)) out.add(`[${section}] ${option}`);
  }
  return out;
}

/** [metadata_rate_limiting], when it differs from Neutron's defaults. */
function renderRateLimiting(r: MetadataRateLimitingConfig): string[] {
  if (JSON.stringify(r) === JSON.stringify(DEFAULT_METADATA_CONFIG.rateLimiting)) return [];
  return [
    '[metadata_rate_limiting]',
    `rate_limit_enabled = ${r.enabled}`,
    `ip_versions = ${r.ipVersions.join(',')}`,
    `base_window_duration = ${r.baseWindowDuration}`,
    `base_query_rate_limit = ${r.baseQueryRateLimit}`,
    `burst_window_duration = ${r.burstWindowDuration}`,
    `burst_query_rate_limit = ${r.burstQueryRateLimit}`,
    '',
  ];
}

/** Renders a config file in the same layout (used by the lab to write each node's agent.ini). */
export function renderAgentConfig(c: AgentConfig): string {
  const pairs = (m: Record<string, string>) =>
    Object.entries(m)
      .map(([p, i]) => `${p}:${i}`)
      .join(',');
  const mappings = pairs(c.physicalInterfaceMappings);
  return [
    '[DEFAULT]',
    `host = ${c.host}`,
    `state_path = ${c.statePath}`,
    `graceful_shutdown_timeout = ${c.gracefulShutdownTimeout}`,
    `enable_metadata_proxy = ${c.metadata.enableMetadataProxy}`,
    `enable_isolated_metadata = ${c.metadata.enableIsolatedMetadata}`,
    `force_metadata = ${c.metadata.forceMetadata}`,
    ...(c.metadata.socket ? [`metadata_proxy_socket = ${c.metadata.socket}`] : []),
    `nova_metadata_host = ${c.metadata.novaMetadataHost}`,
    `nova_metadata_port = ${c.metadata.novaMetadataPort}`,
    `nova_metadata_protocol = ${c.metadata.novaMetadataProtocol}`,
    `metadata_proxy_shared_secret = ${c.metadata.sharedSecret}`,
    ...(c.haVrrpAdvertInt !== DEFAULT_ADVERT_INT ? [`ha_vrrp_advert_int = ${c.haVrrpAdvertInt}`] : []),
    '',
    ...renderRateLimiting(c.metadata.rateLimiting),
    '[neutrino]',
    `server_url = ${c.serverUrl}`,
    `username = ${c.username}`,
    `password = ${c.password}`,
    `project = ${c.project}`,
    ...(c.authUrl ? [`auth_url = ${c.authUrl}`] : []),
    ...(c.userDomainName !== 'Default' ? [`user_domain_name = ${c.userDomainName}`] : []),
    ...(c.projectDomainName !== 'Default' ? [`project_domain_name = ${c.projectDomainName}`] : []),
    `roles = ${c.roles.join(',')}`,
    `resync_interval = ${c.resyncInterval}`,
    '',
    '[agent]',
    `report_interval = ${c.reportInterval}`,
    `availability_zone = ${c.availabilityZone}`,
    '',
    '[linux_bridge]',
    `physical_interface_mappings = ${mappings}`,
    ...(Object.keys(c.bridgeMappings).length ? [`bridge_mappings = ${pairs(c.bridgeMappings)}`] : []),
    '',
    '[vxlan]',
    `enable_vxlan = ${c.enableVxlan}`,
    `local_ip = ${c.localIp ?? ''}`,
    `l2_population = ${c.l2Population}`,
    `arp_responder = ${c.arpResponder}`,
    ...(c.udpDstport !== null ? [`udp_dstport = ${c.udpDstport}`] : []),
    ...(c.ttl !== null ? [`ttl = ${c.ttl}`] : []),
    ...(c.tos !== null ? [`tos = ${c.tos}`] : []),
    ...(c.vxlanGroup !== DEFAULT_VXLAN_GROUP ? [`vxlan_group = ${c.vxlanGroup}`] : []),
    '',
    '[securitygroup]',
    'firewall_driver = iptables',
    ...(c.enableIpset ? [] : ['enable_ipset = false']),
    '',
  ].join('\n');
}

/** The servers of [neutrino] server_url, in the order the agent tries them. */
export const serverUrlsOf = (cfg: Pick<AgentConfig, 'serverUrl'>): string[] =>
  cfg.serverUrl
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
