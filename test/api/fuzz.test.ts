// Property-based fuzzing of both APIs on a real server and real SQLite (requests through Fastify's
// inject): create/update bodies and list queries of every resource, router interface actions,
// quotas and the identity API's create bodies. Every answer must be a 2xx or a 4xx in the API's
// error shape — never a 5xx — and a 4xx must leave the store exactly as it was.
//
// The seed is fixed and printed; FUZZ_SEED=<n> replays another run, FUZZ_SCALE=<k> multiplies the runs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sql } from 'kysely';
import { buildApp, type App } from '../../src/api/app.ts';
import { defaultServerConfig } from '../../src/server-config.ts';
import type { Database } from '../../src/store/schema/index.ts';
import { adminDemoOther } from '../helpers/networking.ts';
import { issueToken, type Api } from '../helpers/client.ts';
import { ADMIN_PASSWORD, openTestStore, TEST_PASSWORD_HASH_ROUNDS, type TestStore } from '../helpers/server.ts';
import {
  attributes,
  body,
  cidr4,
  encodeAny,
  ipv4,
  junk,
  junkString,
  mac,
  mostly,
  PROTO_KEYS,
  rawJunkBody,
  sometimes,
} from '../helpers/fuzz.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261205);
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const MIN_REQUESTS = 10_000;

type Who = 'admin' | 'demo' | 'other';
interface FuzzRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  who: Who;
  body?: unknown;
  raw?: string;
  /** On a create: the kind of what it makes, so later requests can refer to it. */
  kind?: string;
}

let store: TestStore;
let app: App;
const tokens = {} as Record<Who, string>;
let requests = 0;
/** Answers by status, per section: shows the generators reach success as well as each refusal. */
let statuses = new Map<number, number>();
/** The store's fingerprint after the last request. */
let state = '';

/** IDs of what the fuzzing itself created, by kind: later requests update, use and delete them. */
const created: Record<string, string[]> = {};

/** Sets of IDs by kind: demo's, other's and shared ones, each a valid reference for someone. */
const refs: Record<string, string[]> = {};

/** Tables whose rows a request can add or remove: their row counts are part of the fingerprint. */
const COUNTED: Array<keyof Database> = [
  'networks',
  'subnets',
  'ports',
  'ip_allocations',
  'port_security_groups',
  'security_groups',
  'security_group_rules',
  'routers',
  'floatingips',
  'agents',
  'projects',
  'users',
  'roles',
  'role_assignments',
  'tokens',
];
/** Tables whose rows carry a revision number: an update anywhere in them changes the sum. */
const REVISED: Array<keyof Database> = ['networks', 'subnets', 'ports', 'security_groups', 'routers'];

/**
 * The fingerprint's scalars in one statement of scalar subqueries (one round trip, not one per
 * table): the change feed's head, the row counts and the revision sums.
 */
const SCALARS = sql.raw(
  `SELECT ${[
    'SELECT max(revision) FROM changes',
    ...COUNTED.map((t) => `SELECT count(*) FROM ${t}`),
    ...REVISED.map((t) => `SELECT sum(revision_number) FROM ${t}`),
  ]
    .map((q, i) => `(${q}) AS c${i}`)
    .join(', ')}`,
);

/** Row counts of every table, revision sums and quota limits: anything a request can change. */
async function fingerprint(): Promise<string> {
  const db = store.db;
  // Three independent reads: on PostgreSQL they go out at once, on the pool's connections.
  const [{ rows }, quotas, projects] = await Promise.all([
    SCALARS.execute(db),
    db.selectFrom('quotas').select(['project_id', 'resource', 'limit']).orderBy('project_id').orderBy('resource').execute(),
    db.selectFrom('projects').select(['id', 'name', 'enabled']).orderBy('id').execute(),
  ]);
  return [
    Object.values(rows[0] as Record<string, unknown>)
      .map((v) => String(v ?? 0))
      .join(','),
    quotas.map((q) => `${q.project_id}/${q.resource}=${q.limit}`).join(','),
    projects.map((p) => `${p.id}:${p.name}:${p.enabled}`).join(','),
  ].join('|');
}

const clip = (s: string, n = 400) => (s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s);

function describe(req: FuzzRequest, status: number, reply: string): string {
  const sent = req.raw ?? JSON.stringify(req.body) ?? '';
  return `${req.method} ${clip(req.url, 200)} as ${req.who} with ${clip(sent)} → ${status} ${clip(reply)} (FUZZ_SEED=${SEED})`;
}

/** Sends one request and checks the invariants. */
async function send(req: FuzzRequest): Promise<void> {
  const payload = req.raw ?? (req.body === undefined ? undefined : JSON.stringify(req.body));
  const r = await app.http.inject({
    method: req.method,
    url: req.url,
    headers: { 'x-auth-token': tokens[req.who], ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
    payload,
  });
  requests++;
  statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
  const what = () => describe(req, r.statusCode, r.body);
  assert.ok(r.statusCode < 500, `5xx: ${what()}`);
  if (r.statusCode === 201 && req.kind) {
    const b = JSON.parse(r.body);
    const items = Object.values(b).flat() as Array<{ id: string }>;
    (created[req.kind] ??= []).push(...items.map((it) => it.id));
  }
  const now = await fingerprint();
  if (r.statusCode >= 400) {
    const b = JSON.parse(r.body);
    if (req.url.startsWith('/identity')) {
      assert.equal(b?.error?.code, r.statusCode, `not a Keystone error body: ${what()}`);
      assert.equal(typeof b.error.message, 'string', what());
    } else {
      assert.equal(typeof b?.NeutronError?.type, 'string', `not a NeutronError body: ${what()}`);
      assert.equal(typeof b.NeutronError.message, 'string', what());
      assert.ok(b.NeutronError.message.length <= 1100, `long error message: ${what()}`);
    }
    assert.equal(now, state, `a refused request changed the store: ${what()}`);
  }
  state = now;
}

const who = fc.constantFrom<Who>('demo', 'demo', 'demo', 'other', 'admin');

/** A reference: mostly an existing ID (the caller's, another project's or shared), else missing or junk. */
/** An existing ID of the kind, seeded or created so far (chosen when the request is generated). */
const live = (kind: string) =>
  fc.nat().map((i) => {
    const pool = [...refs[kind], ...(created[kind] ?? [])];
    return pool[i % pool.length];
  });

/** Something the fuzzing created, when there is any (deleting the seeds would starve later requests). */
const createdOrMissing = (kind: string) =>
  fc.nat().map((i) => created[kind]?.[i % created[kind].length] ?? '00000000-0000-4000-8000-000000000000');

const ref = (kind: string) =>
  fc.oneof({ weight: 20, arbitrary: live(kind) }, { weight: 1, arbitrary: fc.uuid() }, { weight: 1, arbitrary: junk });

/** A URL ID: an existing one, a missing one, or something odd (long, encoded, prototype names). */
const urlId = (kind: string) =>
  fc.oneof(
    { weight: 8, arbitrary: live(kind) },
    { weight: 1, arbitrary: fc.uuid() },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.constantFrom(...PROTO_KEYS, '%ff', '%2e%2e', 'a'.repeat(101), '%ud800'),
        fc.string({ maxLength: 10 }).map(encodeAny),
      ),
    },
  );

const text = fc.string({ maxLength: 20 });
const bool = fc.oneof(fc.boolean(), fc.constantFrom('true', 'False', 0, 1));
type Arbs = Record<string, fc.Arbitrary<unknown>>;

interface Resource {
  path: string;
  singular: string;
  plural: string;
  kind: string;
  create: fc.Arbitrary<Record<string, unknown>>;
  update: fc.Arbitrary<Record<string, unknown>>;
  filters: string[];
}

function resources(): Resource[] {
  const fixedIps = fc.array(fc.record({ subnet_id: mostly(ref('subnet')), ip_address: mostly(ipv4) }, { requiredKeys: [] }), {
    maxLength: 2,
  });
  const dhcpOpts = fc.array(
    fc.record(
      {
        opt_name: mostly(fc.constantFrom('router', 'tftp-server', 'mtu', 'bootfile-name')),
        opt_value: mostly(fc.oneof(fc.string({ maxLength: 8 }), fc.constant(null))),
        ip_version: mostly(fc.constantFrom(4, 6, '4')),
      },
      { requiredKeys: ['opt_name', 'opt_value'] },
    ),
    { maxLength: 3 },
  );
  const gateway = fc.oneof(
    fc.constant(null),
    fc.record(
      { network_id: mostly(ref('network')), enable_snat: mostly(bool), external_fixed_ips: mostly(fixedIps) },
      { requiredKeys: ['network_id'] },
    ),
  );
  const network: Arbs = {
    name: text,
    description: text,
    admin_state_up: bool,
    mtu: sometimes(fc.constantFrom(1450, 1400, 1280, 68, 9000)),
    port_security_enabled: bool,
    availability_zone_hints: sometimes(fc.constantFrom([], ['nova'])),
  };
  const networkAdmin: Arbs = {
    shared: bool,
    'router:external': bool,
    'provider:network_type': fc.constantFrom('vxlan', 'flat', 'vlan'),
    'provider:physical_network': fc.constantFrom('physnet1', null),
    'provider:segmentation_id': fc.integer({ min: 0, max: 1 << 25 }),
  };
  const subnet: Arbs = {
    name: text,
    description: text,
    network_id: ref('network'),
    ip_version: fc.constantFrom(4, 4, 4, 4, 4, 4, 6, '4'),
    cidr: cidr4,
    gateway_ip: sometimes(fc.oneof(ipv4, fc.constant(null))),
    allocation_pools: sometimes(fc.array(fc.record({ start: mostly(ipv4), end: mostly(ipv4) }), { maxLength: 2 })),
    dns_nameservers: fc.array(ipv4, { maxLength: 3 }),
    host_routes: sometimes(fc.array(fc.record({ destination: mostly(cidr4), nexthop: mostly(ipv4) }), { maxLength: 2 })),
    enable_dhcp: bool,
    ipv6_ra_mode: sometimes(fc.constantFrom('slaac', null)),
    ipv6_address_mode: sometimes(fc.constantFrom('slaac', null)),
    subnetpool_id: sometimes(fc.oneof(fc.constant(null), fc.uuid())),
  };
  const port: Arbs = {
    name: text,
    description: text,
    network_id: ref('network'),
    admin_state_up: bool,
    mac_address: sometimes(mac),
    fixed_ips: sometimes(fixedIps, 2),
    device_id: text,
    device_owner: sometimes(fc.constantFrom('', 'compute:nova', 'network:router_interface', 'network:dhcp', 'network:floatingip'), 2),
    security_groups: sometimes(fc.array(ref('security_group'), { maxLength: 2 }), 2),
    port_security_enabled: sometimes(bool),
    allowed_address_pairs: sometimes(
      fc.array(fc.record({ ip_address: mostly(ipv4), mac_address: mostly(mac) }, { requiredKeys: ['ip_address'] }), { maxLength: 2 }),
    ),
    extra_dhcp_opts: dhcpOpts,
    'binding:vnic_type': fc.constantFrom('normal', 'direct'),
  };
  const portAdmin: Arbs = {
    'binding:host_id': text,
    'binding:profile': fc.dictionary(fc.string({ maxLength: 4 }), mostly(fc.string({ maxLength: 4 })), { maxKeys: 2 }),
  };
  const router: Arbs = { name: text, description: text, admin_state_up: bool, external_gateway_info: gateway };
  const routerAdmin: Arbs = { distributed: bool, ha: bool };
  const floatingip: Arbs = {
    floating_network_id: ref('network'),
    subnet_id: sometimes(ref('subnet')),
    port_id: fc.oneof(ref('port'), fc.constant(null)),
    fixed_ip_address: sometimes(ipv4),
    description: text,
  };
  const group: Arbs = { name: fc.constantFrom('web', 'default', 'db', ''), description: text, stateful: bool };
  const port_ = fc.oneof(fc.integer({ min: -1, max: 70_000 }), fc.constantFrom(null, 22, 80, 443, '8080'));
  const rule: Arbs = {
    security_group_id: ref('security_group'),
    direction: fc.constantFrom('ingress', 'egress'),
    protocol: fc.constantFrom('tcp', 'udp', 'icmp', '6', 17, 'any', null, 'ipv6-icmp'),
    port_range_min: port_,
    port_range_max: port_,
    ethertype: fc.constantFrom('IPv4', 'IPv6', 'ipv4'),
    remote_ip_prefix: sometimes(fc.oneof(cidr4, ipv4, fc.constant('::/0')), 2),
    remote_group_id: sometimes(fc.oneof(ref('security_group'), fc.constant(null))),
    remote_address_group_id: fc.constant(null),
    description: text,
  };
  const pick = (all: Arbs, keys: string[]) => Object.fromEntries(keys.map((k) => [k, all[k]])) as Arbs;
  const res = (
    path: string,
    singular: string,
    plural: string,
    kind: string,
    create: fc.Arbitrary<Record<string, unknown>>,
    update: fc.Arbitrary<Record<string, unknown>>,
    filters: string[],
  ): Resource => ({
    path,
    singular,
    plural,
    kind,
    create,
    update,
    filters,
  });
  return [
    res(
      '/networks',
      'network',
      'networks',
      'network',
      attributes(network, [], networkAdmin),
      attributes(
        pick(network, ['name', 'description', 'admin_state_up', 'mtu', 'port_security_enabled', 'availability_zone_hints']),
        [],
        networkAdmin,
      ),
      ['name', 'shared', 'router:external', 'mtu', 'status', 'subnets', 'revision_number'],
    ),
    res(
      '/subnets',
      'subnet',
      'subnets',
      'subnet',
      attributes(subnet, ['network_id', 'ip_version', 'cidr']),
      attributes(pick(subnet, ['name', 'gateway_ip', 'allocation_pools', 'dns_nameservers', 'host_routes', 'enable_dhcp'])),
      ['name', 'cidr', 'ip_version', 'network_id', 'enable_dhcp', 'subnetpool_id'],
    ),
    res(
      '/ports',
      'port',
      'ports',
      'port',
      attributes(port, ['network_id'], portAdmin),
      attributes(
        pick(port, [
          'name',
          'admin_state_up',
          'mac_address',
          'fixed_ips',
          'device_id',
          'device_owner',
          'security_groups',
          'port_security_enabled',
          'allowed_address_pairs',
          'extra_dhcp_opts',
        ]),
        [],
        portAdmin,
      ),
      ['name', 'network_id', 'device_id', 'device_owner', 'fixed_ips', 'mac_address', 'security_groups', 'status'],
    ),
    res('/routers', 'router', 'routers', 'router', attributes(router, [], routerAdmin), attributes(router, [], routerAdmin), [
      'name',
      'admin_state_up',
      'status',
      'distributed',
    ]),
    res(
      '/floatingips',
      'floatingip',
      'floatingips',
      'floatingip',
      attributes(floatingip, ['floating_network_id'], { floating_ip_address: ipv4 }),
      attributes(pick(floatingip, ['port_id', 'fixed_ip_address', 'description'])),
      ['floating_ip_address', 'port_id', 'router_id', 'status', 'floating_network_id'],
    ),
    res('/security-groups', 'security_group', 'security_groups', 'security_group', attributes(group), attributes(group), [
      'name',
      'stateful',
      'shared',
    ]),
    res(
      '/security-group-rules',
      'security_group_rule',
      'security_group_rules',
      'rule',
      attributes(rule, ['security_group_id', 'direction']),
      attributes(pick(rule, ['description', 'direction', 'protocol'])),
      ['direction', 'protocol', 'port_range_min', 'ethertype', 'remote_ip_prefix', 'security_group_id'],
    ),
  ];
}

/** A list query: real filters with odd values, unknown and prototype keys, fields, sorting and paging. */
function listQuery(r: Resource): fc.Arbitrary<FuzzRequest> {
  const key = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...r.filters, 'id', 'tenant_id', 'project_id') },
    { weight: 1, arbitrary: fc.constantFrom(...PROTO_KEYS, 'bogus', 'fields', 'sort_key', 'sort_dir', 'limit', 'marker', 'page_reverse') },
    { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
  );
  const value = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.oneof(
        fc.string({ maxLength: 8 }),
        fc.constantFrom(
          '',
          'true',
          'False',
          '4',
          'ip_address=10.0.0.3',
          'subnet_id=x',
          'constructor=1',
          'asc',
          'desc',
          '-1',
          '0',
          '99999999999999999999',
        ),
      ),
    },
    { weight: 1, arbitrary: junkString.map(String) },
  );
  return fc.record({ pairs: fc.array(fc.tuple(key, value), { maxLength: 4 }), who }).map(({ pairs, who }) => {
    const q = pairs.map(([k, v]) => `${encodeAny(k)}=${encodeAny(v)}`).join('&');
    return { method: 'GET' as const, url: `/v2.0${r.path}${q ? `?${q}` : ''}`, who };
  });
}

/** Creates, updates, shows, deletes of missing/foreign IDs and raw junk bodies on one resource. */
function resourceRequests(r: Resource): fc.Arbitrary<FuzzRequest> {
  const collection = `/v2.0${r.path}`;
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .record({ body: body(r.singular, r.plural, r.create), who })
        .map((x) => ({ method: 'POST' as const, url: collection, kind: r.kind, ...x })),
    },
    {
      weight: 4,
      arbitrary: fc
        .record({ id: urlId(r.kind), body: body(r.singular, null, r.update), who })
        .map(({ id, ...x }) => ({ method: 'PUT' as const, url: `${collection}/${id}`, ...x })),
    },
    { weight: 2, arbitrary: listQuery(r) },
    {
      weight: 1,
      arbitrary: fc.record({ id: urlId(r.kind), who }).map(({ id, who }) => ({
        method: 'GET' as const,
        url: `${collection}/${id}?fields=${encodeAny(PROTO_KEYS[id.length % PROTO_KEYS.length])}&fields=id`,
        who,
      })),
    },
    // Deleting: another project's seeds (refused), missing or odd IDs, and what the fuzzing created.
    {
      weight: 1,
      arbitrary: fc
        .record({ id: fc.oneof(fc.constantFrom(...refs[`${r.kind}:other`]), fc.uuid(), fc.constantFrom(...PROTO_KEYS)) })
        .map(({ id }) => ({ method: 'DELETE' as const, url: `${collection}/${id}`, who: 'demo' as Who })),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({ id: createdOrMissing(r.kind), who })
        .map(({ id, who }) => ({ method: 'DELETE' as const, url: `${collection}/${id}`, who })),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({ raw: rawJunkBody, who, put: fc.boolean(), id: urlId(r.kind) })
        .map(({ raw, who, put, id }) =>
          put ? { method: 'PUT' as const, url: `${collection}/${id}`, raw, who } : { method: 'POST' as const, url: collection, raw, who },
        ),
    },
  );
}

function routerInterfaceRequests(): fc.Arbitrary<FuzzRequest> {
  const info = fc.oneof(
    { weight: 4, arbitrary: attributes({ subnet_id: ref('subnet') }) },
    { weight: 4, arbitrary: attributes({ port_id: ref('port') }) },
    { weight: 1, arbitrary: attributes({ subnet_id: ref('subnet'), port_id: ref('port') }) },
    { weight: 1, arbitrary: junk },
  );
  return fc
    .record({ id: urlId('router'), action: fc.constantFrom('add_router_interface', 'remove_router_interface'), body: info, who })
    .map(({ id, action, body, who }) => ({
      method: 'PUT' as const,
      url: `/v2.0/routers/${id}/${action}`,
      body,
      who,
    }));
}

function quotaRequests(): fc.Arbitrary<FuzzRequest> {
  const limit = fc.oneof(fc.integer({ min: -2, max: 200 }), fc.constantFrom('5', ' 7 ', '-1', 2 ** 31, 2 ** 31 - 1));
  const quota = attributes({
    network: limit,
    subnet: limit,
    port: limit,
    router: limit,
    floatingip: limit,
    security_group: limit,
    security_group_rule: limit,
    check_limit: bool,
    force: bool,
  });
  const project = fc.oneof(fc.constantFrom(...refs.project), fc.uuid(), fc.constantFrom(...PROTO_KEYS));
  return fc.oneof(
    {
      weight: 5,
      arbitrary: fc
        .record({ project, body: body('quota', null, quota), who: fc.constantFrom<Who>('admin', 'admin', 'demo') })
        .map(({ project, ...x }) => ({ method: 'PUT' as const, url: `/v2.0/quotas/${project}`, ...x })),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({ project, who })
        .map(({ project, who }) => ({ method: 'GET' as const, url: `/v2.0/quotas/${project}/details`, who })),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({ project })
        .map(({ project }) => ({ method: 'DELETE' as const, url: `/v2.0/quotas/${project}`, who: 'demo' as Who })),
    },
  );
}

function identityRequests(): fc.Arbitrary<FuzzRequest> {
  const v3 = '/identity/v3';
  const name = fc.string({ minLength: 1, maxLength: 12 }).map((s) => `fz-${s}`);
  const id = fc.oneof(fc.constantFrom('default', ...refs.project), fc.uuid());
  const flag = fc.boolean();
  const project = attributes(
    {
      name,
      domain_id: id,
      description: text,
      enabled: flag,
      is_domain: flag,
      parent_id: id,
      tags: fc.array(fc.string({ maxLength: 6 }), { maxLength: 2 }),
    },
    ['name'],
  );
  const user = attributes({ name, domain_id: id, enabled: flag, default_project_id: id, description: text, email: text }, ['name']);
  const role = attributes({ name, description: text, domain_id: fc.constant(null) }, ['name']);
  const auth = fc.oneof(
    junk,
    fc.record({
      auth: fc.record({
        identity: mostly(
          fc.record({
            methods: mostly(fc.constant(['password'])),
            password: mostly(
              fc.record({
                user: attributes({ name: fc.constantFrom('nobody-here'), password: text, domain: fc.constant({ name: 'Default' }) }, [
                  'name',
                  'password',
                ]),
              }),
            ),
          }),
        ),
      }),
    }),
  );
  const admin = fc.constantFrom<Who>('admin', 'admin', 'demo');
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .record({ body: body('project', null, project), who: admin })
        .map((x) => ({ method: 'POST' as const, url: `${v3}/projects`, ...x })),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({
          id: urlId('project'),
          body: body(
            'project',
            null,
            attributes({ name, description: text, enabled: flag, tags: fc.array(fc.string({ maxLength: 6 }), { maxLength: 2 }) }),
          ),
          who: admin,
        })
        .map(({ id, ...x }) => ({ method: 'PATCH' as const, url: `${v3}/projects/${id}`, ...x })),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({ body: body('user', null, user), who: admin })
        .map((x) => ({ method: 'POST' as const, url: `${v3}/users`, ...x })),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({ body: body('role', null, role), who: admin })
        .map((x) => ({ method: 'POST' as const, url: `${v3}/roles`, ...x })),
    },
    { weight: 1, arbitrary: fc.record({ body: auth, who }).map((x) => ({ method: 'POST' as const, url: `${v3}/auth/tokens`, ...x })) },
    {
      weight: 1,
      arbitrary: fc.record({ raw: rawJunkBody, who: admin }).map((x) => ({ method: 'POST' as const, url: `${v3}/projects`, ...x })),
    },
  );
}

/** Runs `runs` generated requests (scaled) through the invariants. */
async function fuzz(label: string, index: number, arb: fc.Arbitrary<FuzzRequest>, runs: number): Promise<void> {
  const before = requests;
  statuses = new Map();
  await fc.assert(fc.asyncProperty(arb, send), { seed: SEED + index, numRuns: Math.round(runs * SCALE), endOnFailure: true });
  const byStatus = [...statuses]
    .sort(([a], [b]) => a - b)
    .map(([s, n]) => `${s}×${n}`)
    .join(' ');
  console.log(`fuzz ${label}: ${requests - before} requests (${byStatus})`);
}

before(async () => {
  store = await openTestStore();
  const { stateDir, db } = store;
  // The failed-login back-off stays on (its queue and sleeps still run) but capped at a few ms: the
  // default cap, 5 s per failed token request for the one fuzzed user name, made the identity
  // section wait over a minute for a delay no invariant here looks at.
  const backoff = { failureBackoffInitialMs: 1, failureBackoffMax: 0.004 };
  const config = {
    ...defaultServerConfig,
    passwordHashRounds: TEST_PASSWORD_HASH_ROUNDS,
    ...backoff,
    stateDir,
    host: '127.0.0.1',
    port: 0,
  };
  app = await buildApp({ config, db });
  await app.identity.bootstrap(ADMIN_PASSWORD);
  await app.http.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.http.server.address() as { port: number }).port}`;
  const setup = await adminDemoOther(url);
  tokens.admin = setup.adminToken;
  tokens.demo = await issueToken(url, 'demo', 'demo-pw', 'demo');
  tokens.other = await issueToken(url, 'other', 'other-pw', 'other');
  await seed(setup.admin, setup.demo, setup.other);
  refs.project = [setup.demoProject, setup.otherProject];
  state = await fingerprint();
  console.log(`fuzz seed ${SEED} (set FUZZ_SEED to replay another, FUZZ_SCALE to run more)`);
});

after(async () => {
  await app?.http.close();
  await store?.close();
});

/** One of everything for demo and for other, on a shared external network: the references to fuzz with. */
async function seed(admin: Api, demo: Api, other: Api): Promise<void> {
  const made = async (p: Promise<{ status: number; body: Record<string, { id: string }> }>, key: string) => {
    const r = await p;
    assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.body));
    return r.body[key].id;
  };
  const add = (kind: string, id: string, foreign: boolean) => {
    (refs[kind] ??= []).push(id);
    if (foreign) (refs[`${kind}:other`] ??= []).push(id);
  };
  const publicNet = await made(admin.post('/networks', { network: { name: 'public', 'router:external': true } }), 'network');
  add('network', publicNet, false);
  add(
    'subnet',
    await made(admin.post('/subnets', { subnet: { network_id: publicNet, ip_version: 4, cidr: '203.0.113.0/24' } }), 'subnet'),
    false,
  );
  for (const [i, client] of [demo, other].entries()) {
    const foreign = i === 1;
    const net = await made(client.post('/networks', { network: { name: `net${i}` } }), 'network');
    const subnet = await made(
      client.post('/subnets', { subnet: { network_id: net, ip_version: 4, cidr: `10.${100 + i}.0.0/24` } }),
      'subnet',
    );
    const port = await made(client.post('/ports', { port: { network_id: net } }), 'port');
    const router = await made(
      client.post('/routers', { router: { name: `r${i}`, external_gateway_info: { network_id: publicNet } } }),
      'router',
    );
    assert.equal((await client.put(`/routers/${router}/add_router_interface`, { subnet_id: subnet })).status, 200);
    const group = await made(client.post('/security-groups', { security_group: { name: `sg${i}` } }), 'security_group');
    const rule = await made(
      client.post('/security-group-rules', {
        security_group_rule: { security_group_id: group, direction: 'ingress', protocol: 'tcp', port_range_min: 22, port_range_max: 22 },
      }),
      'security_group_rule',
    );
    const fip = await made(client.post('/floatingips', { floatingip: { floating_network_id: publicNet, port_id: port } }), 'floatingip');
    for (const [kind, id] of [
      ['network', net],
      ['subnet', subnet],
      ['port', port],
      ['router', router],
      ['security_group', group],
      ['rule', rule],
      ['floatingip', fip],
    ] as const) {
      add(kind, id, foreign);
    }
  }
}

test('fuzz: every resource, both APIs — no 5xx, and a 4xx changes nothing', { timeout: 600_000 }, async () => {
  const all = resources();
  const plan: Array<[string, fc.Arbitrary<FuzzRequest>, number]> = [
    ...all.map((r) => [r.plural, resourceRequests(r), 1_200] as [string, fc.Arbitrary<FuzzRequest>, number]),
    ['router interfaces', routerInterfaceRequests(), 800],
    ['quotas', quotaRequests(), 500],
    ['identity', identityRequests(), 900],
  ];
  for (const [i, [label, arb, runs]] of plan.entries()) await fuzz(label, i, arb, runs);
  console.log(`fuzz total: ${requests} requests (seed ${SEED})`);
  assert.ok(requests >= MIN_REQUESTS * Math.min(SCALE, 1), `only ${requests} requests`);
});
