// A whole list of ports as SQLite writes its JSON (networking/port-list-json.ts) against the object
// path it replaces: byte for byte the same body as the same list sorted by id (which the object path
// answers), for an admin and a member, unfiltered and filtered, over ports with every kind of
// attribute set (awkward strings, groups, tags, address pairs, DHCP options, bindings, profiles,
// another project's port, router and DHCP-less ports, updated revisions); and each item as its show
// gives it. On PostgreSQL the object path answers both (the check then holds trivially).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { issueToken, type Api, type Wire } from '../helpers/client.ts';
import { adminDemoOther, created } from '../helpers/networking.ts';
import { buildServices } from '../../src/networking/index.ts';
import { defaultServerConfig } from '../../src/server-config.ts';
import { unitOfWork, type Tx } from '../../src/store/unit-of-work.ts';
import { isPostgres } from '../../src/store/dialect.ts';
import { parseListQuery } from '../../src/model/query.ts';
import { readThreadsOf } from '../../src/store/read-pool.ts';

let srv: TestServer;
let admin: Api;
let demo: Api;
let adminToken: string;
let demoToken: string;
let net: Wire;
let demoProject: string;

// Allocations stay below 10.40.3.0, so the address the rich port names is never taken at random.
const POOL = [{ start: '10.40.0.2', end: '10.40.2.254' }];
const AWKWARD = 'q"uote \\ back é 中 😀 \u2028 \u0001\u001f\u007f tab\t nl\n </script>';

before(async () => {
  srv = await startTestServer();
  const clients = await adminDemoOther(srv.url);
  ({ admin, demo, adminToken, demoProject } = clients);
  demoToken = await issueToken(srv.url, 'demo', 'demo-pw', 'demo');
  net = await created(demo.post('/networks', { network: { name: 'listed' } }), 'network');
  const v4 = await created(
    demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.40.0.0/22', allocation_pools: POOL } }),
    'subnet',
  );
  await created(
    demo.post('/subnets', {
      subnet: { network_id: net.id, ip_version: 6, cidr: 'fd40::/64', ipv6_address_mode: 'slaac', ipv6_ra_mode: 'slaac' },
    }),
    'subnet',
  );
  const groups: string[] = [];
  for (const name of ['g1', 'g2', 'g3'])
    groups.push((await created(demo.post('/security-groups', { security_group: { name } }), 'security_group')).id);
  // More than 200 ports (a shorter list keeps to the object path), and more than two of the JSON
  // path's chunks of 250: the runs and their joints are compared too. Beyond the default quota of 500.
  assert.equal((await admin.put(`/quotas/${clients.demoProject}`, { quota: { port: 1000 } })).status, 200);
  const plain = await demo.post('/ports', { ports: Array.from({ length: 520 }, (_, i) => ({ network_id: net.id, device_id: `vm-${i}` })) });
  assert.equal(plain.status, 201, JSON.stringify(plain.body));

  const rich = await created(
    admin.post('/ports', {
      port: {
        network_id: net.id,
        project_id: clients.otherProject,
        name: AWKWARD,
        description: `${AWKWARD} description`,
        admin_state_up: false,
        device_id: AWKWARD,
        device_owner: 'compute:nova',
        security_groups: [groups[2], groups[0], groups[1]].sort().reverse(),
        allowed_address_pairs: [{ ip_address: '10.9.0.0/24' }, { ip_address: '10.9.1.1', mac_address: 'FA:16:3E:00:00:01' }],
        extra_dhcp_opts: [
          { opt_name: 'bootfile-name', opt_value: 'pxe"é\\0' },
          { opt_name: 'tftp-server', opt_value: '10.0.0.1', ip_version: 4 },
        ],
        'binding:host_id': 'compute-1',
        'binding:profile': { a: [1, 2.5, -0, 1e21, 1e-7, null, true, AWKWARD], __proto__: { x: 1 }, '1': 'digit key', 'k"': { deep: [] } },
        numa_affinity_policy: 'preferred',
        device_profile: 'gpu',
        fixed_ips: [{ subnet_id: v4.id, ip_address: '10.40.3.200' }, { subnet_id: v4.id }],
        tags: ['zeta', 'Alpha', 'é', 'b', AWKWARD],
      },
    }),
    'port',
  );
  // Updated twice (revision 2), tags replaced (a third revision), a MAC given.
  const updated = await created(
    demo.post('/ports', {
      port: { network_id: net.id, mac_address: 'fa:16:3e:aa:bb:cc', port_security_enabled: false, security_groups: [] },
    }),
    'port',
  );
  assert.equal(
    (await demo.put(`/ports/${updated.id}`, { port: { name: 'renamed', extra_dhcp_opts: [{ opt_name: 'mtu', opt_value: '1400' }] } }))
      .status,
    200,
  );
  assert.equal(
    (await admin.put(`/ports/${updated.id}`, { port: { 'binding:host_id': 'compute-2', 'binding:vnic_type': 'direct' } })).status,
    200,
  );
  assert.equal((await demo.put(`/ports/${updated.id}/tags`, { tags: ['t2', 't1'] })).status, 200);
  assert.equal((await admin.put(`/ports/${rich.id}`, { port: { security_groups: [groups[1], groups[0]] } })).status, 200);
  // A router's interface port.
  const router = await created(demo.post('/routers', { router: { name: 'r' } }), 'router');
  assert.equal((await demo.put(`/routers/${router.id}/add_router_interface`, { subnet_id: v4.id })).status, 200);
  // Another project's port on its own network: not the member's to see.
  const hidden = await created(clients.other.post('/networks', { network: { name: 'hidden' } }), 'network');
  await created(clients.other.post('/ports', { port: { network_id: hidden.id, name: 'not-listed-for-demo' } }), 'port');
});
after(() => srv.close());

async function body(token: string, path: string): Promise<string> {
  const r = await fetch(`${srv.url}/v2.0${path}`, { headers: { 'x-auth-token': token } });
  assert.equal(r.status, 200, path);
  assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
  const text = await r.text();
  const length = r.headers.get('content-length');
  if (length !== null) assert.equal(Number(length), Buffer.byteLength(text), `${path}: the length sent is the body's`);
  return text;
}

test('a whole list written by SQLite is sent in one piece, with its length', async (t) => {
  if (isPostgres(srv.db)) return t.skip('PostgreSQL lists take the object path');
  for (const token of [adminToken, demoToken]) {
    const r = await fetch(`${srv.url}/v2.0/ports`, { headers: { 'x-auth-token': token } });
    const text = await r.text();
    assert.equal(r.headers.get('transfer-encoding'), null);
    assert.equal(Number(r.headers.get('content-length')), Buffer.byteLength(text));
    assert.ok(JSON.parse(text).ports.length > 500);
  }
});

test('a whole list is byte for byte the object path’s body, for an admin and a member, unfiltered and filtered', async () => {
  for (const token of [adminToken, demoToken]) {
    // Long lists, and short ones (one of them with a port of several groups).
    const filters = [
      '',
      `network_id=${net.id}`,
      'device_owner=',
      'admin_state_up=True',
      'not-tags=t1',
      'device_id=vm-7',
      'tags=zeta',
      'status=N/A',
    ];
    for (const filter of filters) {
      const whole = await body(token, `/ports${filter ? `?${filter}` : ''}`);
      const objects = await body(token, `/ports?${filter ? `${filter}&` : ''}sort_key=id&sort_dir=asc`);
      assert.equal(whole, objects, filter);
    }
  }
});

test('each item of the list is its show, groups in the same order (by id)', async () => {
  for (const token of [adminToken, demoToken]) {
    const { ports } = JSON.parse(await body(token, '/ports')) as { ports: Wire[] };
    assert.ok(ports.some((p) => p.name === AWKWARD && p.tags.length === 5));
    assert.equal(
      ports.some((p) => p.name === 'not-listed-for-demo'),
      token === adminToken,
    );
    for (const port of ports) {
      const { port: shown } = JSON.parse(await body(token, `/ports/${port.id}`)) as { port: Wire };
      assert.deepEqual(Object.keys(port), Object.keys(shown));
      assert.deepEqual(port, shown);
      assert.deepEqual(port.security_groups, [...port.security_groups].sort());
    }
  }
});

test('on SQLite a whole list takes the JSON path, short or long (on PostgreSQL never)', async () => {
  const ports = buildServices(defaultServerConfig).find((s) => s.spec.plural === 'ports')!;
  const ctx = { userId: 'u', userName: 'admin', projectId: 'p', projectName: 'admin', roles: ['admin'], isAdmin: true, expiresAt: '' };
  const list = (query: Record<string, string>) => async (tx: Tx) => ({
    postgres: isPostgres(tx),
    runs: await ports.listJson!(tx, ctx, parseListQuery(ports.spec, query), { turn: async () => undefined, threads: null }),
  });
  for (const [query, byJson] of [
    [{}, true],
    [{ device_id: 'vm-7' }, true],
    [{ tags: 'zeta' }, true], // one port, of several groups
  ] as const) {
    const { postgres, runs } = await unitOfWork(srv.db, list(query));
    assert.equal(runs !== null, byJson && !postgres, JSON.stringify(query));
  }
});

test('read by the reader threads or here on the event loop, a whole list is the same text', async (t) => {
  const threads = readThreadsOf(srv.db);
  if (!threads) return t.skip(isPostgres(srv.db) ? 'PostgreSQL: no reader threads' : 'one core: no reader threads');
  while (!threads.ready()) await new Promise((resolve) => setTimeout(resolve, 10));
  const ports = buildServices(defaultServerConfig).find((s) => s.spec.plural === 'ports')!;
  const base = { userId: 'u', userName: 'demo', projectName: 'demo', expiresAt: '' };
  const contexts = [
    { ...base, projectId: 'p', roles: ['admin'], isAdmin: true },
    { ...base, projectId: demoProject, roles: ['member'], isAdmin: false },
  ];
  const text = (runs: Array<string | Uint8Array> | null) =>
    runs && runs.map((run) => (typeof run === 'string' ? run : Buffer.from(run).toString())).join(',');
  for (const ctx of contexts)
    for (const query of [{}, { network_id: net.id }, { 'not-tags': 't1' }, { device_id: 'vm-7' }, { device_id: 'none' }]) {
      const read = (how: 'here' | 'threads'): Promise<string | null> =>
        unitOfWork(srv.db, async (tx) =>
          text(
            await ports.listJson!(tx, ctx, parseListQuery(ports.spec, query), {
              turn: async () => undefined,
              threads: how === 'threads' ? threads : null,
            }),
          ),
        );
      const consistent: number = threads.stats.consistent;
      const [here, inThreads] = [await read('here'), await read('threads')];
      assert.ok(here !== null && inThreads !== null, JSON.stringify(query));
      assert.equal(inThreads, here, `${ctx.roles[0]} ${JSON.stringify(query)}`);
      assert.equal(threads.stats.consistent, consistent + 1, 'read by the threads');
    }
});
