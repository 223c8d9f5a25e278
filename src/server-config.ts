// The server's settings and their defaults (Neutron's neutron.conf / ml2_conf.ini equivalents), read
// from an INI file in Neutron's own section and option names and from command-line flags; flags win.
import type { TlsOptions } from './client/tls-settings.ts';
import { readFileSync } from 'node:fs';
import { parse } from 'ini';
import { optionWarnings, SERVER_OPTIONS } from './config/option-catalog.ts';
import { parseListen } from './config/listen.ts';
import { ServerConfigError } from './config/server-config-error.ts';
import { DEFAULT_HASH_ROUNDS, hashRoundsProblem } from './identity/hash-rounds.ts';
import { DatabaseUrlError, parseDatabaseUrl, type Engine } from './store/engine.ts';
import { DEFAULT_L3_HA, L3HaConfigError, parseL3HaOptions, type L3HaConfig } from './server-config-l3ha.ts';
import { parseQuotaOptions, QuotaConfigError } from './server-config-quotas.ts';
import { QUOTA_DEFAULTS, type QuotaResource } from './networking/quota-defaults.ts';
import { NovaConfigError, parseNovaOptions, PASSWORD_AUTH_OPTIONS, type NovaConfig } from './server-config-nova.ts';
// Re-exported for the server's modules that read them with the rest of its settings.
export { parseListen, ServerConfigError };

export interface ServerConfig {
  stateDir: string;
  /** Where the state is kept: Neutron's [database] connection; null keeps SQLite in stateDir. */
  database: Engine | null;
  /** API worker processes (Neutron's api_workers); more than one needs a shared database. */
  workers: number;
  host: string;
  port: number;
  /** Also serve the API on this Unix socket (agents in other network namespaces reach it there). */
  unixSocket?: string;
  /** Base URL clients reach this server at; defaults to http://host:port */
  publicUrl?: string;
  /** Types given to networks created without provider attributes, in order of preference. */
  tenantNetworkTypes: string[];
  /** Inclusive VNI ranges for VXLAN tenant networks. */
  vniRanges: Array<[number, number]>;
  /** Physical networks that flat networks may use ('*' = any). */
  flatNetworks: string[];
  /**
   * Physical networks VLAN networks may use, in order, each with the VLAN ranges tenant networks are
   * allocated from (Neutron's [ml2_type_vlan] network_vlan_ranges; a physnet named alone: 1–4094).
   */
  networkVlanRanges: VlanRanges;
  /** MTU of each physical network that differs from physicalMtu (Neutron's [ml2] physical_network_mtus). */
  physicalNetworkMtus: Record<string, number>;
  /** MTU of the physical underlay (Neutron's global_physnet_mtu). */
  physicalMtu: number;
  /** Token lifetime in seconds (Keystone's [token] expiration). */
  tokenTtlSeconds: number;
  /** Largest accepted request body (oslo.middleware max_request_body_size). */
  maxRequestBodyBytes: number;
  /** Seconds without a heartbeat after which an agent is shown as dead (agent_down_time). */
  agentDownTime: number;
  /** Consecutive failed password checks that lock a user (Keystone's lockout_failure_attempts); null: never. */
  lockoutFailureAttempts: number | null;
  /** Seconds a locked user stays locked after the last failure (Keystone's lockout_duration). */
  lockoutDuration: number;
  /** Cap in seconds of the per-user delay after failed password checks; 0 turns the back-off off. */
  failureBackoffMax: number;
  /** The delay after a user's first failure, in ms; doubled for each further one. */
  failureBackoffInitialMs: number;
  /**
   * Cost of new password hashes: scrypt's N = 2^rounds (Keystone's [identity] password_hash_rounds).
   * Existing hashes keep the cost they were made with.
   */
  passwordHashRounds: number;
  /** How many of the newest change-feed revisions are kept; an agent further behind resyncs. */
  changeFeedWindow: number;
  /** Seconds a client has to send a request's headers; then 408 and the connection is closed. */
  headerTimeout: number;
  /** Seconds a client has to send a whole request, headers and body. A long-poll waits on the server's side, after it. */
  requestTimeout: number;
  /** Seconds an idle keep-alive connection stays open. */
  keepaliveTimeout: number;
  /** Seconds requests in flight get to finish on SIGTERM/SIGINT (oslo.service's graceful_shutdown_timeout). */
  gracefulShutdownTimeout: number;
  /** Who validates tokens (Neutron's [DEFAULT] auth_strategy): the built-in identity, or an existing Keystone. */
  authStrategy: AuthStrategy;
  /** [keystone_authtoken], with auth_strategy = keystone. */
  keystone: KeystoneAuthtoken | null;
  /** Where /metrics is also served without a token (--metrics-listen, [neutrino] metrics_listen); unset: not. */
  metricsListen?: { host: string; port: number };
  /** Nova's port events ([nova], [DEFAULT] notify_nova_on_*); null: Nova is not notified. */
  nova: NovaConfig | null;
  /** A compute endpoint the built-in identity lists in its catalog ([neutrino] catalog_compute_url), for Nova and the notifier. */
  catalogComputeUrl?: string;
  /** HA routers ([DEFAULT] l3_ha, max_l3_agents_per_router, l3_ha_net_cidr). */
  l3ha: L3HaConfig;
  /** The limits of projects without their own ([quotas] quota_*, default_quota; negative: unlimited). */
  quotaDefaults: Record<QuotaResource, number>;
  /** The `dvr` and `router-admin-state-down-before-update` extensions are listed ([DEFAULT] enable_dvr). */
  enableDvr: boolean;
  /** Settings given but not acted on, to be logged at start (never ignored silently). */
  warnings: string[];
}

export type AuthStrategy = 'builtin' | 'keystone';

export type VlanRanges = Array<{ physicalNetwork: string; ranges: Array<[number, number]> }>;

/** The network types a network may get without provider attributes. */
export const TENANT_NETWORK_TYPES = ['vxlan', 'vlan'];

/** keystonemiddleware's [keystone_authtoken] options neutrino acts on (auth_type = password). */
export interface KeystoneAuthtoken {
  /** Sent to clients in WWW-Authenticate on a 401: where they get a token. */
  wwwAuthenticateUri: string;
  /** Keystone's Identity API the server itself talks to (service login, token validation). */
  authUrl: string;
  username?: string;
  userId?: string;
  password: string;
  projectName?: string;
  projectId?: string;
  userDomainName?: string;
  userDomainId?: string;
  projectDomainName?: string;
  projectDomainId?: string;
  /** Seconds a validation result is reused; a revoked token is refused within this bound. */
  tokenCacheTime: number;
  /** Seconds to wait for Keystone's answer (keystonemiddleware's http_connect_timeout); then 503. */
  httpConnectTimeout: number;
  /** TLS toward Keystone: cafile, certfile, keyfile, insecure (keystoneauth's session options). */
  tls: TlsOptions;
}

export const defaultServerConfig: ServerConfig = {
  stateDir: '/var/lib/neutrino',
  database: null,
  workers: 1,
  host: '127.0.0.1',
  port: 9696,
  tenantNetworkTypes: ['vxlan'],
  vniRanges: [[1, 1000]],
  flatNetworks: ['provider'],
  networkVlanRanges: [],
  physicalNetworkMtus: {},
  physicalMtu: 1500,
  tokenTtlSeconds: 3600,
  maxRequestBodyBytes: 114688,
  agentDownTime: 75,
  // Lockout off, as in Keystone: it lets anyone who knows a user's name lock that user (the admin,
  // an agent's service user) out. The back-off is on: it slows guessing to one try per few seconds
  // per user without refusing the right password for long.
  lockoutFailureAttempts: null,
  lockoutDuration: 1800,
  failureBackoffMax: 5,
  failureBackoffInitialMs: 200,
  passwordHashRounds: DEFAULT_HASH_ROUNDS,
  changeFeedWindow: 10000,
  headerTimeout: 20,
  requestTimeout: 60,
  keepaliveTimeout: 30,
  gracefulShutdownTimeout: 5,
  authStrategy: 'builtin',
  keystone: null,
  nova: null,
  l3ha: DEFAULT_L3_HA,
  quotaDefaults: { ...QUOTA_DEFAULTS },
  enableDvr: true,
  warnings: [],
};

export function publicUrl(config: ServerConfig): string {
  return (config.publicUrl ?? `http://${config.host}:${config.port}`).replace(/\/+$/, '');
}

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
    if (!m || lo < 1 || hi > 2 ** 24 - 1 || lo > hi)
      throw new ServerConfigError(`invalid VNI range '${r}': expected MIN:MAX within 1:16777215`);
    return [lo, hi];
  });
}

export const MIN_VLAN_TAG = 1;
export const MAX_VLAN_TAG = 4094;

/** Neutron's parse_network_vlan_ranges: `physnet[:min:max]`, ranges of one physnet gathered in order. */
export function parseNetworkVlanRanges(text: string): VlanRanges {
  const out: VlanRanges = [];
  for (const entry of list(text)) {
    const bad = (error: string) => new ServerConfigError(`Invalid network VLAN range: '${entry}' - '${error}'.`);
    const parts = entry.split(':');
    if (parts.length !== 1 && parts.length !== 3) throw bad('Need exactly two values for VLAN range');
    const [physnet, ...tags] = parts;
    if (!physnet) throw new ServerConfigError(`Invalid network VLAN range: '${entry}' - 'Empty physical network name.'.`);
    const range = tags.map((t) => {
      if (!/^\d+$/.test(t) || Number(t) < MIN_VLAN_TAG || Number(t) > MAX_VLAN_TAG) throw bad(`${t} is not a valid VLAN tag`);
      return Number(t);
    });
    if (range.length && range[1] < range[0]) throw bad('End of VLAN range is less than start of VLAN range');
    let known = out.find((e) => e.physicalNetwork === physnet);
    if (!known) out.push((known = { physicalNetwork: physnet, ranges: [] }));
    const whole = known.ranges.length === 1 && known.ranges[0][0] === MIN_VLAN_TAG && known.ranges[0][1] === MAX_VLAN_TAG;
    if (!range.length) known.ranges = [[MIN_VLAN_TAG, MAX_VLAN_TAG]];
    else if (!whole) known.ranges.push([range[0], range[1]]);
  }
  return out;
}

/** `physnet:mtu` pairs (Neutron's [ml2] physical_network_mtus). */
export function parsePhysicalNetworkMtus(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const entry of list(text)) {
    const m = /^([^:]+):(\d+)$/.exec(entry);
    if (!m || Number(m[2]) <= 0) throw new ServerConfigError(`invalid physical_network_mtus entry '${entry}': expected PHYSNET:MTU`);
    out[m[1].trim()] = Number(m[2]);
  }
  return out;
}

function positiveInt(name: string, v: string): number {
  if (!/^\d+$/.test(v.trim()) || Number(v) <= 0) throw new ServerConfigError(`${name} must be a positive integer, not '${v}'`);
  return Number(v);
}

function hashRounds(name: string, v: string): number {
  const rounds = /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  const problem = hashRoundsProblem(rounds);
  if (problem) throw new ServerConfigError(`${name} ${problem}, not '${v}'`);
  return rounds;
}

/** oslo.config's booleans. */
function bool(name: string, v: string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  const t = v.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(t)) return true;
  if (['false', '0', 'no', 'off'].includes(t)) return false;
  throw new ServerConfigError(`${name} must be true or false, not '${v}'`);
}

function nonNegativeSeconds(name: string, v: string): number {
  if (!/^\d+(\.\d+)?$/.test(v.trim())) throw new ServerConfigError(`${name} must be a number of seconds (0 or more), not '${v}'`);
  return Number(v);
}

export interface ServerFlags {
  config?: string;
  stateDir?: string;
  db?: string;
  workers?: string;
  listen?: string;
  listenUnix?: string;
  metricsListen?: string;
  publicUrl?: string;
  tenantNetworkTypes?: string;
  vniRanges?: string;
  flatNetworks?: string;
  networkVlanRanges?: string;
  physicalNetworkMtus?: string;
  physicalMtu?: string;
  tokenTtl?: string;
  agentDownTime?: string;
  lockoutFailureAttempts?: string;
  lockoutDuration?: string;
  failureBackoffMax?: string;
  passwordHashRounds?: string;
  changeFeedWindow?: string;
  headerTimeout?: string;
  requestTimeout?: string;
  keepaliveTimeout?: string;
  gracefulShutdownTimeout?: string;
  authStrategy?: string;
}

type Ini = Record<string, Record<string, string> | undefined>;

function databaseOption(name: string, connection: string): Engine {
  try {
    return parseDatabaseUrl(connection);
  } catch (e) {
    if (e instanceof DatabaseUrlError) throw new ServerConfigError(`${name}: ${e.message}`);
    throw e;
  }
}

const KEYSTONE_AUTHTOKEN_OPTIONS = new Set([
  ...PASSWORD_AUTH_OPTIONS,
  'www_authenticate_uri',
  'token_cache_time',
  'http_connect_timeout',
  'cafile',
  'certfile',
  'keyfile',
  'insecure',
  'memcached_servers',
]);

const httpUrl = (name: string, v: string | undefined): string => {
  if (!v) throw new ServerConfigError(`auth_strategy = keystone needs [keystone_authtoken] ${name}`);
  if (!/^https?:\/\/[^/\s]+/.test(v)) throw new ServerConfigError(`[keystone_authtoken] ${name} must be an http(s) URL, not '${v}'`);
  return v.replace(/\/+$/, '');
};

/** [keystone_authtoken] for auth_strategy = keystone: what neutrino needs, and a warning for what it does not implement. */
export function parseKeystoneAuthtoken(section: Record<string, string>, warnings: string[]): KeystoneAuthtoken {
  const k = (name: string) => (section[name] === undefined || section[name] === '' ? undefined : String(section[name]));
  const authType = k('auth_type');
  if (!authType) throw new ServerConfigError('auth_strategy = keystone needs [keystone_authtoken] auth_type = password');
  if (authType !== 'password')
    throw new ServerConfigError(`[keystone_authtoken] auth_type must be 'password' (the only one neutrino implements), not '${authType}'`);
  const password = k('password');
  if (!password) throw new ServerConfigError('auth_strategy = keystone needs [keystone_authtoken] password');
  if (!k('username') && !k('user_id'))
    throw new ServerConfigError('auth_strategy = keystone needs [keystone_authtoken] username (or user_id)');
  if (!k('project_name') && !k('project_id'))
    throw new ServerConfigError('auth_strategy = keystone needs [keystone_authtoken] project_name (or project_id)');
  const authUrl = httpUrl('auth_url', k('auth_url'));
  // keystonemiddleware falls back to the identity server it talks to, with a warning; so does neutrino.
  if (!k('www_authenticate_uri'))
    warnings.push(`[keystone_authtoken] www_authenticate_uri is not set: clients are sent to auth_url (${authUrl}) in WWW-Authenticate`);
  // keystonemiddleware shares its token cache through memcached; each neutrino server process keeps its own.
  if (k('memcached_servers'))
    warnings.push(
      `[keystone_authtoken] memcached_servers is ignored: each server process caches validated tokens itself, for token_cache_time seconds`,
    );
  if (k('keyfile') && !k('certfile')) throw new ServerConfigError('[keystone_authtoken] keyfile needs certfile (the client certificate)');
  const insecure = bool('[keystone_authtoken] insecure', k('insecure'), false);
  if (insecure && k('cafile'))
    warnings.push("[keystone_authtoken] insecure = true: cafile is not used, Keystone's certificate is not verified");
  const unknown = Object.keys(section).filter((o) => !KEYSTONE_AUTHTOKEN_OPTIONS.has(o));
  if (unknown.length)
    warnings.push(`[keystone_authtoken] options not implemented by neutrino, without effect: ${unknown.sort().join(', ')}`);
  return {
    wwwAuthenticateUri: k('www_authenticate_uri') ? httpUrl('www_authenticate_uri', k('www_authenticate_uri')) : authUrl,
    authUrl,
    username: k('username'),
    userId: k('user_id'),
    password,
    projectName: k('project_name'),
    projectId: k('project_id'),
    userDomainName: k('user_domain_name'),
    userDomainId: k('user_domain_id'),
    projectDomainName: k('project_domain_name'),
    projectDomainId: k('project_domain_id'),
    tokenCacheTime:
      k('token_cache_time') === undefined ? 300 : nonNegativeSeconds('[keystone_authtoken] token_cache_time', k('token_cache_time')!),
    httpConnectTimeout:
      k('http_connect_timeout') === undefined ? 10 : positiveInt('[keystone_authtoken] http_connect_timeout', k('http_connect_timeout')!),
    tls: { cafile: k('cafile'), certfile: k('certfile'), keyfile: k('keyfile'), insecure },
  };
}

function authStrategyOption(name: string, v: string): AuthStrategy {
  if (v !== 'builtin' && v !== 'keystone') throw new ServerConfigError(`${name} must be 'builtin' or 'keystone', not '${v}'`);
  return v;
}

export function loadServerConfig(flags: ServerFlags): ServerConfig {
  const cfg: ServerConfig = { ...defaultServerConfig, warnings: [] };
  let authtoken: Record<string, string> | undefined;
  if (flags.config) {
    let text: string;
    try {
      text = readFileSync(flags.config, 'utf8');
    } catch (e) {
      throw new ServerConfigError(`cannot read config file ${flags.config}: ${(e as Error).message}`);
    }
    const ini = parse(text) as Ini;
    cfg.warnings.push(...optionWarnings(flags.config, text, SERVER_OPTIONS));
    const d = ini.DEFAULT ?? {};
    if (d.state_path) cfg.stateDir = d.state_path;
    if (ini.database?.connection) cfg.database = databaseOption('[database] connection', ini.database.connection);
    if (d.bind_host) cfg.host = d.bind_host;
    if (d.api_workers) cfg.workers = positiveInt('api_workers', d.api_workers);
    if (d.bind_port) cfg.port = positiveInt('bind_port', d.bind_port);
    if (d.global_physnet_mtu) cfg.physicalMtu = positiveInt('global_physnet_mtu', d.global_physnet_mtu);
    if (ini.ml2?.tenant_network_types) cfg.tenantNetworkTypes = list(ini.ml2.tenant_network_types);
    if (ini.ml2_type_flat?.flat_networks !== undefined) cfg.flatNetworks = list(ini.ml2_type_flat.flat_networks);
    if (ini.ml2_type_vlan?.network_vlan_ranges !== undefined)
      cfg.networkVlanRanges = parseNetworkVlanRanges(ini.ml2_type_vlan.network_vlan_ranges);
    if (ini.ml2?.physical_network_mtus) cfg.physicalNetworkMtus = parsePhysicalNetworkMtus(ini.ml2.physical_network_mtus);
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
    if (id.password_hash_rounds !== undefined)
      cfg.passwordHashRounds = hashRounds('[identity] password_hash_rounds', id.password_hash_rounds);
    if (d.graceful_shutdown_timeout) cfg.gracefulShutdownTimeout = positiveInt('graceful_shutdown_timeout', d.graceful_shutdown_timeout);
    if (ini.api?.header_timeout) cfg.headerTimeout = positiveInt('[api] header_timeout', ini.api.header_timeout);
    if (ini.api?.request_timeout) cfg.requestTimeout = positiveInt('[api] request_timeout', ini.api.request_timeout);
    if (ini.api?.keepalive_timeout) cfg.keepaliveTimeout = positiveInt('[api] keepalive_timeout', ini.api.keepalive_timeout);
    if (d.auth_strategy) cfg.authStrategy = authStrategyOption('auth_strategy', d.auth_strategy);
    authtoken = ini.keystone_authtoken;
    try {
      cfg.nova = parseNovaOptions(d, ini.nova, cfg.warnings);
    } catch (e) {
      throw e instanceof NovaConfigError ? new ServerConfigError(e.message) : e;
    }
    try {
      cfg.l3ha = parseL3HaOptions(d);
    } catch (e) {
      throw e instanceof L3HaConfigError ? new ServerConfigError(e.message) : e;
    }
    try {
      cfg.quotaDefaults = parseQuotaOptions(ini.quotas);
    } catch (e) {
      throw e instanceof QuotaConfigError ? new ServerConfigError(e.message) : e;
    }
    const opt = (v: unknown) => (v === undefined ? undefined : String(v));
    cfg.enableDvr = bool('enable_dvr', opt(d.enable_dvr), true);
    // Distributed routers need the Open vSwitch agent's DVR modes; Linux bridge has none, so a
    // default of distributed routers cannot be honoured.
    if (bool('router_distributed', opt(d.router_distributed), false))
      throw new ServerConfigError(
        'router_distributed = true: distributed routers are not supported (Linux bridge has no DVR); neutrino provides centralized routers only',
      );
    if (ini.neutrino?.metrics_listen) cfg.metricsListen = parseListen(ini.neutrino.metrics_listen, '[neutrino] metrics_listen');
    if (ini.neutrino?.catalog_compute_url) cfg.catalogComputeUrl = ini.neutrino.catalog_compute_url.replace(/\/+$/, '');
  }
  if (flags.authStrategy) cfg.authStrategy = authStrategyOption('--auth-strategy', flags.authStrategy);
  if (cfg.authStrategy === 'keystone') cfg.keystone = parseKeystoneAuthtoken(authtoken ?? {}, cfg.warnings);
  else if (authtoken) cfg.warnings.push('[keystone_authtoken] is set but auth_strategy is builtin: the section has no effect');
  if (cfg.keystone && cfg.catalogComputeUrl)
    cfg.warnings.push("[neutrino] catalog_compute_url has no effect with auth_strategy = keystone: Keystone's catalog names Nova");
  if (flags.stateDir) cfg.stateDir = flags.stateDir;
  if (flags.db) cfg.database = databaseOption('--db', flags.db);
  if (flags.workers) cfg.workers = positiveInt('--workers', flags.workers);
  if (cfg.workers > 1 && cfg.database?.kind !== 'postgres') {
    throw new ServerConfigError(
      `${cfg.workers} API workers need a database they can share: set [database] connection (or --db) to postgresql://USER:PASSWORD@HOST/DATABASE (SQLite has a single writer process)`,
    );
  }
  if (flags.listen) Object.assign(cfg, parseListen(flags.listen));
  if (flags.metricsListen) cfg.metricsListen = parseListen(flags.metricsListen, '--metrics-listen');
  if (flags.publicUrl) cfg.publicUrl = flags.publicUrl;
  if (flags.listenUnix) cfg.unixSocket = flags.listenUnix;
  if (flags.tenantNetworkTypes) cfg.tenantNetworkTypes = list(flags.tenantNetworkTypes);
  if (flags.vniRanges) cfg.vniRanges = parseVniRanges(flags.vniRanges);
  if (flags.flatNetworks !== undefined) cfg.flatNetworks = list(flags.flatNetworks);
  if (flags.networkVlanRanges !== undefined) cfg.networkVlanRanges = parseNetworkVlanRanges(flags.networkVlanRanges);
  if (flags.physicalNetworkMtus !== undefined) cfg.physicalNetworkMtus = parsePhysicalNetworkMtus(flags.physicalNetworkMtus);
  if (flags.physicalMtu) cfg.physicalMtu = positiveInt('--physical-mtu', flags.physicalMtu);
  if (flags.tokenTtl) cfg.tokenTtlSeconds = positiveInt('--token-ttl', flags.tokenTtl);
  if (flags.agentDownTime) cfg.agentDownTime = positiveInt('--agent-down-time', flags.agentDownTime);
  if (flags.lockoutFailureAttempts !== undefined) {
    cfg.lockoutFailureAttempts = positiveInt('--lockout-failure-attempts', flags.lockoutFailureAttempts);
  }
  if (flags.lockoutDuration !== undefined) cfg.lockoutDuration = positiveInt('--lockout-duration', flags.lockoutDuration);
  if (flags.failureBackoffMax !== undefined) cfg.failureBackoffMax = nonNegativeSeconds('--failure-backoff-max', flags.failureBackoffMax);
  if (flags.passwordHashRounds !== undefined) cfg.passwordHashRounds = hashRounds('--password-hash-rounds', flags.passwordHashRounds);
  if (flags.changeFeedWindow) cfg.changeFeedWindow = positiveInt('--change-feed-window', flags.changeFeedWindow);
  if (flags.headerTimeout) cfg.headerTimeout = positiveInt('--header-timeout', flags.headerTimeout);
  if (flags.requestTimeout) cfg.requestTimeout = positiveInt('--request-timeout', flags.requestTimeout);
  if (flags.keepaliveTimeout) cfg.keepaliveTimeout = positiveInt('--keepalive-timeout', flags.keepaliveTimeout);
  if (flags.gracefulShutdownTimeout)
    cfg.gracefulShutdownTimeout = positiveInt('--graceful-shutdown-timeout', flags.gracefulShutdownTimeout);
  // The whole request includes its headers (Node's http server refuses the opposite too).
  if (cfg.headerTimeout > cfg.requestTimeout)
    throw new ServerConfigError(`header timeout (${cfg.headerTimeout} s) must not exceed request timeout (${cfg.requestTimeout} s)`);
  const unknownType = cfg.tenantNetworkTypes.find((t) => !TENANT_NETWORK_TYPES.includes(t));
  if (unknownType)
    throw new ServerConfigError(`tenant network type '${unknownType}' is not supported (supported: ${TENANT_NETWORK_TYPES.join(', ')})`);
  return cfg;
}
