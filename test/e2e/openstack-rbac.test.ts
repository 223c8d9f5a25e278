// RBAC policies through Debian's real `openstack` CLI: a project shares its network with a second
// project (`network rbac create`), lists, shows and deletes the policy; the second project sees the
// network and puts a port on it, and the delete is refused while that port is there.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, ADMIN_PASSWORD, type TestServer } from '../helpers/server.js';
import { CliError, haveOpenstack, openstackCli } from '../helpers/openstack.js';
import type { Wire } from '../helpers/client.js';

let srv: TestServer;
let cli: ReturnType<typeof openstackCli>;

const skip = haveOpenstack() ? false : 'Debian python3-openstackclient is not installed (scripts/install-deps.sh installs it)';

before(async () => {
  srv = await startTestServer();
  cli = openstackCli(srv.url, [
    { name: 'admin', username: 'admin', password: ADMIN_PASSWORD, project: 'admin' },
    { name: 'demo', username: 'demo', password: 'demo-pw', project: 'demo' },
    { name: 'other', username: 'other', password: 'other-pw', project: 'other' },
  ]);
});
after(async () => {
  cli?.cleanup();
  await srv?.close();
});

const admin = (...a: string[]): Promise<Wire> => cli.json('admin', a);
const demo = (...a: string[]): Promise<Wire> => cli.json('demo', a);
const other = (...a: string[]): Promise<Wire> => cli.json('other', a);

async function refused(cloud: string, args: string[], pattern: RegExp) {
  await assert.rejects(cli.run(cloud, args), (e: CliError) => {
    assert.ok(e instanceof CliError);
    assert.match(e.stderr, pattern);
    return true;
  });
}

test('network rbac create/list/show/delete: the second project uses the shared network', { skip, timeout: 300_000 }, async () => {
  const ids: Record<string, string> = {};
  for (const name of ['demo', 'other']) {
    ids[name] = (await admin('project', 'create', '--domain', 'default', name)).id;
    await admin('user', 'create', '--domain', 'default', '--project', name, '--password', `${name}-pw`, name);
    await cli.run('admin', ['role', 'add', '--project', name, '--user', name, 'member']);
  }
  const net = await demo('network', 'create', 'demo-net');
  await demo('subnet', 'create', '--network', 'demo-net', '--subnet-range', '10.77.0.0/24', 'demo-sub');
  await refused('other', ['network', 'show', net.id], /No Network found/);

  const policy = await demo(
    'network',
    'rbac',
    'create',
    '--target-project',
    ids.other,
    '--action',
    'access_as_shared',
    '--type',
    'network',
    'demo-net',
  );
  assert.equal(policy.object_id, net.id);
  assert.equal(policy.object_type, 'network');
  assert.equal(policy.action, 'access_as_shared');
  assert.equal(policy.target_project_id, ids.other);
  assert.equal(policy.project_id, ids.demo);

  const listed = await demo('network', 'rbac', 'list', '--long');
  assert.deepEqual(
    listed.map((r: Wire) => [r.ID, r['Object Type'], r['Object ID'], r.Action]),
    [[policy.id, 'network', net.id, 'access_as_shared']],
  );
  assert.deepEqual(await demo('network', 'rbac', 'list', '--type', 'security_group'), []);
  assert.equal((await demo('network', 'rbac', 'list', '--action', 'access_as_shared')).length, 1);
  const shown = await demo('network', 'rbac', 'show', policy.id);
  assert.deepEqual(shown, policy);
  // The target project sees the network as shared, not the policy.
  assert.equal((await other('network', 'show', 'demo-net')).shared, true);
  assert.deepEqual(await other('network', 'rbac', 'list'), []);
  await refused('other', ['network', 'rbac', 'show', policy.id], /No RBACPolicy found for /);

  const port = await other('port', 'create', '--network', 'demo-net', 'other-port');
  assert.equal(port.network_id, net.id);
  assert.equal(port.project_id, ids.other);
  await refused('other', ['subnet', 'create', '--network', 'demo-net', '--subnet-range', '10.78.0.0/24', 'x'], /disallowed by policy/);
  await refused('demo', ['network', 'rbac', 'delete', policy.id], /cannot be removed because other objects depend on it/);

  await cli.run('other', ['port', 'delete', 'other-port']);
  await cli.run('demo', ['network', 'rbac', 'delete', policy.id]);
  assert.deepEqual(await demo('network', 'rbac', 'list'), []);
  await refused('other', ['network', 'show', net.id], /No Network found/);
});
