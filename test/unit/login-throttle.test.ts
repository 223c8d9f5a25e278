// The per-user login back-off, on a fake clock: growing delays, one attempt at a time per user,
// other users untouched, success resets, a bounded queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginThrottle, MAX_QUEUED_ATTEMPTS, ThrottledError, backoffDelayMs } from '../../src/identity/login-throttle.ts';

const policy = { initialDelayMs: 100, maxDelayMs: 1000 };
class Wrong extends Error {}
const isWrong = (e: unknown) => e instanceof Wrong;
const fail = async () => {
  throw new Wrong('wrong password');
};

/** A clock that only moves when the throttle sleeps; every sleep is recorded. */
function fakeTime() {
  let now = 0;
  const sleeps: number[] = [];
  const sleep = async (ms: number) => {
    sleeps.push(ms);
    now += ms;
  };
  return { now: () => now, sleep, sleeps };
}

test('backoffDelayMs doubles from the initial delay up to the cap; 0 when off', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 40].map((n) => backoffDelayMs(policy, n)),
    [0, 100, 200, 400, 800, 1000, 1000],
  );
  assert.equal(backoffDelayMs({ initialDelayMs: 100, maxDelayMs: 0 }, 5), 0);
});

test("each failure delays that user's next attempt more; other users and successes are not delayed", async () => {
  const t = fakeTime();
  const throttle = new LoginThrottle(policy, t.now, t.sleep);
  for (let i = 0; i < 4; i++) await assert.rejects(throttle.run('alice', fail, isWrong), Wrong);
  assert.deepEqual(t.sleeps, [100, 200, 400]);
  assert.equal(throttle.failures('alice'), 4);

  assert.equal(await throttle.run('bob', async () => 'bob in', isWrong), 'bob in');
  assert.deepEqual(t.sleeps, [100, 200, 400], 'bob waited for nothing');

  assert.equal(await throttle.run('alice', async () => 'alice in', isWrong), 'alice in');
  assert.deepEqual(t.sleeps, [100, 200, 400, 800], 'the right password still waits its turn');
  assert.equal(throttle.failures('alice'), 0, 'a success resets the count');
  await assert.rejects(throttle.run('alice', fail, isWrong), Wrong);
  await assert.rejects(throttle.run('alice', fail, isWrong), Wrong);
  assert.deepEqual(t.sleeps.slice(4), [100], 'back to the initial delay');
});

test('errors that are not failed logins neither count nor reset', async () => {
  const t = fakeTime();
  const throttle = new LoginThrottle(policy, t.now, t.sleep);
  await assert.rejects(throttle.run('carol', fail, isWrong), Wrong);
  await assert.rejects(
    throttle.run('carol', async () => Promise.reject(new Error('bad request')), isWrong),
    /bad request/,
  );
  assert.equal(throttle.failures('carol'), 1);
});

test('after a failure, parallel attempts of one user run one at a time, each after its delay', async () => {
  const t = fakeTime();
  const throttle = new LoginThrottle(policy, t.now, t.sleep);
  await assert.rejects(throttle.run('dave', fail, isWrong), Wrong);
  let running = 0;
  let most = 0;
  const guess = () =>
    throttle.run(
      'dave',
      async () => {
        most = Math.max(most, ++running);
        await new Promise((r) => setImmediate(r));
        running--;
        throw new Wrong('still wrong');
      },
      isWrong,
    );
  const results = await Promise.allSettled(Array.from({ length: 5 }, guess));
  assert.ok(results.every((r) => r.status === 'rejected' && r.reason instanceof Wrong));
  assert.equal(most, 1);
  assert.deepEqual(t.sleeps, [100, 200, 400, 800, 1000]);
});

test('attempts beyond the queue bound are refused at once, without running', async () => {
  let now = 0;
  let wake!: () => void;
  const asleep = new Promise<void>((r) => (wake = r));
  const throttle = new LoginThrottle(
    policy,
    () => now,
    () => asleep,
  );
  await assert.rejects(throttle.run('erin', fail, isWrong), Wrong);
  let ran = 0;
  const attempt = () => throttle.run('erin', async () => void ran++, isWrong);
  const queued = Array.from({ length: MAX_QUEUED_ATTEMPTS }, attempt);
  await assert.rejects(attempt(), ThrottledError);
  assert.equal(ran, 0);
  now = 10_000;
  wake();
  await Promise.all(queued);
  assert.equal(ran, MAX_QUEUED_ATTEMPTS);
  assert.ok(await throttle.run('erin', async () => true, isWrong));
});

test('a zero cap turns the back-off off', async () => {
  const t = fakeTime();
  const throttle = new LoginThrottle({ initialDelayMs: 100, maxDelayMs: 0 }, t.now, t.sleep);
  for (let i = 0; i < 3; i++) await assert.rejects(throttle.run('frank', fail, isWrong), Wrong);
  assert.deepEqual(t.sleeps, []);
});
