// Floating IP port forwardings through Debian's real `openstack` CLI: create, list (with its
// filters), show, set, delete, and the CLI's one-line failure on a refused forwarding.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, ADMIN_PASSWORD, type TestServer } from '../helpers/server.ts';
import { haveOpenstack, openstackCli } from '../helpers/openstack.ts';
import type { Wire } from '../helpers/client.ts';

let srv: TestServer;
let cli: ReturnType<typeof openstackCli>;

const skip = haveOpenstack() ? false : 'Debian python3-openstackclient is not installed (scripts/install-deps.sh installs it)';

before(async () => {
  srv = await startTestServer();
  cli = openstackCli(srv.url, [{ name: 'admin', username: 'admin', password: ADMIN_PASSWORD, project: 'admin' }]);
});
after(async () => {
  cli?.cleanup();
  await srv?.close();
});

const admin = (...a: string[]): Promise<Wire> => cli.json('admin', a);
const run = (...a: string[]) => cli.run('admin', a);

test('floating ip port forwarding create/list/show/set/delete', { skip, timeout: 300_000 }, async () => {
  await admin('network', 'create', '--external', '--provider-network-type', 'flat', '--provider-physical-network', 'provider', 'pub');
  await admin('subnet', 'create', '--network', 'pub', '--subnet-range', '10.98.0.0/24', 'pub-sub');
  await admin('network', 'create', 'priv');
  await admin('subnet', 'create', '--network', 'priv', '--subnet-range', '172.16.8.0/24', 'priv-sub');
  await admin('router', 'create', '--external-gateway', 'pub', 'r');
  await run('router', 'add', 'subnet', 'r', 'priv-sub');
  const port = await admin('port', 'create', '--network', 'priv', '--fixed-ip', 'ip-address=172.16.8.10', 'vm-port');
  const fip = await admin('floating', 'ip', 'create', 'pub');

  const ssh = await admin(
    ...['floating', 'ip', 'port', 'forwarding', 'create', '--internal-ip-address', '172.16.8.10', '--port', 'vm-port'],
    ...['--internal-protocol-port', '22', '--external-protocol-port', '2222', '--protocol', 'tcp', '--description', 'ssh', fip.id],
  );
  assert.equal(ssh.external_port, 2222);
  assert.equal(ssh.internal_port, 22);
  assert.equal(ssh.internal_port_id, port.id);
  assert.equal(ssh.internal_ip_address, '172.16.8.10');
  assert.equal(ssh.protocol, 'tcp');
  assert.equal(ssh.description, 'ssh');
  await admin(
    ...['floating', 'ip', 'port', 'forwarding', 'create', '--internal-ip-address', '172.16.8.10', '--port', port.id],
    ...['--internal-protocol-port', '53', '--external-protocol-port', '53', '--protocol', 'udp', fip.floating_ip_address],
  );

  const rows = (await admin('floating', 'ip', 'port', 'forwarding', 'list', fip.id)) as Array<Record<string, unknown>>;
  assert.deepEqual(rows.map((r) => `${r['Protocol']} ${r['External Port']}→${r['Internal IP Address']}:${r['Internal Port']}`).sort(), [
    'tcp 2222→172.16.8.10:22',
    'udp 53→172.16.8.10:53',
  ]);
  const tcp = (await admin('floating', 'ip', 'port', 'forwarding', 'list', '--protocol', 'tcp', fip.id)) as Array<Record<string, unknown>>;
  assert.deepEqual(
    tcp.map((r) => r['ID']),
    [ssh.id],
  );
  // The floating IP now serves the router, associated with no port.
  const shown = await admin('floating', 'ip', 'show', fip.id);
  assert.equal(shown.port_id, null);
  assert.ok(shown.router_id);

  await run('floating', 'ip', 'port', 'forwarding', 'set', '--external-protocol-port', '2200', fip.id, ssh.id);
  assert.equal((await admin('floating', 'ip', 'port', 'forwarding', 'show', fip.id, ssh.id)).external_port, 2200);

  // A refused forwarding: the CLI fails with the server's reason.
  await assert.rejects(
    run(
      ...['floating', 'ip', 'port', 'forwarding', 'create', '--internal-ip-address', '172.16.8.99', '--port', 'vm-port'],
      ...['--internal-protocol-port', '80', '--external-protocol-port', '8080', '--protocol', 'tcp', fip.id],
    ),
    /Requested internal IP address 172\.16\.8\.99 is not suitable/,
  );
  // The floating IP is in use: not deletable while forwardings remain.
  await assert.rejects(run('floating', 'ip', 'delete', fip.id), /in use by Port Forwarding resources/);

  for (const r of rows) await run('floating', 'ip', 'port', 'forwarding', 'delete', fip.id, String(r['ID']));
  assert.deepEqual(await admin('floating', 'ip', 'port', 'forwarding', 'list', fip.id), []);
  await run('floating', 'ip', 'delete', fip.id);
});
