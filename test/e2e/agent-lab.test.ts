// The agent end to end as root: a lab with controller + compute1, one instance on each
// node addressed by DHCP, pinging each other through vxlan-N across the management network; the
// devices Neutron's names promise; port status; agent restart and drift repair; nothing left behind.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot, neutrino, neutrinoOk, neutrinoSpawn } from '../helpers/neutrino-cli.ts';
import { haveOpenstack } from '../helpers/openstack.ts';
import { eventually, labUpAsAdmin } from '../helpers/lab.ts';
import type { InstanceJson, IpLink, LabStatusJson, OpenStackPortRow } from '../helpers/shapes.ts';

const skip = !isRoot() ? 'needs root (network namespaces)' : !haveOpenstack() ? 'needs the openstack CLI' : false;
const lab = `a${process.pid % 100000}`;
const root = mkdtempSync(join(tmpdir(), 'neutrino-agent-lab-'));
const L = ['--lab', lab, '--state-root', root];

let env: NodeJS.ProcessEnv;
let netId: string;
let vni: number;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const openstack = (...args: string[]) => JSON.parse(execFileSync('openstack', [...args, '-f', 'json'], { env, encoding: 'utf8' }));
const links = async (node: string) =>
  JSON.parse(await neutrinoOk(['lab', 'exec', ...L, node, '--', 'ip', '-j', '-d', 'link', 'show'])) as IpLink[];

before(async () => {
  if (skip) return;
  env = await labUpAsAdmin(L);
});

after(async () => {
  if (skip) return;
  const down = await neutrino(['lab', 'down', ...L]);
  assert.equal(down.code, 0, down.stderr);
  const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  assert.ok(
    !left.split('\n').some((l) => l.startsWith(`${lab}-`) || (netId && l.startsWith(`qdhcp-${netId}`))),
    `namespaces left: ${left}`,
  );
  assert.equal((await neutrino(['lab', 'down', ...L])).code, 0, 'down twice is fine');
  rmSync(root, { recursive: true, force: true });
});

test('instances on two nodes get DHCP addresses and ping each other over VXLAN', { skip, timeout: 240_000 }, async () => {
  const net = openstack('network', 'create', '--project', 'demo', 'selfservice');
  netId = net.id;
  vni = net['provider:segmentation_id'];
  openstack('subnet', 'create', '--project', 'demo', '--network', 'selfservice', '--subnet-range', '172.16.1.0/24', 'selfservice');
  await neutrinoOk(['instance', 'create', ...L, 'vm1', '--network', 'selfservice', '--host', 'controller'], 60_000);
  await neutrinoOk(['instance', 'create', ...L, 'vm2', '--network', 'selfservice', '--host', 'compute1'], 60_000);
  const instances = JSON.parse(await neutrinoOk(['instance', 'list', ...L, '--json'])) as InstanceJson[];
  const vm1 = instances.find((i) => i.name === 'vm1')!;
  const vm2 = instances.find((i) => i.name === 'vm2')!;
  assert.match(vm1.ip ?? '', /^172\.16\.1\.\d+$/);
  assert.match(vm2.ip ?? '', /^172\.16\.1\.\d+$/);
  const inside = (JSON.parse(await neutrinoOk(['instance', 'exec', ...L, 'vm2', '--', 'ip', '-j', 'addr', 'show', 'eth0'])) as IpLink[])[0];
  assert.equal(inside.mtu, 1450, 'MTU from the DHCP option');
  assert.ok(inside.addr_info?.some((a) => a.local === vm2.ip));
  const ping = await neutrino(['instance', 'exec', ...L, 'vm2', '--', 'ping', '-c', '3', '-i', '0.2', '-W', '1', vm1.ip!]);
  assert.equal(ping.code, 0, ping.stdout + ping.stderr);
});

test("devices carry Neutron's names, memberships and vxlan parameters", { skip }, async () => {
  const brq = `brq${netId.slice(0, 11)}`;
  const ports = openstack('port', 'list', '--network', netId, '--long') as OpenStackPortRow[];
  for (const [node, nic, ip] of [
    ['controller', 'eth1', '192.168.0.104'],
    ['compute1', 'eth0', '192.168.0.105'],
  ]) {
    const l = await links(node);
    assert.ok(
      l.some((x) => x.ifname === brq && x.linkinfo?.info_kind === 'bridge'),
      `${brq} on ${node}`,
    );
    const vx = l.find((x) => x.ifname === `vxlan-${vni}`);
    assert.ok(vx, `vxlan-${vni} on ${node}`);
    assert.equal(vx.master, brq);
    assert.equal(vx.linkinfo?.info_data?.id, vni);
    assert.equal(vx.linkinfo?.info_data?.local, ip);
    assert.equal(vx.linkinfo?.info_data?.link, nic);
    assert.equal(vx.mtu, 1450);
    const taps = l.filter((x) => x.ifname.startsWith('tap'));
    assert.ok(taps.length >= 1 && taps.every((t) => t.master === brq), `taps of ${node} in ${brq}`);
    for (const t of taps)
      assert.ok(
        ports.some((p) => t.ifname === `tap${p.ID.slice(0, 11)}`),
        `${t.ifname} is a port's tap`,
      );
  }
});

test('port status follows the tap: ACTIVE when plugged, DOWN when gone', { skip }, async () => {
  const vm2 = (JSON.parse(await neutrinoOk(['instance', 'list', ...L, '--json'])) as InstanceJson[]).find((i) => i.name === 'vm2')!;
  assert.equal(openstack('port', 'show', vm2.port_id).status, 'ACTIVE');
  const tap = `tap${vm2.port_id.slice(0, 11)}`;
  await neutrinoOk(['lab', 'exec', ...L, 'compute1', '--', 'ip', 'link', 'del', tap]);
  await eventually('port DOWN once its device is gone', async () => openstack('port', 'show', vm2.port_id).status === 'DOWN');
  await neutrinoOk(['instance', 'delete', ...L, 'vm2']);
  await neutrinoOk(['instance', 'create', ...L, 'vm2', '--network', 'selfservice', '--host', 'compute1'], 60_000);
  const again = (JSON.parse(await neutrinoOk(['instance', 'list', ...L, '--json'])) as InstanceJson[]).find((i) => i.name === 'vm2')!;
  await eventually('new port ACTIVE after plug', async () => openstack('port', 'show', again.port_id).status === 'ACTIVE');
});

test(
  'agent restart during a continuous ping loses at most one reply; hand-deleted vxlan and fdb come back',
  { skip, timeout: 120_000 },
  async () => {
    const list = JSON.parse(await neutrinoOk(['instance', 'list', ...L, '--json'])) as InstanceJson[];
    const vm1 = list.find((i) => i.name === 'vm1')!;
    const status = JSON.parse(await neutrinoOk(['lab', 'status', ...L, '--json'])) as LabStatusJson;
    const compute = status.nodes.find((n) => n.name === 'compute1')!;
    const pinger = neutrinoSpawn(['instance', 'exec', ...L, 'vm2', '--', 'ping', '-c', '40', '-i', '0.2', '-W', '1', vm1.ip!]);
    let out = '';
    pinger.stdout!.on('data', (d) => (out += d));
    const done = new Promise<number>((r) => pinger.on('exit', (c) => r(c ?? 1)));
    await sleep(1500);
    // Restart compute1's agent: stop it by PID and start the same command again in the node.
    process.kill(compute.agentPid!, 'SIGTERM');
    await sleep(500);
    await neutrinoOk(['lab', 'restart-agent', ...L, 'compute1']);
    await done;
    const received = Number(/(\d+) received/.exec(out)?.[1] ?? 0);
    assert.ok(received >= 39, `lost ${40 - received} replies during the agent restart:\n${out}`);

    await neutrinoOk(['lab', 'exec', ...L, 'compute1', '--', 'ip', 'link', 'del', `vxlan-${vni}`]);
    await eventually(
      'vxlan back and traffic flowing',
      async () => (await neutrino(['instance', 'exec', ...L, 'vm2', '--', 'ping', '-c', '1', '-W', '1', vm1.ip!])).code === 0,
    );
    await neutrinoOk([
      'lab',
      'exec',
      ...L,
      'compute1',
      '--',
      'bridge',
      'fdb',
      'del',
      '00:00:00:00:00:00',
      'dev',
      `vxlan-${vni}`,
      'dst',
      '192.168.0.104',
    ]);
    await eventually('flood entry back', async () =>
      (await neutrinoOk(['lab', 'exec', ...L, 'compute1', '--', 'bridge', 'fdb', 'show', 'dev', `vxlan-${vni}`])).includes(
        '00:00:00:00:00:00 dst 192.168.0.104',
      ),
    );
    assert.equal((await neutrino(['instance', 'exec', ...L, 'vm2', '--', 'ping', '-c', '2', '-i', '0.2', '-W', '1', vm1.ip!])).code, 0);
  },
);
