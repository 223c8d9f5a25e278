// Remote address groups, address scopes and metering end to end as root, with real traffic, in one
// lab (controller with the L3 role and the provider NIC to the external host 10.123.123.1,
// compute1). The provider and self-service subnets come from one pool of one address scope, so the
// router routes between them without NAT: the external host reaches instance `vm` at its own
// address (through a route to 172.16.1.0/24 via the router's gateway address, in the lab's external
// namespace) and the router's conntrack shows the instance's address unchanged. Port 22 of `vm` is
// open only to an address group holding the external host: its NIPv4 set on compute1 follows the
// group's addresses, and so does the connection. A metering label counts the traffic through the
// gateway in neutron-meter-l-<label>, and `neutrino metering` shows the agent's reports added up.
// IPv6: the provider network's IPv6 subnet and network `v6in`'s come from a pool of one IPv6 scope,
// network `v6out`'s from none; the external host (2001:db8:ff::1) routes both prefixes to the
// router. Instance `in6` reaches it, `out6` does not: the router's ip6tables drop traffic leaving
// by the gateway with another scope's mark (no NAT to exempt the gateway, unlike IPv4).
// All made with the `openstack` CLI.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot, neutrino, neutrinoOk, type CliResult } from '../helpers/neutrino-cli.ts';
import { haveOpenstack } from '../helpers/openstack.ts';
import { eventually, labUpAsAdmin } from '../helpers/lab.ts';
import type { InstanceJson, OpenStackRow } from '../helpers/shapes.ts';

const skip = !isRoot() ? 'needs root (network namespaces)' : !haveOpenstack() ? 'needs the openstack CLI' : false;
const lab = `dp${process.pid % 100000}`;
const root = mkdtempSync(join(tmpdir(), 'neutrino-dataplane-lab-'));
const L = ['--lab', lab, '--state-root', root];
const EXTERNAL = '10.123.123.1';
const EXTERNAL_V6 = '2001:db8:ff::1';
const PREFIX_IN = '2001:db8:1::/64';
const PREFIX_OUT = '2001:db8:2::/64';

let env: NodeJS.ProcessEnv;
let routerId = '';
let gatewayIp = '';
let gatewayIp6 = '';
let vm: InstanceJson;
let listener: ChildProcess | undefined;
const heard = join(root, 'listener.out');

const openstack = (...args: string[]) => {
  const out = execFileSync('openstack', [...args, '-f', 'json'], { env, encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : null;
};
const openstackRaw = (...args: string[]) => execFileSync('openstack', args, { env, encoding: 'utf8' });
const inRouter = (...argv: string[]) => execFileSync('ip', ['netns', 'exec', `qrouter-${routerId}`, ...argv], { encoding: 'utf8' });
const onExternal = (...argv: string[]) => neutrino(['lab', 'exec', ...L, 'external', '--', ...argv]);
/** A TCP connection from the external host to the instance's own address, port 22, sending `word`. */
const connect = async (word: string) => (await onExternal('sh', '-c', `echo ${word} | nc -N -w 2 ${vm.ip} 22`)).code === 0;

before(async () => {
  if (skip) return;
  env = await labUpAsAdmin(L);
  const scope = openstack('address', 'scope', 'create', '--share', '--ip-version', '4', 'scope1');
  openstack(
    ...['subnet', 'pool', 'create', '--share', '--address-scope', scope.id, '--default-prefix-length', '24'],
    ...['--pool-prefix', '10.123.123.0/24', '--pool-prefix', '172.16.0.0/16', 'pool1'],
  );
  const scope6 = openstack('address', 'scope', 'create', '--share', '--ip-version', '6', 'scope6');
  openstack(
    ...['subnet', 'pool', 'create', '--share', '--address-scope', scope6.id, '--default-prefix-length', '64'],
    ...['--pool-prefix', '2001:db8:ff::/64', '--pool-prefix', PREFIX_IN, 'pool6'],
  );
  openstack('network', 'create', '--external', '--provider-network-type', 'flat', '--provider-physical-network', 'provider', 'provider');
  openstack(
    ...['subnet', 'create', '--network', 'provider', '--subnet-pool', 'pool1', '--subnet-range', '10.123.123.0/24'],
    ...['--gateway', EXTERNAL, '--allocation-pool', 'start=10.123.123.100,end=10.123.123.200', '--no-dhcp', 'provider'],
  );
  openstack(
    ...['subnet', 'create', '--network', 'provider', '--ip-version', '6', '--subnet-pool', 'pool6', '--subnet-range', '2001:db8:ff::/64'],
    ...['--gateway', EXTERNAL_V6, '--allocation-pool', 'start=2001:db8:ff::100,end=2001:db8:ff::1ff', '--no-dhcp', 'provider-v6'],
  );
  openstack('network', 'create', '--project', 'demo', 'selfservice');
  openstack(
    ...['subnet', 'create', '--project', 'demo', '--network', 'selfservice', '--subnet-pool', 'pool1'],
    ...['--subnet-range', '172.16.1.0/24', 'selfservice'],
  );
  routerId = openstack('router', 'create', '--project', 'demo', 'router').id;
  openstackRaw('router', 'set', '--external-gateway', 'provider', 'router');
  openstackRaw('router', 'add', 'subnet', 'router', 'selfservice');
  const router = openstack('router', 'show', routerId);
  const gatewayIps = (router.external_gateway_info.external_fixed_ips as Array<{ ip_address: string }>).map((f) => f.ip_address);
  gatewayIp = gatewayIps.find((a) => !a.includes(':'))!;
  gatewayIp6 = gatewayIps.find((a) => a.includes(':'))!;
  await neutrinoOk(['instance', 'create', ...L, 'vm', '--network', 'selfservice', '--host', 'compute1'], 60_000);
  vm = (JSON.parse(await neutrinoOk(['instance', 'list', ...L, '--json'])) as InstanceJson[]).find((i) => i.name === 'vm')!;
  listener = spawn('ip', ['netns', 'exec', vm.namespace, 'sh', '-c', `exec nc -l -k 22 >> ${heard}`], { stdio: 'ignore' });
  // The external host routes the scope's self-service addresses to the router (nothing NATs them).
  const route = await onExternal('ip', 'route', 'add', '172.16.1.0/24', 'via', gatewayIp);
  assert.equal(route.code, 0, route.stderr);
});

after(async () => {
  if (skip) return;
  if (listener && listener.exitCode === null && listener.signalCode === null) listener.kill('SIGTERM');
  const down = await neutrino(['lab', 'down', ...L]);
  assert.equal(down.code, 0, down.stderr);
  rmSync(root, { recursive: true, force: true });
});

test('one address scope: routed without NAT; an address group opens port 22; metering counts it', { skip, timeout: 420_000 }, async () => {
  // Metering: every packet through the gateway, both ways, under one label of the demo project.
  const demo = (openstack('project', 'show', 'demo') as { id: string }).id;
  const label = openstack('network', 'meter', 'create', '--project', demo, 'all-traffic');
  openstack('network', 'meter', 'rule', 'create', '--egress', '--remote-ip-prefix', '0.0.0.0/0', label.id);
  openstack('network', 'meter', 'rule', 'create', '--ingress', '--remote-ip-prefix', '0.0.0.0/0', label.id);

  // Address scopes: the instance reaches the external host with its own address.
  await eventually(
    'the instance pings the external host',
    async () => (await neutrino(['instance', 'exec', ...L, 'vm', '--', 'ping', '-c', '1', '-W', '1', EXTERNAL])).code === 0,
  );
  const scopeMangle = inRouter('iptables', '-t', 'mangle', '-S', 'neutron-l3-agent-scope');
  assert.match(scopeMangle, /-i qr-\S+ -j MARK --set-xmark 0x4010000\/0xffff0000/);
  assert.match(scopeMangle, /-i qg-\S+ -j MARK --set-xmark 0x4010000\/0xffff0000/);
  assert.match(
    inRouter('iptables', '-t', 'nat', '-S', 'neutron-l3-agent-snat'),
    /-o qg-\S+ -m connmark --mark 0x4010000\/0xffff0000 -j ACCEPT/,
  );
  const flows = inRouter('conntrack', '-L', '-p', 'icmp', '-d', EXTERNAL);
  const ip = vm.ip!.replace(/\./g, '\\.');
  assert.match(flows, new RegExp(`src=${ip} dst=10\\.123\\.123\\.1 .*src=10\\.123\\.123\\.1 dst=${ip} `), `not NATed:\n${flows}`);

  // Remote address group: port 22 open to the external host's address only while the group holds it.
  const group = openstack('address', 'group', 'create', '--project', demo, '--address', `${EXTERNAL}/32`, 'outside');
  const def = (openstack('security', 'group', 'list', '--project', demo) as OpenStackRow[]).find((g) => g.Name === 'default')!;
  openstack(
    'security',
    'group',
    'rule',
    'create',
    '--ingress',
    '--protocol',
    'tcp',
    '--dst-port',
    '22',
    '--remote-address-group',
    group.id,
    def.ID,
  );
  const set = `NIPv4${group.id}`.slice(0, 29);
  await eventually('the external host connects to port 22', () => connect('allowed'));
  await eventually('the instance got it', async () => readFileSync(heard, 'utf8').includes('allowed'));
  const members = await neutrino(['lab', 'exec', ...L, 'compute1', '--', 'ipset', 'list', set]);
  assert.match(members.stdout, /^10\.123\.123\.1$/m, members.stdout + members.stderr);
  openstackRaw('address', 'group', 'unset', '--address', `${EXTERNAL}/32`, group.id);
  await eventually(
    'the set is emptied',
    async () => !/^10\.123\.123\.1$/m.test((await neutrino(['lab', 'exec', ...L, 'compute1', '--', 'ipset', 'list', set])).stdout),
  );
  assert.equal(await connect('refused'), false, 'no longer in the group: dropped');
  openstackRaw('address', 'group', 'set', '--address', `${EXTERNAL}/32`, group.id);
  await eventually('open again once the address is back', () => connect('again'));

  // Metering: the agent reads and zeroes the label chain with each report (Neutron's
  // get_traffic_counters); the server adds the reports up, so the totals keep growing with traffic.
  const chain = `neutron-meter-l-${label.id}`.slice(0, 28);
  assert.match(inRouter('iptables', '-t', 'filter', '-S', chain), new RegExp(`^-N ${chain}$`, 'm'));
  const totals = async () =>
    (
      JSON.parse(await neutrinoOk(['metering', ...L, '--label', label.id, '--json'])) as Array<{
        router_id: string;
        packets: number;
        bytes: number;
      }>
    )
      .filter((c) => c.router_id === routerId)
      .reduce((sum, c) => sum + c.packets, 0);
  await eventually('neutrino metering shows the report', async () => (await totals()) > 0);
  const before = await totals();
  assert.equal((await neutrino(['instance', 'exec', ...L, 'vm', '--', 'ping', '-c', '5', '-i', '0.2', '-W', '1', EXTERNAL])).code, 0);
  await eventually('the totals grow by the new traffic (reported as deltas, added up)', async () => (await totals()) >= before + 10);
});

test(
  'IPv6 address scopes: the same scope routed to the external host, another scope dropped at the gateway',
  { skip, timeout: 300_000 },
  async (t) => {
    /** Each network's IPv6 gateway, the router's address there (Neutron's default: the subnet-router anycast address). */
    const gateways: Record<string, string> = {};
    for (const [net, pool, prefix] of [
      ['v6in', ['--subnet-pool', 'pool6'], PREFIX_IN],
      ['v6out', [], PREFIX_OUT],
    ] as const) {
      openstack('network', 'create', '--project', 'demo', net);
      gateways[net] = openstack(
        ...['subnet', 'create', '--project', 'demo', '--network', net, '--ip-version', '6', ...pool, '--subnet-range', prefix],
        ...['--ipv6-ra-mode', 'slaac', '--ipv6-address-mode', 'slaac', net],
      ).gateway_ip;
      openstackRaw('router', 'add', 'subnet', 'router', net);
    }
    assert.ok(gatewayIp6, 'the gateway port holds an address on the IPv6 provider subnet');
    const external = `${lab}-external`;
    execFileSync('ip', ['-n', external, '-6', 'addr', 'replace', `${EXTERNAL_V6}/64`, 'dev', 'eth0', 'nodad']);
    for (const prefix of [PREFIX_IN, PREFIX_OUT]) execFileSync('ip', ['-n', external, '-6', 'route', 'replace', prefix, 'via', gatewayIp6]);
    await Promise.all(
      [
        ['in6', 'v6in'],
        ['out6', 'v6out'],
      ].map(([name, net]) => neutrinoOk(['instance', 'create', ...L, name!, '--network', net!, '--host', 'compute1'], 60_000)),
    );
    const all = JSON.parse(await neutrinoOk(['instance', 'list', ...L, '--json'])) as InstanceJson[];
    const addressOf = (name: string) =>
      (openstack('port', 'show', all.find((i) => i.name === name)!.port_id).fixed_ips as Array<{ ip_address: string }>)[0]!.ip_address;
    const ping6 = async (vm: string, dst: string) =>
      (await neutrino(['instance', 'exec', ...L, vm, '--', 'ping', '-6', '-c', '1', '-W', '1', dst])).code === 0;
    await eventually('in6 and out6 hold their SLAAC addresses', async () => {
      const now = JSON.parse(await neutrinoOk(['instance', 'list', ...L, '--json'])) as InstanceJson[];
      return ['in6', 'out6'].every((n) => now.find((i) => i.name === n)?.addresses.includes(addressOf(n)));
    });

    // In the gateway's scope: marked alike on qr- and qg-, routed (IPv6 is never NATed).
    const scopeMangle = inRouter('ip6tables', '-t', 'mangle', '-S', 'neutron-l3-agent-scope');
    assert.match(scopeMangle, /-i qg-\S+ -j MARK --set-xmark 0x4010000\/0xffff0000/);
    await eventually('in6 pings the external host over IPv6', () => ping6('in6', EXTERNAL_V6), 60_000);

    // Unscoped ("no scope" has a mark of its own, so another scope): out6 reaches its router (input,
    // not forwarded) but nothing beyond the gateway, and the gateway's drop counts its packets.
    const dropped = () => {
      const rules = inRouter('ip6tables', '-t', 'filter', '-L', 'neutron-l3-agent-scope', '-v', '-x', '-n');
      const line = rules.split('\n').find((l) => / DROP .* \* +qg-\S+ .*mark match ! 0x4010000\/0xffff0000/.test(l));
      assert.ok(line, `the gateway's scope drop:\n${rules}`);
      return Number(line.trim().split(/\s+/)[0]);
    };
    await eventually("out6 pings its router's interface", () => ping6('out6', gateways.v6out!), 60_000);
    const before = dropped();
    // Reaching the router's own address proves only the link: one ping to the external host left the
    // counter as it was in two rehearsals (not forwarded by the gateway: sent from out6's link-local
    // address while its SLAAC address was still tentative, or before its default route, likely). So
    // out6 pings until the rule counts one, none may be answered, and a ping that did not count is shown.
    const pings: CliResult[] = [];
    await eventually(
      "the gateway's scope drop counts a ping of out6",
      async () => {
        pings.push(await neutrino(['instance', 'exec', ...L, 'out6', '--', 'ping', '-6', '-c', '1', '-W', '1', EXTERNAL_V6]));
        return dropped() > before;
      },
      30_000,
    ).catch(async (e: Error) => {
      const routes = await neutrino(['instance', 'exec', ...L, 'out6', '--', 'ip', '-6', 'route']);
      const last = pings.at(-1);
      throw new Error(`${e.message}; out6's last ping (exit ${last?.code}): ${last?.stdout}${last?.stderr}; its routes:\n${routes.stdout}`);
    });
    if (pings.length > 1)
      t.diagnostic(
        `out6's pings before the drop counted: ${pings
          .slice(0, -1)
          .map((r) => `exit ${r.code}: ${(r.stdout + r.stderr).trim().split('\n').slice(0, 2).join(' / ')}`)
          .join('; ')}`,
      );
    assert.ok(
      pings.every((r) => r.code !== 0),
      `another scope: dropped at the gateway, never answered\n${pings.map((r) => r.stdout + r.stderr).join('\n')}`,
    );
  },
);
