// RBAC policies through Debian's real `openstack` CLI: a project shares its network with a second
// project (`network rbac create`), lists, shows and deletes the policy; the second project sees the
// network and puts a port on it, and the delete is refused while that port is there. Then the same
// for an address scope, a subnet pool in it and an address group (`--type address_scope|subnetpool|
// address_group`): the second project allocates a subnet from the pool and puts a pool of its own in
// the scope, which holds those policies, and sees the group without being able to change it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliSuite, member } from '../helpers/cli-suite.ts';
import { CliError } from '../helpers/openstack.ts';
import { api, issueToken, type Wire } from '../helpers/client.ts';
import { created } from '../helpers/networking.ts';

const suite = cliSuite({ users: [member('demo'), member('other')] });
const skip = suite.skip;

const admin = (...a: string[]): Promise<Wire> => suite.cli.json('admin', a);
const demo = (...a: string[]): Promise<Wire> => suite.cli.json('demo', a);
const other = (...a: string[]): Promise<Wire> => suite.cli.json('other', a);

async function refused(cloud: string, args: string[], pattern: RegExp) {
  await assert.rejects(suite.cli.run(cloud, args), (e: CliError) => {
    assert.ok(e instanceof CliError);
    assert.match(e.stderr, pattern);
    return true;
  });
}

/** The projects demo and other, each with its member user of the same name, made once; their ids. */
let projectIds: Promise<Record<string, string>> | undefined;
function projects(): Promise<Record<string, string>> {
  projectIds ??= (async () => {
    const ids: Record<string, string> = {};
    for (const name of ['demo', 'other']) {
      ids[name] = (await admin('project', 'create', '--domain', 'default', name)).id;
      await admin('user', 'create', '--domain', 'default', '--project', name, '--password', `${name}-pw`, name);
      await suite.cli.run('admin', ['role', 'add', '--project', name, '--user', name, 'member']);
    }
    return ids;
  })();
  return projectIds;
}

const rbacCreate = (type: string, target: string, object: string) =>
  demo('network', 'rbac', 'create', '--target-project', target, '--action', 'access_as_shared', '--type', type, object);

test('network rbac create/list/show/delete: the second project uses the shared network', { skip, timeout: 300_000 }, async () => {
  const ids = await projects();
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

  await suite.cli.run('other', ['port', 'delete', 'other-port']);
  await suite.cli.run('demo', ['network', 'rbac', 'delete', policy.id]);
  assert.deepEqual(await demo('network', 'rbac', 'list'), []);
  await refused('other', ['network', 'show', net.id], /No Network found/);
});

test(
  'network rbac create --type address_scope|subnetpool|address_group: the second project uses them',
  { skip, timeout: 600_000 },
  async () => {
    const ids = await projects();
    // What is shared and what uses it is made over HTTP: the CLI calls are the sharing and the using.
    const demoApi = api(suite.srv.url, await issueToken(suite.srv.url, 'demo', 'demo-pw', 'demo'));
    const otherApi = api(suite.srv.url, await issueToken(suite.srv.url, 'other', 'other-pw', 'other'));
    const scope = await created(demoApi.post('/address-scopes', { address_scope: { name: 'demo-scope', ip_version: 4 } }), 'address_scope');
    const pool = await created(
      demoApi.post('/subnetpools', { subnetpool: { name: 'demo-pool', prefixes: ['10.90.0.0/16'], address_scope_id: scope.id } }),
      'subnetpool',
    );
    const group = await created(
      demoApi.post('/address-groups', { address_group: { name: 'demo-group', addresses: ['192.0.2.0/24'] } }),
      'address_group',
    );
    const net = await created(otherApi.post('/networks', { network: { name: 'other-net' } }), 'network');
    // A pool in a scope is shared only with a project its scope is shared with.
    await refused(
      'demo',
      ['network', 'rbac', 'create', '--target-project', ids.other, '--action', 'access_as_shared', '--type', 'subnetpool', pool.id],
      /doesn't have access to associated address scope/,
    );

    const scopePolicy = await rbacCreate('address_scope', ids.other, 'demo-scope');
    const poolPolicy = await rbacCreate('subnetpool', ids.other, 'demo-pool');
    const groupPolicy = await rbacCreate('address_group', ids.other, 'demo-group');
    assert.deepEqual(
      [scopePolicy, poolPolicy, groupPolicy].map((p: Wire) => [p.object_type, p.object_id, p.target_project_id]),
      [
        ['address_scope', scope.id, ids.other],
        ['subnetpool', pool.id, ids.other],
        ['address_group', group.id, ids.other],
      ],
    );
    const listed = await demo('network', 'rbac', 'list', '--type', 'subnetpool');
    assert.deepEqual(
      listed.map((r: Wire) => [r.ID, r['Object Type'], r['Object ID']]),
      [[poolPolicy.id, 'subnetpool', pool.id]],
    );

    // The other project sees them, shared for it, and uses the pool and the scope.
    assert.equal((await other('subnet', 'pool', 'show', pool.id)).shared, true);
    assert.equal((await other('address', 'scope', 'show', scope.id)).shared, true);
    assert.deepEqual((await other('address', 'group', 'show', group.id)).addresses, ['192.0.2.0/24']);
    const subnet = await other('subnet', 'create', '--network', net.id, '--subnet-pool', pool.id, '--prefix-length', '24', 'other-sub');
    assert.equal(subnet.subnetpool_id, pool.id);
    assert.equal(subnet.cidr, '10.90.0.0/24');
    const own = await other('subnet', 'pool', 'create', '--pool-prefix', '10.91.0.0/16', '--address-scope', scope.id, 'other-pool');
    assert.equal(own.address_scope_id, scope.id);
    await refused('other', ['address', 'group', 'set', '--name', 'mine', group.id], /disallowed by policy/);

    // What the other project uses holds the policies; the group's goes.
    await refused('demo', ['network', 'rbac', 'delete', poolPolicy.id], /cannot be removed because other objects depend on it/);
    await refused('demo', ['network', 'rbac', 'delete', scopePolicy.id], /cannot be removed because other objects depend on it/);
    await suite.cli.run('demo', ['network', 'rbac', 'delete', groupPolicy.id]);
    await refused('other', ['address', 'group', 'show', group.id], /No AddressGroup found/);

    assert.equal((await otherApi.del(`/subnets/${subnet.id}`)).status, 204);
    assert.equal((await otherApi.del(`/subnetpools/${own.id}`)).status, 204);
    await suite.cli.run('demo', ['network', 'rbac', 'delete', poolPolicy.id, scopePolicy.id]);
    await refused('other', ['subnet', 'pool', 'show', pool.id], /No SubnetPool found/);
    assert.deepEqual((await demoApi.get('/rbac-policies')).body.rbac_policies, []);
  },
);
