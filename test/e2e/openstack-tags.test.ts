// Tags through Debian's real `openstack` CLI: --tag on create and set, unset --tag/--all-tag, and the
// list filters --tags/--any-tags/--not-tags/--not-any-tags, on every taggable resource.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliSuite } from '../helpers/cli-suite.ts';
import type { Wire } from '../helpers/client.ts';

const suite = cliSuite();
const skip = suite.skip;

const admin = (...a: string[]): Promise<Wire> => suite.cli.json('admin', a);
const run = (...a: string[]) => suite.cli.run('admin', a);
const names = (rows: Array<{ Name: string }>) => rows.map((r) => r.Name).sort();

test(
  'networks: create --tag, set --tag, unset --tag, list --tags/--any-tags/--not-tags/--not-any-tags',
  { skip, timeout: 300_000 },
  async () => {
    const ab = await admin('network', 'create', '--tag', 'b', '--tag', 'a', 'tag-ab');
    assert.deepEqual(ab.tags, ['a', 'b']);
    await admin('network', 'create', '--tag', 'a', 'tag-a');
    await admin('network', 'create', '--no-tag', 'tag-none');
    await run('network', 'set', '--tag', 'c', 'tag-none');
    assert.deepEqual((await admin('network', 'show', 'tag-none')).tags, ['c']);
    await run('network', 'set', '--no-tag', '--tag', 'd', 'tag-none');
    assert.deepEqual((await admin('network', 'show', 'tag-none')).tags, ['d']);

    assert.deepEqual(names(await admin('network', 'list', '--tags', 'a,b')), ['tag-ab']);
    assert.deepEqual(names(await admin('network', 'list', '--tags', 'a')), ['tag-a', 'tag-ab']);
    assert.deepEqual(names(await admin('network', 'list', '--any-tags', 'b,d')), ['tag-ab', 'tag-none']);
    assert.deepEqual(names(await admin('network', 'list', '--not-tags', 'a,b')), ['tag-a', 'tag-none']);
    assert.deepEqual(names(await admin('network', 'list', '--not-any-tags', 'a')), ['tag-none']);
    const long = await admin('network', 'list', '--long', '--tags', 'a,b');
    assert.deepEqual(long[0].Tags, ['a', 'b']);

    await run('network', 'unset', '--tag', 'b', 'tag-ab');
    assert.deepEqual((await admin('network', 'show', 'tag-ab')).tags, ['a']);
    await run('network', 'unset', '--all-tag', 'tag-ab');
    assert.deepEqual((await admin('network', 'show', 'tag-ab')).tags, []);
  },
);

test('subnets, ports, routers, security groups and floating IPs take tags too', { skip, timeout: 300_000 }, async () => {
  await admin('network', 'create', '--external', '--provider-network-type', 'flat', '--provider-physical-network', 'provider', 'pub');
  await admin('subnet', 'create', '--network', 'pub', '--subnet-range', '10.97.0.0/24', '--tag', 's1', 'pub-sub');
  await admin('network', 'create', 'priv');
  // Ports take their tags in the create body (tag-ports-during-bulk-creation).
  await admin('port', 'create', '--network', 'priv', '--tag', 'p1', '--tag', 'p2', 'port1');
  await admin('router', 'create', '--tag', 'r1', 'router1');
  await admin('security', 'group', 'create', '--tag', 'g1', 'group1');
  const fip = await admin('floating', 'ip', 'create', '--tag', 'f1', 'pub');

  assert.deepEqual((await admin('subnet', 'show', 'pub-sub')).tags, ['s1']);
  assert.deepEqual((await admin('port', 'show', 'port1')).tags, ['p1', 'p2']);
  assert.deepEqual((await admin('router', 'show', 'router1')).tags, ['r1']);
  assert.deepEqual((await admin('security', 'group', 'show', 'group1')).tags, ['g1']);
  assert.deepEqual((await admin('floating', 'ip', 'show', fip.id)).tags, ['f1']);

  assert.deepEqual(names(await admin('subnet', 'list', '--tags', 's1')), ['pub-sub']);
  assert.deepEqual(names(await admin('port', 'list', '--any-tags', 'p2,x')), ['port1']);
  assert.deepEqual(names(await admin('router', 'list', '--tags', 'r1')), ['router1']);
  assert.deepEqual(names(await admin('security', 'group', 'list', '--tags', 'g1')), ['group1']);
  assert.deepEqual(
    (await admin('floating', 'ip', 'list', '--tags', 'f1')).map((r: { ID: string }) => r.ID),
    [fip.id],
  );
  assert.deepEqual(names(await admin('router', 'list', '--not-tags', 'r1')), []);

  await run('port', 'set', '--tag', 'p3', 'port1');
  await run('port', 'unset', '--tag', 'p1', 'port1');
  assert.deepEqual((await admin('port', 'show', 'port1')).tags, ['p2', 'p3']);
  await run('router', 'set', '--no-tag', '--tag', 'r2', 'router1');
  assert.deepEqual((await admin('router', 'show', 'router1')).tags, ['r2']);
  await run('security', 'group', 'unset', '--tag', 'g1', 'group1');
  assert.deepEqual((await admin('security', 'group', 'show', 'group1')).tags, []);
  await run('floating', 'ip', 'set', '--tag', 'f2', fip.id);
  assert.deepEqual((await admin('floating', 'ip', 'show', fip.id)).tags, ['f1', 'f2']);
  await run('subnet', 'unset', '--all-tag', 'pub-sub');
  assert.deepEqual((await admin('subnet', 'show', 'pub-sub')).tags, []);
});
