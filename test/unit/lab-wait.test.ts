// The lab's one wait-until loop (poll/waitFor): when it stops, what it returns or throws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Abort, poll, waitFor } from '../../src/lab/util.ts';
import { LabError } from '../../src/lab/topology.ts';

/** A probe that answers `value` on its `n`th call (null before), counting its calls. */
function readyOnCall<T>(n: number, value: T) {
  const probe = async () => {
    probe.calls += 1;
    return probe.calls >= n ? value : null;
  };
  probe.calls = 0;
  return probe;
}

test('poll returns the first value a probe gives, after probing as often as needed', async () => {
  const probe = readyOnCall(3, 'up');
  assert.equal(await poll(probe, { timeoutMs: 5_000, everyMs: 1 }), 'up');
  assert.equal(probe.calls, 3);
});

test('poll gives up after `attempts` probes and returns undefined', async () => {
  const probe = readyOnCall(10, 'up');
  assert.equal(await poll(probe, { attempts: 4, everyMs: 1 }), undefined);
  assert.equal(probe.calls, 4);
});

test('poll gives up once `timeoutMs` has passed, having probed meanwhile', async () => {
  const probe = readyOnCall(Infinity, 'up');
  const t0 = Date.now();
  assert.equal(await poll(probe, { timeoutMs: 30, everyMs: 5 }), undefined);
  assert.ok(Date.now() - t0 >= 30);
  assert.ok(probe.calls >= 2);
});

test('a false value is a value: only null and undefined mean "not yet"', async () => {
  assert.equal(await poll(async () => 0, { attempts: 1 }), 0);
  assert.equal(await poll(async () => false, { attempts: 1 }), false);
});

test('waitFor throws onTimeout() when a limit is reached, and lets a probe stop it early', async () => {
  await assert.rejects(
    waitFor(readyOnCall(Infinity, 1), { attempts: 2, everyMs: 1, onTimeout: () => new LabError('never came') }),
    (e: Error) => e instanceof LabError && e.message === 'never came',
  );
  let calls = 0;
  const failing = async () => {
    calls += 1;
    throw new LabError('it exited');
  };
  await assert.rejects(waitFor(failing, { timeoutMs: 5_000, onTimeout: () => new Error('timeout') }), /it exited/);
  assert.equal(calls, 1);
});

test('an abort is checked before every probe', async () => {
  const abort = new Abort();
  const probe = async () => {
    abort.trigger('SIGINT');
    return null;
  };
  await assert.rejects(poll(probe, { timeoutMs: 5_000, everyMs: 1, abort }), /interrupted \(SIGINT\)/);
});
