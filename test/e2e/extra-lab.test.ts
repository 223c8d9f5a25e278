// Extra routes, extra DHCP options and stateless groups end to end as root, with real traffic: a lab
// (controller, compute1), a router between two self-service networks, instance `vm` on compute1 and
// instance `hop` on controller holding 192.0.2.1 behind its port (an address pair). `router add
// route 192.0.2.0/24 → hop` puts the route in qrouter- and vm reaches 192.0.2.1 through it; removing
// the route cuts it. A port's extra DHCP option reaches the instance's DHCP client through dnsmasq.
// An instance in a stateless group with ICMP in only answers no ping until an egress rule lets the
// reply out.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot, neutrino, neutrinoOk } from '../helpers/neutrino-cli.ts';
import { haveOpenstack } from '../helpers/openstack.ts';
import { eventually, labUpAsAdmin } from '../helpers/lab.ts';
import type { InstanceJson } from '../helpers/shapes.ts';

const skip = !isRoot() ? 'needs root (network namespaces)' : !haveOpenstack() ? 'needs the openstack CLI' : false;
const lab = `x${process.pid % 100000}`;
const root = mkdtempSync(join(tmpdir(), 'neutrino-extra-lab-'));
const L = ['--lab', lab, '--state-root', root];
const BEHIND = '192.0.2.1';

let env: NodeJS.ProcessEnv;
let routerId = '';
let vm: InstanceJson;
let hop: InstanceJson;

const openstack = (...args: string[]) => {
  const out = execFileSync('openstack', [...args, '-f', 'json'], { env, encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : null;
};
const openstackRaw = (...args: string[]) => execFileSync('openstack', args, { env, encoding: 'utf8' });
const instances = async () => JSON.parse(await neutrinoOk(['instance', 'list', ...L, '--json'])) as InstanceJson[];
const pings = async (from: string, ip: string) =>
  (await neutrino(['instance', 'exec', ...L, from, '--', 'ping', '-c', '1', '-W', '1', ip])).code === 0;
const routerRoutes = () => execFileSync('ip', ['-n', `qrouter-${routerId}`, 'route', 'show'], { encoding: 'utf8' });

before(async () => {
  if (skip) return;
  env = await labUpAsAdmin(L);
  openstack('network', 'create', '--project', 'demo', 'net1');
  openstack('subnet', 'create', '--project', 'demo', '--network', 'net1', '--subnet-range', '172.16.1.0/24', 'sub1');
  openstack('network', 'create', '--project', 'demo', 'net2');
  openstack('subnet', 'create', '--project', 'demo', '--network', 'net2', '--subnet-range', '172.16.2.0/24', 'sub2');
  routerId = openstack('router', 'create', '--project', 'demo', 'router').id;
  openstackRaw('router', 'add', 'subnet', 'router', 'sub1');
  openstackRaw('router', 'add', 'subnet', 'router', 'sub2');
  await neutrinoOk(['instance', 'create', ...L, 'vm', '--network', 'net1', '--host', 'compute1'], 60_000);
  await neutrinoOk(['instance', 'create', ...L, 'hop', '--network', 'net2', '--host', 'controller'], 60_000);
  const all = await instances();
  vm = all.find((i) => i.name === 'vm')!;
  hop = all.find((i) => i.name === 'hop')!;
});

after(async () => {
  if (skip) return;
  const down = await neutrino(['lab', 'down', ...L]);
  assert.equal(down.code, 0, down.stderr);
  rmSync(root, { recursive: true, force: true });
});

test(
  'an extra route to a prefix behind an instance: in qrouter-, traffic follows it; removed, it stops',
  { skip, timeout: 180_000 },
  async () => {
    // hop holds 192.0.2.1 and may send from it (an address pair), as an instance routing a prefix does.
    await neutrinoOk(['instance', 'exec', ...L, 'hop', '--', 'ip', 'addr', 'add', `${BEHIND}/32`, 'dev', 'lo']);
    openstackRaw('port', 'set', '--allowed-address', `ip-address=${BEHIND}`, hop.port_id);
    await eventually('vm pings hop across the router', () => pings('vm', hop.ip!));
    assert.equal(await pings('vm', BEHIND), false, 'no route to 192.0.2.0/24 yet');

    openstackRaw('router', 'add', 'route', '--route', `destination=192.0.2.0/24,gateway=${hop.ip}`, 'router');
    await eventually('the route in qrouter-', async () =>
      new RegExp(`^192\\.0\\.2\\.0/24 via ${hop.ip!.replace(/\./g, '\\.')} dev qr-\\S+ proto 149`, 'm').test(routerRoutes()),
    );
    await eventually('vm reaches 192.0.2.1 through hop', () => pings('vm', BEHIND));

    openstackRaw('router', 'remove', 'route', '--route', `destination=192.0.2.0/24,gateway=${hop.ip}`, 'router');
    await eventually('the route leaves qrouter-', async () => !/^192\.0\.2\.0\/24/m.test(routerRoutes()));
    assert.equal(await pings('vm', BEHIND), false, 'no route: 192.0.2.1 unreachable again');
  },
);

test('an extra DHCP option reaches the instance: domain-search from dnsmasq, by the port’s tag', { skip, timeout: 120_000 }, async () => {
  openstackRaw('port', 'set', '--extra-dhcp-option', 'name=domain-search,value=extra.example', vm.port_id);
  // The DHCP client asks for the search list (option 119) and writes what it got, changing nothing.
  const out = join(root, 'udhcpc-out');
  const script = join(root, 'udhcpc-print.sh');
  writeFileSync(script, `#!/bin/sh\n[ "$1" = bound ] && echo "search=$search" > ${out}\nexit 0\n`);
  chmodSync(script, 0o755);
  await eventually('the client gets domain-search extra.example', async () => {
    rmSync(out, { force: true });
    await neutrino([
      'instance',
      'exec',
      ...L,
      'vm',
      '--',
      'busybox',
      'udhcpc',
      '-i',
      'eth0',
      '-f',
      '-q',
      '-n',
      '-O',
      'search',
      '-t',
      '3',
      '-T',
      '1',
      '-s',
      script,
    ]);
    let got = '';
    try {
      got = readFileSync(out, 'utf8');
    } catch {
      return false;
    }
    return /search=extra\.example/.test(got);
  });
});

test(
  'a stateless group with ICMP in only: the echo reply is dropped until an egress rule lets it out',
  { skip, timeout: 180_000 },
  async () => {
    const group = openstack('security', 'group', 'create', '--project', 'demo', '--stateless', 'ping-in');
    openstackRaw(
      'security',
      'group',
      'rule',
      'delete',
      ...(openstack('security', 'group', 'rule', 'list', group.id) as Array<{ ID: string }>).map((r) => r.ID),
    );
    openstackRaw('security', 'group', 'rule', 'create', '--ingress', '--protocol', 'icmp', group.id);
    // On the other node than vm: vm's own (stateful) filter then tracks the exchange as usual.
    await neutrinoOk(
      ['instance', 'create', ...L, 'sl', '--network', 'net1', '--host', 'controller', '--security-group', 'ping-in'],
      60_000,
    );
    const sl = (await instances()).find((i) => i.name === 'sl')!;
    // The request reaches sl (its ingress rule), its reply has no rule out: no answer, repeatedly.
    for (let i = 0; i < 3; i++) assert.equal(await pings('vm', sl.ip!), false, 'no egress rule: no reply');
    openstackRaw('security', 'group', 'rule', 'create', '--egress', '--protocol', 'icmp', group.id);
    await eventually('with an ICMP egress rule the reply passes', () => pings('vm', sl.ip!));
  },
);
