// Connection bounds on both listeners (TCP and the Unix socket): a client that stalls its headers or
// body is answered 408 and disconnected within the bound, an idle keep-alive connection is closed,
// and a change-feed long-poll that waits longer than every bound is still answered.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultServerConfig } from '../../src/server-config.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { adminToken } from '../helpers/client.ts';
import { ADMIN_PASSWORD } from '../helpers/server.ts';
import { freeLoopbackPort } from '../../src/lab/server-proc.ts';
import { bodyOf, rawConnect, statusOf, type Listener } from '../helpers/raw-http.ts';

// Short bounds so the test takes seconds; the check timer runs every quarter of the shortest.
const HEADER_S = 1;
const REQUEST_S = 2;
const KEEPALIVE_S = 1;
/** Scheduling slack on a loaded machine, on top of the bound and its check interval. */
const SLACK_MS = 1500;

let dir: string;
let server: RunningServer;
let listeners: Array<{ name: string; at: Listener }>;
let token: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'neutrino-conn-'));
  const port = await freeLoopbackPort();
  const socket = join(dir, 'api.sock');
  server = await startServer(
    {
      ...defaultServerConfig,
      stateDir: dir,
      host: '127.0.0.1',
      port,
      unixSocket: socket,
      headerTimeout: HEADER_S,
      requestTimeout: REQUEST_S,
      keepaliveTimeout: KEEPALIVE_S,
    },
    { bootstrapAdminPassword: ADMIN_PASSWORD, logLevel: 'silent' },
  );
  listeners = [
    { name: 'tcp', at: { port } },
    { name: 'unix', at: { path: socket } },
  ];
  token = await adminToken(server.url);
});

after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the same check on both listeners at once. */
const onBoth = (check: (at: Listener, name: string) => Promise<void>) => Promise.all(listeners.map((l) => check(l.at, l.name)));

test('stalled headers: 408 and closed once the header bound has passed', async () => {
  const answers = new Map<string, string>();
  await onBoth(async (at, name) => {
    const c = await rawConnect(at, 'POST /v2.0/networks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n');
    const r = await c.closed(HEADER_S * 1000 + SLACK_MS);
    assert.ok(r.closed, `${name}: still open after ${r.afterMs} ms`);
    assert.ok(r.afterMs >= HEADER_S * 1000 - 100, `${name}: closed after ${r.afterMs} ms, before the bound`);
    assert.equal(statusOf(r.text), 408, `${name}: ${r.text}`);
    answers.set(name, r.text.slice(r.text.indexOf('\r\n\r\n')));
  });
  assert.equal(answers.get('unix'), answers.get('tcp'), 'the same answer on both listeners');
});

test('a connection that never sends anything is closed after the header bound', async () => {
  await onBoth(async (at, name) => {
    const r = await (await rawConnect(at, '')).closed(HEADER_S * 1000 + SLACK_MS);
    assert.ok(r.closed, `${name}: still open after ${r.afterMs} ms`);
    assert.ok(r.afterMs >= HEADER_S * 1000 - 100, `${name}: closed after ${r.afterMs} ms`);
  });
});

test('stalled body: 408 and closed once the request bound has passed; nothing is created', async () => {
  const body = JSON.stringify({ network: { name: 'stalled-body' } });
  await onBoth(async (at, name) => {
    const head = `POST /v2.0/networks HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const c = await rawConnect(at, head + body.slice(0, 10));
    const r = await c.closed(REQUEST_S * 1000 + SLACK_MS);
    assert.ok(r.closed, `${name}: still open after ${r.afterMs} ms`);
    assert.ok(r.afterMs >= REQUEST_S * 1000 - 100, `${name}: closed after ${r.afterMs} ms, before the bound`);
    assert.equal(statusOf(r.text), 408, `${name}: ${r.text}`);
  });
  const list = await fetch(`${server.url}/v2.0/networks?name=stalled-body`, { headers: { 'x-auth-token': token } });
  assert.deepEqual((await list.json()).networks, []);
});

test('an idle keep-alive connection is closed after the keep-alive bound', async () => {
  await onBoth(async (at, name) => {
    const c = await rawConnect(at, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const r = await c.closed(KEEPALIVE_S * 1000 + SLACK_MS);
    assert.equal(statusOf(r.text), 200, `${name}: ${r.text}`);
    assert.ok(r.closed, `${name}: still open after ${r.afterMs} ms`);
    assert.ok(r.afterMs >= KEEPALIVE_S * 1000 - 100, `${name}: closed after ${r.afterMs} ms`);
  });
});

test('a long-poll that waits longer than every bound is answered, not cut', async () => {
  const head = await fetch(`${server.url}/v2.0/neutrino/changes?since=0`, { headers: { 'x-auth-token': token } });
  const { revision } = (await head.json()) as { revision: number };
  const waitS = REQUEST_S + 1;
  await onBoth(async (at, name) => {
    const c = await rawConnect(
      at,
      `GET /v2.0/neutrino/changes?since=${revision}&wait=${waitS} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${token}\r\nConnection: close\r\n\r\n`,
    );
    const r = await c.closed(waitS * 1000 + SLACK_MS);
    assert.equal(statusOf(r.text), 200, `${name}: ${r.text}`);
    assert.ok(r.afterMs >= waitS * 1000 - 100, `${name}: answered after ${r.afterMs} ms, before its wait`);
    assert.deepEqual(bodyOf(r.text), { revision, changes: [] });
  });
});
