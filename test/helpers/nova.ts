// A stand-in Nova for the notifier's contract tests: only POST /v2.1/os-server-external-events, and
// every request checked against Nova's API reference (api-ref "Create external events", the
// request schema nova/api/openstack/compute/schemas/server_external_events.py at 2.1): a JSON body
// {"events": [...]} with at least one event, each with exactly the allowed keys (server_uuid a UUID,
// name one of the four network events, status failed|completed|in-progress, tag at most 255
// characters), the microversion header python-novaclient sends for 2.1, and an X-Auth-Token that
// the identity which issued it validates (asked as keystonemiddleware would, by self-validation)
// with an admin or service role (Nova's policy for this API). Answers as Nova does: 200 when every
// event found its instance, 207 with per-event codes when some did not, 404 when none did.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedEvent {
  name: string;
  server_uuid: string;
  status?: string;
  tag?: string;
}

export interface NovaRequestRecord {
  events: ReceivedEvent[];
  /** What the stand-in answered. */
  status: number;
  at: number;
}

export interface StandInNova {
  /** The compute endpoint to list in a catalog: http://127.0.0.1:PORT/v2.1 */
  endpoint: string;
  /** Every request that kept to the contract, in arrival order (those answered 5xx on purpose too). */
  requests: NovaRequestRecord[];
  /** Every breach of the contract, as a sentence (a test expects none). */
  violations: string[];
  /** Tokens the identity did not accept (answered 401, as keystonemiddleware does: a client may log in again). */
  refusedTokens: string[];
  /** Tokens accepted so far. */
  tokensSeen: Set<string>;
  /** Instances Nova knows: events for other server_uuids get code 404. */
  instances: Set<string>;
  /** Answers the next `count` valid requests with `status` (e.g. 503) without processing them. */
  failNext(count: number, status?: number): void;
  /** The events received so far, in order, from requests answered 200 or 207. */
  delivered(): ReceivedEvent[];
  /** Resolves once `predicate` holds for the delivered events (polls), or rejects after `ms`. */
  waitFor(predicate: (events: ReceivedEvent[]) => boolean, ms?: number): Promise<ReceivedEvent[]>;
  close(): Promise<void>;
}

const NAMES = ['network-changed', 'network-vif-plugged', 'network-vif-unplugged', 'network-vif-deleted'];
const STATUSES = ['failed', 'completed', 'in-progress'];
const EVENT_KEYS = ['server_uuid', 'name', 'status', 'tag'];
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** Why the body breaks the 2.1 request schema, or null. */
export function schemaViolation(body: unknown): string | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body is not a JSON object';
  const keys = Object.keys(body);
  if (keys.length !== 1 || keys[0] !== 'events') return `the body must have exactly the key 'events', not ${JSON.stringify(keys)}`;
  const events = (body as { events: unknown }).events;
  if (!Array.isArray(events) || events.length < 1) return "'events' must be a non-empty array";
  for (const [i, e] of events.entries()) {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return `events[${i}] is not an object`;
    const extra = Object.keys(e).filter((k) => !EVENT_KEYS.includes(k));
    if (extra.length) return `events[${i}] has keys Nova does not allow: ${extra.join(', ')}`;
    const ev = e as Record<string, unknown>;
    if (typeof ev.server_uuid !== 'string' || !UUID.test(ev.server_uuid)) return `events[${i}].server_uuid is not a UUID`;
    if (typeof ev.name !== 'string' || !NAMES.includes(ev.name)) return `events[${i}].name ${JSON.stringify(ev.name)} is not allowed`;
    if ('status' in ev && (typeof ev.status !== 'string' || !STATUSES.includes(ev.status)))
      return `events[${i}].status ${JSON.stringify(ev.status)} is not allowed`;
    if ('tag' in ev && (typeof ev.tag !== 'string' || ev.tag.length > 255)) return `events[${i}].tag is not a string of at most 255`;
  }
  return null;
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export interface StandInNovaOptions {
  /** The Identity API (…/v3) that issues the tokens Nova must accept. */
  identityUrl: string;
}

export async function startStandInNova({ identityUrl }: StandInNovaOptions): Promise<StandInNova> {
  const requests: NovaRequestRecord[] = [];
  const violations: string[] = [];
  const refusedTokens: string[] = [];
  const tokensSeen = new Set<string>();
  const instances = new Set<string>();
  let failing = { count: 0, status: 503 };
  /** Valid and allowed: the identity says so (asked every time: a revoked token is refused at once) and it carries admin or service. */
  async function tokenAllowed(token: string): Promise<boolean> {
    const r = await fetch(`${identityUrl}/auth/tokens?nocatalog`, { headers: { 'x-auth-token': token, 'x-subject-token': token } });
    const body = (await r.json().catch(() => null)) as { token?: { roles?: Array<{ name: string }> } } | null;
    return r.status === 200 && (body?.token?.roles ?? []).some((role) => role.name === 'admin' || role.name === 'service');
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const breach = (status: number, why: string) => {
      violations.push(`${req.method} ${req.url}: ${why}`);
      answer(res, status, { badRequest: { code: status, message: why } });
    };
    if (req.method !== 'POST' || req.url !== '/v2.1/os-server-external-events') return breach(404, 'not the external events API');
    const token = req.headers['x-auth-token'];
    if (typeof token !== 'string' || !token) return breach(401, 'no X-Auth-Token');
    if (!(await tokenAllowed(token))) {
      refusedTokens.push(token);
      return answer(res, 401, {
        error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' },
      });
    }
    tokensSeen.add(token);
    // python-novaclient at API 2.1 sends the legacy header only (OpenStack-API-Version from 2.27 on).
    if (req.headers['x-openstack-nova-api-version'] !== '2.1') return breach(400, 'X-OpenStack-Nova-API-Version is not 2.1');
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return breach(400, 'Content-Type is not JSON');
    const rid = req.headers['x-openstack-request-id'];
    if (rid !== undefined && !/^req-[0-9a-f-]{36}$/.test(String(rid))) return breach(400, `malformed global request id ${String(rid)}`);
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return breach(400, 'the body is not JSON');
    }
    const why = schemaViolation(body);
    if (why) return breach(400, why);
    const events = (body as { events: ReceivedEvent[] }).events;
    if (failing.count > 0) {
      failing.count--;
      requests.push({ events, status: failing.status, at: Date.now() });
      return answer(res, failing.status, { computeFault: { code: failing.status, message: 'stand-in failure' } });
    }
    // Nova answers each event with its fields, the status it took ('completed' unless given) and a code.
    const answered = events.map((e) => ({ ...e, status: e.status ?? 'completed', code: instances.has(e.server_uuid) ? 200 : 404 }));
    const found = answered.filter((e) => e.code === 200).length;
    const status = found === 0 ? 404 : found === answered.length ? 200 : 207;
    requests.push({ events, status, at: Date.now() });
    if (status === 404) return answer(res, 404, { itemNotFound: { code: 404, message: 'No instances found for any event' } });
    answer(res, status, { events: answered });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => {
      violations.push(`stand-in failed: ${e.message}`);
      answer(res, 500, { computeFault: { code: 500, message: e.message } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const delivered = () => requests.filter((r) => r.status === 200 || r.status === 207 || r.status === 404).flatMap((r) => r.events);
  return {
    endpoint: `http://127.0.0.1:${port}/v2.1`,
    requests,
    violations,
    refusedTokens,
    tokensSeen,
    instances,
    failNext(count, status = 503) {
      failing = { count, status };
    },
    delivered,
    async waitFor(predicate, ms = 15_000) {
      const until = Date.now() + ms;
      while (!predicate(delivered())) {
        if (Date.now() > until) throw new Error(`Nova did not receive the expected events; it has: ${JSON.stringify(requests)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      return delivered();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
