// The CLI as a pipeline member: when the reader is gone before it writes (`neutrino … | head -1`,
// `| true`), it stops quietly instead of crashing with EPIPE. Traces a recorded snapshot: no root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BIN } from '../helpers/neutrino-cli.ts';

const built = existsSync(new URL('../../dist/cli/index.js', import.meta.url)) ? false : 'needs npm run build (dist/)';
const snapshot = fileURLToPath(new URL('../fixtures/trace/healthy', import.meta.url));

test('a reader that went away ends the command quietly, with status 0', { skip: built }, async () => {
  const child = spawn(process.execPath, [BIN, 'trace', 'fip', '10.123.123.104', '--snapshot', snapshot, '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Close our (the only) reading end now, long before the new process has started: its report then
  // goes into a pipe without a reader, as with `| true`.
  child.stdout.destroy();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  assert.deepEqual({ code, signal }, { code: 0, signal: null }, stderr);
  assert.doesNotMatch(stderr, /EPIPE|Unhandled 'error' event/, stderr);
});
