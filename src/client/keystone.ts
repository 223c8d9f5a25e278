// Keystone v3 for every client of a Networking API (the agents' and CLI's client of neutrino, the
// tracer's client of any cloud): the token request's body, issuing a project-scoped token, a token
// that is renewed once when the API answers 401, and the network endpoint in the token's catalog.
// The transport is the caller's (a Unix socket or TCP to neutrino, http/https with TLS to a cloud).
// And the server's side behind an existing Keystone (auth_strategy = keystone): its own service
// token, and the validation of its callers' tokens with it (keystonemiddleware's job in Neutron).
import { describe, HttpError, type JsonReply } from './http.ts';
import { connectionFailure, CredentialsError, UnreachableError, type ApiTarget } from './reach.ts';
import { httpsJson } from './https-json.ts';
import type { TlsSettings } from './tls-settings.ts';

/** The cloud's settings or its catalog cannot give a token or a network endpoint. */
export class CloudConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CloudConfigError';
  }
}

/** auth_url may name the versioned endpoint (…/v3) or the unversioned root. */
export const identityV3 = (authUrl: string): string => {
  const u = authUrl.replace(/\/+$/, '');
  return /\/v3$/.test(u) ? u : `${u}/v3`;
};

/** A password login scoped to a project; user and project each by id, or by name in a domain (by id or name, 'Default' unless given). */
export interface PasswordAuth {
  password: string;
  userId?: string;
  username?: string;
  userDomainId?: string;
  userDomainName?: string;
  projectId?: string;
  projectName?: string;
  projectDomainId?: string;
  projectDomainName?: string;
}

/** POST /v3/auth/tokens's body for a password login with project scope. */
export function passwordAuthBody(a: PasswordAuth): unknown {
  const domain = (id?: string, name?: string) => (id ? { id } : { name: name ?? 'Default' });
  const user = a.userId
    ? { id: a.userId, password: a.password }
    : { name: a.username, password: a.password, domain: domain(a.userDomainId, a.userDomainName) };
  const project = a.projectId ? { id: a.projectId } : { name: a.projectName, domain: domain(a.projectDomainId, a.projectDomainName) };
  return { auth: { identity: { methods: ['password'], password: { user } }, scope: { project } } };
}

/** POST /v3/auth/tokens's body for an application credential (its scope is the credential's). */
export const applicationCredentialAuthBody = (id: string, secret: string): unknown => ({
  auth: { identity: { methods: ['application_credential'], application_credential: { id, secret } } },
});

export interface TokenRequest {
  /** sends POST …/v3/auth/tokens with this body */
  post: (body: unknown) => Promise<JsonReply>;
  /** the request's path or URL, to name it in an HttpError */
  path: string;
  /** the Identity API, to name it when it refuses the credentials */
  target: ApiTarget;
  /** who was refused, e.g. "user 'admin', project 'admin'", put before Keystone's reason */
  who?: string;
}

export interface IssuedToken {
  id: string;
  /** the token's service catalog (absent with ?nocatalog) */
  catalog: unknown;
  /** when it was issued and when it expires, ISO 8601 (as Keystone answers) */
  issuedAt?: string;
  expiresAt?: string;
}

/** Issues a token: a refusal (401) is a CredentialsError, any other answer but 201 an HttpError. */
export async function issueToken(req: TokenRequest, body: unknown): Promise<IssuedToken> {
  const r = await req.post(body);
  if (r.status === 401) throw new CredentialsError(req.target, req.who ? `${req.who}: ${describe(r.body)}` : describe(r.body));
  if (r.status !== 201) throw new HttpError(r.status, r.body, 'POST', req.path);
  const token = (r.body as { token?: { catalog?: unknown; issued_at?: string; expires_at?: string } } | undefined)?.token;
  return { id: String(r.headers['x-subject-token']), catalog: token?.catalog, issuedAt: token?.issued_at, expiresAt: token?.expires_at };
}

/** A token taken when first needed and taken anew, once per call, when the API answers 401 (it expired). */
export class TokenSession {
  private token: string | null = null;

  private readonly login: () => Promise<string>;

  constructor(login: () => Promise<string>) {
    this.login = login;
  }

  /** Logs in now (e.g. to fail early on wrong credentials). */
  async renew(): Promise<string> {
    this.token = await this.login();
    return this.token;
  }

  /** The reply to `send` with the token; a 401 renews the token and sends once more. */
  async send(send: (token: string) => Promise<JsonReply>): Promise<JsonReply> {
    const first = await send(this.token ?? (await this.renew()));
    if (first.status !== 401) return first;
    return send(await this.renew());
  }
}

interface CatalogEntry {
  type?: string;
  endpoints?: Array<{ interface?: string; region?: string; region_id?: string; url?: string }>;
}

/** The URL of the catalog's `type` service for the interface (and region, when set), from a v3 token's catalog. */
export function catalogEndpoint(catalog: unknown, type: string, iface: string, region?: string): string {
  const services = Array.isArray(catalog) ? (catalog as CatalogEntry[]) : [];
  const endpoints = services.filter((s) => s.type === type).flatMap((s) => s.endpoints ?? []);
  if (endpoints.length === 0) throw new CloudConfigError(`the token's catalog has no '${type}' service`);
  const match = endpoints.filter((e) => e.interface === iface && (region === undefined || e.region_id === region || e.region === region));
  if (match.length === 0 || !match[0]!.url) {
    const have = endpoints.map((e) => `${e.interface}@${e.region_id ?? e.region ?? '?'}`).join(', ');
    throw new CloudConfigError(`the catalog has no ${iface} ${type} endpoint${region ? ` in region ${region}` : ''} (it has ${have})`);
  }
  return match[0]!.url!.replace(/\/+$/, '');
}

/** The `network` service's URL for the interface (and region, when set) from a v3 token's catalog. */
export function networkEndpoint(catalog: unknown, iface: string, region?: string): string {
  // Requests carry /v2.0 themselves; a catalog entry that already ends in it is cut back to the root.
  return catalogEndpoint(catalog, 'network', iface, region).replace(/\/v2\.0$/, '');
}

/** Keystone could not say whether a token is valid: unreachable, too slow, or refusing the service's own login. */
export class KeystoneUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeystoneUnavailableError';
  }
}

/** What GET /v3/auth/tokens answers about a valid token (the parts a service acts on). */
export interface ValidatedToken {
  user: { id: string; name?: string };
  project?: { id: string; name?: string };
  roles?: Array<{ id?: string; name: string }>;
  expires_at: string;
}

export interface ServiceLogin {
  /** Keystone's Identity API, …/v3 or its root */
  authUrl: string;
  auth: PasswordAuth;
  /** ms to wait for each answer from Keystone */
  timeoutMs: number;
  /** TLS toward Keystone ([keystone_authtoken] cafile, certfile, keyfile, insecure); null: fetch's defaults */
  tls?: TlsSettings | null;
}

/** A token is renewed this long before it expires: 2 minutes (keystoneauth's margin), or half its life when that is shorter. */
export function renewalTime(issuedAt: number, expiresAt: number): number {
  return expiresAt - Math.min(120_000, (expiresAt - issuedAt) / 2);
}

/** A JSON request over http or https (fetch): the reply, or UnreachableError when no answer came within timeoutMs. */
export async function fetchJson(
  url: string,
  init: RequestInit,
  timeoutMs: number,
  target: ApiTarget,
  tls: TlsSettings | null = null,
): Promise<JsonReply> {
  // Own TLS settings need node:https (fetch takes no CA, client certificate or insecure flag).
  if (tls && url.startsWith('https:'))
    return httpsJson(
      url,
      { method: init.method ?? 'GET', headers: init.headers as Record<string, string>, body: init.body as string | undefined },
      timeoutMs,
      target,
      tls,
    );
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const cause = (e as { cause?: NodeJS.ErrnoException }).cause;
    if ((e as Error).name === 'TimeoutError') throw new UnreachableError(target, `no answer within ${timeoutMs / 1000} s`);
    throw new UnreachableError(target, cause ? connectionFailure(cause) : (e as Error).message);
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, headers: Object.fromEntries(res.headers), body };
}

export const JSON_HEADERS = { accept: 'application/json', 'content-type': 'application/json' };

/**
 * The server's own session with Keystone: a service token from the configured password login, taken
 * when first needed and renewed before it expires; and the validation of other tokens with it.
 */
export class KeystoneTokenValidator {
  private service: { id: string; renewAt: number } | null = null;
  private login: Promise<string> | null = null;
  private readonly v3: string;
  private readonly target: ApiTarget;

  private readonly opts: ServiceLogin;
  private readonly now: () => number;

  constructor(opts: ServiceLogin, now: () => number = Date.now) {
    this.opts = opts;
    this.now = now;
    this.v3 = identityV3(opts.authUrl);
    this.target = { api: 'Keystone', url: this.v3, credentialsHint: 'check [keystone_authtoken] in the server configuration' };
  }

  private async logIn(): Promise<string> {
    const path = `${this.v3}/auth/tokens?nocatalog`;
    const post = (body: unknown) =>
      fetchJson(
        path,
        { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(body) },
        this.opts.timeoutMs,
        this.target,
        this.opts.tls,
      );
    let token: IssuedToken;
    try {
      token = await issueToken(
        { post, path, target: this.target, who: 'the [keystone_authtoken] service user' },
        passwordAuthBody(this.opts.auth),
      );
    } catch (e) {
      if (e instanceof UnreachableError) throw new KeystoneUnavailableError(e.message);
      throw new KeystoneUnavailableError(`the service login failed: ${(e as Error).message}`);
    }
    const issued = token.issuedAt ? Date.parse(token.issuedAt) : this.now();
    const expires = token.expiresAt ? Date.parse(token.expiresAt) : NaN;
    // A token whose expiry cannot be read is used for this one request only.
    this.service = { id: token.id, renewAt: Number.isFinite(expires) ? renewalTime(issued, expires) : 0 };
    return token.id;
  }

  /** The service token: the one held while it is not due for renewal, else a new one (one login at a time). */
  async serviceToken(): Promise<string> {
    if (this.service && this.now() < this.service.renewAt) return this.service.id;
    this.login ??= this.logIn().finally(() => (this.login = null));
    return this.login;
  }

  /** The token's data when Keystone says it is valid now; null when it says it is not (unknown, expired, revoked). */
  async validate(subjectToken: string): Promise<ValidatedToken | null> {
    const ask = async (service: string) => {
      const headers = { ...JSON_HEADERS, 'x-auth-token': service, 'x-subject-token': subjectToken };
      try {
        return await fetchJson(
          `${this.v3}/auth/tokens?nocatalog`,
          { method: 'GET', headers },
          this.opts.timeoutMs,
          this.target,
          this.opts.tls,
        );
      } catch (e) {
        throw e instanceof UnreachableError ? new KeystoneUnavailableError(e.message) : e;
      }
    };
    let r = await ask(await this.serviceToken());
    if (r.status === 401) {
      // The service token itself was refused (revoked, or Keystone's keys rotated): log in again, once.
      this.service = null;
      r = await ask(await this.serviceToken());
    }
    if (r.status === 200) {
      const token = (r.body as { token?: ValidatedToken } | undefined)?.token;
      if (!token?.user?.id || !token.expires_at) throw new KeystoneUnavailableError('Keystone answered a validation without a token body');
      return token;
    }
    if (r.status === 404) return null;
    throw new KeystoneUnavailableError(`Keystone answered the validation with ${r.status}: ${describe(r.body)}`);
  }
}
