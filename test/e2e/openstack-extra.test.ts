// Extra routes, extra DHCP options and stateless groups through Debian's real `openstack` CLI:
// `router add route` / `router remove route` (extraroute-atomic), `router set --route` / `--no-route`
// (the routes attribute), a refused next hop, `port create/set --extra-dhcp-option`, and
// `security group create --stateless` with the mixing refusal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliSuite } from '../helpers/cli-suite.ts';
import type { Wire } from '../helpers/client.ts';

const suite = cliSuite();
const skip = suite.skip;

const admin = (...a: string[]): Promise<Wire> => suite.cli.json('admin', a);
const run = (...a: string[]) => suite.cli.run('admin', a);
const routesOf = async (router: string) =>
  ((await admin('router', 'show', router)).routes as Array<{ destination: string; nexthop: string }>)
    .map((r) => `${r.destination} ${r.nexthop}`)
    .sort();

test(
  'router add route / remove route, router set --route / --no-route, a next hop not connected refused',
  { skip, timeout: 300_000 },
  async () => {
    await admin('network', 'create', 'xr-net');
    await admin('subnet', 'create', '--network', 'xr-net', '--subnet-range', '172.16.9.0/24', 'xr-sub');
    await admin('router', 'create', 'xr-router');
    await run('router', 'add', 'subnet', 'xr-router', 'xr-sub');

    await run(
      'router',
      'add',
      'route',
      '--route',
      'destination=10.9.0.0/24,gateway=172.16.9.5',
      '--route',
      'destination=10.8.0.0/16,gateway=172.16.9.6',
      'xr-router',
    );
    assert.deepEqual(await routesOf('xr-router'), ['10.8.0.0/16 172.16.9.6', '10.9.0.0/24 172.16.9.5']);
    await run('router', 'remove', 'route', '--route', 'destination=10.8.0.0/16,gateway=172.16.9.6', 'xr-router');
    assert.deepEqual(await routesOf('xr-router'), ['10.9.0.0/24 172.16.9.5']);

    const refused = await suite.cli
      .run('admin', ['router', 'add', 'route', '--route', 'destination=10.7.0.0/16,gateway=192.168.77.1', 'xr-router'])
      .then(
        () => null,
        (e: Error) => e.message,
      );
    assert.match(refused ?? 'accepted', /the nexthop is not connected with router/);
    assert.deepEqual(await routesOf('xr-router'), ['10.9.0.0/24 172.16.9.5']);

    // A route's next hop keeps its interface.
    const inUse = await suite.cli.run('admin', ['router', 'remove', 'subnet', 'xr-router', 'xr-sub']).then(
      () => null,
      (e: Error) => e.message,
    );
    assert.match(inUse ?? 'removed', /required by one or more routes/);

    await run('router', 'set', '--route', 'destination=10.6.0.0/24,gateway=172.16.9.7', 'xr-router');
    assert.deepEqual(await routesOf('xr-router'), ['10.6.0.0/24 172.16.9.7', '10.9.0.0/24 172.16.9.5']);
    await run('router', 'set', '--no-route', 'xr-router');
    assert.deepEqual(await routesOf('xr-router'), []);
    await run('router', 'remove', 'subnet', 'xr-router', 'xr-sub');
  },
);

test('port create / set --extra-dhcp-option: by name and number, IPv4 and IPv6', { skip, timeout: 300_000 }, async () => {
  await admin('network', 'create', 'edo-net');
  await admin('subnet', 'create', '--network', 'edo-net', '--subnet-range', '172.16.8.0/24', 'edo-sub');
  const port = await admin(
    'port',
    'create',
    '--network',
    'edo-net',
    '--extra-dhcp-option',
    'name=domain-search,value=example.com',
    '--extra-dhcp-option',
    'name=26,value=1400,ip-version=4',
    '--extra-dhcp-option',
    'name=dns-server,value=[2001:db8::9],ip-version=6',
    'edo-port',
  );
  const opts = (p: Wire) =>
    (p.extra_dhcp_opts as Array<{ opt_name: string; opt_value: string; ip_version: number }>)
      .map((o) => `${o.opt_name}=${o.opt_value}/${o.ip_version}`)
      .sort();
  assert.deepEqual(opts(port), ['26=1400/4', 'dns-server=[2001:db8::9]/6', 'domain-search=example.com/4']);
  await run('port', 'set', '--extra-dhcp-option', 'name=domain-search,value=example.org', 'edo-port');
  assert.deepEqual(opts(await admin('port', 'show', 'edo-port')), [
    '26=1400/4',
    'dns-server=[2001:db8::9]/6',
    'domain-search=example.org/4',
  ]);
});

test('security group create --stateless; a port with both kinds is refused', { skip, timeout: 300_000 }, async () => {
  const stateless = await admin('security', 'group', 'create', '--stateless', 'sl-group');
  assert.equal(stateless.stateful, false);
  await admin('security', 'group', 'create', 'sf-group');
  await admin('network', 'create', 'sl-net');
  const refused = await suite.cli
    .run('admin', ['port', 'create', '--network', 'sl-net', '--security-group', 'sl-group', '--security-group', 'sf-group', 'sl-port'])
    .then(
      () => null,
      (e: Error) => e.message,
    );
  assert.match(refused ?? 'accepted', /Cannot apply both stateful and stateless security groups/);
  const port = await admin('port', 'create', '--network', 'sl-net', '--security-group', 'sl-group', 'sl-port');
  assert.deepEqual(port.security_group_ids, [stateless.id]);
});
