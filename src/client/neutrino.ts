// Typed client of the neutrino server for agents and the CLI: password authentication with
// re-authentication when the token expires, and the agent calls.
import type { HostView } from '../model/hostview.js';
import { HttpError, requestJson, type Endpoint } from './http.js';

export interface Credentials {
  username: string;
  password: string;
  project: string;
  userDomain?: string;
  projectDomain?: string;
}

export interface ChangePage {
  revision: number;
  changes: Array<{ revision: number; resource: string; resource_id: string; op: string }>;
}

/** The server no longer holds every change after the revision asked for: re-read the host view. */
export class FeedExpiredError extends Error {}

const isFeedExpired = (e: unknown) =>
  e instanceof HttpError && e.status === 410 && (e.body as { NeutronError?: { type?: string } } | undefined)?.NeutronError?.type === 'ChangeFeedRevisionExpired';

export class NeutrinoClient {
  private token: string | null = null;

  constructor(
    readonly endpoint: Endpoint,
    private readonly creds: Credentials,
  ) {}

  private async authenticate(): Promise<string> {
    const r = await requestJson(this.endpoint, 'POST', '/identity/v3/auth/tokens', {
      body: {
        auth: {
          identity: {
            methods: ['password'],
            password: { user: { name: this.creds.username, password: this.creds.password, domain: { name: this.creds.userDomain ?? 'Default' } } },
          },
          scope: { project: { name: this.creds.project, domain: { name: this.creds.projectDomain ?? 'Default' } } },
        },
      },
    });
    if (r.status !== 201) throw new HttpError(r.status, r.body, 'POST', '/identity/v3/auth/tokens');
    this.token = String(r.headers['x-subject-token']);
    return this.token;
  }

  /** A call with the token; on 401 it authenticates once more and retries. */
  async call<T>(method: string, path: string, body?: unknown, timeoutMs?: number, signal?: AbortSignal): Promise<T> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const token = this.token ?? (await this.authenticate());
      const r = await requestJson(this.endpoint, method, path, { body, headers: { 'x-auth-token': token }, timeoutMs, signal });
      if (r.status === 401 && attempt === 0) {
        this.token = null;
        continue;
      }
      if (r.status >= 400) throw new HttpError(r.status, r.body, method, path);
      return r.body as T;
    }
    throw new Error('unreachable');
  }

  reportState(agent: { agent_type: string; host: string; configurations: Record<string, unknown>; start_flag?: boolean }) {
    return this.call<{ agent: Record<string, unknown> }>('POST', '/v2.0/neutrino/agents/report', { agent });
  }

  async hostView(host: string): Promise<HostView> {
    return (await this.call<{ view: HostView }>('GET', `/v2.0/neutrino/hosts/${encodeURIComponent(host)}/view`)).view;
  }

  /** Long-polls the change feed for up to `waitS` seconds; FeedExpiredError when `since` fell out of its window. */
  async changes(since: number, waitS: number, signal?: AbortSignal): Promise<ChangePage> {
    try {
      return await this.call<ChangePage>('GET', `/v2.0/neutrino/changes?since=${since}&wait=${waitS}`, undefined, (waitS + 15) * 1000, signal);
    } catch (e) {
      if (isFeedExpired(e)) throw new FeedExpiredError((e as Error).message);
      throw e;
    }
  }

  async setPortStatus(host: string, ports: Record<string, string>): Promise<string[]> {
    if (!Object.keys(ports).length) return [];
    return (await this.call<{ updated: string[] }>('POST', `/v2.0/neutrino/hosts/${encodeURIComponent(host)}/port-status`, { ports })).updated;
  }

  async setFloatingIpStatus(host: string, floatingips: Record<string, string>): Promise<string[]> {
    if (!Object.keys(floatingips).length) return [];
    return (await this.call<{ updated: string[] }>('POST', `/v2.0/neutrino/hosts/${encodeURIComponent(host)}/floatingip-status`, { floatingips })).updated;
  }
}
