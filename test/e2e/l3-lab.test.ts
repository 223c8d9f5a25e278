// The L3 role end to end as root: a lab (controller with the L3 role and the provider NIC eth2 to the
// external host 10.123.123.1, compute1), the provider and self-service networks, a router with a
// gateway and an interface, an instance on compute1: it reaches the external host (SNAT), and the
// external host reaches it through a floating IP until the floating IP is disassociated.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot, neutrino, neutrinoOk } from '../helpers/neutrino-cli.js';
import { haveOpenstack } from '../helpers/openstack.js';
import { eventually, labUpAsAdmin } from '../helpers/lab.js';

const skip = !isRoot() ? 'needs root (network namespaces)' : !haveOpenstack() ? 'needs the openstack CLI' : false;
const lab = `l${process.pid % 100000}`;
const root = mkdtempSync(join(tmpdir(), 'neutrino-l3-lab-'));
const L = ['--lab', lab, '--state-root', root];

let env: NodeJS.ProcessEnv;
let routerId = '';
let vm: any;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const openstack = (...args: string[]) => {
  const out = execFileSync('openstack', [...args, '-f', 'json'], { env, encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : null;
};
const openstackRaw = (...args: string[]) => execFileSync('openstack', args, { env, encoding: 'utf8' });

const fromInstance = async (ip: string) => (await neutrino(['instance', 'exec', ...L, 'vm', '--', 'ping', '-c', '1', '-W', '1', ip])).code === 0;
const fromExternal = async (ip: string) => (await neutrino(['lab', 'exec', ...L, 'external', '--', 'ping', '-c', '1', '-W', '1', ip])).code === 0;

before(async () => {
  if (skip) return;
  env = await labUpAsAdmin(L);
});

after(async () => {
  if (skip) return;
  const down = await neutrino(['lab', 'down', ...L]);
  assert.equal(down.code, 0, down.stderr);
  const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  assert.ok(!left.split('\n').some((l) => l.startsWith(`${lab}-`) || (routerId && l.startsWith(`qrouter-${routerId}`))), `namespaces left: ${left}`);
  rmSync(root, { recursive: true, force: true });
});

test('router with gateway and interface: the instance on compute1 reaches the external host', { skip, timeout: 240_000 }, async () => {
  openstack('network', 'create', '--external', '--provider-network-type', 'flat', '--provider-physical-network', 'provider', 'provider');
  openstack(
    'subnet', 'create', '--network', 'provider', '--subnet-range', '10.123.123.0/24', '--gateway', '10.123.123.1',
    '--allocation-pool', 'start=10.123.123.100,end=10.123.123.200', '--no-dhcp', 'provider',
  );
  openstack('network', 'create', '--project', 'demo', 'selfservice');
  openstack('subnet', 'create', '--project', 'demo', '--network', 'selfservice', '--subnet-range', '172.16.1.0/24', 'selfservice');
  const router = openstack('router', 'create', '--project', 'demo', 'router');
  routerId = router.id;
  openstackRaw('router', 'set', '--external-gateway', 'provider', 'router');
  openstackRaw('router', 'add', 'subnet', 'router', 'selfservice');
  await neutrinoOk(['instance', 'create', ...L, 'vm', '--network', 'selfservice', '--host', 'compute1'], 60_000);
  vm = (JSON.parse(await neutrinoOk(['instance', 'list', ...L, '--json'])) as any[]).find((i) => i.name === 'vm');
  await eventually('the instance pings the external host', () => fromInstance('10.123.123.1'));

  // The router's namespace on the controller, with Neutron's devices and chains.
  const ports = openstack('port', 'list', '--device-id', routerId, '--long') as any[];
  assert.equal(ports.length, 2);
  const gw = ports.find((p) => p['Device Owner'] === 'network:router_gateway');
  const intf = ports.find((p) => p['Device Owner'] === 'network:router_interface');
  const ns = `qrouter-${routerId}`;
  const devs = execFileSync('ip', ['-n', ns, '-o', 'link', 'show'], { encoding: 'utf8' });
  assert.match(devs, new RegExp(`qg-${gw.ID.slice(0, 11)}`));
  assert.match(devs, new RegExp(`qr-${intf.ID.slice(0, 11)}`));
  const nat = execFileSync('ip', ['netns', 'exec', ns, 'iptables', '-t', 'nat', '-S'], { encoding: 'utf8' });
  assert.match(nat, new RegExp(`-A neutron-l3-agent-snat -o qg-${gw.ID.slice(0, 11)} -j SNAT --to-source 10\\.123\\.123\\.\\d+`));
  await eventually('router ports ACTIVE', async () => (openstack('port', 'list', '--device-id', routerId, '--long') as any[]).every((p) => p.Status === 'ACTIVE'));
});

test('a floating IP makes the instance reachable from the external host; disassociating stops it', { skip, timeout: 120_000 }, async () => {
  // Allow ICMP to the instance (its default security group).
  const groups = openstack('security', 'group', 'list', '--project', 'demo') as any[];
  const def = groups.find((g) => g.Name === 'default');
  if (def) openstackRaw('security', 'group', 'rule', 'create', '--ingress', '--protocol', 'icmp', def.ID);
  const fip = openstack('floating', 'ip', 'create', '--project', 'demo', '--floating-ip-address', '10.123.123.104', 'provider');
  assert.equal(await fromExternal('10.123.123.104'), false, 'not reachable before association');
  openstackRaw('floating', 'ip', 'set', '--port', vm.port_id, fip.id);
  await eventually('the external host pings the floating IP', () => fromExternal('10.123.123.104'));
  const nat = execFileSync('ip', ['netns', 'exec', `qrouter-${routerId}`, 'iptables', '-t', 'nat', '-S'], { encoding: 'utf8' });
  assert.match(nat, new RegExp(`-A neutron-l3-agent-PREROUTING -d 10\\.123\\.123\\.104/32 -j DNAT --to-destination ${vm.ip.replace(/\./g, '\\.')}`));
  await eventually('floating IP ACTIVE', async () => openstack('floating', 'ip', 'show', fip.id).status === 'ACTIVE');
  openstackRaw('floating', 'ip', 'unset', '--port', fip.id);
  await eventually('traffic to the floating IP stops', async () => !(await fromExternal('10.123.123.104')));
  await eventually('floating IP DOWN', async () => openstack('floating', 'ip', 'show', fip.id).status === 'DOWN');
  assert.ok(await fromInstance('10.123.123.1'), 'SNAT still works');
});
