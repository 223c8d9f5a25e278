// The state directory: private modes on a fresh one, tightening or refusal on an existing one,
// and the one-server lock (held across the process, released on release or on SIGKILL).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../../src/store/db.ts';
import { lockStateDir, StateDirLockedError } from '../../src/store/lock.ts';
import { StateDirError } from '../../src/store/state-dir.ts';

const mode = (p: string) => statSync(p).mode & 0o777;

function withTempRoot(fn: (root: string) => Promise<void>) {
  return async () => {
    const root = mkdtempSync(join(tmpdir(), 'neutrino-statedir-'));
    try {
      await fn(root);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
}

test(
  'a fresh state directory is 0700 and the database with its -wal and -shm files 0600, with no warning',
  withTempRoot(async (root) => {
    const dir = join(root, 'state');
    const warnings: string[] = [];
    const db = await openDb({ stateDir: dir, onWarning: (w) => warnings.push(w) });
    try {
      assert.equal(mode(dir), 0o700);
      for (const f of ['neutrino.db', 'neutrino.db-wal', 'neutrino.db-shm']) {
        assert.ok(existsSync(join(dir, f)), f);
        assert.equal(mode(join(dir, f)), 0o600, f);
      }
      assert.deepEqual(warnings, []);
    } finally {
      await db.destroy();
    }
  }),
);

test(
  'an existing directory and database readable by others are tightened, each with a warning',
  withTempRoot(async (root) => {
    const dir = join(root, 'state');
    await (await openDb({ stateDir: dir })).destroy();
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'neutrino.db'), 0o644);
    const warnings: string[] = [];
    const db = await openDb({ stateDir: dir, onWarning: (w) => warnings.push(w) });
    await db.destroy();
    assert.equal(mode(dir), 0o700);
    assert.equal(mode(join(dir, 'neutrino.db')), 0o600);
    assert.equal(warnings.length, 2, warnings.join('\n'));
    assert.match(warnings[0], /state directory .* \(mode 0755\); made it 0700/);
    assert.match(warnings[1], /neutrino\.db was accessible to other users \(mode 0644\); made it 0600/);
  }),
);

test(
  'a shared directory holding files neutrino did not make is refused and left as it was',
  withTempRoot(async (root) => {
    const dir = join(root, 'shared');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'notes.txt'), 'not ours');
    await assert.rejects(openDb({ stateDir: dir }), (e: Error) => {
      assert.ok(e instanceof StateDirError);
      assert.match(e.message, /mode 0755.*notes\.txt.*chmod 0700/);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
    assert.equal(mode(dir), 0o755);
    assert.ok(!existsSync(join(dir, 'neutrino.db')));
  }),
);

test(
  'the lock: a second holder is refused naming the first PID; release lets the next one in',
  withTempRoot(async (root) => {
    const first = lockStateDir(root);
    assert.throws(
      () => lockStateDir(root),
      (e: Error) => e instanceof StateDirLockedError && e.message.includes(`pid ${process.pid}`) && !e.message.includes('\n'),
    );
    assert.equal(mode(join(root, 'neutrino.lock')), 0o600);
    first.release();
    assert.ok(!existsSync(join(root, 'neutrino.pid')));
    lockStateDir(root).release();
  }),
);

test(
  'a holder killed with SIGKILL leaves no lock behind',
  withTempRoot(async (root) => {
    // A child process takes the lock, drops the handle (a garbage collection must not end the lock),
    // says so, and waits to be killed.
    const script = `import('${new URL('../../src/store/lock.ts', import.meta.url).href}').then((m) => { m.lockStateDir(process.argv[1]); globalThis.gc(); setTimeout(() => { globalThis.gc(); console.log('locked'); }, 50); setInterval(() => {}, 1000); });`;
    const child = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', script, root], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
        child.once('exit', (code) => reject(new Error(`lock holder exited ${code}`)));
      });
      assert.throws(() => lockStateDir(root), new RegExp(`pid ${child.pid}\\b`));
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      lockStateDir(root).release();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }),
);
