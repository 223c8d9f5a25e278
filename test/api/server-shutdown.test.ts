// SIGTERM on a real `neutrino server` process: stalled and idle connections are closed at once,
// change-feed long-polls are answered at once with the current revision, a request in flight
// completes, and the process exits 0 — well within the graceful shutdown bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { openDb } from '../../src/store/db.ts';
import { adminToken } from '../helpers/client.ts';
import { ADMIN_PASSWORD } from '../helpers/server.ts';
import { bodyOf, rawConnect, statusOf } from '../helpers/raw-http.ts';
import { spawnServer } from '../helpers/signal-server.ts';

const built = existsSync(new URL('../../dist/cli/index.js', import.meta.url)) ? false : 'needs npm run build (dist/)';

/** Long enough that finishing well before it shows nothing waited for it. */
const GRACE_S = 10;
/** What "at once" may take on a loaded machine: far below the grace period and the client bounds. */
const PROMPT_MS = 4000;
const ARGS = ['--graceful-shutdown-timeout', String(GRACE_S)];

test('SIGTERM with stalled and idle clients connected: they are closed and the server exits 0 at once', { skip: built }, async () => {
  const server = await spawnServer(ARGS);
  try {
    const stalledHeaders = await rawConnect({ port: server.port }, 'GET /v2.0/networks HTTP/1.1\r\nHost: x\r\n');
    const stalledBody = await rawConnect(
      { path: server.socket },
      'POST /v2.0/networks HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"netw',
    );
    const idle = await rawConnect({ port: server.port }, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    // Idle once answered: wait for the answer itself (a fixed pause is too short on a loaded machine).
    for (const until = Date.now() + 10_000; statusOf(idle.received()) === null && Date.now() < until;) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(statusOf(idle.received()), 200);
    const t0 = Date.now();
    server.proc.kill('SIGTERM');
    const exit = await server.exited(t0);
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, server.stderr());
    assert.ok(exit.afterMs < PROMPT_MS, `exited ${exit.afterMs} ms after SIGTERM`);
    for (const c of [stalledHeaders, stalledBody, idle]) assert.ok((await c.closed(1000)).closed);
  } finally {
    await server.cleanup();
  }
});

test('SIGTERM answers change-feed long-polls at once with the current revision', { skip: built }, async () => {
  const server = await spawnServer(ARGS);
  try {
    const token = await adminToken(server.url);
    const { revision } = (await (
      await fetch(`${server.url}/v2.0/neutrino/changes?since=0`, { headers: { 'x-auth-token': token } })
    ).json()) as { revision: number };
    const poll = `GET /v2.0/neutrino/changes?since=${revision}&wait=60 HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${token}\r\n\r\n`;
    const polls = [await rawConnect({ port: server.port }, poll), await rawConnect({ path: server.socket }, poll)];
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(
      polls.map((p) => p.received()),
      ['', ''],
      'the long-polls wait until SIGTERM',
    );
    const t0 = Date.now();
    server.proc.kill('SIGTERM');
    for (const p of polls) {
      const r = await p.closed(PROMPT_MS);
      assert.ok(r.closed, `long-poll connection still open ${r.afterMs} ms after connecting`);
      assert.equal(statusOf(r.text), 200, r.text);
      assert.deepEqual(bodyOf(r.text), { revision, changes: [] });
    }
    const exit = await server.exited(t0);
    assert.equal(exit.code, 0, server.stderr());
    assert.ok(exit.afterMs < PROMPT_MS, `exited ${exit.afterMs} ms after SIGTERM`);
  } finally {
    await server.cleanup();
  }
});

test('SIGTERM lets a request in flight finish and commit before exiting 0', { skip: built }, async () => {
  const server = await spawnServer(ARGS);
  // Another writer holds SQLite's write lock, so the server's write (revoking a token: one statement,
  // no transaction before it) waits on it (busy_timeout): the request is certainly in flight at the signal.
  const blocker = new SQLite(join(server.stateDir, 'neutrino.db'));
  try {
    const caller = await adminToken(server.url);
    const subject = await adminToken(server.url);
    blocker.exec('BEGIN IMMEDIATE');
    const revoke = fetch(`${server.url}/identity/v3/auth/tokens`, {
      method: 'DELETE',
      headers: { 'x-auth-token': caller, 'x-subject-token': subject },
    });
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    server.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    blocker.exec('ROLLBACK');
    const reply = await revoke;
    assert.equal(reply.status, 204, await reply.text());
    const exit = await server.exited(t0);
    assert.equal(exit.code, 0, server.stderr());
    assert.ok(exit.afterMs < PROMPT_MS, `exited ${exit.afterMs} ms after SIGTERM`);
    const db = await openDb({ stateDir: server.stateDir });
    try {
      const revoked = await db.selectFrom('tokens').select('revoked').where('revoked', '=', 1).execute();
      assert.equal(revoked.length, 1, 'the revocation was committed');
    } finally {
      await db.destroy();
    }
  } finally {
    blocker.close();
    await server.cleanup();
  }
});

test('SIGTERM with more work in flight than graceful_shutdown_timeout allows: cut at the bound, exit 0', { skip: built }, async () => {
  const graceS = 1;
  const server = await spawnServer(['--graceful-shutdown-timeout', String(graceS)]);
  try {
    // Each token costs a password hash (scrypt, ~0.1 s here, a few at a time): a hundred at once
    // are seconds of work, far more than the bound.
    const body = JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'admin', password: ADMIN_PASSWORD, domain: { name: 'Default' } } } },
      },
    });
    const asks = Array.from({ length: 100 }, () =>
      fetch(`${server.url}/identity/v3/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then(
        (r) => r.status,
        () => 'cut' as const,
      ),
    );
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    server.proc.kill('SIGTERM');
    const exit = await server.exited(t0);
    assert.equal(exit.code, 0, server.stderr());
    assert.ok(exit.afterMs < graceS * 1000 + PROMPT_MS, `exited ${exit.afterMs} ms after SIGTERM`);
    const outcomes = await Promise.all(asks);
    assert.deepEqual(
      [...new Set(outcomes)].filter((o) => o !== 201 && o !== 'cut'),
      [],
      'requests in flight are answered normally or cut, nothing else',
    );
    assert.ok(outcomes.includes('cut'), 'the work in flight outlasted the bound, so some of it was cut');
  } finally {
    await server.cleanup();
  }
});
