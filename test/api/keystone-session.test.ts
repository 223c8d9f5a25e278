// The one Keystone client (src/client/keystone.ts) behind both API clients: neutrino's (agents,
// CLI) and the tracer's (any cloud) each get a project-scoped token, and when it expires the next
// call takes a new one and goes through.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NeutrinoClient } from '../../src/client/neutrino.ts';
import { cloudApiClient, resolveCloud } from '../../src/trace/read/cloud.ts';
import { adminToken, request } from '../helpers/client.ts';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';

const TTL_S = 1;
let srv: TestServer;
let dir = '';

before(async () => {
  srv = await startTestServer({ tokenTtlSeconds: TTL_S });
  dir = mkdtempSync(join(tmpdir(), 'neutrino-keystone-'));
});
after(async () => {
  await srv.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Lets every token issued so far expire, and proves it did: one issued now is refused by then. */
async function outliveTokens(): Promise<void> {
  const witness = await adminToken(srv.url);
  await sleep(TTL_S * 1000 + 300);
  assert.equal((await request(`${srv.url}/v2.0/networks`, 'GET', witness)).status, 401, 'the token has expired');
}

test("neutrino's client takes a new token when its token expires", async () => {
  const client = new NeutrinoClient({ url: srv.url }, { username: 'admin', password: ADMIN_PASSWORD, project: 'admin' });
  const before = await client.call<{ networks: unknown[] }>('GET', '/v2.0/networks');
  await outliveTokens();
  assert.deepEqual(await client.call<{ networks: unknown[] }>('GET', '/v2.0/networks'), before);
});

test("the tracer's cloud client takes a new token (and the catalog's endpoint) when its token expires", async () => {
  const file = join(dir, 'clouds.yaml');
  writeFileSync(
    file,
    `clouds:\n  c:\n    auth:\n      auth_url: ${srv.url}/identity/v3\n      username: admin\n      password: ${ADMIN_PASSWORD}\n      project_name: admin\n`,
  );
  const { client, source } = await cloudApiClient(
    resolveCloud({ cloud: 'c', env: { OS_CLIENT_CONFIG_FILE: file }, cwd: dir, home: dir, siteDir: dir }),
  );
  assert.equal(source.endpoint, srv.url);
  const before = await client.get<{ networks: unknown[] }>('/v2.0/networks');
  await outliveTokens();
  assert.deepEqual(await client.get<{ networks: unknown[] }>('/v2.0/networks'), before);
  assert.equal(client.endpoint, srv.url);
});
