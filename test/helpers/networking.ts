// Shared pieces of the Networking API tests: the admin/demo/other setup, Neutron error assertions,
// created(), and what a refused request must leave alone (the change feed's head, a state snapshot).
import assert from 'node:assert/strict';
import { adminToken, api, memberProject, type Api, type Wire } from './client.ts';
import type { Resource } from './shapes.ts';

/** An admin client and two member projects, `demo` then `other`, each with a client and its id. */
export async function adminDemoOther(base: string) {
  const token = await adminToken(base);
  const d = await memberProject(base, token, 'demo');
  const o = await memberProject(base, token, 'other');
  return {
    adminToken: token,
    admin: api(base, token),
    demo: api(base, d.token),
    demoProject: d.projectId,
    other: api(base, o.token),
    otherProject: o.projectId,
  };
}

/** The NeutronError type of a reply; undefined when the body is no NeutronError. */
export const errType = (r: { body: unknown }) => neutronErrorField(r.body, 'type');
const errMsg = (r: { body: unknown }): string => {
  const message = neutronErrorField(r.body, 'message');
  return typeof message === 'string' ? message : '';
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function neutronErrorField(body: unknown, key: 'type' | 'message'): unknown {
  const error = isObject(body) ? body.NeutronError : undefined;
  return isObject(error) ? error[key] : undefined;
}

/** Asserts a NeutronError reply: status, type and, if given, the message (exactly, or matching a RegExp). */
export function expectError(r: { status: number; body: unknown }, status: number, type: string, message?: string | RegExp) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(errType(r), type, JSON.stringify(r.body));
  if (typeof message === 'string') assert.equal(errMsg(r), message);
  else if (message) assert.match(errMsg(r), message);
}

/** Awaits a create, asserts 201 and returns the created resource (`body[key]`). */
export async function created<T = Wire>(p: Promise<{ status: number; body: Wire }>, key: string): Promise<T> {
  const r = await p;
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body[key];
}

/**
 * The admin's external flat network `provider` with 10.123.123.0/24 (pool .100–.200, so lower
 * addresses are free to name); `subnet` adds to or overrides the subnet's attributes.
 */
export async function providerNetwork(admin: Api, subnet: Wire = {}): Promise<Wire> {
  const provider = await created(
    admin.post('/networks', {
      network: { name: 'provider', 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'provider' },
    }),
    'network',
  );
  await created(
    admin.post('/subnets', {
      subnet: {
        network_id: provider.id,
        ip_version: 4,
        cidr: '10.123.123.0/24',
        allocation_pools: [{ start: '10.123.123.100', end: '10.123.123.200' }],
        ...subnet,
      },
    }),
    'subnet',
  );
  return provider;
}

/** `api`'s network `selfservice` with 172.16.1.0/24 (pool .100–.200, so lower addresses are free to name). */
export async function selfserviceNetwork(api: Api): Promise<{ net: Wire; subnet: Wire }> {
  const net = await created(api.post('/networks', { network: { name: 'selfservice' } }), 'network');
  const subnet = await created(
    api.post('/subnets', {
      subnet: {
        network_id: net.id,
        ip_version: 4,
        cidr: '172.16.1.0/24',
        allocation_pools: [{ start: '172.16.1.100', end: '172.16.1.200' }],
      },
    }),
    'subnet',
  );
  return { net, subnet };
}

/** The change feed's head revision: every write appends to it. */
export async function feedHead(admin: Api): Promise<number> {
  let since = 0;
  for (;;) {
    const r = await admin.get(`/neutrino/changes?since=${since}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    if (!r.body.changes.length) return r.body.revision;
    since = r.body.revision;
  }
}

/** Routers, ports, floating IPs and (unless `feed` is false) the change feed's head, as comparable text. */
export async function l3Snapshot(admin: Api, feed = true): Promise<string> {
  const [routers, ports, fips] = await Promise.all([admin.get('/routers'), admin.get('/ports'), admin.get('/floatingips')]);
  const sorted = (items: Resource[]) => [...items].sort((a, b) => a.id.localeCompare(b.id));
  return JSON.stringify({
    routers: sorted(routers.body.routers),
    ports: sorted(ports.body.ports),
    fips: sorted(fips.body.floatingips),
    feed: feed ? await feedHead(admin) : null,
  });
}
