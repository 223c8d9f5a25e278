// Root test: the DHCP role with a DHCPv6-stateful subnet on the real kernel. The qdhcp namespace
// with dnsmasq as Neutron's DHCP agent runs it, and an instance namespace on the network: a DHCPv6
// client there is given its port's fixed IPv6 address (the static lease by MAC) and the subnet's
// name servers, and dnsmasq records the lease.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planNode, type NodeFacts } from '../../src/planner/index.js';
import type { HostView, PortView, SubnetView } from '../../src/model/hostview.js';
import { RealKernel } from '../../src/exec/real.js';
import { reconcile } from '../../src/exec/reconcile.js';
import { run } from '../../src/exec/run.js';
import { dhcpv6Request } from '../../src/lab/dhcpv6-client.js';
import { isRoot, removeAll, uniquePrefix } from './sandbox.js';

const prefix = uniquePrefix();
// A network id of this run: its qdhcp- namespace is unique on the machine.
const NET = `${prefix.slice(3, 7)}0000-0000-4000-8000-${Date.now().toString(16).padStart(12, '0').slice(-12)}`;
const V4 = '11111111-0000-4000-8000-000000000004';
const V6 = '11111111-0000-4000-8000-00000000000f';
const VM_MAC = 'fa:16:3e:a7:f7:5a';

const subnet = (id: string, cidr: string, gateway_ip: string, mode: string | null, dns: string[]): SubnetView => ({
  id,
  network_id: NET,
  ip_version: cidr.includes(':') ? 6 : 4,
  cidr,
  gateway_ip,
  ipv6_ra_mode: mode,
  ipv6_address_mode: mode,
  enable_dhcp: true,
  dns_nameservers: dns,
  host_routes: [],
  allocation_pools: [],
});
const port = (id: string, owner: string, mac: string, last: string): PortView => ({
  id,
  network_id: NET,
  mac_address: mac,
  fixed_ips: [
    { subnet_id: V4, ip_address: `172.16.1.${last}` },
    { subnet_id: V6, ip_address: `fd00:2::${last}` },
  ],
  device_owner: owner,
  device_id: 'x',
  admin_state_up: true,
  status: 'ACTIVE',
  port_security_enabled: false,
  security_groups: [],
  allowed_address_pairs: [],
  binding_host_id: 'controller',
});
const dhcp = port('aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', 'network:dhcp', 'fa:16:3e:00:00:02', '2');
const vm = port('3c338602-d806-488a-ae66-c4c8f8d13b9b', 'compute:nova', VM_MAC, '3');
const view: HostView = {
  host: 'controller',
  revision: 1,
  networks: [
    {
      id: NET,
      name: 'selfservice',
      network_type: 'vxlan',
      physical_network: null,
      segmentation_id: 41,
      mtu: 1450,
      admin_state_up: true,
      router_external: false,
    },
  ],
  subnets: [
    subnet(V4, '172.16.1.0/24', '172.16.1.1', null, []),
    subnet(V6, 'fd00:2::/64', 'fd00:2::1', 'dhcpv6-stateful', ['2001:db8::53']),
  ],
  ports: [dhcp, vm],
  remote_ports: [],
  remote_vteps: [],
  security_groups: [],
  dhcp_networks: [NET],
  dhcp_ports: [dhcp, vm],
  routers: [],
};

describe('DHCPv6-stateful from dnsmasq on the real kernel', { skip: isRoot() ? false : 'needs root (namespaces, dnsmasq)' }, () => {
  const node = `${prefix}node`;
  const inst = `${prefix}vm`;
  let statePath = '';
  const pidFile = () => join(statePath, 'dhcp', NET, 'pid');

  before(async () => {
    statePath = await mkdtemp(join(tmpdir(), 'neutrino-dhcpv6-'));
    // dnsmasq reads its files after dropping root (as its own user), as from the agent's state_path.
    await chmod(statePath, 0o755);
    for (const n of [node, inst]) await run(['ip', 'netns', 'add', n]);
    await run(['ip', '-batch', '-'], {
      netns: node,
      stdin:
        [
          'link set lo up',
          'link add eth1 type veth peer name eth1p',
          'link set eth1p up',
          'addr add 192.168.0.104/24 dev eth1',
          'link set eth1 up',
          `link add tap3c338602-d8 type veth peer name eth0 netns ${inst}`,
          'link set tap3c338602-d8 up',
        ].join('\n') + '\n',
    });
    await run(['ip', '-batch', '-'], { netns: inst, stdin: `link set lo up\nlink set eth0 address ${VM_MAC}\nlink set eth0 up\n` });
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
    assert.ok(argv.includes(`--dhcp-range=set:subnet-${V6},fd00:2::,static,64,86400s`), argv.join(' '));
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
