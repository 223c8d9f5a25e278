// Application credentials in the built-in identity, as Keystone has them: created by their user for
// the token's project and a subset of its roles, the secret shown once; authenticating with one gives
// a token for that project with those roles; restricted ones cannot manage credentials; refusals
// with Keystone's codes and messages; a credential's tokens die with it, and it dies with the grant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { adminToken, api, memberProject, request, type Reply } from '../helpers/client.ts';

test('application credentials: create, use, restrict, refuse, expire with their grant', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const v3 = `${srv.url}/identity/v3`;
  const admin = await adminToken(srv.url);
  const { projectId, token } = await memberProject(srv.url, admin, 'ci');
  const me = (await request(`${v3}/auth/tokens`, 'GET', token, undefined, { 'x-subject-token': token })).body.token.user.id as string;
  const credsOf = (user: string) => `${v3}/users/${user}/application_credentials`;
  const create = (tok: string, body: Record<string, unknown>, user = me) =>
    request(credsOf(user), 'POST', tok, { application_credential: body });
  const login = (identity: Record<string, unknown>, scope?: unknown): Promise<Reply> =>
    request(`${v3}/auth/tokens`, 'POST', null, {
      auth: { identity: { methods: ['application_credential'], application_credential: identity }, ...(scope ? { scope } : {}) },
    });

  // Created with the token's roles (member and the reader it implies), for the token's project.
  const made = await create(token, { name: 'deploy', description: 'CI deploys' });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const cred = made.body.application_credential;
  assert.equal(cred.project_id, projectId);
  assert.equal(cred.unrestricted, false);
  assert.equal(cred.expires_at, null);
  assert.ok(typeof cred.secret === 'string' && cred.secret.length >= 80, 'a generated secret, shown once');
  assert.deepEqual(cred.roles.map((r: { name: string }) => r.name).sort(), ['member', 'reader']);

  // Read back: never the secret.
  const shown = await request(`${credsOf(me)}/${cred.id}`, 'GET', token);
  assert.equal(shown.status, 200);
  assert.equal(shown.body.application_credential.secret, undefined);
  assert.deepEqual({ ...shown.body.application_credential, secret: cred.secret }, cred);
  const listed = await request(`${credsOf(me)}?name=deploy`, 'GET', token);
  assert.deepEqual(
    listed.body.application_credentials.map((c: { id: string }) => c.id),
    [cred.id],
  );
  assert.equal(listed.body.application_credentials[0].secret, undefined);

  // Authenticating: by id, or by name with its user; the token is the credential's.
  const byId = await login({ id: cred.id, secret: cred.secret });
  assert.equal(byId.status, 201, JSON.stringify(byId.body));
  assert.deepEqual(byId.body.token.methods, ['application_credential']);
  assert.equal(byId.body.token.project.id, projectId);
  assert.deepEqual(byId.body.token.application_credential, { id: cred.id, name: 'deploy', restricted: true });
  assert.deepEqual(byId.body.token.roles.map((r: { name: string }) => r.name).sort(), ['member', 'reader']);
  const credToken = byId.headers.get('x-subject-token')!;
  const net = await api(srv.url, credToken).post('/networks', { network: { name: 'from-ci' } });
  assert.equal(net.status, 201, 'the credential acts in its project');
  assert.equal(net.body.network.project_id, projectId);
  const byName = await login({ name: 'deploy', secret: cred.secret, user: { name: 'ci', domain: { name: 'Default' } } });
  assert.equal(byName.status, 201, JSON.stringify(byName.body));

  // Refusals at login.
  const wrong = await login({ id: cred.id, secret: 'nope' });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error.message, 'Error authenticating with application credential: Invalid application credential ID or secret');
  assert.equal((await login({ id: 'f'.repeat(32), secret: cred.secret })).status, 401);
  const scoped = await login({ id: cred.id, secret: cred.secret }, { project: { id: projectId } });
  assert.equal(scoped.status, 401);
  assert.equal(
    scoped.body.error.message,
    'Error authenticating with application credential: Application credentials cannot request a scope.',
  );

  // A restricted credential's token may not manage credentials; an unrestricted one's may.
  const fromRestricted = await create(credToken, { name: 'more' });
  assert.equal(fromRestricted.status, 403);
  assert.match(fromRestricted.body.error.message, /Using method 'application_credential' is not allowed/);
  assert.equal((await request(`${credsOf(me)}/${cred.id}`, 'DELETE', credToken)).status, 403);
  const open = (await create(token, { name: 'open', unrestricted: true, secret: 'chosen-secret' })).body.application_credential;
  assert.equal(open.secret, 'chosen-secret');
  const openToken = (await login({ id: open.id, secret: 'chosen-secret' })).headers.get('x-subject-token')!;
  assert.equal((await create(openToken, { name: 'child' })).status, 201);

  // A subset of the roles: only what the token holds.
  const reader = (await create(token, { name: 'read-only', roles: [{ name: 'reader' }] })).body.application_credential;
  assert.deepEqual(
    reader.roles.map((r: { name: string }) => r.name),
    ['reader'],
  );
  const readerLogin = await login({ id: reader.id, secret: reader.secret });
  assert.deepEqual(
    readerLogin.body.token.roles.map((r: { name: string }) => r.name),
    ['reader'],
    'the token carries only the chosen roles',
  );
  const escalate = await create(token, { name: 'root', roles: [{ name: 'admin' }] });
  assert.equal(escalate.status, 400);
  assert.equal(escalate.body.error.message, 'Invalid application credential: Cannot create an application credential with unassigned role');

  // Other refusals.
  const adminUser = (await request(`${v3}/auth/tokens`, 'GET', admin, undefined, { 'x-subject-token': admin })).body.token.user.id;
  assert.equal((await create(token, { name: 'theirs' }, adminUser)).status, 403, 'not for another user');
  const dup = await create(token, { name: 'deploy' });
  assert.equal(dup.status, 409);
  assert.equal(
    dup.body.error.message,
    'Conflict occurred attempting to store application_credential - Duplicate entry found with name deploy.',
  );
  assert.equal((await create(token, { name: 'old', expires_at: '2001-01-01T00:00:00' })).status, 400);
  assert.equal(
    (await create(token, { name: 'rules', access_rules: [{ service: 'network', method: 'GET', path: '/v2.0/networks' }] })).status,
    400,
  );
  assert.equal((await create(token, { name: 'extra', colour: 'blue' })).status, 400);

  // An expiring credential: its tokens end no later than it does.
  const soon = new Date(Date.now() + 60_000).toISOString();
  const brief = (await create(token, { name: 'brief', expires_at: soon })).body.application_credential;
  const briefToken = await login({ id: brief.id, secret: brief.secret });
  assert.ok(Date.parse(briefToken.body.token.expires_at) <= Date.parse(soon));

  // Deleting the credential kills its tokens.
  assert.equal((await request(`${credsOf(me)}/${cred.id}`, 'DELETE', token)).status, 204);
  assert.equal((await api(srv.url, credToken).get('/networks')).status, 401);
  assert.equal((await login({ id: cred.id, secret: cred.secret })).status, 401);
  assert.equal((await request(`${credsOf(me)}/${cred.id}`, 'GET', token)).status, 404);

  // Removing the user's role on the project removes its credentials there (as Keystone does).
  const member = (await request(`${v3}/roles?name=member`, 'GET', admin)).body.roles[0].id;
  assert.equal((await request(`${v3}/projects/${projectId}/users/${me}/roles/${member}`, 'DELETE', admin)).status, 204);
  assert.equal((await request(`${credsOf(me)}`, 'GET', admin)).body.application_credentials.length, 0);
  assert.equal((await api(srv.url, openToken).get('/networks')).status, 401);
});
