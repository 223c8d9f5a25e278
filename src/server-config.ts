// Reads the server's settings from an INI file in Neutron's own section and option names
// (neutron.conf / ml2_conf.ini) and from command-line flags; flags win.
import { readFileSync } from 'node:fs';
import { parse } from 'ini';
import { defaultServerConfig, type ServerConfig } from './config.js';

export class ConfigError extends Error {}

const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function parseVniRanges(text: string): Array<[number, number]> {
  return list(text).map((r) => {
    const m = /^(\d+):(\d+)$/.exec(r);
    const lo = m ? Number(m[1]) : NaN;
    const hi = m ? Number(m[2]) : NaN;
    if (!m || lo < 1 || hi > 2 ** 24 - 1 || lo > hi) throw new ConfigError(`invalid VNI range '${r}': expected MIN:MAX within 1:16777215`);
    return [lo, hi];
  });
}

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new ConfigError(`invalid --listen '${text}': expected HOST:PORT`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

function positiveInt(name: string, v: string): number {
  if (!/^\d+$/.test(v.trim()) || Number(v) <= 0) throw new ConfigError(`${name} must be a positive integer, not '${v}'`);
  return Number(v);
}

function nonNegativeSeconds(name: string, v: string): number {
  if (!/^\d+(\.\d+)?$/.test(v.trim())) throw new ConfigError(`${name} must be a number of seconds (0 or more), not '${v}'`);
  return Number(v);
}

export interface ServerFlags {
  config?: string;
  stateDir?: string;
  listen?: string;
  listenUnix?: string;
  publicUrl?: string;
  tenantNetworkTypes?: string;
  vniRanges?: string;
  flatNetworks?: string;
  physicalMtu?: string;
  tokenTtl?: string;
  agentDownTime?: string;
  lockoutFailureAttempts?: string;
  lockoutDuration?: string;
  failureBackoffMax?: string;
  changeFeedWindow?: string;
  headerTimeout?: string;
  requestTimeout?: string;
  keepaliveTimeout?: string;
  gracefulShutdownTimeout?: string;
}

type Ini = Record<string, Record<string, string> | undefined>;

export function loadServerConfig(flags: ServerFlags): ServerConfig {
  const cfg: ServerConfig = { ...defaultServerConfig };
  if (flags.config) {
    let ini: Ini;
    try {
      ini = parse(readFileSync(flags.config, 'utf8')) as Ini;
    } catch (e) {
      throw new ConfigError(`cannot read config file ${flags.config}: ${(e as Error).message}`);
    }
    const d = ini.DEFAULT ?? {};
    if (d.state_path) cfg.stateDir = d.state_path;
    if (d.bind_host) cfg.host = d.bind_host;
    if (d.bind_port) cfg.port = positiveInt('bind_port', d.bind_port);
    if (d.global_physnet_mtu) cfg.physicalMtu = positiveInt('global_physnet_mtu', d.global_physnet_mtu);
    if (ini.ml2?.tenant_network_types) cfg.tenantNetworkTypes = list(ini.ml2.tenant_network_types);
    if (ini.ml2_type_flat?.flat_networks !== undefined) cfg.flatNetworks = list(ini.ml2_type_flat.flat_networks);
    if (ini.ml2_type_vxlan?.vni_ranges) cfg.vniRanges = parseVniRanges(ini.ml2_type_vxlan.vni_ranges);
    if (d.agent_down_time) cfg.agentDownTime = positiveInt('agent_down_time', d.agent_down_time);
    if (ini.neutrino?.change_feed_window)
      cfg.changeFeedWindow = positiveInt('[neutrino] change_feed_window', ini.neutrino.change_feed_window);
    if (ini.token?.expiration) cfg.tokenTtlSeconds = positiveInt('[token] expiration', ini.token.expiration);
    const id = ini.identity ?? {};
    if (id.lockout_failure_attempts !== undefined) {
      cfg.lockoutFailureAttempts = positiveInt('[identity] lockout_failure_attempts', id.lockout_failure_attempts);
    }
    if (id.lockout_duration !== undefined) cfg.lockoutDuration = positiveInt('[identity] lockout_duration', id.lockout_duration);
    if (id.failure_backoff_max !== undefined)
      cfg.failureBackoffMax = nonNegativeSeconds('[identity] failure_backoff_max', id.failure_backoff_max);
    if (d.graceful_shutdown_timeout) cfg.gracefulShutdownTimeout = positiveInt('graceful_shutdown_timeout', d.graceful_shutdown_timeout);
    if (ini.api?.header_timeout) cfg.headerTimeout = positiveInt('[api] header_timeout', ini.api.header_timeout);
    if (ini.api?.request_timeout) cfg.requestTimeout = positiveInt('[api] request_timeout', ini.api.request_timeout);
    if (ini.api?.keepalive_timeout) cfg.keepaliveTimeout = positiveInt('[api] keepalive_timeout', ini.api.keepalive_timeout);
  }
  if (flags.stateDir) cfg.stateDir = flags.stateDir;
  if (flags.listen) Object.assign(cfg, parseListen(flags.listen));
  if (flags.publicUrl) cfg.publicUrl = flags.publicUrl;
  if (flags.listenUnix) cfg.unixSocket = flags.listenUnix;
  if (flags.tenantNetworkTypes) cfg.tenantNetworkTypes = list(flags.tenantNetworkTypes);
  if (flags.vniRanges) cfg.vniRanges = parseVniRanges(flags.vniRanges);
  if (flags.flatNetworks !== undefined) cfg.flatNetworks = list(flags.flatNetworks);
  if (flags.physicalMtu) cfg.physicalMtu = positiveInt('--physical-mtu', flags.physicalMtu);
  if (flags.tokenTtl) cfg.tokenTtlSeconds = positiveInt('--token-ttl', flags.tokenTtl);
  if (flags.agentDownTime) cfg.agentDownTime = positiveInt('--agent-down-time', flags.agentDownTime);
  if (flags.lockoutFailureAttempts !== undefined) {
    cfg.lockoutFailureAttempts = positiveInt('--lockout-failure-attempts', flags.lockoutFailureAttempts);
  }
  if (flags.lockoutDuration !== undefined) cfg.lockoutDuration = positiveInt('--lockout-duration', flags.lockoutDuration);
  if (flags.failureBackoffMax !== undefined) cfg.failureBackoffMax = nonNegativeSeconds('--failure-backoff-max', flags.failureBackoffMax);
  if (flags.changeFeedWindow) cfg.changeFeedWindow = positiveInt('--change-feed-window', flags.changeFeedWindow);
  if (flags.headerTimeout) cfg.headerTimeout = positiveInt('--header-timeout', flags.headerTimeout);
  if (flags.requestTimeout) cfg.requestTimeout = positiveInt('--request-timeout', flags.requestTimeout);
  if (flags.keepaliveTimeout) cfg.keepaliveTimeout = positiveInt('--keepalive-timeout', flags.keepaliveTimeout);
  if (flags.gracefulShutdownTimeout)
    cfg.gracefulShutdownTimeout = positiveInt('--graceful-shutdown-timeout', flags.gracefulShutdownTimeout);
  // The whole request includes its headers (Node's http server refuses the opposite too).
  if (cfg.headerTimeout > cfg.requestTimeout)
    throw new ConfigError(`header timeout (${cfg.headerTimeout} s) must not exceed request timeout (${cfg.requestTimeout} s)`);
  const unknownType = cfg.tenantNetworkTypes.find((t) => t !== 'vxlan');
  if (unknownType) throw new ConfigError(`tenant network type '${unknownType}' is not supported (supported: vxlan)`);
  return cfg;
}
