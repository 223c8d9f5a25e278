// Service providers, flavors, router flavors and address groups through Debian's real `openstack`
// CLI: network service provider list, network flavor (profile) create/list/add profile, router
// create with a flavor_id (--extra-property), address group create/set/unset/show/delete.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliSuite } from '../helpers/cli-suite.ts';
import type { Wire } from '../helpers/client.ts';

const suite = cliSuite();
const skip = suite.skip;
const SINGLE_NODE = 'neutron.services.l3_router.service_providers.single_node.SingleNodeDriver';

const admin = (...a: string[]): Promise<Wire> => suite.cli.json('admin', a);
const run = (...a: string[]) => suite.cli.run('admin', a);

test('service providers, flavors with a profile, and a router of that flavor', { skip, timeout: 300_000 }, async () => {
  const providers = await admin('network', 'service', 'provider', 'list');
  assert.deepEqual(providers, [{ 'Service Type': 'L3_ROUTER_NAT', Name: 'single_node', Default: true }]);

  const gold = await admin('network', 'flavor', 'create', '--service-type', 'L3_ROUTER_NAT', '--description', 'fast', 'gold');
  assert.equal(gold.name, 'gold');
  assert.equal(gold.service_type, 'L3_ROUTER_NAT');
  const profile = await admin('network', 'flavor', 'profile', 'create', '--driver', SINGLE_NODE);
  assert.equal(profile.driver, SINGLE_NODE);
  await run('network', 'flavor', 'add', 'profile', 'gold', profile.id);
  const shown = await admin('network', 'flavor', 'show', 'gold');
  assert.deepEqual(shown.service_profile_ids ?? shown.service_profiles, [profile.id]);
  const listed = await admin('network', 'flavor', 'list');
  assert.deepEqual(
    listed.map((f: { Name: string }) => f.Name),
    ['gold'],
  );

  const router = await admin('router', 'create', '--extra-property', `type=str,name=flavor_id,value=${gold.id}`, 'flavored');
  assert.equal(router.flavor_id, gold.id);

  await assert.rejects(run('network', 'flavor', 'delete', 'gold'), /in use|used by some service instance/, 'a flavor a router uses stays');
  await run('router', 'delete', 'flavored');
  await run('network', 'flavor', 'remove', 'profile', 'gold', profile.id);
  await run('network', 'flavor', 'delete', 'gold');
  await run('network', 'flavor', 'profile', 'delete', profile.id);
  assert.deepEqual(await admin('network', 'flavor', 'list'), []);
});

test('address groups: create with addresses, set and unset addresses, delete', { skip, timeout: 300_000 }, async () => {
  const ag = await admin('address', 'group', 'create', '--address', '10.0.0.0/24', '--address', '192.0.2.1', 'web');
  assert.deepEqual(ag.addresses, ['10.0.0.0/24', '192.0.2.1/32']);
  await run('address', 'group', 'set', '--address', '198.51.100.0/24', '--name', 'www', 'web');
  assert.deepEqual((await admin('address', 'group', 'show', 'www')).addresses, ['10.0.0.0/24', '192.0.2.1/32', '198.51.100.0/24']);
  await run('address', 'group', 'unset', '--address', '10.0.0.0/24', 'www');
  assert.deepEqual((await admin('address', 'group', 'show', 'www')).addresses, ['192.0.2.1/32', '198.51.100.0/24']);
  assert.deepEqual(
    (await admin('address', 'group', 'list')).map((g: { Name: string }) => g.Name),
    ['www'],
  );
  await run('address', 'group', 'delete', 'www');
  assert.deepEqual(await admin('address', 'group', 'list'), []);
});
