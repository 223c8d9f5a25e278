// Password hashes are handed to the thread pool a few at a time: never more at once than the slots,
// every job runs, in arrival order, and a failed job gives its slot back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inHashSlot } from '../../src/identity/hash-slots.ts';

test('at most half the thread pool at once, in order, slots returned on failure', { timeout: 5000 }, async () => {
  const slots = Math.max(1, Math.floor((Number(process.env.UV_THREADPOOL_SIZE) || 4) / 2));
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const job = (i: number) => async () => {
    started.push(i);
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, 5));
    running--;
    if (i % 3 === 0) throw new Error(`job ${i} failed`);
    return i;
  };
  const outcomes = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => inHashSlot(job(i))));
  assert.equal(most, slots);
  assert.deepEqual(started, [...Array(12).keys()]);
  assert.deepEqual(
    outcomes.map((o) => (o.status === 'fulfilled' ? o.value : 'failed')),
    [...Array(12).keys()].map((i) => (i % 3 === 0 ? 'failed' : i)),
  );
  // The failures gave their slots back: a new job starts at once.
  assert.equal(await inHashSlot(async () => 'free'), 'free');
});
