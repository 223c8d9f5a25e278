// The CLI as a pipeline member: when the reader is gone before it writes (`neutrino … | head -1`,
// `| true`), it stops quietly instead of crashing with EPIPE. Traces a recorded snapshot: no root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BIN } from '../helpers/neutrino-cli.js';

const built = existsSync(new URL('../../dist/cli/index.js', import.meta.url)) ? false : 'needs npm run build (dist/)';
const snapshot = fileURLToPath(new URL('../fixtures/trace/healthy', import.meta.url));

test('a reader that went away ends the command quietly', { skip: built }, () => {
  // `true` exits at once; the trace writes its report afterwards, into a closed pipe.
  const r = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" trace fip 10.123.123.104 --snapshot "${snapshot}" --json | true`], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.doesNotMatch(r.stderr, /EPIPE|Unhandled 'error' event/, r.stderr);
});
