// Typed client of the neutrino server for agents and the CLI: password authentication with
// re-authentication when the token expires, and the agent calls.
import type { HostView, MeteringCounter } from '../model/hostview.ts';
import type { HostViewDelta } from '../model/hostview-delta.ts';
import { connectionPool, HttpError, requestJson, type Endpoint, type JsonReply } from './http.ts';
import { fetchJson, identityV3, issueToken, JSON_HEADERS, passwordAuthBody, TokenSession } from './keystone.ts';
import { UnreachableError } from './reach.ts';

export interface Credentials {
  username: string;
  password: string;
  project: string;
  userDomain?: string;
  projectDomain?: string;
  /** a Keystone to log in at (its URL, /v3 or not); unset: the server's identity, or the Keystone it names */
  authUrl?: string | null;
}

export interface ChangePage {
  revision: number;
  changes: Array<{ revision: number; resource: string; resource_id: string; op: string }>;
}

/**
 * A host view answer: the whole view, or a delta to the view held under the tag sent; `tag` names
 * what the agent holds next (absent from a server that makes no deltas).
 */
export type HostViewAnswer = { tag?: string; view: HostView; reason?: string } | { tag: string; delta: HostViewDelta };

/** The server no longer holds every change after the revision asked for: re-read the host view. */
export class FeedExpiredError extends Error {}

const isFeedExpired = (e: unknown) =>
  e instanceof HttpError &&
  e.status === 410 &&
  (e.body as { NeutronError?: { type?: string } } | undefined)?.NeutronError?.type === 'ChangeFeedRevisionExpired';
const TOKENS = '/identity/v3/auth/tokens';
const identityAt = (url: string) => (url.startsWith('unix:') ? `${url} /identity/v3` : `${url.replace(/\/+$/, '')}/identity/v3`);

export class NeutrinoClient {
  private readonly session = new TokenSession(() => this.authenticate());
  private readonly endpoints: Endpoint[];
  private current = 0;
  /** This client's own connections (see connectionPool). */
  private readonly pool = connectionPool();
  /** The Keystone a server behind one named (auth_strategy = keystone), once found. */
  private keystone: string | null = null;

  private readonly creds: Credentials;

  /**
   * Several endpoints are several servers on one shared database: a request that cannot reach the
   * current one goes to the next (a token is good at every one of them).
   */
  constructor(endpoints: Endpoint | Endpoint[], creds: Credentials) {
    this.creds = creds;
    this.endpoints = Array.isArray(endpoints) ? endpoints : [endpoints];
    if (!this.endpoints.length) throw new Error('NeutrinoClient needs at least one endpoint');
    if (creds.authUrl) this.keystone = identityV3(creds.authUrl);
  }

  /** The server requests go to now. */
  get endpoint(): Endpoint {
    return this.endpoints[this.current];
  }

  /** Sends to the current server; when it cannot be reached, to each other one in turn. */
  private async failover<T>(send: (endpoint: Endpoint) => Promise<T>): Promise<T> {
    for (let tried = 1; ; tried++) {
      try {
        return await send(this.endpoint);
      } catch (e) {
        if (!(e instanceof UnreachableError) || tried >= this.endpoints.length) throw e;
        this.current = (this.current + 1) % this.endpoints.length;
      }
    }
  }

  private async authenticate(): Promise<string> {
    const { username, password, project } = this.creds;
    const body = passwordAuthBody({
      username,
      password,
      userDomainName: this.creds.userDomain,
      projectName: project,
      projectDomainName: this.creds.projectDomain,
    });
    const identityTarget = () => this.identityTarget();
    const token = await issueToken(
      {
        post: (b) => this.postTokens(b),
        path: TOKENS,
        // Read once the answer is in: by then it is known whether the server is behind Keystone.
        get target() {
          return identityTarget();
        },
        who: `user '${username}', project '${project}'`,
      },
      body,
    );
    return token.id;
  }

  private identityTarget() {
    const url = this.keystone ?? identityAt(this.endpoint.url);
    return {
      api: this.keystone ? 'Keystone' : 'the Identity API',
      url,
      hint: this.keystone
        ? this.creds.authUrl
          ? 'check [neutrino] auth_url: this host must reach it'
          : 'the server names it in WWW-Authenticate ([keystone_authtoken] www_authenticate_uri): this host must reach it'
        : this.endpoint.hint,
      credentialsHint: this.endpoint.credentialsHint,
    };
  }

  /** POST …/auth/tokens at the server's built-in identity, or at the Keystone it is behind. */
  private async postTokens(body: unknown): Promise<JsonReply> {
    if (!this.keystone) {
      const r = await this.failover((endpoint) => requestJson(endpoint, 'POST', TOKENS, { body, pool: this.pool }));
      if (r.status !== 404) return r;
      this.keystone = await this.discoverKeystone(r);
    }
    const init = { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(body) };
    return fetchJson(`${this.keystone}/auth/tokens`, init, 30_000, this.identityTarget());
  }

  /**
   * A server behind Keystone serves no Identity API of its own (404); the 401 it answers to a request
   * without a token names that Keystone (WWW-Authenticate: Keystone uri="…"), as keystonemiddleware's does.
   */
  private async discoverKeystone(notFound: JsonReply): Promise<string> {
    const r = await this.failover((endpoint) => requestJson(endpoint, 'GET', '/v2.0/', { pool: this.pool }));
    const uri = /^Keystone uri="([^"]+)"/.exec(String(r.headers['www-authenticate'] ?? ''))?.[1];
    if (r.status !== 401 || !uri) throw new HttpError(notFound.status, notFound.body, 'POST', TOKENS);
    return identityV3(uri);
  }

  /** A call with the token; on 401 it authenticates once more and retries. */
  async call<T>(method: string, path: string, body?: unknown, timeoutMs?: number, signal?: AbortSignal): Promise<T> {
    const r = await this.session.send((token) =>
      this.failover((endpoint) =>
        requestJson(endpoint, method, path, { body, headers: { 'x-auth-token': token }, timeoutMs, signal, pool: this.pool }),
      ),
    );
    if (r.status >= 400) throw new HttpError(r.status, r.body, method, path);
    return r.body as T;
  }

  reportState(agent: {
    agent_type: string;
    host: string;
    configurations: Record<string, unknown>;
    start_flag?: boolean;
    availability_zone?: string;
  }) {
    return this.call<{ agent: Record<string, unknown> }>('POST', '/v2.0/neutrino/agents/report', { agent });
  }

  async hostView(host: string): Promise<HostView> {
    return (await this.hostViewAnswer(host)).view;
  }

  /** The whole host view and its tag. */
  hostViewAnswer(host: string): Promise<HostViewAnswer & { view: HostView }> {
    return this.call('GET', `/v2.0/neutrino/hosts/${encodeURIComponent(host)}/view`);
  }

  /** Long-polls for up to `waitS` seconds for what changed in the view held at `since` under `tag`. */
  hostViewSince(host: string, since: number, tag: string, waitS: number, signal?: AbortSignal): Promise<HostViewAnswer> {
    const query = `since=${since}&tag=${encodeURIComponent(tag)}&wait=${waitS}`;
    return this.call('GET', `/v2.0/neutrino/hosts/${encodeURIComponent(host)}/view?${query}`, undefined, (waitS + 15) * 1000, signal);
  }

  /** Long-polls the change feed for up to `waitS` seconds; FeedExpiredError when `since` fell out of its window. */
  async changes(since: number, waitS: number, signal?: AbortSignal): Promise<ChangePage> {
    try {
      return await this.call<ChangePage>(
        'GET',
        `/v2.0/neutrino/changes?since=${since}&wait=${waitS}`,
        undefined,
        (waitS + 15) * 1000,
        signal,
      );
    } catch (e) {
      if (isFeedExpired(e)) throw new FeedExpiredError((e as Error).message);
      throw e;
    }
  }

  async setPortStatus(host: string, ports: Record<string, string>): Promise<string[]> {
    if (!Object.keys(ports).length) return [];
    return (await this.call<{ updated: string[] }>('POST', `/v2.0/neutrino/hosts/${encodeURIComponent(host)}/port-status`, { ports }))
      .updated;
  }

  /** The HA routers' states keepalived gives on this host (update_ha_routers_states); returns the routers whose state changed. */
  async setHaRouterStates(host: string, states: Record<string, string>): Promise<string[]> {
    return (await this.call<{ updated: string[] }>('POST', `/v2.0/neutrino/hosts/${encodeURIComponent(host)}/ha-router-states`, { states }))
      .updated;
  }

  async setFloatingIpStatus(host: string, floatingips: Record<string, string>): Promise<string[]> {
    if (!Object.keys(floatingips).length) return [];
    return (
      await this.call<{ updated: string[] }>('POST', `/v2.0/neutrino/hosts/${encodeURIComponent(host)}/floatingip-status`, { floatingips })
    ).updated;
  }

  /** What each label in each router of the host counted since its last report; the server adds them to its totals. */
  async reportMeteringDeltas(host: string, deltas: MeteringCounter[]): Promise<number> {
    return (await this.call<{ recorded: number }>('POST', `/v2.0/neutrino/hosts/${encodeURIComponent(host)}/metering-counters`, { deltas }))
      .recorded;
  }
}
