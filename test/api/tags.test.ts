// Tags on every taggable resource (standard-attr-tag, tag-creation, tag-ports-during-bulk-creation):
// the tags sub-resource, the `tags` attribute, the four tag filters in SQL and in memory, validation,
// policy, revisions and the change feed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import type { Api } from '../helpers/client.ts';
import { adminDemoOther, created, expectError, feedHead } from '../helpers/networking.ts';
import { pushFilters, standardColumns } from '../../src/networking/list-sql.ts';
import { tagFiltersInSql } from '../../src/networking/tags.ts';
import type { Tx } from '../../src/networking/common.ts';

let srv: TestServer;
let admin: Api;
let demo: Api;
let other: Api;
/** One resource of each taggable kind, demo's: [collection path, body key, id]. */
const owned: Array<[string, string, string]> = [];

before(async () => {
  srv = await startTestServer();
  ({ admin, demo, other } = await adminDemoOther(srv.url));
  const ext = await created(
    admin.post('/networks', {
      network: { name: 'ext', 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'provider' },
    }),
    'network',
  );
  await created(admin.post('/subnets', { subnet: { network_id: ext.id, ip_version: 4, cidr: '10.99.0.0/24' } }), 'subnet');
  const net = await created(demo.post('/networks', { network: { name: 'n' } }), 'network');
  const sub = await created(demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.98.0.0/24' } }), 'subnet');
  const port = await created(demo.post('/ports', { port: { network_id: net.id } }), 'port');
  const router = await created(demo.post('/routers', { router: { name: 'r' } }), 'router');
  const sg = await created(demo.post('/security-groups', { security_group: { name: 'sg' } }), 'security_group');
  const fip = await created(demo.post('/floatingips', { floatingip: { floating_network_id: ext.id } }), 'floatingip');
  const pool = await created(demo.post('/subnetpools', { subnetpool: { name: 'p', prefixes: ['10.200.0.0/16'] } }), 'subnetpool');
  owned.push(
    ['/networks', 'network', net.id],
    ['/subnets', 'subnet', sub.id],
    ['/ports', 'port', port.id],
    ['/routers', 'router', router.id],
    ['/security-groups', 'security_group', sg.id],
    ['/floatingips', 'floatingip', fip.id],
    ['/subnetpools', 'subnetpool', pool.id],
  );
});

after(() => srv.close());

test('the tags sub-resource on every taggable resource: add, show, replace, create, remove, remove all', async () => {
  for (const [path, key, id] of owned) {
    const base = `${path}/${id}`;
    const start = (await demo.get(base)).body[key];
    assert.deepEqual(start.tags, [], path);
    assert.deepEqual((await demo.get(`${base}/tags`)).body, { tags: [] });

    const add = await demo.put(`${base}/tags/red`, undefined);
    assert.equal(add.status, 201, path);
    assert.equal(add.body, undefined);
    assert.equal((await demo.get(`${base}/tags/red`)).status, 204);
    expectError(await demo.get(`${base}/tags/blue`), 404, 'TagNotFound', 'Tag blue could not be found.');
    const afterAdd = (await demo.get(base)).body[key];
    assert.equal(afterAdd.revision_number, start.revision_number + 1, `${path}: a tag revises the resource`);
    // Adding a tag that is there changes nothing.
    assert.equal((await demo.put(`${base}/tags/red`, undefined)).status, 201);
    assert.equal((await demo.get(base)).body[key].revision_number, afterAdd.revision_number);

    const replaced = await demo.put(`${base}/tags`, { tags: ['zeta', 'Alpha', 'beta'] });
    assert.equal(replaced.status, 200);
    assert.deepEqual(replaced.body, { tags: ['zeta', 'Alpha', 'beta'] });
    assert.deepEqual((await demo.get(base)).body[key].tags, ['Alpha', 'beta', 'zeta'], 'shown in byte order');
    assert.deepEqual((await demo.get(`${base}/tags`)).body.tags, ['Alpha', 'beta', 'zeta']);
    assert.equal((await demo.get(base)).body[key].revision_number, afterAdd.revision_number + 1);

    const posted = await demo.post(`${base}/tags`, { tags: ['beta', 'gamma'] });
    assert.equal(posted.status, 201);
    assert.deepEqual(posted.body, { tags: ['beta', 'gamma'] });
    assert.deepEqual((await demo.get(`${base}/tags`)).body.tags, ['Alpha', 'beta', 'gamma', 'zeta']);

    assert.equal((await demo.del(`${base}/tags/beta`)).status, 204);
    expectError(await demo.del(`${base}/tags/beta`), 404, 'TagNotFound', 'Tag beta could not be found.');
    assert.deepEqual((await demo.get(`${base}/tags`)).body.tags, ['Alpha', 'gamma', 'zeta']);
    // The list shows the tags too.
    const listed = (await demo.get(`${path}?id=${id}`)).body;
    assert.deepEqual(Object.values(listed)[0], [(await demo.get(base)).body[key]]);

    assert.equal((await demo.del(`${base}/tags`)).status, 204);
    assert.deepEqual((await demo.get(base)).body[key].tags, []);
  }
});

test('tag changes are updates in the change feed; a no-op is none', async () => {
  const [, , id] = owned[0];
  const head = await feedHead(admin);
  await demo.put(`/networks/${id}/tags/feed`, undefined);
  const r = await admin.get(`/neutrino/changes?since=${head}`);
  assert.deepEqual(
    r.body.changes.map((c: { resource: string; resource_id: string; op: string }) => [c.resource, c.resource_id, c.op]),
    [['network', id, 'update']],
  );
  const next = await feedHead(admin);
  await demo.put(`/networks/${id}/tags/feed`, undefined);
  await demo.put(`/networks/${id}/tags`, { tags: ['feed'] });
  assert.equal(await feedHead(admin), next);
  expectError(await demo.del(`/networks/${id}/tags/nope`), 404, 'TagNotFound');
  assert.equal(await feedHead(admin), next);
  await demo.del(`/networks/${id}/tags`);
});

test('validation: length, body shape, duplicates and the per-resource limit of 50', async () => {
  const [, , id] = owned[0];
  const base = `/networks/${id}/tags`;
  const long = 'x'.repeat(256);
  expectError(
    await demo.put(`${base}/${long}`, undefined),
    400,
    'InvalidInput',
    /^Invalid input for operation: 'x+\.\.\.' exceeds maximum length of 255\.$/,
  );
  assert.equal((await demo.put(`${base}/${'y'.repeat(255)}`, undefined)).status, 201);
  expectError(await demo.get(`${base}/${long}`), 400, 'InvalidInput');
  expectError(await demo.del(`${base}/${long}`), 400, 'InvalidInput');
  expectError(await demo.put(base, { tag: ['a'] }), 400, 'InvalidInput', 'Invalid input for operation: Invalid tags body.');
  expectError(await demo.put(base, ['a']), 400, 'InvalidInput', 'Invalid input for operation: Invalid tags body.');
  expectError(await demo.put(base, { tags: 'a' }), 400, 'InvalidInput', "Invalid input for operation: 'a' is not a list.");
  expectError(
    await demo.put(base, { tags: ['a', 'a'] }),
    400,
    'InvalidInput',
    "Invalid input for operation: Duplicate items in the list: 'a'.",
  );
  expectError(await demo.put(base, { tags: [1] }), 400, 'InvalidInput', "Invalid input for operation: '1' is not a valid string.");
  expectError(await demo.post(base, { tags: [long] }), 400, 'InvalidInput');
  expectError(await demo.put(`${base}/a%00b`, undefined), 400, 'InvalidInput');
  expectError(await demo.get(`${base}/a%00b`), 400, 'InvalidInput');

  const fifty = Array.from({ length: 50 }, (_, i) => `t${i}`);
  const tooMany = [...fifty, 't50'];
  const limit = 'Bad networks request: The number of tags exceed the per-resource limit of 50.';
  expectError(await demo.put(base, { tags: tooMany }), 400, 'BadRequest', limit);
  expectError(await demo.post(base, { tags: tooMany }), 400, 'BadRequest', limit);
  assert.equal((await demo.put(base, { tags: fifty })).status, 200);
  expectError(await demo.put(`${base}/t50`, undefined), 400, 'BadRequest', limit);
  // One that is there already does not count twice.
  assert.equal((await demo.put(`${base}/t0`, undefined)).status, 201);
  assert.equal((await demo.get(base)).body.tags.length, 50);
  assert.equal((await demo.del(base)).status, 204);
});

test("policy: another project's resource is not found; one it sees but does not own is read-only to it", async () => {
  const [, , id] = owned[0];
  const missing = `Network ${id} could not be found.`;
  expectError(await other.get(`/networks/${id}/tags`), 404, 'NetworkNotFound', missing);
  expectError(await other.get(`/networks/${id}/tags/x`), 404, 'NetworkNotFound');
  expectError(await other.put(`/networks/${id}/tags/x`, undefined), 404, 'NetworkNotFound');
  expectError(await other.put(`/networks/${id}/tags`, { tags: ['x'] }), 404, 'NetworkNotFound');
  expectError(await other.post(`/networks/${id}/tags`, { tags: ['x'] }), 404, 'NetworkNotFound');
  expectError(await other.del(`/networks/${id}/tags`), 404, 'NetworkNotFound');
  expectError(await other.del(`/networks/${id}/tags/x`), 404, 'NetworkNotFound');
  expectError(await demo.get(`/networks/3c338602-d806-488a-ae66-c4c8f8d13b9b/tags`), 404, 'NetworkNotFound');

  // The admin tags anyone's resource.
  assert.equal((await admin.put(`/networks/${id}/tags/by-admin`, undefined)).status, 201);
  assert.deepEqual((await demo.get(`/networks/${id}/tags`)).body.tags, ['by-admin']);

  const shared = await created(admin.post('/networks', { network: { name: 'shared', shared: true } }), 'network');
  assert.equal((await admin.put(`/networks/${shared.id}/tags/s`, undefined)).status, 201);
  assert.deepEqual((await other.get(`/networks/${shared.id}/tags`)).body.tags, ['s']);
  assert.equal((await other.get(`/networks/${shared.id}/tags/s`)).status, 204);
  expectError(
    await other.put(`/networks/${shared.id}/tags/x`, undefined),
    403,
    'PolicyNotAuthorized',
    'update_network:tags is disallowed by policy',
  );
  expectError(await other.put(`/networks/${shared.id}/tags`, { tags: [] }), 403, 'PolicyNotAuthorized');
  expectError(
    await other.post(`/networks/${shared.id}/tags`, { tags: ['x'] }),
    403,
    'PolicyNotAuthorized',
    'create_network:tags is disallowed by policy',
  );
  expectError(await other.del(`/networks/${shared.id}/tags/s`), 403, 'PolicyNotAuthorized', 'delete_network:tags is disallowed by policy');
  expectError(await other.del(`/networks/${shared.id}/tags`), 403, 'PolicyNotAuthorized');
  assert.deepEqual((await admin.get(`/networks/${shared.id}/tags`)).body.tags, ['s']);
  assert.equal((await admin.del(`/networks/${shared.id}`)).status, 204);
  await demo.del(`/networks/${id}/tags`);
});

test('tags in a create body: ports take them (tag-ports-during-bulk-creation), the others refuse them', async () => {
  const [, , netId] = owned[0];
  const port = await created(demo.post('/ports', { port: { network_id: netId, tags: ['b', 'a'] } }), 'port');
  assert.deepEqual(port.tags, ['a', 'b']);
  assert.deepEqual((await demo.get(`/ports/${port.id}`)).body.port.tags, ['a', 'b']);
  const bulk = await demo.post('/ports', { ports: [{ network_id: netId, tags: ['c'] }, { network_id: netId }] });
  assert.equal(bulk.status, 201, JSON.stringify(bulk.body));
  assert.deepEqual(
    bulk.body.ports.map((p: { tags: string[] }) => p.tags),
    [['c'], []],
  );
  expectError(
    await demo.post('/ports', { port: { network_id: netId, tags: ['a', 'a'] } }),
    400,
    'HTTPBadRequest',
    "Invalid input for tags. Reason: Duplicate items in the list: 'a'.",
  );
  expectError(await demo.post('/networks', { network: { tags: ['a'] } }), 400, 'HTTPBadRequest', "Attribute 'tags' not allowed in POST");
  expectError(
    await demo.put(`/ports/${port.id}`, { port: { tags: ['a'] } }),
    400,
    'HTTPBadRequest',
    'Cannot update read-only attribute tags',
  );
  // A tagged resource's deletion takes its tags with it.
  for (const p of [port, ...bulk.body.ports]) assert.equal((await demo.del(`/ports/${p.id}`)).status, 204);
});

/** The names of the networks a filter lists, with a limit (SQL) and without (in memory). */
async function filtered(path: string, key: string, query: string): Promise<string[][]> {
  const out: string[][] = [];
  for (const extra of ['', '&limit=100']) {
    const r = await demo.get(`${path}?${query}${extra}&sort_key=name&sort_dir=asc&fields=name&name=f1&name=f2&name=f3&name=f4`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    out.push(r.body[key].map((x: { name: string }) => x.name));
  }
  return out;
}

test('the tag filters: tags (all), tags-any, not-tags (not all), not-tags-any (none); commas and repeats are one set', async () => {
  const kinds: Array<[string, string, (name: string) => unknown]> = [
    ['/networks', 'networks', (name) => ({ network: { name } })],
    ['/routers', 'routers', (name) => ({ router: { name } })],
    ['/security-groups', 'security_groups', (name) => ({ security_group: { name } })],
    ['/ports', 'ports', (name) => ({ port: { name, network_id: owned[0][2] } })],
  ];
  const tagsOf: Record<string, string[]> = { f1: ['a', 'b'], f2: ['a'], f3: ['b', 'c'], f4: [] };
  for (const [path, key, body] of kinds) {
    const singular = Object.keys(body('x') as object)[0];
    const ids: string[] = [];
    for (const [name, tags] of Object.entries(tagsOf)) {
      const item = await created(demo.post(path, body(name)), singular);
      ids.push(item.id);
      assert.equal((await demo.put(`${path}/${item.id}/tags`, { tags })).status, 200);
    }
    const cases: Array<[string, string[]]> = [
      ['tags=a', ['f1', 'f2']],
      ['tags=a,b', ['f1']],
      ['tags=a&tags=b', ['f1']],
      ['tags=a,z', []],
      ['tags-any=a,c', ['f1', 'f2', 'f3']],
      ['tags-any=c&tags-any=z', ['f3']],
      ['not-tags=a,b', ['f2', 'f3', 'f4']],
      ['not-tags=a', ['f3', 'f4']],
      ['not-tags-any=a,c', ['f4']],
      ['not-tags-any=z', ['f1', 'f2', 'f3', 'f4']],
      ['tags=b&not-tags=c', ['f1']],
      ['tags-any=a&not-tags-any=b', ['f2']],
      ['tags=', []],
      // NUL is in no tag (PostgreSQL cannot even be asked about it).
      ['tags=a&tags=b%00', []],
      ['not-tags=a&not-tags=%00', ['f1', 'f2', 'f3', 'f4']],
      ['tags-any=c&tags-any=%00', ['f3']],
    ];
    for (const [query, want] of cases) {
      assert.deepEqual(await filtered(path, key, query), [want, want], `${path}?${query}`);
    }
    // The tags filters are the caller's view: another project's tagged items stay hidden.
    assert.deepEqual((await other.get(`${path}?tags=a&name=f1`)).body[key], []);
    for (const id of ids) assert.equal((await demo.del(`${path}/${id}`)).status, 204, `${path}/${id}`);
  }
});

test('the tag filters are SQL on the SQL-listed tables, and a deleted resource takes its tags along', async () => {
  const a = await created(demo.post('/networks', { network: { name: 'sql-a' } }), 'network');
  const b = await created(demo.post('/networks', { network: { name: 'sql-b' } }), 'network');
  await demo.put(`/networks/${a.id}/tags`, { tags: ['p', 'q'] });
  await demo.put(`/networks/${b.id}/tags`, { tags: ['q'] });
  const table = { table: 'networks', columns: standardColumns, filters: tagFiltersInSql('networks') };
  const db = srv.db as unknown as Tx;
  const cases: Array<[string, string[], string[]]> = [
    ['tags', ['p,q'], [a.id]],
    ['tags-any', ['p', 'q'], [a.id, b.id]],
    ['not-tags', ['p,q'], [b.id]],
    ['not-tags-any', ['p'], [b.id]],
  ];
  for (const [key, values, want] of cases) {
    const base = db.selectFrom('networks').select('networks.id').where('networks.name', 'in', ['sql-a', 'sql-b']);
    const { query, complete } = pushFilters(db, table, base, new Map([[key, values]]));
    assert.ok(complete, key);
    assert.deepEqual((await query.execute()).map((r) => r.id).sort(), [...want].sort(), key);
  }
  for (const n of [a, b]) assert.equal((await demo.del(`/networks/${n.id}`)).status, 204);
  const left = await srv.db.selectFrom('networks_tags').select('resource_id').where('resource_id', 'in', [a.id, b.id]).execute();
  assert.deepEqual(left, []);
});

test('GET /extensions lists standard-attr-tag, tag-creation and tag-ports-during-bulk-creation', async () => {
  const r = await demo.get('/extensions/standard-attr-tag');
  assert.equal(r.status, 200);
  assert.equal(r.body.extension.description, 'Enables to set tag on resources with standard attribute.');
  assert.match(r.body.extension.name, /^Tag support for resources with standard attribute: /);
  assert.equal((await demo.get('/extensions/tag-creation')).body.extension.name, 'Tag creation extension');
  assert.equal((await demo.get('/extensions/tag-ports-during-bulk-creation')).body.extension.name, 'Tag Ports During Bulk Creation');
});
