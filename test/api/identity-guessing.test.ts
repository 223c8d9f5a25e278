// Password guessing over real HTTP: Keystone's account lockout, and the per-user back-off that
// slows one user's guesses without slowing anyone else's login.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';
import { issueToken, request } from '../helpers/client.ts';
import { IdentityService } from '../../src/identity/service.ts';
import { openDb, type Db } from '../../src/store/db.ts';

const UNAUTHORIZED = {
  error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' },
};

const login = (server: TestServer, user: object) =>
  request(`${server.url}/identity/v3/auth/tokens`, 'POST', null, {
    auth: {
      identity: { methods: ['password'], password: { user } },
      scope: { project: { name: 'admin', domain: { name: 'Default' } } },
    },
  });

/** Creates a user holding `member` on project admin; returns its id. */
async function memberOfAdmin(server: TestServer, admin: string, name: string): Promise<string> {
  const id = `${server.url}/identity/v3`;
  const user = await request(`${id}/users`, 'POST', admin, { user: { name, password: `${name}-pw` } });
  assert.equal(user.status, 201);
  const project = (await request(`${id}/projects?name=admin`, 'GET', admin)).body.projects[0].id;
  const role = (await request(`${id}/roles?name=member`, 'GET', admin)).body.roles[0].id;
  assert.equal((await request(`${id}/projects/${project}/users/${user.body.user.id}/roles/${role}`, 'PUT', admin)).status, 204);
  return user.body.user.id;
}

const byName = (name: string, password: string) => ({ name, password, domain: { name: 'Default' } });

describe('lockout ([identity] lockout_failure_attempts = 3, no back-off)', () => {
  let server: TestServer;
  let admin: string;
  before(async () => {
    server = await startTestServer({ lockoutFailureAttempts: 3, lockoutDuration: 600, failureBackoffMax: 0 });
    admin = await issueToken(server.url, 'admin', ADMIN_PASSWORD, 'admin');
  });
  after(() => server?.close());

  test('three failures lock the user, even against the right password; others are untouched', async () => {
    const id = await memberOfAdmin(server, admin, 'locky');
    await memberOfAdmin(server, admin, 'bystander');
    for (let i = 0; i < 3; i++) {
      const wrong = await login(server, byName('locky', 'guess'));
      assert.equal(wrong.status, 401);
      assert.deepEqual(wrong.body, UNAUTHORIZED);
    }
    const locked = { error: { code: 401, title: 'Unauthorized', message: `The account is locked for user: ${id}.` } };
    for (const user of [byName('locky', 'locky-pw'), { id, password: 'locky-pw' }]) {
      const refused = await login(server, user);
      assert.equal(refused.status, 401);
      assert.deepEqual(refused.body, locked);
    }
    assert.equal((await login(server, byName('bystander', 'bystander-pw'))).status, 201);

    // An administrator unlocks the user by (re-)enabling it, as in Keystone.
    const patch = await request(`${server.url}/identity/v3/users/${id}`, 'PATCH', admin, { user: { enabled: true } });
    assert.equal(patch.status, 200);
    assert.equal((await login(server, byName('locky', 'locky-pw'))).status, 201);
  });

  test('a user that does not exist is never reported locked', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await login(server, byName('ghost', 'guess'));
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, UNAUTHORIZED);
    }
  });

  test('a success before the limit resets the count', async () => {
    await memberOfAdmin(server, admin, 'typo');
    for (const password of ['x', 'y', 'typo-pw', 'x', 'y', 'typo-pw']) {
      assert.equal((await login(server, byName('typo', password))).status, password === 'typo-pw' ? 201 : 401, password);
    }
  });
});

describe('lockout duration, on the service with a fake clock', () => {
  let db: Db;
  let clock = Date.parse('2030-01-01T00:00:00Z');
  const options = { tokenTtlSeconds: 60, now: () => clock, lockout: { failureAttempts: 2, durationSeconds: 60 } };
  const auth = (password: string) =>
    ({
      identity: { methods: ['password'], password: { user: byName('admin', password) } },
      scope: { project: { name: 'admin', domain: { name: 'Default' } } },
    }) as Parameters<IdentityService['issueToken']>[0];
  before(async () => {
    db = await openDb({ stateDir: ':memory:' });
    await new IdentityService(db, options).bootstrap('pw');
  });
  after(() => db?.destroy());

  test('the lock lasts lockout_duration after the last failure, and survives a restart', async () => {
    const svc = new IdentityService(db, options);
    await assert.rejects(svc.issueToken(auth('no')), { status: 401 });
    await assert.rejects(svc.issueToken(auth('no')), { status: 401 });
    await assert.rejects(svc.issueToken(auth('pw')), /The account is locked for user: /);
    clock += 59_000;
    const restarted = new IdentityService(db, options);
    await assert.rejects(restarted.issueToken(auth('pw')), /locked/);
    clock += 2_000;
    assert.ok((await restarted.issueToken(auth('pw'))).token);
  });
});

describe('back-off ([identity] failure_backoff_max = 1.5, no lockout)', () => {
  let server: TestServer;
  let admin: string;
  before(async () => {
    server = await startTestServer({ failureBackoffMax: 1.5, failureBackoffInitialMs: 200 });
    admin = await issueToken(server.url, 'admin', ADMIN_PASSWORD, 'admin');
  });
  after(() => server?.close());

  test("a user's failures delay that user's next attempt, not other users' logins", async () => {
    await memberOfAdmin(server, admin, 'victim');
    await memberOfAdmin(server, admin, 'neighbour');
    // Parallel guesses: all fail, and the next attempt must wait the full (capped) delay.
    const guesses = await Promise.all(Array.from({ length: 6 }, () => login(server, byName('victim', 'guess'))));
    assert.deepEqual(
      guesses.map((g) => g.status),
      [401, 401, 401, 401, 401, 401],
    );

    const started = performance.now();
    let victimDone = false;
    const victim = login(server, byName('victim', 'victim-pw')).then((r) => {
      victimDone = true;
      return r;
    });
    const neighbour = await login(server, byName('neighbour', 'neighbour-pw'));
    assert.equal(neighbour.status, 201);
    assert.equal(victimDone, false, "the neighbour's login did not wait for the victim's back-off");
    const health = await request(`${server.url}/v2.0/networks`, 'GET', admin);
    assert.equal(health.status, 200);
    assert.equal(victimDone, false, 'the event loop keeps serving other requests meanwhile');

    const late = await victim;
    assert.equal(late.status, 201, 'the right password gets in after the delay');
    assert.ok(performance.now() - started >= 1000, 'the attempt waited for the back-off');
  });

  test('unknown users are delayed like real ones', async () => {
    await Promise.all(Array.from({ length: 6 }, () => login(server, byName('nobody', 'guess'))));
    const started = performance.now();
    const res = await login(server, byName('nobody', 'guess'));
    assert.deepEqual(res.body, UNAUTHORIZED);
    assert.ok(performance.now() - started >= 1000);
  });
});
