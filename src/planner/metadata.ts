// The metadata path Neutron builds in the kernel (neutron/agent/metadata/driver.py, driver_base.py,
// neutron/common/metadata.py, neutron/agent/linux/dhcp.py): haproxy in qrouter-<id> on port 9697
// (reached through a REDIRECT of 169.254.169.254:80 from qr-+) adding X-Neutron-Router-ID, or in
// qdhcp-<net> on 169.254.169.254:80 adding X-Neutron-Network-ID, both forwarding to the metadata
// agent's UNIX socket; the router's iptables rules; isolated subnets and the metadata route of
// DHCP option 121. Pure.
import { wrapChain } from '../kernel/names.ts';
import type { ChainSpec, IptablesSpec, ProcessSpec } from '../kernel/types.ts';
import type { PortView, SubnetView } from '../model/hostview.ts';
import { ROUTER_INTERFACE_OWNERS } from '../model/neutron.ts';
import type { AddressScopeRules6 } from './address-scope.ts';

/** constants.METADATA_V4_IP / METADATA_CIDR */
export const METADATA_IP = '169.254.169.254';
export const METADATA_CIDR = `${METADATA_IP}/32`;
/** [DEFAULT] metadata_port of the L3 agent: where the router's haproxy listens. */
export const METADATA_PORT = 9697;
/** [DEFAULT] metadata_access_mark / ROUTER_MARK_MASK */
export const METADATA_ACCESS_MARK = '0x1/0xffff';
/** Where the DHCP namespace's haproxy listens on 169.254.169.254 (constants.METADATA_PORT). */
export const METADATA_HTTP_PORT = 80;
/** constants.METADATA_V6_IP / METADATA_V6_CIDR: the link-local address instances reach metadata at over IPv6. */
export const METADATA_V6_IP = 'fe80::a9fe:a9fe';
export const METADATA_V6_CIDR = `${METADATA_V6_IP}/128`;

/** What the metadata path needs to know about the node (agent configuration and identity). */
export interface MetadataFacts {
  /** metadata_proxy_socket: the metadata agent's UNIX socket ($state_path/metadata_proxy) */
  socket: string;
  /** metadata_proxy_user/group, or the agent's effective user and group (names, as haproxy takes them) */
  user: string;
  group: string;
  /** [DEFAULT] enable_isolated_metadata (DHCP agent; Neutron's default false) */
  enableIsolatedMetadata: boolean;
  /** [DEFAULT] force_metadata (DHCP agent; Neutron's default false) */
  forceMetadata: boolean;
  /** [DEFAULT] enable_metadata_proxy (L3 agent; Neutron's default true): haproxy in every router namespace */
  enableMetadataProxy: boolean;
  /** [metadata_rate_limiting] when it is on for one IP version; null: the proxies do not limit */
  rateLimit: MetadataRateLimit | null;
}

/** What the proxies limit, per source address (Neutron's RATE_LIMITED_CONFIG_TEMPLATE). */
export interface MetadataRateLimit {
  /** The source addresses counted: IPv4 or IPv6 (haproxy's stick tables take one type). */
  ipVersion: 4 | 6;
  /** base_window_duration (s) and base_query_rate_limit (requests in it) */
  baseWindow: number;
  baseLimit: number;
  /** burst_window_duration (s) and burst_query_rate_limit */
  burstWindow: number;
  burstLimit: number;
}

/** metadata_proxy_socket's default: $state_path/metadata_proxy. */
export const defaultMetadataSocket = (statePath: string): string => `${statePath}/metadata_proxy`;

/** HaproxyConfigurator.PROXY_CONFIG_DIR: $state_path/ns-metadata-proxy/<uuid>.conf */
export const haproxyConfigPath = (statePath: string, uuid: string): string => `${statePath}/ns-metadata-proxy/${uuid}.conf`;
/** ProcessManager's pid file for service 'haproxy': $state_path/external/pids/<uuid>.pid.haproxy */
export const haproxyPidPath = (statePath: string, uuid: string): string => `${statePath}/external/pids/${uuid}.pid.haproxy`;
export const haproxyProcessId = (uuid: string): string => `haproxy-${uuid}`;

/** metadata_haproxy's timeouts (seconds), Neutron's defaults. */
const TIMEOUTS = { http_request: 30, connect: 30, client: 32, server: 32, http_keep_alive: 30 };

export type MetadataResource = { kind: 'Router'; id: string } | { kind: 'Network'; id: string };

/**
 * The proxy's second bind of an isolated network (bind_v6_line): fe80::a9fe:a9fe on the DHCP
 * port's device, the only interface a link-local address means something on.
 */
export interface MetadataV6Bind {
  host: string;
  dev: string;
}

const v6BindLine = (port: number, v6: MetadataV6Bind | null) => (v6 ? `bind [${v6.host}]:${port} interface ${v6.dev}` : '');

/** The listener: unlimited, or counting each source's requests in two windows and answering 429 beyond either limit. */
function listener(host: string, port: number, socket: string, limit: MetadataRateLimit | null, v6: MetadataV6Bind | null): string {
  if (!limit)
    return `
listen listener
    bind ${host}:${port}
    ${v6BindLine(port, v6)}
    server metadata ${socket}
`;
  const type = limit.ipVersion === 6 ? 'ipv6' : 'ip';
  const expire = Math.max(limit.baseWindow, limit.burstWindow);
  return `
backend base_rate_limiter
    stick-table type ${type} size 10k expire ${expire}s store http_req_rate(${limit.baseWindow}s)

backend burst_rate_limiter
    stick-table type ${type} size 10k expire ${expire}s store http_req_rate(${limit.burstWindow}s)

listen listener
    bind ${host}:${port}
    ${v6BindLine(port, v6)}

    http-request track-sc0 src table base_rate_limiter
    http-request track-sc1 src table burst_rate_limiter
    http-request deny deny_status 429 if { src_http_req_rate(base_rate_limiter) gt ${limit.baseLimit} }
    http-request deny deny_status 429 if { src_http_req_rate(burst_rate_limiter) gt ${limit.burstLimit} }

    server metadata ${socket}
`;
}

/**
 * The haproxy configuration as Neutron renders it (METADATA_HAPROXY_GLOBAL + the listener, unlimited
 * or rate-limited + the header template): the header of the other resource kind is deleted and
 * this one's set, so an instance cannot choose which router or network it claims to come from;
 * `option forwardfor` adds the client's address as X-Forwarded-For.
 */
export function haproxyConfig(o: {
  resource: MetadataResource;
  host: string;
  port: number;
  facts: MetadataFacts;
  pidFile: string;
  v6?: MetadataV6Bind | null;
}): string {
  const other = o.resource.kind === 'Router' ? 'Network' : 'Router';
  const t = TIMEOUTS;
  return `
global
    log         /dev/log local0 info
    log-tag     haproxy-metadata-proxy-${o.resource.id}
    user        ${o.facts.user}
    group       ${o.facts.group}
    maxconn     1024
    nbthread    2
    pidfile     ${o.pidFile}
    daemon

defaults
    log global
    mode http
    option httplog
    option dontlognull
    option http-server-close
    option forwardfor
    retries                 3
    timeout http-request    ${t.http_request}s
    timeout connect         ${t.connect}s
    timeout client          ${t.client}s
    timeout server          ${t.server}s
    timeout http-keep-alive ${t.http_keep_alive}s
${listener(o.host, o.port, o.facts.socket, o.facts.rateLimit, o.v6 ?? null)}
    http-request del-header X-Neutron-${other}-ID
    http-request set-header X-Neutron-${o.resource.kind}-ID ${o.resource.id}
`;
}

/**
 * The metadata proxy of one router or network: `haproxy -f <conf>`, daemonizing and writing its pid
 * file; restarted when its configuration changes (haproxy reads it only at start; Neutron likewise
 * replaces a proxy whose configuration file is obsolete). With `bind.v6`, haproxy cannot bind
 * fe80::a9fe:a9fe before duplicate address detection has passed: it starts once the address is
 * usable (spawn_monitored_metadata_proxy waits the same way).
 */
export function haproxyProcess(
  statePath: string,
  resource: MetadataResource,
  bind: { host: string; port: number; v6?: MetadataV6Bind | null },
  facts: MetadataFacts,
): ProcessSpec {
  const conf = haproxyConfigPath(statePath, resource.id);
  const pidFile = haproxyPidPath(statePath, resource.id);
  return {
    id: haproxyProcessId(resource.id),
    argv: ['haproxy', '-f', conf],
    pidFile,
    files: [{ path: conf, content: haproxyConfig({ resource, ...bind, facts, pidFile }) }],
    onNewFiles: 'restart',
    ...(bind.v6 ? { waitAddress: { dev: bind.v6.dev, address: bind.v6.host } } : {}),
  };
}

const l3 = (chain: string) => wrapChain('l3', chain);

/** metadata_nat_rules: the REDIRECT of 169.254.169.254:80 arriving on any qr- device to the proxy's port. */
export const metadataNatRule = `-d ${METADATA_CIDR} -i qr-+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports ${METADATA_PORT}`;
/** The mangle rule that marks the same packets, so that INPUT accepts them (and only them) on the proxy's port. */
export const metadataMangleRule = `-d ${METADATA_CIDR} -i qr-+ -p tcp -m tcp --dport 80 -j MARK --set-xmark ${METADATA_ACCESS_MARK}`;
/** The same two in ip6tables for fe80::a9fe:a9fe (radvd advertises a route to it via the router: ra.py). */
export const metadataNatRule6 = `-d ${METADATA_V6_CIDR} -i qr-+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports ${METADATA_PORT}`;
export const metadataMangleRule6 = `-d ${METADATA_V6_CIDR} -i qr-+ -p tcp -m tcp --dport 80 -j MARK --set-xmark ${METADATA_ACCESS_MARK}`;
/** metadata_filter_rules: marked packets are accepted, anything else to the proxy's port dropped. */
export const metadataFilterRules = [`-m mark --mark ${METADATA_ACCESS_MARK} -j ACCEPT`, `-p tcp -m tcp --dport ${METADATA_PORT} -j DROP`];

/**
 * The router's filter table: with `metadata`, INPUT's accept/drop of the proxy's port and marked
 * packets never forwarded (L3-scope's first rule); then the address scopes' drops (address-scope.ts).
 */
export function routerFilterChains(metadata = true, scopeRules: readonly string[] = []): ChainSpec[] {
  return [
    { name: 'INPUT', rules: [`-j ${l3('INPUT')}`] },
    { name: 'FORWARD', rules: [`-j ${l3('FORWARD')}`] },
    { name: l3('FORWARD'), rules: [`-j ${l3('scope')}`] },
    { name: l3('INPUT'), rules: metadata ? metadataFilterRules : [] },
    { name: l3('scope'), rules: [...(metadata ? [`-m mark --mark ${METADATA_ACCESS_MARK} -j DROP`] : []), ...scopeRules] },
  ];
}

/**
 * The router's ip6tables when IPv6 is on (apply_metadata_nat_rules, initialize_metadata_iptables):
 * with `metadata`, requests to fe80::a9fe:a9fe:80 from qr-+ marked and redirected to the proxy
 * (bound to '::'), INPUT accepting only marked packets on its port, marked packets never forwarded;
 * with `scopes`, the address-scope marks and drops (address-scope.ts).
 */
export function routerIptables6(metadata = true, scopes: AddressScopeRules6 | null = null): IptablesSpec {
  const spec: IptablesSpec = {
    filter: routerFilterChains(metadata, scopes?.filterScope ?? []),
    mangle: [
      { name: 'PREROUTING', rules: [`-j ${l3('PREROUTING')}`] },
      { name: l3('PREROUTING'), rules: [...(scopes?.manglePrerouting ?? []), ...(metadata ? [metadataMangleRule6] : [])] },
      ...(scopes ? [{ name: l3('scope'), rules: scopes.mangleScope }] : []),
    ],
  };
  if (metadata)
    spec.nat = [
      { name: 'PREROUTING', rules: [`-j ${l3('PREROUTING')}`] },
      { name: l3('PREROUTING'), rules: [metadataNatRule6] },
    ];
  return spec;
}

/**
 * get_isolated_subnets: a subnet is isolated unless a router interface port holds its gateway
 * address. `ports` are the network's ports.
 */
export function isolatedSubnets(subnets: readonly SubnetView[], ports: readonly PortView[]): Set<string> {
  const attached = new Set<string>();
  for (const p of ports) {
    if (!ROUTER_INTERFACE_OWNERS.includes(p.device_owner)) continue;
    for (const f of p.fixed_ips) {
      if (subnets.some((s) => s.id === f.subnet_id && s.gateway_ip === f.ip_address)) attached.add(f.subnet_id);
    }
  }
  return new Set(subnets.filter((s) => !attached.has(s.id)).map((s) => s.id));
}

/**
 * should_enable_metadata: the DHCP namespace runs a metadata proxy when forced, or when
 * isolated metadata is on and any DHCP-enabled subnet of the network is isolated.
 */
export function shouldEnableMetadata(
  facts: Pick<MetadataFacts, 'forceMetadata' | 'enableIsolatedMetadata'>,
  subnets: readonly SubnetView[],
  ports: readonly PortView[],
): boolean {
  const dhcp = subnets.filter((s) => s.enable_dhcp);
  if (!dhcp.length) return false;
  if (facts.forceMetadata) return true;
  if (!facts.enableIsolatedMetadata) return false;
  const isolated = isolatedSubnets(subnets, ports);
  return dhcp.some((s) => isolated.has(s.id));
}

/**
 * The next hop of the 169.254.169.254/32 route an IPv4 subnet's DHCP options carry
 * (_generate_opts_per_subnet): the DHCP port's address on the subnet when metadata is forced, or
 * when the subnet is isolated and isolated metadata is on; else the gateway of a subnet a router
 * is attached to; else none.
 */
export function metadataRouteNextHop(
  subnet: SubnetView,
  o: { isolated: boolean; dhcpIp: string | null; facts: Pick<MetadataFacts, 'forceMetadata' | 'enableIsolatedMetadata'> | null },
): string | null {
  if (subnet.ip_version !== 4) return null;
  if (o.facts && (o.facts.forceMetadata || (o.isolated && o.facts.enableIsolatedMetadata))) return o.dhcpIp;
  if (!o.isolated && subnet.gateway_ip) return subnet.gateway_ip;
  return null;
}
