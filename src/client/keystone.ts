// Keystone v3 for every client of a Networking API (the agents' and CLI's client of neutrino, the
// tracer's client of any cloud): the token request's body, issuing a project-scoped token, a token
// that is renewed once when the API answers 401, and the network endpoint in the token's catalog.
// The transport is the caller's (a Unix socket or TCP to neutrino, http/https with TLS to a cloud).
import { describe, HttpError, type JsonReply } from './http.js';
import { CredentialsError, type ApiTarget } from './reach.js';

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
}

/** Issues a token: a refusal (401) is a CredentialsError, any other answer but 201 an HttpError. */
export async function issueToken(req: TokenRequest, body: unknown): Promise<IssuedToken> {
  const r = await req.post(body);
  if (r.status === 401) throw new CredentialsError(req.target, req.who ? `${req.who}: ${describe(r.body)}` : describe(r.body));
  if (r.status !== 201) throw new HttpError(r.status, r.body, 'POST', req.path);
  return { id: String(r.headers['x-subject-token']), catalog: (r.body as { token?: { catalog?: unknown } } | undefined)?.token?.catalog };
}

/** A token taken when first needed and taken anew, once per call, when the API answers 401 (it expired). */
export class TokenSession {
  private token: string | null = null;

  constructor(private readonly login: () => Promise<string>) {}

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

/** The `network` service's URL for the interface (and region, when set) from a v3 token's catalog. */
export function networkEndpoint(catalog: unknown, iface: string, region?: string): string {
  const services = Array.isArray(catalog) ? (catalog as CatalogEntry[]) : [];
  const network = services.filter((s) => s.type === 'network').flatMap((s) => s.endpoints ?? []);
  if (network.length === 0) throw new CloudConfigError("the token's catalog has no 'network' service");
  const match = network.filter((e) => e.interface === iface && (region === undefined || e.region_id === region || e.region === region));
  if (match.length === 0 || !match[0]!.url) {
    const have = network.map((e) => `${e.interface}@${e.region_id ?? e.region ?? '?'}`).join(', ');
    throw new CloudConfigError(`the catalog has no ${iface} network endpoint${region ? ` in region ${region}` : ''} (it has ${have})`);
  }
  // Requests carry /v2.0 themselves; a catalog entry that already ends in it is cut back to the root.
  return match[0]!.url!.replace(/\/+$/, '').replace(/\/v2\.0$/, '');
}
