// The canonical scenario's resources, created, shown, listed, updated and deleted with Debian's real
// `openstack` CLI by two projects; the second project must see none of the first's private resources.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliSuite, member } from '../helpers/cli-suite.ts';
import { CliError } from '../helpers/openstack.ts';
import type { OpenStackRow } from '../helpers/shapes.ts';

const suite = cliSuite({ users: [member('demo'), member('other')] });
const skip = suite.skip;

const admin = (...a: string[]) => suite.cli.json('admin', a);
const demo = (...a: string[]) => suite.cli.json('demo', a);
const other = (...a: string[]) => suite.cli.json('other', a);
const run = (cloud: string, ...a: string[]) => suite.cli.run(cloud, a);

async function refused(cloud: string, args: string[], pattern: RegExp) {
  await assert.rejects(suite.cli.run(cloud, args), (e: CliError) => {
    assert.ok(e instanceof CliError);
    assert.match(e.stderr, pattern);
    return true;
  });
}

test('the canonical scenario through the openstack CLI, with project isolation', { skip, timeout: 300_000 }, async () => {
  for (const name of ['demo', 'other']) {
    await admin('project', 'create', '--domain', 'default', name);
    await admin('user', 'create', '--domain', 'default', '--project', name, '--password', `${name}-pw`, name);
    await run('admin', 'role', 'add', '--project', name, '--user', name, 'member');
  }

  // Provider network: flat, external, 10.123.123.0/24 (admin).
  const provider = await admin(
    'network',
    'create',
    '--external',
    '--provider-network-type',
    'flat',
    '--provider-physical-network',
    'provider',
    'provider',
  );
  assert.equal(provider['provider:network_type'], 'flat');
  assert.equal(provider['router:external'], true);
  const providerSubnet = await admin(
    'subnet',
    'create',
    '--network',
    'provider',
    '--subnet-range',
    '10.123.123.0/24',
    '--gateway',
    '10.123.123.1',
    '--allocation-pool',
    'start=10.123.123.100,end=10.123.123.200',
    '--dns-nameserver',
    '8.8.4.4',
    'provider',
  );
  assert.equal(providerSubnet.cidr, '10.123.123.0/24');

  // Self-service network: VXLAN, 172.16.1.0/24 (demo).
  const selfservice = await demo('network', 'create', 'selfservice');
  assert.equal(selfservice.mtu, 1450);
  const seenByAdmin = await admin('network', 'show', selfservice.id);
  assert.equal(seenByAdmin['provider:network_type'], 'vxlan');
  const subnet = await demo(
    'subnet',
    'create',
    '--network',
    'selfservice',
    '--subnet-range',
    '172.16.1.0/24',
    '--dns-nameserver',
    '8.8.4.4',
    'selfservice',
  );
  assert.equal(subnet.gateway_ip, '172.16.1.1');

  // Router with gateway 10.123.123.102 (an admin-only choice of address) and an interface on selfservice.
  const router = await demo('router', 'create', 'router');
  await run(
    'admin',
    'router',
    'set',
    '--external-gateway',
    'provider',
    '--fixed-ip',
    'subnet=provider,ip-address=10.123.123.102',
    router.id,
  );
  await run('demo', 'router', 'add', 'subnet', 'router', 'selfservice');
  const shownRouter = await demo('router', 'show', 'router');
  const gw = shownRouter.external_gateway_info;
  assert.equal(gw.network_id, provider.id);
  assert.equal(gw.external_fixed_ips[0].ip_address, '10.123.123.102');
  const ifaces = await demo('port', 'list', '--router', 'router', '--long');
  assert.ok(
    ifaces.some((p: OpenStackRow) => JSON.stringify(p).includes('172.16.1.1')),
    JSON.stringify(ifaces),
  );

  // The instance's port at 172.16.1.3, and security group rules for ICMP and SSH.
  const port = await demo(
    'port',
    'create',
    '--network',
    'selfservice',
    '--fixed-ip',
    'subnet=selfservice,ip-address=172.16.1.3',
    'instance-port',
  );
  assert.match(JSON.stringify(port.fixed_ips), /172\.16\.1\.3/);
  const icmp = await demo('security', 'group', 'rule', 'create', '--proto', 'icmp', 'default');
  const ssh = await demo('security', 'group', 'rule', 'create', '--proto', 'tcp', '--dst-port', '22', 'default');
  assert.equal(icmp.protocol, 'icmp');
  assert.equal(ssh.port_range_min, 22);
  await refused('demo', ['security', 'group', 'rule', 'create', '--proto', 'tcp', '--dst-port', '22', 'default'], /already exists/i);

  // Floating IP 10.123.123.104 (an admin-only choice of address) associated to the port by demo.
  const fip = await admin('floating', 'ip', 'create', '--project', 'demo', '--floating-ip-address', '10.123.123.104', 'provider');
  await run('demo', 'floating', 'ip', 'set', '--port', 'instance-port', '10.123.123.104');
  const shownFip = await demo('floating', 'ip', 'show', '10.123.123.104');
  assert.equal(shownFip.fixed_ip_address, '172.16.1.3');
  assert.equal(shownFip.router_id, router.id);
  assert.equal(shownFip.id, fip.id);

  // Lists and updates.
  assert.deepEqual((await demo('network', 'list')).map((n: OpenStackRow) => n.Name).sort(), ['provider', 'selfservice']);
  await run('demo', 'network', 'set', '--description', 'tenant net', 'selfservice');
  assert.equal((await demo('network', 'show', 'selfservice')).description, 'tenant net');
  await run('demo', 'subnet', 'set', '--dns-nameserver', '8.8.8.8', 'selfservice');
  assert.deepEqual([...(await demo('subnet', 'show', 'selfservice')).dns_nameservers].sort(), ['8.8.4.4', '8.8.8.8']);
  await run('demo', 'port', 'set', '--name', 'instance', 'instance-port');
  assert.equal((await demo('port', 'show', port.id)).name, 'instance');
  await run('demo', 'router', 'set', '--description', 'edge', 'router');
  assert.equal((await demo('router', 'show', 'router')).description, 'edge');

  // The second project sees the external network and nothing private of demo's.
  assert.deepEqual(
    (await other('network', 'list')).map((n: OpenStackRow) => n.Name),
    ['provider'],
  );
  assert.deepEqual(await other('port', 'list'), []);
  assert.deepEqual(await other('router', 'list'), []);
  assert.deepEqual(await other('floating', 'ip', 'list'), []);
  const otherGroups = await other('security', 'group', 'list');
  assert.ok(otherGroups.every((g: OpenStackRow) => g.Project !== shownRouter.project_id));
  await refused('other', ['network', 'show', selfservice.id], /No Network found|could not be found|ResourceNotFound/i);
  await refused('other', ['router', 'show', router.id], /No Router found|could not be found|ResourceNotFound/i);
  await refused('other', ['port', 'delete', port.id], /No Port found|could not be found|failed/i);

  // Neutron's checks through the CLI: the interface is in use by the floating IP.
  await refused('demo', ['router', 'remove', 'subnet', 'router', 'selfservice'], /floating IP|InUse/i);

  // Tear down in order.
  await run('demo', 'floating', 'ip', 'unset', '--port', '10.123.123.104');
  assert.equal((await demo('floating', 'ip', 'show', '10.123.123.104')).port_id, null);
  await run('demo', 'floating', 'ip', 'delete', '10.123.123.104');
  await run('demo', 'port', 'delete', port.id);
  await run('demo', 'router', 'remove', 'subnet', 'router', 'selfservice');
  await run('demo', 'router', 'unset', '--external-gateway', 'router');
  await run('demo', 'router', 'delete', 'router');
  await run('demo', 'security', 'group', 'rule', 'delete', icmp.id, ssh.id);
  await run('demo', 'subnet', 'delete', 'selfservice');
  await run('demo', 'network', 'delete', 'selfservice');
  assert.deepEqual(
    (await demo('network', 'list')).map((n: OpenStackRow) => n.Name),
    ['provider'],
  );
  await run('admin', 'network', 'delete', 'provider');
  assert.deepEqual(await admin('port', 'list'), []);
  await run('admin', 'project', 'delete', 'other');
});
