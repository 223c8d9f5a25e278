// scripts/link-bin.sh (run by install-deps.sh) puts `neutrino` on PATH as the README's commands
// expect: a symlink to this checkout's bin/neutrino, made once, kept on a rerun, never over a file
// that is not a symlink; `neutrino` then runs on the Node.js npm scripts run on, whichever `node`
// comes first on PATH. Into a temp directory here, never /usr/local/bin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../scripts/link-bin.sh', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/neutrino', import.meta.url));
const built = existsSync(new URL('../../dist/cli/index.js', import.meta.url)) ? false : 'needs npm run build (dist/)';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-link-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const link = (dir: string, path = process.env.PATH ?? '') =>
  spawnSync('bash', [SCRIPT, dir], { encoding: 'utf8', env: { ...process.env, PATH: path } });

test('links DIR/neutrino to bin/neutrino, and `neutrino` then runs from PATH', { skip: built }, () =>
  withDir((dir) => {
    const first = link(dir);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.stdout.split('\n')[0], `==> linked ${dir}/neutrino -> ${BIN}`);
    assert.match(first.stdout, new RegExp(`note: ${dir} is not on PATH`));
    assert.equal(readlinkSync(join(dir, 'neutrino')), BIN);
    // As a user types it: by name, found on PATH, through the symlink.
    const path = `${dir}:${dirname(process.execPath)}:/usr/bin:/bin`;
    const run = spawnSync('neutrino', ['--version'], { encoding: 'utf8', env: { ...process.env, PATH: path } });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^\d+\.\d+\.\d+\n$/);
    const again = link(dir, path);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, `==> ${dir}/neutrino already points to ${BIN}\n`);
  }),
);

test('`neutrino` from PATH runs on the Node.js the tests run on, whichever node the shell finds first', { skip: built }, () =>
  withDir((dir) => {
    const linked = link(dir);
    assert.equal(linked.status, 0, linked.stderr);
    // The shell's PATH, as before npm put node_modules/.bin (and its `node`) first.
    const shell = (process.env.PATH ?? '').split(':').filter((p) => !p.endsWith('/node_modules/.bin'));
    // Node prints its version and exits before the CLI starts.
    const printVersion = '--import=data:text/javascript,console.log(process.version);process.exit(0)';
    const env = { ...process.env, PATH: [dir, ...shell].join(':'), NODE_OPTIONS: printVersion };
    const run = spawnSync('neutrino', ['--version'], { encoding: 'utf8', env });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, `${process.version}\n`);
  }),
);

test('a stale symlink is repointed; a file that is not a symlink is left alone', () =>
  withDir((dir) => {
    symlinkSync('/nonexistent/old/neutrino.js', join(dir, 'neutrino'));
    const repoint = link(dir);
    assert.equal(repoint.status, 0, repoint.stderr);
    assert.match(repoint.stdout, new RegExp(`pointed to /nonexistent/old/neutrino.js; now to ${BIN}`));
    assert.equal(readlinkSync(join(dir, 'neutrino')), BIN);

    rmSync(join(dir, 'neutrino'));
    writeFileSync(join(dir, 'neutrino'), '#!/bin/sh\necho mine\n');
    const refused = link(dir);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /exists and is not a symlink: left alone/);
    assert.equal(readFileSync(join(dir, 'neutrino'), 'utf8'), '#!/bin/sh\necho mine\n');
  }));
