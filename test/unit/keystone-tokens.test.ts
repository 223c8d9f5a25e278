// The Keystone validation cache: results reused for at most token_cache_time and never past the
// token's expiry, a bounded number of them, a revoked token refused once its result is re-validated,
// Keystone unable to answer never cached.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CachedTokenValidation, contextOfToken } from '../../src/api/keystone-tokens.ts';
import { renewalTime } from '../../src/client/keystone.ts';
import { authContext, type AuthContext } from '../../src/model/context.ts';

const T0 = Date.parse('2030-01-01T00:00:00Z');

/** A stand-in Keystone: which tokens are valid now, how often it was asked, and whether it answers. */
function fakeKeystone() {
  const valid = new Map<string, AuthContext>();
  const state = { asked: 0, down: false };
  const ctx = (user: string, expiresAt = new Date(T0 + 3_600_000).toISOString()) =>
    authContext({ userId: user, userName: user, projectId: `p-${user}`, projectName: user, roles: ['member'], expiresAt });
  const validate = async (token: string) => {
    state.asked++;
    if (state.down) throw new Error('connection refused');
    return valid.get(token) ?? null;
  };
  return { valid, state, ctx, validate };
}

function cacheWith(ks: ReturnType<typeof fakeKeystone>, cacheTimeMs: number, maxEntries = 100) {
  const clock = { now: T0 };
  const cache = new CachedTokenValidation({ validate: ks.validate, cacheTimeMs, maxEntries, now: () => clock.now });
  return { cache, clock };
}

test('a valid token is validated once and reused until token_cache_time has passed', async () => {
  const ks = fakeKeystone();
  ks.valid.set('tok-a', ks.ctx('alice'));
  const { cache, clock } = cacheWith(ks, 300_000);
  assert.equal((await cache.authenticate('tok-a'))?.userId, 'alice');
  clock.now += 299_999;
  assert.equal((await cache.authenticate('tok-a'))?.userId, 'alice');
  assert.equal(ks.state.asked, 1);
  clock.now += 1;
  assert.equal((await cache.authenticate('tok-a'))?.userId, 'alice');
  assert.equal(ks.state.asked, 2, 'asked again once the cache time is over');
});

test('a revoked token is refused once its cached result runs out, not before the bound and not after it', async () => {
  const ks = fakeKeystone();
  ks.valid.set('tok-a', ks.ctx('alice'));
  const { cache, clock } = cacheWith(ks, 5_000);
  assert.ok(await cache.authenticate('tok-a'));
  ks.valid.delete('tok-a'); // revoked in Keystone
  clock.now += 4_000;
  assert.ok(await cache.authenticate('tok-a'), 'still the cached result within the bound');
  clock.now += 1_000;
  assert.equal(await cache.authenticate('tok-a'), null, 're-validated at the bound: refused');
  assert.equal(ks.state.asked, 2);
});

test("a result is never reused past the token's own expiry, even within the cache time", async () => {
  const ks = fakeKeystone();
  ks.valid.set('short', ks.ctx('bob', new Date(T0 + 10_000).toISOString()));
  const { cache, clock } = cacheWith(ks, 300_000);
  assert.ok(await cache.authenticate('short'));
  clock.now += 9_999;
  assert.ok(await cache.authenticate('short'));
  assert.equal(ks.state.asked, 1);
  ks.valid.delete('short'); // Keystone no longer accepts it: it expired
  clock.now += 1;
  assert.equal(await cache.authenticate('short'), null);
  assert.equal(ks.state.asked, 2);
});

test('an invalid token is cached as invalid for the cache time (garbage does not reach Keystone each time)', async () => {
  const ks = fakeKeystone();
  const { cache, clock } = cacheWith(ks, 1_000);
  assert.equal(await cache.authenticate('garbage'), null);
  assert.equal(await cache.authenticate('garbage'), null);
  assert.equal(ks.state.asked, 1);
  clock.now += 1_000;
  ks.valid.set('garbage', ks.ctx('now-valid'));
  assert.equal((await cache.authenticate('garbage'))?.userId, 'now-valid');
});

test('the cache holds at most maxEntries results, the oldest pushed out first', async () => {
  const ks = fakeKeystone();
  for (const t of ['t1', 't2', 't3', 't4']) ks.valid.set(t, ks.ctx(t));
  const { cache } = cacheWith(ks, 300_000, 3);
  for (const t of ['t1', 't2', 't3', 't4']) await cache.authenticate(t);
  assert.equal(cache.size, 3);
  assert.equal(ks.state.asked, 4);
  await cache.authenticate('t4');
  await cache.authenticate('t2');
  assert.equal(ks.state.asked, 4, 't2..t4 still cached');
  await cache.authenticate('t1');
  assert.equal(ks.state.asked, 5, 't1 was pushed out and is validated again');
  assert.equal(cache.size, 3);
});

test('Keystone unable to answer: the error reaches the caller and nothing is cached', async () => {
  const ks = fakeKeystone();
  ks.valid.set('tok-a', ks.ctx('alice'));
  const { cache } = cacheWith(ks, 300_000);
  ks.state.down = true;
  await assert.rejects(cache.authenticate('tok-a'), /connection refused/);
  assert.equal(cache.size, 0);
  ks.state.down = false;
  assert.equal((await cache.authenticate('tok-a'))?.userId, 'alice');
});

test('token_cache_time 0 asks Keystone every time; requests arriving together share one validation', async () => {
  const ks = fakeKeystone();
  ks.valid.set('tok-a', ks.ctx('alice'));
  const { cache } = cacheWith(ks, 0);
  await cache.authenticate('tok-a');
  await cache.authenticate('tok-a');
  assert.equal(ks.state.asked, 2);
  assert.equal(cache.size, 0);
  const together = await Promise.all([cache.authenticate('tok-a'), cache.authenticate('tok-a'), cache.authenticate('tok-a')]);
  assert.ok(together.every((c) => c?.userId === 'alice'));
  assert.equal(ks.state.asked, 3);
});

test("a validated token's user, project and roles become the policy context; admin is the admin role; no project, no context", () => {
  const body = {
    user: { id: 'u1', name: 'carol' },
    project: { id: 'p1', name: 'blue' },
    roles: [
      { id: 'r1', name: 'reader' },
      { id: 'r2', name: 'member' },
    ],
    expires_at: '2030-01-01T01:00:00.000000Z',
  };
  const ctx = contextOfToken(body);
  assert.deepEqual(ctx, {
    userId: 'u1',
    userName: 'carol',
    projectId: 'p1',
    projectName: 'blue',
    roles: ['reader', 'member'],
    isAdmin: false,
    expiresAt: '2030-01-01T01:00:00.000000Z',
  });
  assert.equal(contextOfToken({ ...body, roles: [{ name: 'admin' }] })?.isAdmin, true);
  assert.equal(contextOfToken({ ...body, project: undefined }), null);
});

test('the service token is renewed 2 minutes before it expires, or at half its life when that is shorter', () => {
  assert.equal(renewalTime(0, 3_600_000), 3_600_000 - 120_000);
  assert.equal(renewalTime(1_000, 61_000), 31_000);
});
