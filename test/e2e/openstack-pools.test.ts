// Subnet pools, address scopes and IP availability through Debian's real `openstack` CLI: address scope
// create, subnet pool create with prefixes in a scope, subnet create from the pool by prefix length,
// subnet pool set --pool-prefix (add_prefixes), subnet pool tags, ip availability list/show.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliSuite } from '../helpers/cli-suite.ts';
import { CliError } from '../helpers/openstack.ts';
import type { Wire } from '../helpers/client.ts';

const suite = cliSuite();
const skip = suite.skip;

const admin = (...a: string[]): Promise<Wire> => suite.cli.json('admin', a);
const run = (...a: string[]) => suite.cli.run('admin', a);

test(
  'address scope, subnet pool in it, subnets by prefix length, pool prefixes added, IP availability',
  { skip, timeout: 300_000 },
  async () => {
    const scope = await admin('address', 'scope', 'create', '--ip-version', '4', 'scope-a');
    assert.equal(scope.ip_version, 4);
    assert.equal(scope.shared, false);

    const pool = await admin(
      'subnet',
      'pool',
      'create',
      '--pool-prefix',
      '10.88.0.0/24',
      '--pool-prefix',
      '10.88.1.0/24',
      '--default-prefix-length',
      '26',
      '--address-scope',
      'scope-a',
      '--tag',
      'blue',
      'pool-a',
    );
    assert.deepEqual(pool.prefixes, ['10.88.0.0/23']);
    assert.equal(pool.address_scope_id, scope.id);
    assert.deepEqual(pool.tags, ['blue']);

    await admin('network', 'create', 'pool-net');
    const a = await admin('subnet', 'create', '--network', 'pool-net', '--subnet-pool', 'pool-a', '--prefix-length', '26', 'sub-a');
    assert.equal(a.cidr, '10.88.0.0/26');
    assert.equal(a.subnetpool_id, pool.id);
    const b = await admin('subnet', 'create', '--network', 'pool-net', '--subnet-pool', 'pool-a', '--prefix-length', '26', 'sub-b');
    assert.equal(b.cidr, '10.88.0.64/26');
    assert.equal((await admin('network', 'show', 'pool-net')).ipv4_address_scope, scope.id);

    await run('subnet', 'pool', 'set', '--pool-prefix', '10.89.0.0/24', 'pool-a');
    assert.deepEqual((await admin('subnet', 'pool', 'show', 'pool-a')).prefixes, ['10.88.0.0/23', '10.89.0.0/24']);
    const listed = await admin('subnet', 'pool', 'list', '--long', '--tags', 'blue');
    assert.deepEqual(
      listed.map((r: { Name: string }) => r.Name),
      ['pool-a'],
    );

    // A prefix length outside the pool's bounds is refused with Neutron's reason.
    await assert.rejects(
      run('subnet', 'create', '--network', 'pool-net', '--subnet-pool', 'pool-a', '--prefix-length', '4', 'sub-bad'),
      (e: unknown) => e instanceof CliError && /minimum allowed prefix is 8/.test(e.stderr),
    );

    const avail = await admin('ip', 'availability', 'list');
    const row = avail.find((r: { 'Network Name': string }) => r['Network Name'] === 'pool-net');
    assert.ok(row, JSON.stringify(avail));
    assert.equal(row['Total IPs'], 122);
    assert.equal(row['Used IPs'], 0);
    const shown = await admin('ip', 'availability', 'show', 'pool-net');
    assert.equal(shown.network_name, 'pool-net');
    assert.equal(shown.total_ips, 122);
    const cidrs = shown.subnet_ip_availability.map((s: Wire) => s.cidr).sort();
    assert.deepEqual(cidrs, ['10.88.0.0/26', '10.88.0.64/26']);
  },
);
