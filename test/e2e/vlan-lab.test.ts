// VLAN networks end to end as root: a lab whose tenant networks are VLANs of physical network
// `provider` (`lab up --tenant-network-type vlan`); an admin's VLAN provider network by the openstack
// CLI; two instances on two nodes pinging each other through eth2.<vid> and eth1.<vid> and the lab's
// provider switch; the tracer naming a deleted subinterface; the agent putting it back.
//
// Needs the kernel's 802.1Q support (CONFIG_VLAN_8021Q): without it no `<nic>.<vid>` can exist, so
// the test says so and skips, after trying to make one in a scratch namespace of its own.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot, neutrino, neutrinoOk } from '../helpers/neutrino-cli.ts';
import { haveOpenstack } from '../helpers/openstack.ts';
import { eventually, labAdminEnv, resumeAndTakeDown, signalLabAgents } from '../helpers/lab.ts';
import type { InstanceJson, IpLink } from '../helpers/shapes.ts';

/** Whether this kernel makes VLAN subinterfaces: tried on a veth in a namespace made (and removed) here. */
function kernelHasVlan(): boolean {
  const ns = `nvlprobe${process.pid % 100000}`;
  try {
    execFileSync('ip', ['netns', 'add', ns], { stdio: 'ignore' });
    execFileSync('ip', ['-n', ns, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb'], { stdio: 'ignore' });
    execFileSync('ip', ['-n', ns, 'link', 'add', 'link', 'va', 'name', 'va.100', 'type', 'vlan', 'id', '100'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    try {
      execFileSync('ip', ['netns', 'delete', ns], { stdio: 'ignore' });
    } catch {
      /* it was never made */
    }
  }
}

const skip = !isRoot() ? 'needs root (network namespaces)' : !haveOpenstack() ? 'needs the openstack CLI' : false;
/** The API part runs wherever the lab does; the data path needs 802.1Q. */
const skipVlan =
  skip || (!kernelHasVlan() && 'the kernel has no 802.1Q VLAN support (ip link add … type vlan fails): no VLAN subinterface can be made');
const lab = `v${process.pid % 100000}`;
const root = mkdtempSync(join(tmpdir(), 'neutrino-vlan-lab-'));
const L = ['--lab', lab, '--state-root', root];

let env: NodeJS.ProcessEnv;
let vid: number;

const openstack = (...args: string[]) => JSON.parse(execFileSync('openstack', [...args, '-f', 'json'], { env, encoding: 'utf8' }));
const link = async (node: string, name: string) => {
  const r = await neutrino(['lab', 'exec', ...L, node, '--', 'ip', '-j', '-d', 'link', 'show', 'dev', name]);
  return r.code === 0 ? (JSON.parse(r.stdout) as Array<IpLink & { link?: string; flags?: string[] }>)[0] : null;
};
const instances = async () => JSON.parse(await neutrinoOk(['instance', 'list', ...L, '--json'])) as InstanceJson[];
const ping = async (from: string, to: string) =>
  neutrino(['instance', 'exec', ...L, from, '--', 'ping', '-c', '3', '-i', '0.2', '-W', '1', to]);

before(async () => {
  if (skip) return;
  await neutrinoOk(['lab', 'up', ...L, '--nodes', 'controller,compute1', '--tenant-network-type', 'vlan'], 180_000);
  env = await labAdminEnv(L);
});

after(async () => {
  if (skip) return;
  await resumeAndTakeDown(root, lab);
  const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  assert.ok(!left.split('\n').some((l) => l.startsWith(`${lab}-`)), `namespaces left: ${left}`);
});

test('an admin makes VLAN 100 of provider; a tenant network gets the next VLAN of the range, MTU 1500', { skip }, () => {
  const provider = openstack(
    'network',
    'create',
    '--provider-network-type',
    'vlan',
    '--provider-physical-network',
    'provider',
    '--provider-segment',
    '100',
    'vlan100',
  );
  assert.equal(provider['provider:segmentation_id'], 100);
  const tenant = openstack('network', 'create', '--project', 'demo', 'selfservice');
  assert.equal(tenant['provider:network_type'], 'vlan');
  assert.equal(tenant['provider:physical_network'], 'provider');
  vid = tenant['provider:segmentation_id'];
  assert.equal(vid, 101);
  assert.equal(tenant.mtu, 1500);
  openstack('subnet', 'create', '--project', 'demo', '--network', 'selfservice', '--subnet-range', '172.16.1.0/24', 'selfservice');
});

test(
  'instances on two nodes ping each other over the VLAN: eth2.<vid> and eth1.<vid> in the bridges',
  { skip: skipVlan, timeout: 240_000 },
  async () => {
    await neutrinoOk(['instance', 'create', ...L, 'vm1', '--network', 'selfservice', '--host', 'controller'], 60_000);
    await neutrinoOk(['instance', 'create', ...L, 'vm2', '--network', 'selfservice', '--host', 'compute1'], 60_000);
    const list = await instances();
    const a = list.find((i) => i.name === 'vm1')!;
    const b = list.find((i) => i.name === 'vm2')!;
    assert.match(a.ip ?? '', /^172\.16\.1\.\d+$/);
    assert.match(b.ip ?? '', /^172\.16\.1\.\d+$/);
    for (const [node, nic] of [
      ['controller', 'eth2'],
      ['compute1', 'eth1'],
    ] as const) {
      const sub = await link(node, `${nic}.${vid}`);
      assert.ok(sub, `${nic}.${vid} on ${node}`);
      assert.equal(sub.linkinfo?.info_data?.['id'], vid);
      assert.equal(sub.link, nic);
      assert.match(sub.master ?? '', /^brq/);
      assert.ok((await link(node, nic))?.flags?.includes('UP'), `${nic} up on ${node}`);
    }
    const r = await ping('vm2', a.ip!);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  },
);

test(
  'compute1 loses eth1.<vid>: the trace names VLAN_SUBINTERFACE_MISSING there; the agent puts it back',
  { skip: skipVlan, timeout: 240_000 },
  async () => {
    const list = await instances();
    const vm1 = list.find((i) => i.name === 'vm1')!;
    const vm2 = list.find((i) => i.name === 'vm2')!;
    signalLabAgents(root, lab, 'SIGSTOP', ['compute1']);
    try {
      await neutrinoOk(['lab', 'exec', ...L, 'compute1', '--', 'ip', 'link', 'delete', `eth1.${vid}`]);
      const r = await neutrino(['trace', 'port', vm2.port_id, '--to', vm1.ip!, ...L, '--json'], 60_000);
      assert.equal(r.code, 1, r.stderr);
      const b = JSON.parse(r.stdout).firstBroken;
      assert.equal(b.reason, 'VLAN_SUBINTERFACE_MISSING', b.cause);
      assert.equal(b.node, 'compute1');
      assert.equal(b.device, `eth1.${vid}`);
    } finally {
      signalLabAgents(root, lab, 'SIGCONT', ['compute1']);
    }
    await eventually(`eth1.${vid} back on compute1`, async () => !!(await link('compute1', `eth1.${vid}`)), 30_000);
    const again = await ping('vm2', vm1.ip!);
    assert.equal(again.code, 0, again.stdout + again.stderr);
  },
);
