// Operability over real HTTP: a fresh X-OpenStack-Request-Id on every answer, one access-log line per
// request that never contains a secret, and the unauthenticated /healthcheck (200 OK, 503 when the
// store is gone).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';
import { issueToken, request } from '../helpers/client.ts';

const REQUEST_ID = /^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A logger at info level whose lines are kept in memory. */
function capturedLogger() {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  return { logger, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

async function raw(url: string, init: RequestInit = {}) {
  const res = await fetch(url, init);
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe('request ids and the access log', () => {
  const log = capturedLogger();
  let server: TestServer;
  let admin: string;
  before(async () => {
    server = await startTestServer({}, log.logger);
    admin = await issueToken(server.url, 'admin', ADMIN_PASSWORD, 'admin');
  });
  after(() => server?.close());

  test('every answer of both APIs carries a fresh request id, errors and 404s too; a client id is ignored', async () => {
    const json = { 'content-type': 'application/json', 'x-auth-token': admin };
    const answers = await Promise.all([
      raw(`${server.url}/v2.0/networks`, { headers: { 'x-auth-token': admin } }),
      raw(`${server.url}/v2.0/networks`),
      raw(`${server.url}/v2.0/nowhere`, { headers: { 'x-auth-token': admin } }),
      raw(`${server.url}/nowhere`),
      raw(`${server.url}/identity/v3/projects/nope`, { headers: { 'x-auth-token': admin } }),
      raw(`${server.url}/identity/v3/auth/tokens`, { method: 'POST', headers: json, body: '{"auth": ' }),
      raw(`${server.url}/v2.0/networks`, { method: 'POST', headers: json, body: '{"network": ' }),
      raw(`${server.url}/v2.0/networks`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ network: { name: 'x'.repeat(200_000) } }),
      }),
      raw(`${server.url}/healthcheck`),
      raw(`${server.url}/v2.0/networks`, {
        headers: { 'x-auth-token': admin, 'X-OpenStack-Request-Id': 'req-00000000-0000-0000-0000-000000000000' },
      }),
    ]);
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 401, 404, 404, 404, 400, 400, 413, 200, 200],
    );
    const ids = answers.map((a) => a.headers.get('x-openstack-request-id') ?? '');
    for (const id of ids) assert.match(id, REQUEST_ID);
    assert.equal(new Set(ids).size, ids.length, 'each request has its own id');
    assert.notEqual(ids.at(-1), 'req-00000000-0000-0000-0000-000000000000');
  });

  test('one info line per request with method, path, status, ms, project and request id', async () => {
    const networks = await raw(`${server.url}/v2.0/networks?name=x`, { headers: { 'x-auth-token': admin } });
    const id = networks.headers.get('x-openstack-request-id');
    const projects = await request(`${server.url}/identity/v3/projects?name=admin`, 'GET', admin);
    const mine = log.records().filter((r) => r.request_id === id);
    assert.equal(mine.length, 1);
    const [line] = mine;
    assert.equal(line.level, 30);
    assert.equal(line.msg, 'request');
    assert.equal(line.method, 'GET');
    assert.equal(line.path, '/v2.0/networks');
    assert.equal(line.status, 200);
    assert.equal(typeof line.ms, 'number');
    assert.equal(line.project, projects.body.projects[0].id);
    const unauthenticated = await raw(`${server.url}/v2.0/ports`);
    const refused = log.records().find((r) => r.request_id === unauthenticated.headers.get('x-openstack-request-id'));
    assert.equal(refused?.status, 401);
    assert.equal(refused?.project, undefined);
  });

  test('no password or token ever reaches the log', async () => {
    const secrets = ['Sup3r-Secret-Create-Pw', 'Wr0ng-Guess-Pw', 'Qu3ry-Secret', 'b0gus-Token-Value', 'N3w-Changed-Pw'];
    const id = `${server.url}/identity/v3`;
    const user = await request(`${id}/users`, 'POST', admin, { user: { name: 'logged', password: secrets[0], default_project_id: null } });
    assert.equal(user.status, 201);
    const project = (await request(`${id}/projects?name=admin`, 'GET', admin)).body.projects[0].id;
    const role = (await request(`${id}/roles?name=member`, 'GET', admin)).body.roles[0].id;
    await request(`${id}/projects/${project}/users/${user.body.user.id}/roles/${role}`, 'PUT', admin);
    const token = await issueToken(server.url, 'logged', secrets[0], 'admin');
    secrets.push(token, admin);
    const wrong = await request(`${id}/auth/tokens`, 'POST', null, {
      auth: { identity: { methods: ['password'], password: { user: { id: user.body.user.id, password: secrets[1] } } } },
    });
    assert.equal(wrong.status, 401);
    await request(`${server.url}/v2.0/networks?password=${secrets[2]}&token=${token}`, 'GET', token);
    await request(`${server.url}/v2.0/networks`, 'GET', secrets[3]);
    await request(`${id}/auth/tokens`, 'GET', admin, undefined, { 'X-Subject-Token': token });
    await request(`${id}/users/${user.body.user.id}/password`, 'POST', token, {
      user: { original_password: secrets[0], password: secrets[4] },
    });
    await request(`${id}/auth/tokens`, 'DELETE', admin, undefined, { 'X-Subject-Token': token });
    const text = log.lines.join('');
    assert.ok(log.lines.length > 8);
    for (const secret of secrets) assert.ok(!text.includes(secret), `the log contains ${secret.slice(0, 6)}…`);
  });
});

describe('/healthcheck', () => {
  const log = capturedLogger();
  let server: TestServer;
  before(async () => {
    server = await startTestServer({}, log.logger);
  });
  after(() => server?.close());

  test('200 OK (HEAD 204) without a token while the store answers; 503 once it is gone', async () => {
    const ok = await raw(`${server.url}/healthcheck`);
    assert.equal(ok.status, 200);
    assert.equal(ok.text, 'OK');
    assert.match(ok.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal((await raw(`${server.url}/healthcheck`, { method: 'HEAD' })).status, 204);

    await server.db.destroy();
    const down = await raw(`${server.url}/healthcheck`);
    assert.equal(down.status, 503);
    assert.match(down.headers.get('content-type') ?? '', /^text\/plain/);
    assert.notEqual(down.text, 'OK');
    assert.equal((await raw(`${server.url}/healthcheck`, { method: 'HEAD' })).status, 503);
    // The failure is logged, without secrets, under the request's id.
    const secret = 'D0wn-Secret-Pw';
    const login = await request(`${server.url}/identity/v3/auth/tokens`, 'POST', null, {
      auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { name: 'Default' }, password: secret } } } },
    });
    assert.equal(login.status, 500);
    const failed = log.records().find((r) => r.level === 50 && r.request_id === login.headers.get('x-openstack-request-id'));
    assert.ok(failed, 'the 500 is logged with its request id');
    assert.ok(!log.lines.join('').includes(secret));
  });
});
