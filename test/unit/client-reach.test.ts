// The HTTP client's failures in words: a missing socket, a server that never answers, a closed port.
// Real sockets on loopback and in a temp directory; no server of ours needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requestJson } from '../../src/client/http.ts';
import { UnreachableError } from '../../src/client/reach.ts';

test('a Unix socket that does not exist: "no such socket file", with the hint', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-reach-'));
  try {
    const url = `unix:${join(dir, 'api.sock')}`;
    const err = await requestJson({ url, hint: 'is the lab up?' }, 'GET', '/v2.0/networks').then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof UnreachableError, String(err));
    assert.equal(err.message, `cannot reach the Networking API at ${url} (no such socket file): is the lab up?`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A loopback server that accepts connections and never answers. */
async function silentServer(): Promise<{ url: string; close(): void }> {
  const held: Socket[] = [];
  const server = createServer((s) => held.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close() {
      for (const s of held) s.destroy();
      server.close();
    },
  };
}

test('a server that accepts but never answers: "no answer within N s"', async () => {
  const { url, close } = await silentServer();
  try {
    const err = await requestJson({ url }, 'GET', '/v2.0/networks', { timeoutMs: 200 }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof UnreachableError, String(err));
    assert.equal(err.message, `cannot reach the Networking API at ${url} (no answer within 0.2 s)`);
  } finally {
    close();
  }
});

test('an aborted request stays an abort, not an unreachable server', async () => {
  const { url, close } = await silentServer();
  try {
    const ac = new AbortController();
    const pending = requestJson({ url }, 'GET', '/v2.0/neutrino/changes', { signal: ac.signal }).then(
      () => null,
      (e: unknown) => e,
    );
    setTimeout(() => ac.abort(), 50);
    const err = await pending;
    assert.equal((err as Error).message, 'request aborted');
    assert.ok(!(err instanceof UnreachableError));
  } finally {
    close();
  }
});
