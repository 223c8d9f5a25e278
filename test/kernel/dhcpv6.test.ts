// Root test: the DHCP role with a DHCPv6-stateful subnet on the real kernel. The qdhcp namespace
// with dnsmasq as Neutron's DHCP agent runs it, and an instance namespace on the network: a DHCPv6
// client there is given its port's fixed IPv6 address (the static lease by MAC) and the subnet's
// name servers, and dnsmasq records the lease.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planNode, type NodeFacts } from '../../src/planner/index.ts';
import { dhcpView, STATEFUL, subnet, V4, VM_MAC } from '../helpers/dhcp6-view.ts';
import { RealKernel } from '../../src/exec/real.ts';
import { reconcile } from '../../src/exec/reconcile.ts';
import { run } from '../../src/exec/run.ts';
import { dhcpv6Request } from '../../src/lab/dhcpv6-client.ts';
import { isRoot, nodeWithInstance, removeAll, uniquePrefix } from './sandbox.ts';

const prefix = uniquePrefix();
// A network id of this run: its qdhcp- namespace is unique on the machine.
const NET = `${prefix.slice(3, 7)}0000-0000-4000-8000-${Date.now().toString(16).padStart(12, '0').slice(-12)}`;
// The IPv4 and the DHCPv6-stateful subnet; the ports have an address on each.
const SUBNETS = [
  subnet(NET, V4, '172.16.1.0/24', '172.16.1.1', null),
  subnet(NET, STATEFUL, 'fd00:2::/64', 'fd00:2::1', 'dhcpv6-stateful', ['2001:db8::53']),
];
const view = dhcpView(NET, SUBNETS);

describe('DHCPv6-stateful from dnsmasq on the real kernel', { skip: isRoot() ? false : 'needs root (namespaces, dnsmasq)' }, () => {
  const node = `${prefix}node`;
  const inst = `${prefix}vm`;
  let statePath = '';
  const pidFile = () => join(statePath, 'dhcp', NET, 'pid');

  before(async () => {
    statePath = await mkdtemp(join(tmpdir(), 'neutrino-dhcpv6-'));
    // dnsmasq reads its files after dropping root (as its own user), as from the agent's state_path.
    await chmod(statePath, 0o755);
    await nodeWithInstance({ node, inst, tap: 'tap3c338602-d8', mac: VM_MAC });
  });

  after(async () => {
    // dnsmasq outlives its namespace: stop the one this test started, by its PID.
    const pid = Number((await readFile(pidFile(), 'utf8').catch(() => '')).trim());
    if (pid > 1 && (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).startsWith('dnsmasq')) process.kill(pid, 'SIGKILL');
    await run(['ip', 'netns', 'del', `qdhcp-${NET}`]).catch(() => undefined);
    await removeAll(prefix);
    await rm(statePath, { recursive: true, force: true });
  });

  test('the DHCP namespace converges with dnsmasq serving the stateful range', async () => {
    const facts: NodeFacts = {
      host: 'controller',
      roles: ['dhcp'],
      localIp: '192.168.0.104',
      localIpDevice: 'eth1',
      physicalInterfaceMappings: {},
      statePath,
      presentTaps: new Set(['tap3c338602-d8']),
    };
    const { desired } = planNode(view, facts);
    const r = await reconcile(new RealKernel({ hostNetns: node }), { ...desired, owner: node }, {});
    assert.equal(r.error, undefined, String(r.error));
    assert.deepEqual(r.remaining, { ops: [], unresolved: [] });
    const argv = (await readFile(`/proc/${(await readFile(pidFile(), 'utf8')).trim()}/cmdline`, 'utf8')).split('\0');
    assert.ok(argv.includes(`--dhcp-range=set:subnet-${STATEFUL},fd00:2::,static,64,86400s`), argv.join(' '));
  });

  test('a DHCPv6 client on the instance gets its fixed address by MAC and the name servers; dnsmasq records the lease', async () => {
    // The client's link-local address must have passed DAD before it can send.
    const deadline = Date.now() + 10_000;
    while (
      !(await run(['ip', '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'link'], { netns: inst })).stdout.match(
        /inet6 fe80::\S+ scope link\s*$/m,
      )
    ) {
      if (Date.now() > deadline) throw new Error('no link-local address');
      await new Promise((r) => setTimeout(r, 200));
    }
    const reply = await dhcpv6Request(inst, 'eth0', VM_MAC);
    assert.deepEqual(reply.addresses, ['fd00:2::3']);
    assert.deepEqual(reply.dns, ['2001:db8::53']);
    // dnsmasq writes its lease file from its main loop, shortly after the Reply.
    const leases = join(statePath, 'dhcp', NET, 'leases');
    const until = Date.now() + 10_000;
    while (!(await readFile(leases, 'utf8')).includes(' fd00:2::3 ') && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    assert.match(await readFile(leases, 'utf8'), / fd00:2::3 host-fd00-2--3 /);
  });
});
