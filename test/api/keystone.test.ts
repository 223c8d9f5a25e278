// neutrino behind a real Keystone (auth_strategy = keystone): Debian's Keystone in a temporary
// directory, a service user, two projects with a member each, an admin; the `neutrino server`
// process validates every token with that Keystone. Isolation between the projects, admin-only
// attributes, 401s as keystonemiddleware sends them, revocation within token_cache_time, the agents'
// API and client, the real `openstack` CLI, and Keystone down → 503.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NeutrinoClient } from '../../src/client/neutrino.ts';
import { parseAgentConfig } from '../../src/agent/config.ts';
import { agentClient } from '../../src/cli/agent.ts';
import { KeystoneAdmin, keystoneMissing, startKeystone, type KeystoneServer, type KeystoneTokenBody } from '../helpers/keystone.ts';
import type { Wire } from '../helpers/client.ts';
import { haveOpenstack, openstackCli } from '../helpers/openstack.ts';
import { freePort, spawnServer, stopServer, type ServerProcess } from '../helpers/server-process.ts';

/** Short enough that the test sees a token expire (and the server renew its own) within its run. */
const TOKEN_EXPIRATION_S = 30;
const TOKEN_CACHE_TIME_S = 2;
const PASSWORD = 'project-user-secret';

const skip = keystoneMissing() ?? false;

describe('auth_strategy = keystone against a real Keystone', { skip }, () => {
  let keystone: KeystoneServer;
  let admin: KeystoneAdmin;
  let server: ServerProcess;
  let dir: string;
  const projects = { blue: '', green: '' };
  /** Taken at the start, used once it has expired. */
  let early: { id: string; body: KeystoneTokenBody };
  /** When the first token was validated: the server's first service token is no older. */
  let firstValidatedAt = 0;

  const login = async (user: string, project: string) => (await admin.login(user, PASSWORD, project)).id;
  const adminToken = async () => (await admin.login('admin', 'keystone-admin-secret', 'admin')).id;
  const api = (token: string | null, method: string, path: string, body?: unknown) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { ...(token === null ? {} : { 'x-auth-token': token }), 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as Wire });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'neutrino-keystone-test-'));
    keystone = await startKeystone({ tokenExpiration: TOKEN_EXPIRATION_S });
    admin = new KeystoneAdmin(keystone.url);
    // The service user neutrino validates tokens with: role `service` in project `service`.
    const service = await admin.project('service');
    await admin.user('neutron', PASSWORD, service, 'service');
    // The agents' user: the admin role, which the agents' API asks for.
    await admin.user('neutrino-agent', PASSWORD, service, 'admin');
    projects.blue = await admin.project('blue');
    projects.green = await admin.project('green');
    await admin.user('alice', PASSWORD, projects.blue, 'member');
    await admin.user('bob', PASSWORD, projects.green, 'member');
    await admin.user('rita', PASSWORD, projects.blue, 'reader');
    early = await admin.login('alice', PASSWORD, 'blue');

    const port = await freePort();
    await admin.registerNetworkEndpoint(`http://127.0.0.1:${port}`);
    const config = join(dir, 'neutron.conf');
    writeFileSync(
      config,
      [
        '[DEFAULT]',
        'auth_strategy = keystone',
        '[keystone_authtoken]',
        `www_authenticate_uri = ${keystone.url}`,
        `auth_url = ${keystone.url}`,
        'auth_type = password',
        'username = neutron',
        `password = ${PASSWORD}`,
        'project_name = service',
        'user_domain_name = Default',
        'project_domain_name = Default',
        `token_cache_time = ${TOKEN_CACHE_TIME_S}`,
        'memcached_servers = 127.0.0.1:11211',
        '',
      ].join('\n'),
    );
    server = spawnServer(join(dir, 'state'), port, {}, ['--config', config]);
    const until = Date.now() + 15_000;
    for (;;) {
      try {
        if ((await fetch(`${server.url}/`)).status === 200) break;
      } catch {
        /* not listening yet */
      }
      if (server.child.exitCode !== null || Date.now() > until) throw new Error(`neutrino did not start:\n${server.output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  after(async () => {
    if (server) await stopServer(server);
    await keystone?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the options it does not implement are named in a warning at start; the built-in identity API answers 404', async () => {
    assert.match(
      server.output(),
      /\[keystone_authtoken\] memcached_servers is ignored: each server process caches validated tokens itself/,
    );
    for (const path of ['/identity/v3', '/identity/v3/auth/tokens', '/identity/v3/projects']) {
      const res = await fetch(`${server.url}${path}`, { method: path.endsWith('tokens') ? 'POST' : 'GET' });
      assert.equal(res.status, 404, path);
    }
  });

  test('projects are isolated: a member sees and changes only what is its project’s', async () => {
    const alice = await login('alice', 'blue');
    const bob = await login('bob', 'green');
    const created = await json(await api(alice, 'POST', '/v2.0/networks', { network: { name: 'blue-net' } }));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    firstValidatedAt = Date.now();
    const net = created.body.network;
    assert.equal(net.project_id, projects.blue, "the project is the token's, from Keystone");
    await api(bob, 'POST', '/v2.0/networks', { network: { name: 'green-net' } });

    const bobList = await json(await api(bob, 'GET', '/v2.0/networks'));
    assert.deepEqual(
      bobList.body.networks.map((n: { name: string }) => n.name),
      ['green-net'],
    );
    assert.equal((await api(bob, 'GET', `/v2.0/networks/${net.id}`)).status, 404);
    assert.equal((await api(bob, 'PUT', `/v2.0/networks/${net.id}`, { network: { name: 'mine' } })).status, 404);
    assert.equal((await api(bob, 'DELETE', `/v2.0/networks/${net.id}`)).status, 404);

    // A reader of the same project sees it (the policy here is owner-based); the admin sees all.
    const rita = await json(await api(await login('rita', 'blue'), 'GET', '/v2.0/networks'));
    assert.deepEqual(
      rita.body.networks.map((n: { name: string }) => n.name),
      ['blue-net'],
    );
    const all = await json(await api(await adminToken(), 'GET', '/v2.0/networks'));
    assert.deepEqual(all.body.networks.map((n: { name: string }) => n.name).sort(), ['blue-net', 'green-net']);
  });

  test('admin-only attributes are refused to a member and allowed to the admin', async () => {
    const alice = await login('alice', 'blue');
    const provider = { network: { name: 'phys', 'provider:network_type': 'flat', 'provider:physical_network': 'provider' } };
    const refused = await json(await api(alice, 'POST', '/v2.0/networks', provider));
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(refused.body.NeutronError.type, 'PolicyNotAuthorized');
    const external = await json(await api(alice, 'POST', '/v2.0/networks', { network: { name: 'ext', 'router:external': true } }));
    assert.equal(external.status, 403);
    const byAdmin = await json(await api(await adminToken(), 'POST', '/v2.0/networks', provider));
    assert.equal(byAdmin.status, 201, JSON.stringify(byAdmin.body));
    assert.equal(byAdmin.body.network['provider:network_type'], 'flat');
  });

  test("a missing or garbage token is answered 401 with keystonemiddleware's body and WWW-Authenticate", async () => {
    for (const token of [null, 'garbage', 'gAAAAABnot-a-real-fernet-token']) {
      const res = await api(token, 'GET', '/v2.0/networks');
      assert.equal(res.status, 401, String(token));
      assert.equal(res.headers.get('www-authenticate'), `Keystone uri="${keystone.url}"`);
      assert.deepEqual(await res.json(), {
        error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' },
      });
    }
  });

  test('a token revoked in Keystone is refused within token_cache_time', async () => {
    const alice = await login('alice', 'blue');
    assert.equal((await api(alice, 'GET', '/v2.0/networks')).status, 200);
    await admin.revoke(alice);
    const revokedAt = Date.now();
    let status = 200;
    let lastAcceptedSentAt = revokedAt;
    while (status === 200 && Date.now() - revokedAt < (TOKEN_CACHE_TIME_S + 5) * 1000) {
      const sentAt = Date.now();
      status = (await api(alice, 'GET', '/v2.0/networks')).status;
      if (status === 200) {
        lastAcceptedSentAt = sentAt;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.equal(status, 401);
    // A 200 after the revocation came from the cache, whose entry was made before the revocation and is
    // kept at most token_cache_time: a request sent later than that must have been checked again.
    const after = lastAcceptedSentAt - revokedAt;
    assert.ok(after <= TOKEN_CACHE_TIME_S * 1000, `a request sent ${after} ms after the revocation was still accepted`);
  });

  test("the agents' API: a user with the admin role may use it, a member may not; NeutrinoClient finds Keystone by itself", async () => {
    const report = { agent: { agent_type: 'Linux bridge agent', host: 'ks-node-1', configurations: {} } };
    assert.equal((await api(await login('alice', 'blue'), 'POST', '/v2.0/neutrino/agents/report', report)).status, 403);
    // What `neutrino agent` does with [neutrino] username, password, project in agent.ini.
    const client = new NeutrinoClient({ url: server.url }, { username: 'neutrino-agent', password: PASSWORD, project: 'service' });
    const reported = await client.reportState(report.agent);
    assert.equal(reported.agent.host, 'ks-node-1');
    assert.equal((await client.hostView('ks-node-1')).host, 'ks-node-1');
    const refused = new NeutrinoClient({ url: server.url }, { username: 'neutrino-agent', password: 'wrong', project: 'service' });
    await assert.rejects(refused.reportState(report.agent), new RegExp(`Keystone at ${keystone.url}/v3 refused the credentials`));
  });

  test("`neutrino agent`'s own client from agent.ini: [neutrino] auth_url and the domains log it in at Keystone", async () => {
    const ini = (extra: string) =>
      `[DEFAULT]\nhost = ks-node-2\n[vxlan]\nenable_vxlan = false\n[neutrino]\nserver_url = ${server.url}\nusername = neutrino-agent\npassword = ${PASSWORD}\nproject = service\n${extra}`;
    const cfg = parseAgentConfig(ini(`auth_url = ${keystone.url}\nuser_domain_name = Default\nproject_domain_name = Default\n`));
    assert.deepEqual([cfg.authUrl, cfg.userDomainName, cfg.projectDomainName], [keystone.url, 'Default', 'Default']);
    const client = agentClient(cfg, 'agent.ini');
    const agent = { agent_type: 'Linux bridge agent', host: 'ks-node-2', configurations: {} };
    assert.equal((await client.reportState(agent)).agent.host, 'ks-node-2');
    assert.equal((await client.hostView('ks-node-2')).host, 'ks-node-2');
    // A user or project in a domain Keystone does not have: refused there, the file named.
    const elsewhere = agentClient(parseAgentConfig(ini(`auth_url = ${keystone.url}/v3\nuser_domain_name = nowhere\n`)), 'agent.ini');
    await assert.rejects(elsewhere.reportState(agent), new RegExp(`Keystone at ${keystone.url}/v3 refused the credentials`));
  });

  test('the real openstack CLI logs in at Keystone and reaches neutrino through the catalog', { skip: !haveOpenstack() }, async () => {
    const cli = openstackCli(
      server.url,
      [
        { name: 'alice', username: 'alice', password: PASSWORD, project: 'blue' },
        { name: 'bob', username: 'bob', password: PASSWORD, project: 'green' },
      ],
      `${keystone.url}/v3`,
    );
    try {
      const net = await cli.json<{ id: string; project_id: string }>('alice', ['network', 'create', 'cli-blue']);
      assert.equal(net.project_id, projects.blue);
      const bobs = await cli.json<Array<{ Name: string }>>('bob', ['network', 'list']);
      assert.ok(!bobs.some((n) => n.Name === 'cli-blue'), JSON.stringify(bobs));
      await assert.rejects(cli.run('bob', ['network', 'show', net.id]), /No Network found|not found/i);
      await cli.run('alice', ['network', 'delete', net.id]);
    } finally {
      cli.cleanup();
    }
  });

  test('an expired token is refused 401; the server renewed its own service token meanwhile', async () => {
    // Past both the early token's expiry and that of the service token the server took first.
    const wait = Math.max(Date.parse(early.body.expires_at), firstValidatedAt + TOKEN_EXPIRATION_S * 1000) + 1000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const res = await api(early.id, 'GET', '/v2.0/networks');
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), `Keystone uri="${keystone.url}"`);
    // A new token still validates: the server's first service token has expired and been replaced.
    assert.equal((await api(await login('alice', 'blue'), 'GET', '/v2.0/networks')).status, 200);
  });

  test('Keystone down: a token the server has not cached is answered 503, not 401', async () => {
    const alice = await login('alice', 'blue');
    await keystone.stop();
    const res = await json(await api(alice, 'GET', '/v2.0/networks'));
    assert.equal(res.status, 503, JSON.stringify(res.body));
    assert.deepEqual(res.body, {
      NeutronError: { type: 'HTTPServiceUnavailable', message: 'The Keystone service is temporarily unavailable.', detail: '' },
    });
    assert.equal((await api('garbage-never-seen', 'GET', '/v2.0/networks')).status, 503);
    assert.match(server.output(), /unable to validate token/);
  });
});
