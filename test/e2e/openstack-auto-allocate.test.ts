// Auto-allocated topology and subnet service types through Debian's real `openstack` CLI: the default
// external network (`network create --external --default`), `network auto allocated topology create
// [--check-resources]` failing as Neutron does and then building the project's network, subnets and
// router, `… delete`; `subnet create/set/unset --service-type` and ports placed by their device owner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliSuite } from '../helpers/cli-suite.ts';
import { CliError } from '../helpers/openstack.ts';
import type { Wire } from '../helpers/client.ts';

const suite = cliSuite();
const skip = suite.skip;

const admin = (...a: string[]): Promise<Wire> => suite.cli.json('admin', a);
const run = (...a: string[]) => suite.cli.run('admin', a);

/** The CLI's failure: a non-zero exit whose message names the reason. */
async function fails(args: string[], reason: RegExp): Promise<void> {
  await assert.rejects(run(...args), (e: unknown) => e instanceof CliError && e.code !== 0 && reason.test(e.stderr));
}

const topo = ['network', 'auto', 'allocated', 'topology'];
let publicId: string;

test(
  'auto allocated topology: without default subnet pools the check and the create fail as Neutron',
  { skip, timeout: 300_000 },
  async () => {
    const ext = await admin('network', 'create', '--external', '--default', 'public');
    assert.equal(ext['router:external'], true);
    assert.equal(ext.is_default, true);
    publicId = ext.id;
    await admin('subnet', 'create', '--network', 'public', '--subnet-range', '172.24.4.0/24', 'public-v4');

    await fails([...topo, 'create', '--check-resources'], /Deployment error: No default subnetpools defined/);
    await fails([...topo, 'create'], /Deployment error: Unable to provide project private network/);
  },
);

test('auto allocated topology: check, create (idempotent), delete; no default external network', { skip, timeout: 300_000 }, async () => {
  await admin(
    'subnet',
    'pool',
    'create',
    '--default',
    '--share',
    '--pool-prefix',
    '10.90.0.0/16',
    '--default-prefix-length',
    '24',
    'v4-default',
  );
  const check = await admin(...topo, 'create', '--check-resources');
  assert.ok('dry_run' in check, JSON.stringify(check));

  const created = await admin(...topo, 'create');
  assert.equal(created.id.length, 36, JSON.stringify(created));
  const net = await admin('network', 'show', created.id);
  assert.equal(net.name, 'auto_allocated_network');
  assert.equal(net.admin_state_up, true);
  const router = await admin('router', 'show', 'auto_allocated_router');
  assert.equal(router.external_gateway_info.network_id, publicId);
  assert.equal((await admin(...topo, 'create')).id, created.id);

  await run(...topo, 'delete');
  await fails(['network', 'show', created.id], /No Network found/);

  // No longer the default: the check fails on the external network.
  await run('network', 'set', '--no-default', 'public');
  await fails([...topo, 'create', '--check-resources'], /Deployment error: No default router:external network/);
});

test('subnet service types: set, unset, validated; ports take addresses by device owner', { skip, timeout: 300_000 }, async () => {
  await admin('network', 'create', 'svc-net');
  const typed = await admin(
    'subnet',
    'create',
    '--network',
    'svc-net',
    '--subnet-range',
    '10.91.0.0/24',
    '--service-type',
    'compute:nova',
    '--service-type',
    'network:dhcp',
    'svc-typed',
  );
  assert.deepEqual(typed.service_types, ['compute:nova', 'network:dhcp']);
  await fails(
    ['subnet', 'create', '--network', 'svc-net', '--subnet-range', '10.92.0.0/24', '--service-type', 'foo', 'bad'],
    /Subnet service type foo does not correspond to a valid device owner/,
  );
  await fails(['port', 'create', '--network', 'svc-net', 'plain-port'], /No valid service subnet for the given device owner/);
  const vm = await admin('port', 'create', '--network', 'svc-net', '--device-owner', 'compute:nova', 'vm-port');
  assert.equal(vm.fixed_ips[0].subnet_id, typed.id);

  await run('subnet', 'unset', '--service-type', 'network:dhcp', 'svc-typed');
  await run('subnet', 'set', '--service-type', 'network:router_interface', 'svc-typed');
  // The CLI sends the set it computed, in no particular order.
  assert.deepEqual((await admin('subnet', 'show', 'svc-typed')).service_types.sort(), ['compute:nova', 'network:router_interface']);

  const plain = await admin('subnet', 'create', '--network', 'svc-net', '--subnet-range', '10.93.0.0/24', 'svc-plain');
  assert.deepEqual(plain.service_types, []);
  const other = await admin('port', 'create', '--network', 'svc-net', 'plain-port');
  assert.equal(other.fixed_ips[0].subnet_id, plain.id);
});
