// Nova's os-server-external-events, as Neutron's notifier calls it (python-novaclient, API 2.1): a
// Keystone session from the [nova] password options, the compute endpoint from the token's catalog
// (endpoint_type, region_name), and POST {endpoint}/os-server-external-events with {"events": [...]}.
import { randomUUID } from 'node:crypto';
import type { NovaEvent } from '../model/nova-events.ts';
import { describe, type JsonReply } from './http.ts';
import {
  catalogEndpoint,
  fetchJson,
  identityV3,
  issueToken,
  JSON_HEADERS,
  passwordAuthBody,
  renewalTime,
  type PasswordAuth,
} from './keystone.ts';
import { UnreachableError, type ApiTarget } from './reach.ts';

/** The microversion Neutron's notifier asks for (NOVA_API_VERSION); novaclient sends it in this header. */
export const NOVA_API_VERSION = '2.1';

export interface NovaClientOptions {
  /** Keystone's Identity API ([nova] auth_url), …/v3 or its root. */
  authUrl: string;
  auth: PasswordAuth;
  /** The compute endpoint's interface in the catalog ([nova] endpoint_type). */
  endpointType: 'public' | 'internal' | 'admin';
  regionName?: string;
  /** ms to wait for each answer (Keystone's and Nova's). */
  timeoutMs: number;
  now?: () => number;
}

/** An event with Nova's per-event answer (code 200, or 400/404/422 for that event). */
export type AnsweredEvent = NovaEvent & { code: number };

/** What Nova made of a batch: 200 (all accepted), 207 (some not), 404 (no instance for any of them). */
export type NovaAnswer = { status: 200 | 207; events: AnsweredEvent[] } | { status: 404; events: [] };

/** Sending failed in a way worth another try: Keystone or Nova unreachable, no answer in time, a 5xx. */
export class NovaRetryableError extends Error {
  override name = 'NovaRetryableError';
}

/** Sending failed in a way that will not change by trying again (the credentials, the catalog, a 4xx). */
export class NovaRefusedError extends Error {
  override name = 'NovaRefusedError';
}

interface Session {
  token: string;
  endpoint: string;
  renewAt: number;
}

export class NovaClient {
  private session: Session | null = null;
  private login: Promise<Session> | null = null;
  private readonly v3: string;
  private readonly now: () => number;

  private readonly opts: NovaClientOptions;

  constructor(opts: NovaClientOptions) {
    this.opts = opts;
    this.v3 = identityV3(opts.authUrl);
    this.now = opts.now ?? Date.now;
  }

  private async logIn(): Promise<Session> {
    const target: ApiTarget = { api: 'Keystone', url: this.v3, credentialsHint: 'check [nova] in the server configuration' };
    const path = `${this.v3}/auth/tokens`;
    const post = (body: unknown) =>
      fetchJson(path, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(body) }, this.opts.timeoutMs, target);
    try {
      const t = await issueToken({ post, path, target, who: 'the [nova] user' }, passwordAuthBody(this.opts.auth));
      const endpoint = catalogEndpoint(t.catalog, 'compute', this.opts.endpointType, this.opts.regionName);
      const issued = t.issuedAt ? Date.parse(t.issuedAt) : this.now();
      const expires = t.expiresAt ? Date.parse(t.expiresAt) : NaN;
      return { token: t.id, endpoint, renewAt: Number.isFinite(expires) ? renewalTime(issued, expires) : 0 };
    } catch (e) {
      if (e instanceof UnreachableError) throw new NovaRetryableError(e.message);
      throw new NovaRefusedError(`the [nova] login failed: ${(e as Error).message}`);
    }
  }

  private async current(): Promise<Session> {
    if (this.session && this.now() < this.session.renewAt) return this.session;
    this.login ??= this.logIn()
      .then((s) => (this.session = s))
      .finally(() => (this.login = null));
    return this.login;
  }

  private async post(s: Session, events: NovaEvent[]): Promise<JsonReply> {
    const url = `${s.endpoint}/os-server-external-events`;
    const headers = {
      ...JSON_HEADERS,
      'x-auth-token': s.token,
      'x-openstack-nova-api-version': NOVA_API_VERSION,
      // novaclient's global_request_id: lets Nova's logs name the request that caused the events.
      'x-openstack-request-id': `req-${randomUUID()}`,
      'user-agent': 'neutrino-server',
    };
    try {
      return await fetchJson(url, { method: 'POST', headers, body: JSON.stringify({ events }) }, this.opts.timeoutMs, {
        api: 'Nova',
        url,
      });
    } catch (e) {
      throw e instanceof UnreachableError ? new NovaRetryableError(e.message) : e;
    }
  }

  /** Sends one batch; throws NovaRetryableError or NovaRefusedError when Nova did not take it. */
  async send(events: NovaEvent[]): Promise<NovaAnswer> {
    let r = await this.post(await this.current(), events);
    if (r.status === 401) {
      // The token was refused (revoked, or Keystone's keys rotated): log in again, once.
      this.session = null;
      r = await this.post(await this.current(), events);
    }
    if (r.status === 200 || r.status === 207) {
      const answered = (r.body as { events?: AnsweredEvent[] } | undefined)?.events;
      if (!Array.isArray(answered)) throw new NovaRefusedError(`Nova answered ${r.status} without events: ${describe(r.body)}`);
      return { status: r.status, events: answered };
    }
    if (r.status === 404) return { status: 404, events: [] };
    const reason = `Nova answered ${r.status}: ${describe(r.body)}`;
    throw r.status >= 500 ? new NovaRetryableError(reason) : new NovaRefusedError(reason);
  }
}
