// API tests of the Keystone v3 subset over real HTTP (plus service-level token expiry with a fake clock).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';
import { issueToken, request, type Reply } from '../helpers/client.ts';
import { IdentityService } from '../../src/identity/service.ts';
import { openDb, type Db } from '../../src/store/db.ts';

/** What IdentityService.issueToken takes: the `auth` member of a token request body. */
type AuthBody = Parameters<IdentityService['issueToken']>[0];

const KEYSTONE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
const UNAUTHORIZED = {
  error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' },
};

let server: TestServer;
let adminToken: string;

/** A request to the test server; `body` is null when the reply has none. */
async function api(
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const res = await request(server.url + path, method, opts.token ?? null, opts.body, opts.headers);
  return { ...res, body: res.body ?? null };
}

const passwordAuth = (user: object, scope?: object) => ({
  auth: { identity: { methods: ['password'], password: { user } }, ...(scope ? { scope } : {}) },
});

const tokenFor = (user: string, password: string, project: string) => issueToken(server.url, user, password, project);

/** Creates a project and a user holding `role` on it; returns their ids and a token. */
async function tenant(name: string, role = 'member') {
  const project = await api('POST', '/identity/v3/projects', { token: adminToken, body: { project: { name } } });
  assert.equal(project.status, 201, JSON.stringify(project.body));
  const user = await api('POST', '/identity/v3/users', {
    token: adminToken,
    body: { user: { name, password: `${name}-pw`, default_project_id: project.body.project.id } },
  });
  assert.equal(user.status, 201, JSON.stringify(user.body));
  const roles = await api('GET', `/identity/v3/roles?name=${role}`, { token: adminToken });
  const roleId: string = roles.body.roles[0].id;
  const grant = await api('PUT', `/identity/v3/projects/${project.body.project.id}/users/${user.body.user.id}/roles/${roleId}`, {
    token: adminToken,
  });
  assert.equal(grant.status, 204);
  return {
    projectId: project.body.project.id as string,
    userId: user.body.user.id as string,
    roleId,
    token: await tokenFor(name, `${name}-pw`, name),
  };
}

before(async () => {
  server = await startTestServer();
  adminToken = await tokenFor('admin', ADMIN_PASSWORD, 'admin');
});

after(async () => {
  await server?.close();
});

describe('version discovery', () => {
  test('the unversioned root is a multiple-choice document', async () => {
    for (const path of ['/identity', '/identity/']) {
      const res = await api('GET', path);
      assert.equal(res.status, 300);
      const [v] = res.body.versions.values;
      assert.equal(v.id, 'v3.14');
      assert.equal(v.status, 'stable');
      assert.deepEqual(v.links, [{ rel: 'self', href: `${server.url}/identity/v3/` }]);
    }
  });

  test('/identity/v3 describes v3', async () => {
    for (const path of ['/identity/v3', '/identity/v3/']) {
      const res = await api('GET', path);
      assert.equal(res.status, 200);
      assert.equal(res.body.version.id, 'v3.14');
      assert.equal(res.body.version.status, 'stable');
      assert.equal(res.body.version.links[0].href, `${server.url}/identity/v3/`);
      assert.equal(res.body.version['media-types'][0].type, 'application/vnd.openstack.identity-v3+json');
    }
  });
});

describe('tokens', () => {
  test('issue by names: 201, X-Subject-Token and the Keystone body', async () => {
    const res = await api('POST', '/identity/v3/auth/tokens', {
      body: passwordAuth(
        { name: 'admin', password: ADMIN_PASSWORD, domain: { name: 'Default' } },
        { project: { name: 'admin', domain: { name: 'Default' } } },
      ),
    });
    assert.equal(res.status, 201);
    assert.match(res.headers.get('x-subject-token') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.ok(Number(res.headers.get('content-length')) > 0);
    const t = res.body.token;
    assert.deepEqual(t.methods, ['password']);
    assert.equal(t.user.name, 'admin');
    assert.deepEqual(t.user.domain, { id: 'default', name: 'Default' });
    assert.equal(t.user.password_expires_at, null);
    assert.equal(t.project.name, 'admin');
    assert.deepEqual(t.project.domain, { id: 'default', name: 'Default' });
    assert.equal(t.is_domain, false);
    assert.ok(t.roles.some((r: { name: string }) => r.name === 'admin'));
    assert.equal(t.audit_ids.length, 1);
    assert.match(t.expires_at, KEYSTONE_TIME);
    assert.match(t.issued_at, KEYSTONE_TIME);
    const ttl = (Date.parse(t.expires_at) - Date.parse(t.issued_at)) / 1000;
    assert.equal(ttl, server.config.tokenTtlSeconds);

    const byType = Object.fromEntries(t.catalog.map((s: { type: string }) => [s.type, s]));
    assert.equal(byType.network.name, 'neutron');
    assert.equal(byType.identity.name, 'keystone');
    for (const [type, url] of [
      ['network', `${server.url}/`],
      ['identity', `${server.url}/identity/v3`],
    ]) {
      const eps = byType[type].endpoints;
      assert.deepEqual(eps.map((e: { interface: string }) => e.interface).sort(), ['admin', 'internal', 'public']);
      for (const e of eps) {
        assert.equal(e.url, url);
        assert.equal(e.region, 'RegionOne');
        assert.equal(e.region_id, 'RegionOne');
        assert.ok(e.id);
      }
    }
  });

  test('catalog ids are stable across tokens', async () => {
    const a = await api('GET', '/identity/v3/auth/catalog', { token: adminToken });
    const b = await api('GET', '/identity/v3/auth/catalog', { token: await tokenFor('admin', ADMIN_PASSWORD, 'admin') });
    assert.equal(a.status, 200);
    assert.deepEqual(a.body.catalog, b.body.catalog);
  });

  test('issue by ids', async () => {
    const me = await api('GET', '/identity/v3/auth/tokens', {
      token: adminToken,
      headers: { 'X-Subject-Token': adminToken },
    });
    const { user, project } = me.body.token;
    const res = await api('POST', '/identity/v3/auth/tokens', {
      body: passwordAuth({ id: user.id, password: ADMIN_PASSWORD }, { project: { id: project.id } }),
    });
    assert.equal(res.status, 201);
    assert.equal(res.body.token.user.id, user.id);
    assert.equal(res.body.token.project.id, project.id);

    const domainById = await api('POST', '/identity/v3/auth/tokens', {
      body: passwordAuth(
        { name: 'admin', password: ADMIN_PASSWORD, domain: { id: 'default' } },
        { project: { name: 'admin', domain: { id: 'default' } } },
      ),
    });
    assert.equal(domainById.status, 201);
  });

  test('a token method rescopes and keeps the expiry', async () => {
    const first = await api('GET', '/identity/v3/auth/tokens', { token: adminToken, headers: { 'X-Subject-Token': adminToken } });
    const res = await api('POST', '/identity/v3/auth/tokens', {
      body: {
        auth: {
          identity: { methods: ['token'], token: { id: adminToken } },
          scope: { project: { name: 'admin', domain: { name: 'Default' } } },
        },
      },
    });
    assert.equal(res.status, 201);
    assert.equal(res.body.token.expires_at, first.body.token.expires_at);
    assert.equal(res.body.token.audit_ids[1], first.body.token.audit_ids[0]);
  });

  test('bad credentials get 401 with the Keystone body', async () => {
    const bodies = [
      passwordAuth(
        { name: 'admin', password: 'wrong', domain: { name: 'Default' } },
        { project: { name: 'admin', domain: { name: 'Default' } } },
      ),
      passwordAuth(
        { name: 'nobody', password: 'x', domain: { name: 'Default' } },
        { project: { name: 'admin', domain: { name: 'Default' } } },
      ),
      passwordAuth(
        { name: 'admin', password: ADMIN_PASSWORD, domain: { name: 'Nope' } },
        { project: { name: 'admin', domain: { name: 'Default' } } },
      ),
      passwordAuth(
        { name: 'admin', password: ADMIN_PASSWORD, domain: { name: 'Default' } },
        { project: { name: 'nope', domain: { name: 'Default' } } },
      ),
      { auth: { identity: { methods: ['token'], token: { id: 'not-a-token' } }, scope: { project: { id: 'x' } } } },
    ];
    for (const body of bodies) {
      const res = await api('POST', '/identity/v3/auth/tokens', { body });
      assert.equal(res.status, 401, JSON.stringify(body));
      assert.deepEqual(res.body, UNAUTHORIZED);
      assert.equal(res.headers.get('x-subject-token'), null);
    }
  });

  test('malformed auth requests get a Keystone 400', async () => {
    for (const body of [{}, { auth: { identity: { methods: 'password' } } }, 'not json']) {
      const res = await api('POST', '/identity/v3/auth/tokens', { body });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 400);
      assert.equal(res.body.error.title, 'Bad Request');
      assert.equal(typeof res.body.error.message, 'string');
    }
  });

  test('validate: GET and HEAD with X-Subject-Token; 404 for unknown; 401 without X-Auth-Token', async () => {
    const get = await api('GET', '/identity/v3/auth/tokens', { token: adminToken, headers: { 'X-Subject-Token': adminToken } });
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('x-subject-token'), adminToken);
    assert.equal(get.body.token.user.name, 'admin');
    assert.ok(get.body.token.catalog.length >= 2);

    const head = await fetch(`${server.url}/identity/v3/auth/tokens`, {
      method: 'HEAD',
      headers: { 'X-Auth-Token': adminToken, 'X-Subject-Token': adminToken },
    });
    assert.equal(head.status, 200);

    const unknown = await api('GET', '/identity/v3/auth/tokens', { token: adminToken, headers: { 'X-Subject-Token': 'bogus' } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.title, 'Not Found');

    const anon = await api('GET', '/identity/v3/auth/tokens', { headers: { 'X-Subject-Token': adminToken } });
    assert.equal(anon.status, 401);
    assert.deepEqual(anon.body, UNAUTHORIZED);
    assert.match(anon.headers.get('www-authenticate') ?? '', /^Keystone uri=/);
  });

  test('revoke: DELETE gives 204, then the token is dead everywhere', async () => {
    const victim = await tokenFor('admin', ADMIN_PASSWORD, 'admin');
    // Warm the validation cache first: revocation must evict it.
    assert.equal((await api('GET', '/identity/v3/roles', { token: victim })).status, 200);
    const del = await api('DELETE', '/identity/v3/auth/tokens', { token: adminToken, headers: { 'X-Subject-Token': victim } });
    assert.equal(del.status, 204);
    assert.equal((await api('GET', '/identity/v3/roles', { token: victim })).status, 401);
    const get = await api('GET', '/identity/v3/auth/tokens', { token: adminToken, headers: { 'X-Subject-Token': victim } });
    assert.equal(get.status, 404);
    const again = await api('DELETE', '/identity/v3/auth/tokens', { token: adminToken, headers: { 'X-Subject-Token': victim } });
    assert.equal(again.status, 404);
  });
});

describe('administration', () => {
  test('domains: list, name filter, show', async () => {
    const list = await api('GET', '/identity/v3/domains?name=Default', { token: adminToken });
    assert.equal(list.status, 200);
    assert.equal(list.body.domains.length, 1);
    assert.equal(list.body.domains[0].id, 'default');
    assert.deepEqual(list.body.links, { self: `${server.url}/identity/v3/domains?name=Default`, next: null, previous: null });
    const show = await api('GET', '/identity/v3/domains/default', { token: adminToken });
    assert.equal(show.body.domain.name, 'Default');
    assert.equal(show.body.domain.links.self, `${server.url}/identity/v3/domains/default`);
    assert.equal((await api('GET', '/identity/v3/domains?name=Other', { token: adminToken })).body.domains.length, 0);
    const missing = await api('GET', '/identity/v3/domains/zzz', { token: adminToken });
    assert.deepEqual(missing.body, { error: { code: 404, title: 'Not Found', message: 'Could not find domain: zzz.' } });
  });

  test('projects: create, conflict, list filters, show, update, delete', async () => {
    const created = await api('POST', '/identity/v3/projects', {
      token: adminToken,
      body: { project: { name: 'crud', domain_id: 'default', description: 'd', enabled: true } },
    });
    assert.equal(created.status, 201);
    const p = created.body.project;
    assert.match(p.id, /^[0-9a-f]{32}$/);
    assert.deepEqual(
      { ...p, id: undefined, links: undefined },
      {
        id: undefined,
        links: undefined,
        name: 'crud',
        domain_id: 'default',
        description: 'd',
        enabled: true,
        is_domain: false,
        parent_id: 'default',
        tags: [],
        options: {},
      },
    );
    assert.equal(p.links.self, `${server.url}/identity/v3/projects/${p.id}`);

    const dup = await api('POST', '/identity/v3/projects', { token: adminToken, body: { project: { name: 'crud' } } });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error.code, 409);
    assert.equal(dup.body.error.title, 'Conflict');
    assert.match(dup.body.error.message, /crud/);

    const byName = await api('GET', '/identity/v3/projects?name=crud', { token: adminToken });
    assert.deepEqual(
      byName.body.projects.map((x: { id: string }) => x.id),
      [p.id],
    );
    const byDomain = await api('GET', '/identity/v3/projects?domain_id=default', { token: adminToken });
    assert.ok(byDomain.body.projects.length >= 2);
    assert.equal((await api('GET', '/identity/v3/projects?domain_id=elsewhere', { token: adminToken })).body.projects.length, 0);

    const show = await api('GET', `/identity/v3/projects/${p.id}`, { token: adminToken });
    assert.deepEqual(show.body.project, p);

    const upd = await api('PATCH', `/identity/v3/projects/${p.id}`, {
      token: adminToken,
      body: { project: { description: 'new', name: 'crud2' } },
    });
    assert.equal(upd.status, 200);
    assert.equal(upd.body.project.description, 'new');
    assert.equal(upd.body.project.name, 'crud2');
    const clash = await api('PATCH', `/identity/v3/projects/${p.id}`, { token: adminToken, body: { project: { name: 'admin' } } });
    assert.equal(clash.status, 409);

    assert.equal((await api('DELETE', `/identity/v3/projects/${p.id}`, { token: adminToken })).status, 204);
    const gone = await api('GET', `/identity/v3/projects/${p.id}`, { token: adminToken });
    assert.deepEqual(gone.body, { error: { code: 404, title: 'Not Found', message: `Could not find project: ${p.id}.` } });
    assert.equal((await api('DELETE', `/identity/v3/projects/${p.id}`, { token: adminToken })).status, 404);

    const invalid = await api('POST', '/identity/v3/projects', { token: adminToken, body: { project: { name: '' } } });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.error.title, 'Bad Request');
  });

  test('users: create, list filters, show, update, delete', async () => {
    const project = await api('POST', '/identity/v3/projects', { token: adminToken, body: { project: { name: 'uproj' } } });
    const created = await api('POST', '/identity/v3/users', {
      token: adminToken,
      body: { user: { name: 'alice', password: 'alice-pw', default_project_id: project.body.project.id, email: 'a@example.org' } },
    });
    assert.equal(created.status, 201);
    const u = created.body.user;
    assert.equal(u.name, 'alice');
    assert.equal(u.domain_id, 'default');
    assert.equal(u.enabled, true);
    assert.equal(u.default_project_id, project.body.project.id);
    assert.equal(u.password_expires_at, null);
    assert.deepEqual(u.options, {});
    assert.equal(u.password, undefined);
    assert.equal(u.password_hash, undefined);
    assert.equal(u.links.self, `${server.url}/identity/v3/users/${u.id}`);

    const dup = await api('POST', '/identity/v3/users', { token: adminToken, body: { user: { name: 'alice' } } });
    assert.equal(dup.status, 409);
    const badProject = await api('POST', '/identity/v3/users', {
      token: adminToken,
      body: { user: { name: 'bob', default_project_id: 'nope' } },
    });
    assert.equal(badProject.status, 404);

    const list = await api('GET', '/identity/v3/users?name=alice&domain_id=default', { token: adminToken });
    assert.deepEqual(
      list.body.users.map((x: { id: string }) => x.id),
      [u.id],
    );
    assert.equal((await api('GET', `/identity/v3/users/${u.id}`, { token: adminToken })).body.user.email, 'a@example.org');

    const upd = await api('PATCH', `/identity/v3/users/${u.id}`, {
      token: adminToken,
      body: { user: { password: 'alice-pw2', description: 'hi' } },
    });
    assert.equal(upd.status, 200);
    assert.equal(upd.body.user.description, 'hi');

    assert.equal((await api('DELETE', `/identity/v3/users/${u.id}`, { token: adminToken })).status, 204);
    assert.equal((await api('GET', `/identity/v3/users/${u.id}`, { token: adminToken })).status, 404);
    await api('DELETE', `/identity/v3/projects/${project.body.project.id}`, { token: adminToken });
  });

  test('roles: bootstrap roles, create, conflict, filter, show, delete', async () => {
    const all = await api('GET', '/identity/v3/roles', { token: adminToken });
    const names = all.body.roles.map((r: { name: string }) => r.name);
    for (const n of ['admin', 'member', 'reader']) assert.ok(names.includes(n), n);

    const created = await api('POST', '/identity/v3/roles', { token: adminToken, body: { role: { name: 'auditor' } } });
    assert.equal(created.status, 201);
    const r = created.body.role;
    assert.equal(r.name, 'auditor');
    assert.equal(r.domain_id, null);
    assert.equal(r.links.self, `${server.url}/identity/v3/roles/${r.id}`);
    assert.equal((await api('POST', '/identity/v3/roles', { token: adminToken, body: { role: { name: 'auditor' } } })).status, 409);
    const filtered = await api('GET', '/identity/v3/roles?name=auditor', { token: adminToken });
    assert.deepEqual(filtered.body.roles, [r]);
    assert.deepEqual((await api('GET', `/identity/v3/roles/${r.id}`, { token: adminToken })).body.role, r);
    assert.equal((await api('DELETE', `/identity/v3/roles/${r.id}`, { token: adminToken })).status, 204);
    assert.equal((await api('GET', `/identity/v3/roles/${r.id}`, { token: adminToken })).status, 404);
  });

  test('role assignments: PUT/HEAD/DELETE, per-project list, /role_assignments filters', async () => {
    const t = await tenant('assign');
    const grant = `/identity/v3/projects/${t.projectId}/users/${t.userId}/roles/${t.roleId}`;
    assert.equal((await api('PUT', grant, { token: adminToken })).status, 204); // idempotent
    const head = await fetch(server.url + grant, { method: 'HEAD', headers: { 'X-Auth-Token': adminToken } });
    assert.equal(head.status, 204);

    const direct = await api('GET', `/identity/v3/projects/${t.projectId}/users/${t.userId}/roles`, { token: adminToken });
    assert.deepEqual(
      direct.body.roles.map((r: { name: string }) => r.name),
      ['member'],
    );

    const plain = await api('GET', `/identity/v3/role_assignments?scope.project.id=${t.projectId}`, { token: adminToken });
    assert.equal(plain.status, 200);
    assert.deepEqual(plain.body.role_assignments, [
      {
        links: { assignment: `${server.url}${grant}` },
        role: { id: t.roleId },
        scope: { project: { id: t.projectId } },
        user: { id: t.userId },
      },
    ]);
    const named = await api('GET', `/identity/v3/role_assignments?scope.project.id=${t.projectId}&include_names=True&effective`, {
      token: adminToken,
    });
    const [a] = named.body.role_assignments;
    assert.deepEqual(a.role, { id: t.roleId, name: 'member' });
    assert.deepEqual(a.user, { id: t.userId, name: 'assign', domain: { id: 'default', name: 'Default' } });
    assert.deepEqual(a.scope.project, { id: t.projectId, name: 'assign', domain: { id: 'default', name: 'Default' } });

    const byUser = await api('GET', `/identity/v3/role_assignments?user.id=${t.userId}&role.id=${t.roleId}`, { token: adminToken });
    assert.equal(byUser.body.role_assignments.length, 1);
    const byGroup = await api('GET', `/identity/v3/role_assignments?group.id=x`, { token: adminToken });
    assert.equal(byGroup.body.role_assignments.length, 0);

    // Unknown participants are 404s.
    const badRole = await api('PUT', `/identity/v3/projects/${t.projectId}/users/${t.userId}/roles/nope`, { token: adminToken });
    assert.deepEqual(badRole.body, { error: { code: 404, title: 'Not Found', message: 'Could not find role: nope.' } });
    assert.equal((await api('PUT', `/identity/v3/projects/nope/users/${t.userId}/roles/${t.roleId}`, { token: adminToken })).status, 404);

    // Removing the only role kills the user's (cached) token on that project.
    assert.equal((await api('GET', '/identity/v3/roles', { token: t.token })).status, 200);
    assert.equal((await api('DELETE', grant, { token: adminToken })).status, 204);
    assert.equal((await api('DELETE', grant, { token: adminToken })).status, 404);
    const headGone = await fetch(server.url + grant, { method: 'HEAD', headers: { 'X-Auth-Token': adminToken } });
    assert.equal(headGone.status, 404);
    assert.equal((await api('GET', '/identity/v3/roles', { token: t.token })).status, 401);
  });

  test('a member token cannot administer but can resolve names and check itself', async () => {
    const t = await tenant('memberonly');
    const create = await api('POST', '/identity/v3/projects', { token: t.token, body: { project: { name: 'sneaky' } } });
    assert.equal(create.status, 403);
    assert.deepEqual(create.body, {
      error: {
        code: 403,
        title: 'Forbidden',
        message: 'You are not authorized to perform the requested action: identity:create_project.',
      },
    });
    for (const [method, path] of [
      ['GET', '/identity/v3/projects'],
      ['GET', '/identity/v3/users'],
      ['GET', '/identity/v3/role_assignments'],
      ['POST', '/identity/v3/roles'],
      ['DELETE', `/identity/v3/projects/${t.projectId}`],
    ]) {
      const res = await api(method, path, { token: t.token, body: method === 'POST' ? { role: { name: 'x' } } : undefined });
      assert.equal(res.status, 403, `${method} ${path}`);
    }
    assert.equal((await api('GET', '/identity/v3/roles?name=member', { token: t.token })).status, 200);
    assert.equal((await api('GET', '/identity/v3/domains?name=Default', { token: t.token })).status, 200);
    assert.equal((await api('GET', `/identity/v3/projects/${t.projectId}`, { token: t.token })).status, 200);
    assert.equal((await api('GET', `/identity/v3/users/${t.userId}`, { token: t.token })).status, 200);
    const self = await api('GET', '/identity/v3/auth/tokens', { token: t.token, headers: { 'X-Subject-Token': t.token } });
    assert.equal(self.status, 200);
    assert.deepEqual(self.body.token.roles.map((r: { name: string }) => r.name).sort(), ['member', 'reader']);
    const other = await api('GET', '/identity/v3/auth/tokens', { token: t.token, headers: { 'X-Subject-Token': adminToken } });
    assert.equal(other.status, 403);
    const mine = await api('GET', '/identity/v3/auth/projects', { token: t.token });
    assert.deepEqual(
      mine.body.projects.map((p: { id: string }) => p.id),
      [t.projectId],
    );
  });

  test('deleting a project kills its tokens and its assignments', async () => {
    const t = await tenant('doomed');
    assert.equal((await api('GET', '/identity/v3/roles', { token: t.token })).status, 200); // cached now
    assert.equal((await api('DELETE', `/identity/v3/projects/${t.projectId}`, { token: adminToken })).status, 204);
    assert.equal((await api('GET', '/identity/v3/roles', { token: t.token })).status, 401);
    const left = await api('GET', `/identity/v3/role_assignments?user.id=${t.userId}`, { token: adminToken });
    assert.equal(left.body.role_assignments.length, 0);
  });

  test('removing a role revokes tokens issued before: re-granting it does not revive them', async () => {
    const t = await tenant('regrant');
    const other = await tenant('bystander');
    const grant = `/identity/v3/projects/${t.projectId}/users/${t.userId}/roles/${t.roleId}`;
    assert.equal((await api('GET', '/identity/v3/roles', { token: t.token })).status, 200); // cached now
    assert.equal((await api('DELETE', grant, { token: adminToken })).status, 204);
    assert.equal((await api('GET', '/identity/v3/roles', { token: t.token })).status, 401);
    assert.equal((await api('PUT', grant, { token: adminToken })).status, 204);
    assert.equal((await api('GET', '/identity/v3/roles', { token: t.token })).status, 401, 'the old token stays dead');
    const check = await api('GET', '/identity/v3/auth/tokens', { token: adminToken, headers: { 'X-Subject-Token': t.token } });
    assert.equal(check.status, 404);
    const fresh = await tokenFor('regrant', 'regrant-pw', 'regrant');
    assert.equal((await api('GET', '/identity/v3/roles', { token: fresh })).status, 200, 'a new token works');
    assert.equal((await api('GET', '/identity/v3/roles', { token: other.token })).status, 200, 'other users are untouched');
  });

  test('re-enabling a user or project does not revive tokens revoked by disabling it', async () => {
    const t = await tenant('toggled');
    for (const [path, body] of [
      [`/identity/v3/users/${t.userId}`, (enabled: boolean) => ({ user: { enabled } })],
      [`/identity/v3/projects/${t.projectId}`, (enabled: boolean) => ({ project: { enabled } })],
    ] as const) {
      const token = await tokenFor('toggled', 'toggled-pw', 'toggled');
      assert.equal((await api('GET', '/identity/v3/roles', { token })).status, 200);
      assert.equal((await api('PATCH', path, { token: adminToken, body: body(false) })).status, 200);
      assert.equal((await api('GET', '/identity/v3/roles', { token })).status, 401, path);
      assert.equal((await api('PATCH', path, { token: adminToken, body: body(true) })).status, 200);
      assert.equal((await api('GET', '/identity/v3/roles', { token })).status, 401, `${path} re-enabled`);
      assert.ok(await tokenFor('toggled', 'toggled-pw', 'toggled'));
    }
  });

  test("disabling or deleting a user kills the user's tokens", async () => {
    const t = await tenant('disabled');
    assert.equal((await api('GET', '/identity/v3/roles', { token: t.token })).status, 200);
    await api('PATCH', `/identity/v3/users/${t.userId}`, { token: adminToken, body: { user: { enabled: false } } });
    assert.equal((await api('GET', '/identity/v3/roles', { token: t.token })).status, 401);
    const again = await api('POST', '/identity/v3/auth/tokens', {
      body: passwordAuth({ id: t.userId, password: 'disabled-pw' }, { project: { id: t.projectId } }),
    });
    assert.equal(again.status, 401);

    const u = await tenant('deleted');
    assert.equal((await api('GET', '/identity/v3/roles', { token: u.token })).status, 200);
    assert.equal((await api('DELETE', `/identity/v3/users/${u.userId}`, { token: adminToken })).status, 204);
    assert.equal((await api('GET', '/identity/v3/roles', { token: u.token })).status, 401);
  });
});

describe('catalog administration and self-service', () => {
  test('services, endpoints and regions mirror the token catalog (admin only)', async () => {
    const services = await api('GET', '/identity/v3/services', { token: adminToken });
    assert.deepEqual(services.body.services.map((x: { type: string }) => x.type).sort(), ['identity', 'network']);
    const network = (await api('GET', '/identity/v3/services?type=network', { token: adminToken })).body.services[0];
    assert.equal(network.name, 'neutron');
    assert.equal((await api('GET', `/identity/v3/services/${network.id}`, { token: adminToken })).body.service.id, network.id);
    const eps = await api('GET', `/identity/v3/endpoints?service_id=${network.id}&interface=public`, { token: adminToken });
    assert.equal(eps.body.endpoints.length, 1);
    assert.equal(eps.body.endpoints[0].url, `${server.url}/`);
    assert.equal(eps.body.endpoints[0].region_id, 'RegionOne');
    const regions = await api('GET', '/identity/v3/regions', { token: adminToken });
    assert.deepEqual(
      regions.body.regions.map((x: { id: string }) => x.id),
      ['RegionOne'],
    );
    const t = await tenant('catalogreader');
    assert.equal((await api('GET', '/identity/v3/endpoints', { token: t.token })).status, 403);
  });

  test('a user changes their own password with the original one', async () => {
    const t = await tenant('pwchange');
    const path = `/identity/v3/users/${t.userId}/password`;
    const wrong = await api('POST', path, { token: t.token, body: { user: { original_password: 'nope', password: 'n' } } });
    assert.equal(wrong.status, 401);
    const ok = await api('POST', path, { token: t.token, body: { user: { original_password: 'pwchange-pw', password: 'n3w' } } });
    assert.equal(ok.status, 204);
    assert.equal((await api('GET', '/identity/v3/roles', { token: t.token })).status, 401, 'old tokens are revoked');
    assert.ok(await tokenFor('pwchange', 'n3w', 'pwchange'));
  });

  test('bodies are validated strictly (no type coercion)', async () => {
    for (const project of [{ name: 'x', enabled: 'yes' }, { name: 7 }, { name: 'x', tags: 'a' }]) {
      const res = await api('POST', '/identity/v3/projects', { token: adminToken, body: { project } });
      assert.equal(res.status, 400, JSON.stringify(project));
      assert.equal(res.body.error.title, 'Bad Request');
    }
  });
});

describe('IdentityService directly', () => {
  let db: Db;
  let clock = Date.parse('2030-01-01T00:00:00Z');
  let svc: IdentityService;
  const auth = (password = 'pw') =>
    passwordAuth({ name: 'admin', password, domain: { name: 'Default' } }, { project: { name: 'admin', domain: { name: 'Default' } } }) as {
      auth: AuthBody;
    };

  before(async () => {
    db = await openDb({ stateDir: ':memory:' });
    svc = new IdentityService(db, { tokenTtlSeconds: 60, now: () => clock });
    await svc.bootstrap('pw');
    await svc.bootstrap('changed'); // idempotent: the first password stays
  });
  after(async () => {
    await db.destroy();
  });

  test('bootstrap is idempotent', async () => {
    const { body } = await svc.issueToken(auth('pw').auth);
    assert.deepEqual(body.token.catalog, []);
    await assert.rejects(svc.issueToken(auth('changed').auth), { status: 401 });
    const ctx = await svc.authenticateToken((await svc.issueToken(auth().auth)).token);
    assert.ok(ctx);
    assert.equal((await svc.listRoles(ctx)).length, 3);
    assert.equal((await svc.listProjects(ctx)).length, 1);
    assert.equal((await svc.listUsers(ctx)).length, 1);
  });

  test('authenticateToken: context, cache, expiry', async () => {
    const { token, body } = await svc.issueToken(auth().auth);
    const ctx = await svc.authenticateToken(token);
    assert.ok(ctx);
    assert.equal(ctx.userName, 'admin');
    assert.equal(ctx.projectName, 'admin');
    assert.equal(ctx.isAdmin, true);
    assert.equal(ctx.expiresAt, body.token.expires_at);
    assert.equal(await svc.authenticateToken(token), ctx, 'second call is served from the cache');
    assert.equal(await svc.authenticateToken('nope'), null);
    assert.equal(await svc.authenticateToken(''), null);

    clock += 61_000;
    assert.equal(await svc.authenticateToken(token), null, 'expired (cached)');
    const fresh = await svc.issueToken(auth().auth);
    clock += 61_000;
    assert.equal(await svc.authenticateToken(fresh.token), null, 'expired (never cached)');
  });

  test('revokeToken makes authenticateToken fail', async () => {
    const { token } = await svc.issueToken(auth().auth);
    const ctx = await svc.authenticateToken(token);
    assert.ok(ctx);
    await svc.revokeToken(ctx, token);
    assert.equal(await svc.authenticateToken(token), null);
    await assert.rejects(svc.validateToken(ctx, token), { status: 404 });
  });
});

test('passwordHashRounds: new hashes at its cost, hashes made at another still verify', async () => {
  const db = await openDb({ stateDir: ':memory:' });
  try {
    const hashOf = async (name: string) =>
      (await db.selectFrom('users').select('password_hash').where('name', '=', name).executeTakeFirstOrThrow()).password_hash!;
    const login = (svc: IdentityService, name: string, password: string) =>
      svc.issueToken(
        (
          passwordAuth({ name, password, domain: { name: 'Default' } }, { project: { name: 'admin', domain: { name: 'Default' } } }) as {
            auth: AuthBody;
          }
        ).auth,
      );
    const before = new IdentityService(db, { tokenTtlSeconds: 60, passwordHashRounds: 10 });
    await before.bootstrap('pw');
    assert.equal((await hashOf('admin')).split('$')[1], '1024');
    const admin = (await before.authenticateToken((await login(before, 'admin', 'pw')).token))!;
    const created = await before.createUser(admin, { name: 'u', password: 'u-pw' } as Parameters<IdentityService['createUser']>[1]);
    const member = (await before.listRoles(admin, { name: 'member' }))[0]!;
    await before.assignRole(admin, admin.projectId, created.id, member.id);
    assert.equal((await hashOf('u')).split('$')[1], '1024');
    // The server restarted with another cost: old hashes verify, new ones are made at the new cost.
    const after = new IdentityService(db, { tokenTtlSeconds: 60, passwordHashRounds: 12 });
    const admin2 = (await after.authenticateToken((await login(after, 'admin', 'pw')).token))!;
    await login(after, 'u', 'u-pw');
    await assert.rejects(login(after, 'u', 'wrong'), { status: 401 });
    await after.updateUser(admin2, created.id, { password: 'new-pw' } as Parameters<IdentityService['updateUser']>[2]);
    assert.equal((await hashOf('u')).split('$')[1], '4096');
    await login(after, 'u', 'new-pw');
  } finally {
    await db.destroy();
  }
});

describe('revocation events, on the service with a fake clock', () => {
  let db: Db;
  let clock = Date.parse('2030-01-01T00:00:00Z');
  const auth = (name: string, password: string) =>
    passwordAuth({ name, password, domain: { name: 'Default' } }, { project: { name: 'admin', domain: { name: 'Default' } } }) as {
      auth: AuthBody;
    };
  before(async () => {
    db = await openDb({ stateDir: ':memory:' });
  });
  after(() => db?.destroy());

  test('events are kept while a token they revoke lives, and pruned after', async () => {
    const svc = new IdentityService(db, { tokenTtlSeconds: 3600, now: () => clock });
    await svc.bootstrap('pw');
    const admin = (await svc.authenticateToken((await svc.issueToken(auth('admin', 'pw').auth)).token))!;
    const user = await svc.createUser(admin, { name: 'u', password: 'u-pw' } as Parameters<IdentityService['createUser']>[1]);
    const member = (await svc.listRoles(admin, { name: 'member' }))[0];
    await svc.assignRole(admin, admin.projectId, user.id, member.id);
    const old = (await svc.issueToken(auth('u', 'u-pw').auth)).token;
    clock += 1_000;
    await svc.unassignRole(admin, admin.projectId, user.id, member.id);
    await svc.assignRole(admin, admin.projectId, user.id, member.id);
    clock += 61_000; // past the purge interval: the next issue prunes
    const fresh = (await svc.issueToken(auth('u', 'u-pw').auth)).token;
    assert.equal(await svc.authenticateToken(old), null, 'still revoked after a purge');
    assert.ok(await svc.authenticateToken(fresh));
    assert.equal((await db.selectFrom('revocation_events').selectAll().execute()).length, 1);

    clock += 3_600_000; // every token issued before the event has expired
    await svc.issueToken(auth('admin', 'pw').auth);
    assert.equal((await db.selectFrom('revocation_events').selectAll().execute()).length, 0);
  });
});
