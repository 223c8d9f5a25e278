// The API side of a trace: a read-only Networking API client for any OpenStack cloud (OS_CLOUD +
// clouds.yaml, or the OS_* variables, as openstacksdk finds them; a lab's admin client comes from
// the CLI, src/cli/trace-lab.ts; Keystone v3 and the token catalog's network endpoint through
// client/keystone.ts), and fetchApi, which reads every resource the tracer needs using standard Neutron attributes and calls only.
import { DHCP_OWNER, ROUTER_GW_OWNER, ROUTER_INTERFACE_OWNERS } from '../../model/neutron.ts';
import { existsSync, readFileSync } from 'node:fs';
import type https from 'node:https';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { HttpError, readJsonReply, type JsonReply } from '../../client/http.ts';
import { agentsReadRefused, hostsReadRefused } from './host-refusals.ts';
import {
  applicationCredentialAuthBody,
  CloudConfigError,
  identityV3,
  issueToken,
  networkEndpoint,
  passwordAuthBody,
  TokenSession,
} from '../../client/keystone.ts';
import { explainFailure, NoAnswerError, type ApiTarget } from '../../client/reach.ts';
import { mapLimit } from '../../exec/real.ts';
import type { ApiObject, ApiResources, Snapshot } from '../snapshot.ts';

// Loaded when used: a lab's trace reads no clouds.yaml (the YAML parser is ~70 modules), and an ES
// import of node:http(s) evaluates every export, loading the bundled undici, at every CLI start.
const parseYaml = (text: string): unknown => (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text);
const httpModule = (protocol: string) =>
  protocol === 'https:' ? process.getBuiltinModule('node:https') : protocol === 'http:' ? process.getBuiltinModule('node:http') : null;

/** GETs on the Networking API; `path` is from the API root ('/v2.0/networks'); a status ≥ 400 rejects with HttpError. */
export interface ApiClient {
  /** the network endpoint, for Snapshot.source */
  endpoint: string;
  get<T>(path: string): Promise<T>;
}

// ---------------------------------------------------------------- clouds.yaml and OS_* variables

export interface CloudConfig {
  /** the cloud's name in clouds.yaml, or 'envvars' */
  name: string;
  /** the clouds.yaml file it came from, or 'environment' */
  source: string;
  authUrl: string;
  authType: 'password' | 'v3applicationcredential';
  username?: string;
  userId?: string;
  password?: string;
  userDomainName?: string;
  userDomainId?: string;
  projectName?: string;
  projectId?: string;
  projectDomainName?: string;
  projectDomainId?: string;
  applicationCredentialId?: string;
  applicationCredentialSecret?: string;
  regionName?: string;
  /** catalog interface of the network endpoint */
  interface: string;
  /** network_endpoint_override: skips the catalog */
  networkEndpoint?: string;
  /** CA bundle file for https */
  cacert?: string;
  verify: boolean;
}

export interface CloudLookup {
  /** cloud name; default OS_CLOUD */
  cloud?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  home?: string;
  /** default /etc/openstack */
  siteDir?: string;
}

const SUFFIXES = ['.yaml', '.yml'];

/** openstacksdk's order: OS_CLIENT_CONFIG_FILE, then ./, ~/.config/openstack/, /etc/openstack/; the first that exists wins. */
export function configCandidates(base: 'clouds' | 'secure', o: CloudLookup = {}): string[] {
  const env = o.env ?? process.env;
  const home = o.home ?? homedir();
  const userDir = join(env['XDG_CONFIG_HOME'] || join(home, '.config'), 'openstack');
  const dirs = [o.cwd ?? process.cwd(), userDir, o.siteDir ?? '/etc/openstack'];
  const explicit = env[base === 'clouds' ? 'OS_CLIENT_CONFIG_FILE' : 'OS_CLIENT_SECURE_FILE'];
  return [...(explicit ? [explicit] : []), ...dirs.flatMap((d) => SUFFIXES.map((s) => join(d, base + s)))];
}

type Yaml = Record<string, unknown>;
const isMap = (v: unknown): v is Yaml => typeof v === 'object' && v !== null && !Array.isArray(v);

function readYaml(file: string): Yaml {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CloudConfigError(`${file}: not readable YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc !== null && doc !== undefined && !isMap(doc)) throw new CloudConfigError(`${file}: expected a mapping with 'clouds'`);
  return (doc ?? {}) as Yaml;
}

/** secure.yaml's values win over clouds.yaml's (openstacksdk merges them the same way). */
function merge(a: Yaml, b: Yaml): Yaml {
  const out: Yaml = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isMap(v) && isMap(out[k]) ? merge(out[k] as Yaml, v) : v;
  return out;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);
const bool = (v: unknown): boolean | undefined => {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') return !/^(false|0|no|off)$/i.test(v);
  return undefined;
};

/** A cloud entry (clouds.yaml's keys, or the OS_* variables lower-cased without the prefix) as a CloudConfig. */
function fromEntry(name: string, source: string, c: Yaml): CloudConfig {
  const auth = isMap(c['auth']) ? c['auth'] : {};
  const authType = str(c['auth_type']) ?? 'password';
  if (!['password', 'v3password', 'v3applicationcredential'].includes(authType)) {
    throw new CloudConfigError(
      `cloud '${name}' (${source}): auth_type '${authType}' is not supported (password, v3password, v3applicationcredential)`,
    );
  }
  const authUrl = str(auth['auth_url']);
  if (!authUrl) throw new CloudConfigError(`cloud '${name}' (${source}) has no auth_url`);
  const insecure = bool(c['insecure']);
  const cfg: CloudConfig = {
    name,
    source,
    authUrl,
    authType: authType === 'v3applicationcredential' ? 'v3applicationcredential' : 'password',
    interface: (str(c['interface']) ?? str(c['endpoint_type']) ?? 'public').replace(/URL$/, ''),
    verify: bool(c['verify']) ?? (insecure === undefined ? true : !insecure),
  };
  const set = <K extends keyof CloudConfig>(k: K, v: CloudConfig[K] | undefined) => v !== undefined && (cfg[k] = v);
  set('username', str(auth['username']));
  set('userId', str(auth['user_id']));
  set('password', str(auth['password']));
  // default_domain_* stands for both the user's and the project's domain (keystoneauth).
  set('userDomainName', str(auth['user_domain_name']) ?? str(auth['default_domain_name']));
  set('userDomainId', str(auth['user_domain_id']) ?? str(auth['default_domain_id']));
  set('projectName', str(auth['project_name']) ?? str(auth['tenant_name']));
  set('projectId', str(auth['project_id']) ?? str(auth['tenant_id']));
  set('projectDomainName', str(auth['project_domain_name']) ?? str(auth['default_domain_name']));
  set('projectDomainId', str(auth['project_domain_id']) ?? str(auth['default_domain_id']));
  set('applicationCredentialId', str(auth['application_credential_id']));
  set('applicationCredentialSecret', str(auth['application_credential_secret']));
  set('regionName', str(c['region_name']));
  set('networkEndpoint', str(c['network_endpoint_override']));
  set('cacert', str(c['cacert']));
  return cfg;
}

/** The OS_* variables as a cloud entry (`OS_AUTH_URL` → auth.auth_url, `OS_REGION_NAME` → region_name, …). */
function envEntry(env: NodeJS.ProcessEnv): Yaml {
  const auth: Yaml = {};
  const top: Yaml = { auth };
  const AUTH_KEYS = new Set([
    'auth_url',
    'username',
    'user_id',
    'password',
    'user_domain_name',
    'user_domain_id',
    'project_name',
    'project_id',
    'tenant_name',
    'tenant_id',
    'project_domain_name',
    'project_domain_id',
    'default_domain_name',
    'default_domain_id',
    'application_credential_id',
    'application_credential_secret',
  ]);
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith('OS_') || v === undefined || v === '') continue;
    const key = k.slice(3).toLowerCase();
    if (AUTH_KEYS.has(key)) auth[key] = v;
    else top[key] = v;
  }
  return top;
}

/**
 * The cloud to trace: the named one (argument or OS_CLOUD) from the first clouds.yaml found, merged
 * with secure.yaml (a missing password may come from OS_PASSWORD); with no name, the OS_* variables.
 */
export function resolveCloud(o: CloudLookup = {}): CloudConfig {
  const env = o.env ?? process.env;
  const name = o.cloud ?? str(env['OS_CLOUD']);
  if (name === undefined) {
    if (str(env['OS_AUTH_URL'])) return fromEntry(str(env['OS_CLOUD_NAME']) ?? 'envvars', 'environment', envEntry(env));
    throw new CloudConfigError('no cloud to trace: set OS_CLOUD (clouds.yaml) or OS_AUTH_URL and the other OS_* variables, or use --lab');
  }
  const candidates = configCandidates('clouds', o);
  const file = candidates.find((f) => existsSync(f));
  if (!file) throw new CloudConfigError(`cloud '${name}': no clouds.yaml found (looked for ${candidates.join(', ')})`);
  let doc = readYaml(file);
  const secure = configCandidates('secure', o).find((f) => existsSync(f));
  if (secure) doc = merge(doc, readYaml(secure));
  const clouds = isMap(doc['clouds']) ? doc['clouds'] : {};
  const entry = clouds[name];
  if (!isMap(entry)) throw new CloudConfigError(`cloud '${name}' is not in ${file} (it has: ${Object.keys(clouds).join(', ') || 'none'})`);
  const cfg = fromEntry(name, file, entry);
  if (cfg.password === undefined && cfg.authType === 'password' && str(env['OS_PASSWORD'])) cfg.password = str(env['OS_PASSWORD']);
  return cfg;
}

// ---------------------------------------------------------------- Keystone v3 and the catalog

/** POST /v3/auth/tokens's body: password (user by id or name + domain) or application credential; project scope. */
export function keystoneAuthBody(cfg: CloudConfig): unknown {
  if (cfg.authType === 'v3applicationcredential') {
    if (!cfg.applicationCredentialId || !cfg.applicationCredentialSecret) {
      throw new CloudConfigError(
        `cloud '${cfg.name}': v3applicationcredential needs application_credential_id and application_credential_secret`,
      );
    }
    return applicationCredentialAuthBody(cfg.applicationCredentialId, cfg.applicationCredentialSecret);
  }
  if (cfg.password === undefined) throw new CloudConfigError(`cloud '${cfg.name}' (${cfg.source}) has no password`);
  if (!cfg.userId && !cfg.username) throw new CloudConfigError(`cloud '${cfg.name}' (${cfg.source}) has no username`);
  if (!cfg.projectId && !cfg.projectName)
    throw new CloudConfigError(
      `cloud '${cfg.name}' (${cfg.source}) has no project_name or project_id (the trace needs a project-scoped token)`,
    );
  return passwordAuthBody({ ...cfg, password: cfg.password });
}

type Reply = JsonReply;

function requestUrl(
  target: ApiTarget,
  url: string,
  method: string,
  tls: { ca?: Buffer; verify: boolean },
  headers: Record<string, string>,
  body?: unknown,
): Promise<Reply> {
  const u = new URL(url);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const h: Record<string, string> = { accept: 'application/json', ...headers };
  if (payload) Object.assign(h, { 'content-type': 'application/json', 'content-length': String(payload.length) });
  const mod = httpModule(u.protocol);
  if (!mod) return Promise.reject(new CloudConfigError(`${url}: only http and https URLs are supported`));
  const opts: https.RequestOptions = { method, headers: h, timeout: 30_000 };
  if (u.protocol === 'https:') Object.assign(opts, { rejectUnauthorized: tls.verify, ...(tls.ca ? { ca: tls.ca } : {}) });
  return new Promise((resolve, reject) => {
    const req = mod.request(u, opts, (res) => readJsonReply(res, resolve, reject));
    req.on('timeout', () => req.destroy(new NoAnswerError(30_000)));
    req.on('error', (e) => reject(explainFailure(e, target)));
    req.end(payload);
  });
}

function readCa(cfg: CloudConfig): Buffer {
  try {
    return readFileSync(cfg.cacert!);
  } catch (e) {
    throw new CloudConfigError(`cloud '${cfg.name}': cacert ${cfg.cacert}: ${(e as Error).message}`);
  }
}

/** Where the cloud's settings came from, to say where to fix them. */
const settingsOf = (cfg: CloudConfig, keys: string) =>
  cfg.source === 'environment'
    ? `the OS_* variables (${keys
        .split(', ')
        .map((k) => `OS_${k.toUpperCase()}`)
        .join(', ')})`
    : `${keys} of cloud '${cfg.name}' in ${cfg.source} (--cloud / OS_CLOUD)`;

function identityTarget(cfg: CloudConfig): ApiTarget {
  return {
    api: 'the Identity API',
    url: identityV3(cfg.authUrl),
    hint: `is the cloud's Keystone (or \`neutrino server\`) running there? check ${settingsOf(cfg, 'auth_url')}`,
    credentialsHint: `check ${settingsOf(cfg, 'username, password, project_name, user_domain_name')}`,
  };
}

function networkTarget(cfg: CloudConfig, endpoint: string): ApiTarget {
  const from = cfg.networkEndpoint
    ? settingsOf(cfg, 'network_endpoint_override')
    : `the token catalog's ${cfg.interface} network endpoint (or set network_endpoint_override)`;
  return { api: 'the Networking API', url: endpoint, hint: `is neutron-server (or \`neutrino server\`) running there? check ${from}` };
}

/** A password or application-credential session on a cloud; re-authenticates once when the token expires. */
/** A password or application-credential session on a cloud; re-authenticates once when the token expires. */
class KeystoneClient implements ApiClient {
  endpoint = '';
  private readonly tls: { ca?: Buffer; verify: boolean };
  private readonly session = new TokenSession(() => this.authenticate());

  private readonly cfg: CloudConfig;

  constructor(cfg: CloudConfig) {
    this.cfg = cfg;
    this.tls = { verify: cfg.verify, ...(cfg.cacert ? { ca: readCa(cfg) } : {}) };
  }

  /** A new token, and the network endpoint from its catalog (unless overridden). */
  private async authenticate(): Promise<string> {
    const url = `${identityV3(this.cfg.authUrl)}/auth/tokens`;
    const target = identityTarget(this.cfg);
    const token = await issueToken(
      { post: (body) => requestUrl(target, url, 'POST', this.tls, {}, body), path: url, target },
      keystoneAuthBody(this.cfg),
    );
    this.endpoint =
      this.cfg.networkEndpoint?.replace(/\/+$/, '') ?? networkEndpoint(token.catalog, this.cfg.interface, this.cfg.regionName);
    return token.id;
  }

  /** Authenticates now, not at the first call. */
  async login(): Promise<void> {
    await this.session.renew();
  }

  async get<T>(path: string): Promise<T> {
    const r = await this.session.send((token) =>
      requestUrl(networkTarget(this.cfg, this.endpoint), this.endpoint + path, 'GET', this.tls, { 'x-auth-token': token }),
    );
    if (r.status >= 400) throw new HttpError(r.status, r.body, 'GET', this.endpoint + path);
    return r.body as T;
  }
}

/** Authenticates now, so that a wrong password or catalog fails before anything is read. */
export async function cloudApiClient(cfg: CloudConfig): Promise<{ client: ApiClient; source: Snapshot['source'] }> {
  const client = new KeystoneClient(cfg);
  await client.login();
  return { client, source: { endpoint: client.endpoint } };
}

// ---------------------------------------------------------------- reading the resources

/** Per-router and per-network calls at once. */
const FETCH_PARALLEL = 8;
/** Page limit when the server paginates (Neutron's `<collection>_links` rel=next). */
const MAX_PAGES = 1000;

/** A collection, following `next` links back to the same endpoint. */
async function list(client: ApiClient, collection: string, key: string): Promise<ApiObject[]> {
  const out: ApiObject[] = [];
  let path: string | null = `/v2.0/${collection}`;
  for (let page = 0; path !== null && page < MAX_PAGES; page++) {
    const body: Record<string, unknown> = await client.get<Record<string, unknown>>(path);
    const items = body?.[key];
    if (!Array.isArray(items)) throw new Error(`GET ${path}: the answer has no '${key}' list`);
    out.push(...(items as ApiObject[]));
    const links = body[`${key}_links`];
    const next = Array.isArray(links) ? (links as Array<{ rel?: string; href?: string }>).find((l) => l.rel === 'next')?.href : undefined;
    path = next ? samePath(client.endpoint, next) : null;
  }
  return out;
}

/** A `next` href's path under the client's endpoint: only the path is taken, the request still goes to the endpoint. */
function samePath(endpoint: string, href: string): string | null {
  let u: URL;
  try {
    u = new URL(href, 'http://relative.invalid');
  } catch {
    return null;
  }
  const prefix = /^https?:/.test(endpoint) ? new URL(endpoint).pathname.replace(/\/+$/, '') : '';
  return u.pathname.startsWith(prefix + '/') ? u.pathname.slice(prefix.length) + u.search : null;
}

const status = (e: unknown) => (e instanceof HttpError ? e.status : undefined);
const hostsOf = (agents: unknown): string[] =>
  [
    ...new Set(
      (Array.isArray(agents) ? (agents as ApiObject[]) : [])
        .map((a) => a['host'])
        .filter((h): h is string => typeof h === 'string' && h !== ''),
    ),
  ].sort();
/** host → ha_state of the agents hosting an HA router; empty for other routers (their agents carry none). */
export const haStatesOf = (agents: unknown): Record<string, string> =>
  Object.fromEntries(
    (Array.isArray(agents) ? (agents as ApiObject[]) : [])
      .filter((a) => typeof a['host'] === 'string' && a['host'] !== '' && typeof a['ha_state'] === 'string')
      .map((a) => [a['host'] as string, a['ha_state'] as string]),
  );
const boundHosts = (ports: ApiObject[]): string[] => [
  ...new Set(ports.map((p) => p['binding:host_id']).filter((h): h is string => typeof h === 'string' && h !== '')),
];

/**
 * For each id, the hosts from the scheduler call (`GET /v2.0/{path}`); when the call is refused or
 * unknown (403/404: no admin, no scheduler extension), the hosts the fallback reads from bound ports.
 */
async function hostsBy(
  client: ApiClient,
  ids: string[],
  path: (id: string) => string,
  fallback: (id: string) => string[],
  seen: (id: string, agents: unknown) => void = () => undefined,
): Promise<{ hosts: Record<string, string[]>; error?: string }> {
  let refused: string | null = null;
  const hosts = await mapLimit(ids, FETCH_PARALLEL, async (id) => {
    if (refused === null) {
      try {
        const agents = (await client.get<{ agents?: unknown }>(path(id)))?.agents;
        seen(id, agents);
        return hostsOf(agents);
      } catch (e) {
        const s = status(e);
        if (s !== 403 && s !== 404) throw e;
        refused ??= hostsReadRefused(path(id), s);
      }
    }
    return fallback(id);
  });
  const byId = Object.fromEntries(ids.map((id, i) => [id, hosts[i]!]));
  return refused === null ? { hosts: byId } : { hosts: byId, error: refused };
}

/** Whether a floating IP lists a port forwarding with a range (a side without its port). */
const listsRange = (fip: ApiObject): boolean =>
  (Array.isArray(fip['port_forwardings']) ? (fip['port_forwardings'] as ApiObject[]) : []).some(
    (p) => typeof p['external_port'] !== 'number' || typeof p['internal_port'] !== 'number',
  );

/**
 * The forwardings of the floating IPs listing a range, by floating IP id (their ranges show only
 * there); null when none does. A refused read (403/404) is noted: those ranges are then not walked.
 */
async function rangeForwardings(
  client: ApiClient,
  floatingips: ApiObject[],
  errors: string[],
): Promise<Record<string, ApiObject[]> | null> {
  const ids = floatingips.filter(listsRange).map((f) => f.id);
  if (!ids.length) return null;
  const lists = await mapLimit(ids, FETCH_PARALLEL, async (id) => {
    const path = `/v2.0/floatingips/${encodeURIComponent(id)}/port_forwardings`;
    try {
      return await list(client, path.slice('/v2.0/'.length), 'port_forwardings');
    } catch (e) {
      if (status(e) !== 403 && status(e) !== 404) throw e;
      errors.push(`GET ${path} answered ${status(e)}: its port ranges are not walked`);
      return [];
    }
  });
  return Object.fromEntries(ids.map((id, i) => [id, lists[i]!]));
}

export async function fetchApi(client: ApiClient): Promise<ApiResources> {
  const errors: string[] = [];
  const agentsOrNone = list(client, 'agents', 'agents').catch((e: unknown) => {
    // Agents are admin-only in Neutron; without them the trace cannot judge heartbeats, but goes on.
    if (status(e) !== 403 && status(e) !== 404) throw e;
    errors.push(agentsReadRefused(status(e)!));
    return [];
  });
  const [networks, subnets, ports, routers, floatingips, securityGroups, agents] = await Promise.all([
    list(client, 'networks', 'networks'),
    list(client, 'subnets', 'subnets'),
    list(client, 'ports', 'ports'),
    list(client, 'routers', 'routers'),
    list(client, 'floatingips', 'floatingips'),
    list(client, 'security-groups', 'security_groups'),
    agentsOrNone,
  ]);
  // Neutron embeds each group's rules; a server that does not gets them attached from the rule list.
  if (securityGroups.some((g) => !Array.isArray(g['security_group_rules']))) {
    const rules = await list(client, 'security-group-rules', 'security_group_rules');
    for (const g of securityGroups) g['security_group_rules'] = rules.filter((r) => r['security_group_id'] === g.id);
  }
  // Address groups only when a rule names one: a cloud without the extension is traced as before.
  const namesAddressGroup = securityGroups.some((g) =>
    (g['security_group_rules'] as ApiObject[]).some((r) => typeof r['remote_address_group_id'] === 'string'),
  );
  const addressGroups = namesAddressGroup ? await list(client, 'address-groups', 'address_groups') : null;

  const routerPorts = (id: string) => {
    const mine = ports.filter((p) => p['device_id'] === id);
    const gw = boundHosts(mine.filter((p) => p['device_owner'] === ROUTER_GW_OWNER));
    return gw.length > 0 ? gw : boundHosts(mine.filter((p) => ROUTER_INTERFACE_OWNERS.includes(String(p['device_owner']))));
  };
  const dhcpPorts = (id: string) => boundHosts(ports.filter((p) => p['network_id'] === id && p['device_owner'] === DHCP_OWNER)).sort();
  const withDhcp = networks.filter((n) => subnets.some((s) => s['network_id'] === n.id && s['enable_dhcp'] === true)).map((n) => n.id);

  const haStates: Record<string, Record<string, string>> = {};
  const [l3, dhcp] = await Promise.all([
    hostsBy(
      client,
      routers.map((r) => r.id),
      (id) => `/v2.0/routers/${encodeURIComponent(id)}/l3-agents`,
      routerPorts,
      (id, agents) => {
        const states = haStatesOf(agents);
        if (Object.keys(states).length) haStates[id] = states;
      },
    ),
    hostsBy(client, withDhcp, (id) => `/v2.0/networks/${encodeURIComponent(id)}/dhcp-agents`, dhcpPorts),
  ]);
  for (const e of [l3.error, dhcp.error]) if (e) errors.push(e);
  const forwardings = await rangeForwardings(client, floatingips, errors);
  const api: ApiResources = {
    networks,
    subnets,
    ports,
    routers,
    floatingips,
    ...(forwardings ? { port_forwardings: forwardings } : {}),
    security_groups: securityGroups,
    ...(addressGroups ? { address_groups: addressGroups } : {}),
    agents,
    router_hosts: l3.hosts,
    ...(Object.keys(haStates).length ? { router_ha_states: haStates } : {}),
    dhcp_hosts: dhcp.hosts,
  };
  if (errors.length > 0) api.errors = errors;
  return api;
}
