// End-to-end: Debian's real `openstack` CLI (keystoneauth 5.0) against neutrino's identity API.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';
import type { Wire } from '../helpers/client.ts';
import { cliEnv, haveOpenstack, OPENSTACK, TEST_OPENSTACK, withoutOsVariables } from '../helpers/openstack.ts';

const missing = !haveOpenstack();
const skip = missing ? `${OPENSTACK} is not installed (apt-get install python3-openstackclient)` : false;
const run = promisify(execFile);

let server: TestServer;
let dir: string;

function cloud(username: string, password: string, project: string) {
  return [
    `    auth:`,
    `      auth_url: ${server.url}/identity/v3`,
    `      username: ${username}`,
    `      password: ${password}`,
    `      project_name: ${project}`,
    `      user_domain_name: Default`,
    `      project_domain_name: Default`,
    `    region_name: RegionOne`,
    `    identity_api_version: 3`,
  ].join('\n');
}

/** Runs the CLI (no shell) against a named cloud; JSON output is parsed. */
async function openstack(cloudName: string, ...args: string[]): Promise<Wire> {
  // Only our clouds.yaml speaks: stray OS_* variables from the caller's shell would override it.
  const env = cliEnv(withoutOsVariables(process.env));
  Object.assign(env, { OS_CLIENT_CONFIG_FILE: join(dir, 'clouds.yaml'), OS_CLOUD: cloudName, HOME: dir });
  try {
    const { stdout } = await run(TEST_OPENSTACK, args, { env, cwd: dir, timeout: 60_000 });
    return args.includes('json') ? JSON.parse(stdout) : stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`openstack ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}${e.stdout ?? ''}`);
  }
}

before(async () => {
  if (missing) return;
  server = await startTestServer();
  dir = mkdtempSync(join(tmpdir(), 'neutrino-osc-'));
  writeFileSync(
    join(dir, 'clouds.yaml'),
    `clouds:\n  admin:\n${cloud('admin', ADMIN_PASSWORD, 'admin')}\n  demo:\n${cloud('demo', 'pw', 'demo')}\n`,
  );
});

after(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('openstack CLI: tokens, projects, users, role assignments', { skip, timeout: 120_000 }, async () => {
  const token = await openstack('admin', 'token', 'issue', '-f', 'json');
  assert.ok(token.id);
  assert.match(token.project_id, /^[0-9a-f]{32}$/);
  assert.match(token.user_id, /^[0-9a-f]{32}$/);

  const project = await openstack('admin', 'project', 'create', 'demo', '-f', 'json');
  assert.equal(project.name, 'demo');
  assert.equal(project.domain_id, 'default');
  assert.equal(project.enabled, true);

  const user = await openstack('admin', 'user', 'create', '--project', 'demo', '--password', 'pw', 'demo', '-f', 'json');
  assert.equal(user.name, 'demo');
  assert.equal(user.default_project_id, project.id);

  await openstack('admin', 'role', 'add', '--project', 'demo', '--user', 'demo', 'member');

  const assignments = await openstack('admin', 'role', 'assignment', 'list', '--project', 'demo', '--names', '-f', 'json');
  assert.deepEqual(
    assignments.map((a: Record<string, unknown>) => [a.Role, a.User, a.Project]),
    [['member', 'demo@Default', 'demo@Default']],
  );

  const demoToken = await openstack('demo', 'token', 'issue', '-f', 'json');
  assert.equal(demoToken.project_id, project.id);
  assert.equal(demoToken.user_id, user.id);

  await openstack('admin', 'project', 'delete', 'demo');
  const left = await fetch(`${server.url}/identity/v3/auth/tokens`, {
    headers: { 'X-Auth-Token': token.id, 'X-Subject-Token': demoToken.id },
  });
  assert.equal(left.status, 404, 'the demo token died with its project');
});

test(
  'openstack CLI: an application credential created, logged in with (v3applicationcredential), deleted',
  { skip, timeout: 180_000 },
  async () => {
    await openstack('admin', 'project', 'create', 'apps', '-f', 'json');
    await openstack('admin', 'user', 'create', '--project', 'apps', '--password', 'apps-pw', 'apps', '-f', 'json');
    await openstack('admin', 'role', 'add', '--project', 'apps', '--user', 'apps', 'member');
    const clouds = join(dir, 'clouds.yaml');
    writeFileSync(clouds, `${readFileSync(clouds, 'utf8')}  apps:\n${cloud('apps', 'apps-pw', 'apps')}\n`);

    const cred = await openstack('apps', 'application', 'credential', 'create', '--description', 'for CI', 'ci', '-f', 'json');
    assert.equal(cred.name, 'ci');
    assert.ok(cred.secret, 'the secret is shown at creation');
    writeFileSync(
      clouds,
      `${readFileSync(clouds, 'utf8')}  ci:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: ${server.url}/identity/v3\n` +
        `      application_credential_id: ${cred.id}\n      application_credential_secret: ${cred.secret}\n` +
        `    region_name: RegionOne\n    identity_api_version: 3\n`,
    );
    const token = await openstack('ci', 'token', 'issue', '-f', 'json');
    assert.equal(token.project_id, cred.project_id);
    const net = await openstack('ci', 'network', 'create', 'ci-net', '-f', 'json');
    assert.equal(net.project_id, cred.project_id);
    const listed = await openstack('apps', 'application', 'credential', 'list', '-f', 'json');
    assert.deepEqual(
      listed.map((c: Record<string, unknown>) => c.Name),
      ['ci'],
    );
    await openstack('apps', 'application', 'credential', 'delete', 'ci');
    await assert.rejects(openstack('ci', 'network', 'list', '-f', 'json'), /401|authenticat/i);
  },
);

test(
  'openstack CLI: a group’s role on a project lets its member in; leaving the group kills the member’s token',
  { skip, timeout: 180_000 },
  async () => {
    await openstack('admin', 'project', 'create', 'crew', '-f', 'json');
    await openstack('admin', 'user', 'create', '--password', 'dana-pw', 'dana', '-f', 'json');
    const group = await openstack('admin', 'group', 'create', '--description', 'the crew', 'crew-members', '-f', 'json');
    assert.equal(group.name, 'crew-members');
    await openstack('admin', 'group', 'add', 'user', 'crew-members', 'dana');
    await openstack('admin', 'role', 'add', '--group', 'crew-members', '--project', 'crew', 'member');
    const assignments = await openstack('admin', 'role', 'assignment', 'list', '--project', 'crew', '--names', '-f', 'json');
    assert.deepEqual(
      assignments.map((a: Record<string, string>) => [a.Role, a.Group, a.User]),
      [['member', 'crew-members@Default', '']],
    );
    const members = await openstack('admin', 'group', 'contains', 'user', 'crew-members', 'dana');
    assert.match(members, /dana in group crew-members/);

    const clouds = join(dir, 'clouds.yaml');
    writeFileSync(clouds, `${readFileSync(clouds, 'utf8')}  dana:\n${cloud('dana', 'dana-pw', 'crew')}\n`);
    const token = await openstack('dana', 'token', 'issue', '-f', 'json');
    assert.deepEqual(await openstack('dana', 'network', 'list', '-f', 'json'), []);
    // The same token, used as it is.
    writeFileSync(
      clouds,
      `${readFileSync(clouds, 'utf8')}  dana-token:\n    auth_type: v3token\n    auth:\n      auth_url: ${server.url}/identity/v3\n` +
        `      token: ${token.id}\n      project_name: crew\n      project_domain_name: Default\n` +
        `    region_name: RegionOne\n    identity_api_version: 3\n`,
    );
    assert.deepEqual(await openstack('dana-token', 'network', 'list', '-f', 'json'), []);

    await openstack('admin', 'group', 'remove', 'user', 'crew-members', 'dana');
    await assert.rejects(openstack('dana-token', 'network', 'list', '-f', 'json'), /401|authenticat/i);
    await assert.rejects(openstack('dana', 'network', 'list', '-f', 'json'), /401|authenticat/i);
  },
);
