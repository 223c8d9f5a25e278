// The server process on its state directory: one server per directory (the second exits with one
// line naming the holder), SIGKILL leaves no lock, and a start without users says how to bootstrap.
// Spawns bin/neutrino.js: run `npm run build` first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, listening, spawnServer, stopServer, type ServerProcess } from '../helpers/server-process.ts';
import { issueToken } from '../helpers/client.ts';

test('a second server on the same state directory exits non-zero naming the first one’s PID; SIGKILL frees the directory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-proc-'));
  const started: ServerProcess[] = [];
  try {
    const first = spawnServer(dir, await freePort(), { NEUTRINO_ADMIN_PASSWORD: 'pw' });
    started.push(first);
    await listening(first);
    const second = spawnServer(dir, await freePort(), { NEUTRINO_ADMIN_PASSWORD: 'pw' });
    started.push(second);
    assert.equal(await second.exited, 1);
    const lines = second.output().trim().split('\n');
    assert.equal(lines.length, 1, second.output());
    assert.match(lines[0], new RegExp(`^neutrino: state directory .* is in use by another neutrino server \\(pid ${first.pid}\\)`));

    await stopServer(first, 'SIGKILL');
    const third = spawnServer(dir, await freePort());
    started.push(third);
    await listening(third);
    // The same database: the admin bootstrapped by the first server still authenticates.
    assert.ok(await issueToken(third.url, 'admin', 'pw', 'admin'));
    assert.doesNotMatch(third.output(), /no users exist/);
  } finally {
    for (const s of started) await stopServer(s, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a fresh state directory without NEUTRINO_ADMIN_PASSWORD starts with a warning that says how to bootstrap', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-proc-'));
  const server = spawnServer(dir, await freePort());
  try {
    await listening(server);
    const warning = server
      .output()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((l) => l.level === 40);
    assert.ok(warning, server.output());
    assert.match(warning.msg, /no users exist.*NEUTRINO_ADMIN_PASSWORD/);
    assert.ok(existsSync(join(dir, 'neutrino.pid')));
    await stopServer(server, 'SIGTERM');
    assert.equal(await server.exited, 0);
    // A clean exit releases the lock and removes the PID file.
    assert.ok(!existsSync(join(dir, 'neutrino.pid')));
  } finally {
    await stopServer(server, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a state directory other users can read that holds foreign files is refused with one line, untouched', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-proc-'));
  try {
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'someone-elses.txt'), '');
    const server = spawnServer(dir, await freePort(), { NEUTRINO_ADMIN_PASSWORD: 'pw' });
    assert.equal(await server.exited, 1);
    assert.match(
      server.output(),
      /^neutrino: state directory .* is accessible to other users \(mode 0755\) and holds files neutrino did not make \(someone-elses\.txt\); chmod 0700 it or choose another --state-dir\n$/,
    );
    assert.equal(statSync(dir).mode & 0o777, 0o755);
    assert.deepEqual(readdirSync(dir), ['someone-elses.txt']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
