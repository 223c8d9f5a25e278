// Which exit status a command's error gives: a tool the machine lacks is the environment's (2), a
// command that ran and failed is the operation's (1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXIT_BROKEN, EXIT_USAGE, failure } from '../../src/cli/exit.ts';
import { run } from '../../src/exec/run.ts';

const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => assert.fail('expected a failure'),
    (e: unknown) => e,
  );

test('a missing tool exits 2, a failed command 1, each with a one-line message', async () => {
  const missing = failure(await errorOf(run(['neutrino-test-no-such-command'])));
  assert.equal(missing.status, EXIT_USAGE);
  assert.match(missing.message, /^neutrino-test-no-such-command failed \(no-command/);
  const failed = failure(await errorOf(run(['sh', '-c', 'printf "first\\nsecond\\n" >&2; exit 1'])));
  assert.equal(failed.status, EXIT_BROKEN);
  assert.match(failed.message, /^sh -c .* failed \(failed, exit 1\): first$/);
});
