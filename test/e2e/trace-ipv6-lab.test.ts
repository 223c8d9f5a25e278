// `neutrino trace port` over IPv6 on the demo lab, as root: the demo with a SLAAC subnet on
// selfservice behind the router and an IPv6 subnet on the provider network for its gateway, two
// instances (compute1, controller) with their SLAAC addresses. The healthy IPv6 path traces ok with
// --probe (ping6 from the instance's namespace, seen on every device); then one IPv6 fault at a
// time, injected with the lab's agents paused, is named at its hop: radvd killed, IPv6 forwarding
// off in the router namespace, the IPv6 default route deleted, an ICMPv6 neighbour-discovery rule
// deleted from a port's chain. The agents repair each once resumed. Last, DHCPv6: a stateful network
// on the router with an instance; `trace dhcp` walks its DHCPv6 leg and --probe solicits from the
// instance (an Advertise comes back, nothing is committed); `trace instance` of that IPv6-only
// instance is IPv6 by default; a SLAAC port has no DHCPv6 exchange; a host entry removed is found.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot, neutrino, neutrinoOk } from '../helpers/neutrino-cli.ts';
import { eventually, labAdminEnv, resumeAndTakeDown, signalLabAgents } from '../helpers/lab.ts';
import { haveOpenstack } from '../helpers/openstack.ts';
import { DEMO_SLAAC_PREFIX, IPV6_FAULTS, IPV6_OUTSIDE } from '../helpers/ipv6-demo.ts';

const skip = !isRoot() ? 'needs root (network namespaces)' : !haveOpenstack() ? 'needs the openstack CLI' : false;
const lab = `t6${process.pid % 10000}`;
const root = mkdtempSync(join(tmpdir(), 'neutrino-trace6-'));
const L = ['--lab', lab, '--state-root', root];
const OUTSIDE = IPV6_OUTSIDE;
let env: NodeJS.ProcessEnv;
let seq = 0;
let routerNs = '';
const vm: Record<string, { port_id: string; addresses: string[] }> = {};

interface Report {
  ok: boolean;
  warnings: string[];
  target: { destination?: string; flow: { port?: number } };
  probe?: { sent: number; answered: number };
  hops: Array<{
    index: number;
    node: string;
    namespace: string;
    device: string | null;
    check: string;
    status: string;
    capture?: { request: number; reply: number | null };
    expected: Record<string, unknown>;
  }>;
  firstBroken: null | {
    index: number;
    node: string;
    namespace: string;
    device: string | null;
    check: string;
    reason: string;
    cause: string;
  };
}

const openstack = (...args: string[]) => execFileSync('openstack', args, { env, encoding: 'utf8' });
const v6Of = (name: string) => vm[name]!.addresses.find((a) => a.includes(':') && !a.startsWith('fe80'))!;

async function trace(to: string, extra: string[] = []): Promise<Report> {
  const captures = extra.includes('--probe') ? ['--capture-dir', join(root, `captures-${++seq}`)] : [];
  const r = await neutrino(['trace', 'port', vm.vm6a!.port_id, '--to', to, ...L, '--json', ...captures, ...extra], 60_000);
  assert.ok(r.code === 0 || r.code === 1, `trace exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Report;
}

before(async () => {
  if (skip) return;
  chmodSync(root, 0o755);
  await neutrinoOk(['demo', ...L], 240_000);
  env = await labAdminEnv(L);
  routerNs = `qrouter-${JSON.parse(openstack('router', 'show', 'router', '-f', 'json')).id}`;
  await neutrinoOk(
    ['instance', 'create', ...L, '--network', 'selfservice', '--host', 'compute1', '--security-group', 'demo-ssh', 'vm6a'],
    120_000,
  );
  await neutrinoOk(
    ['instance', 'create', ...L, '--network', 'selfservice', '--host', 'controller', '--security-group', 'demo-ssh', 'vm6b'],
    120_000,
  );
  // SLAAC from the router's advertisements (radvd's first ones come within seconds).
  await eventually(
    'both instances have their SLAAC address',
    async () => {
      const list = JSON.parse(await neutrinoOk(['instance', 'list', ...L, '--json'])) as Array<{
        name: string;
        port_id: string;
        addresses: string[];
      }>;
      for (const i of list) vm[i.name] = i;
      return ['vm6a', 'vm6b'].every((n) => vm[n]?.addresses.some((a) => a.startsWith(DEMO_SLAAC_PREFIX)));
    },
    60_000,
  );
});

after(async () => {
  if (!skip) await resumeAndTakeDown(root, lab);
});

test(
  'the healthy IPv6 path: east-west and out through the router, all ok; --probe pings6 from the instance, seen on every device',
  { skip, timeout: 180_000 },
  async () => {
    const out = await trace(OUTSIDE);
    assert.equal(out.ok, true, JSON.stringify(out.firstBroken));
    for (const check of ['ipv6 forwarding', 'radvd', 'ICMPv6 neighbour discovery', 'IPv6 address'])
      assert.ok(
        out.hops.some((h) => h.check === check && h.status === 'ok'),
        `a ${check} hop`,
      );
    assert.ok(!out.hops.some((h) => h.check === 'SNAT'), 'no NAT for IPv6');
    assert.ok(out.hops.some((h) => h.check === 'route' && h.namespace === routerNs && h.device?.startsWith('qg-')));
    // trace instance --ipv6: the instance's way out over IPv6, to the external subnet's IPv6 gateway.
    const inst = await neutrino(['trace', 'instance', 'vm6a', '--ipv6', ...L, '--json'], 60_000);
    assert.equal(inst.code, 0, inst.stderr);
    const instReport = JSON.parse(inst.stdout) as Report & { target: { destination: string } };
    assert.equal(instReport.target.destination, '2001:db8:123::1');
    assert.ok(instReport.hops.some((h) => h.check === 'radvd' && h.status === 'ok'));

    const probed = await trace(v6Of('vm6b'), ['--probe']);
    assert.equal(probed.ok, true, JSON.stringify(probed.firstBroken));
    assert.ok(probed.probe && probed.probe.sent > 0 && probed.probe.answered === probed.probe.sent, JSON.stringify(probed.probe));
    const captured = probed.hops.filter((h) => h.capture);
    assert.ok(captured.length >= 6, `captures on ${captured.length} hops`);
    for (const h of captured.filter((x) => x.check !== 'l2population'))
      assert.ok(h.capture!.request > 0, `hop ${h.index} ${h.device} ${h.check}: ${JSON.stringify(h.capture)}`);
  },
);

const FAULTS: Array<{
  name: string;
  to: () => string;
  inject: () => void;
  check: string;
  reason: string;
  node: string;
  namespace: () => string;
}> = [
  {
    name: 'radvd killed in the router namespace',
    to: () => OUTSIDE,
    inject: () => IPV6_FAULTS.killRadvd(routerNs),
    check: 'radvd',
    reason: 'RADVD_NOT_RUNNING',
    node: 'controller',
    namespace: () => routerNs,
  },
  {
    name: 'IPv6 forwarding off in the router namespace',
    to: () => OUTSIDE,
    inject: () => IPV6_FAULTS.forwardingOff(routerNs),
    check: 'ipv6 forwarding',
    reason: 'FORWARDING_DISABLED',
    node: 'controller',
    namespace: () => routerNs,
  },
  {
    name: "the router's IPv6 default route deleted",
    to: () => OUTSIDE,
    inject: () => IPV6_FAULTS.deleteDefaultRoute(routerNs),
    check: 'route',
    reason: 'NO_ROUTE',
    node: 'controller',
    namespace: () => routerNs,
  },
  {
    name: "the ICMPv6 neighbour-advertisement rule deleted from the destination port's chain",
    to: () => v6Of('vm6b'),
    inject: () => IPV6_FAULTS.deleteNaRule(`${lab}-controller`, vm.vm6b!.port_id),
    check: 'ICMPv6 neighbour discovery',
    reason: 'SG_ICMPV6_BLOCKED',
    node: 'controller',
    namespace: () => '',
  },
];

for (const f of FAULTS)
  test(`${f.name}: ${f.reason} at the ${f.check} hop on ${f.node}`, { skip, timeout: 120_000 }, async () => {
    signalLabAgents(root, lab, 'SIGSTOP');
    try {
      f.inject();
      const r = await trace(f.to());
      assert.equal(r.ok, false);
      const b = r.firstBroken!;
      assert.deepEqual([b.reason, b.node, b.namespace, r.hops[b.index - 1]!.check], [f.reason, f.node, f.namespace(), f.check], b.cause);
    } finally {
      signalLabAgents(root, lab, 'SIGCONT');
    }
    await eventually('the agents repair the IPv6 path', async () => (await trace(f.to())).ok, 60_000);
  });

async function traceDhcp6(port: string, extra: string[] = []): Promise<Report> {
  const captures = extra.includes('--probe') ? ['--capture-dir', join(root, `captures-${++seq}`)] : [];
  const r = await neutrino(['trace', 'dhcp', port, ...L, '--json', ...captures, ...extra], 90_000);
  assert.ok(r.code === 0 || r.code === 1, `trace exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Report;
}

test(
  'DHCPv6: the stateful leg ok, probed by a Solicit from the instance; trace instance is IPv6 for an IPv6-only instance; SLAAC has no exchange; a host entry removed is found',
  { skip, timeout: 300_000 },
  async () => {
    openstack('network', 'create', '--project', 'demo', 'dhcp6');
    openstack(
      ...['subnet', 'create', '--project', 'demo', '--network', 'dhcp6', '--ip-version', '6', '--subnet-range', '2001:db8:2::/64'],
      ...['--ipv6-ra-mode', 'dhcpv6-stateful', '--ipv6-address-mode', 'dhcpv6-stateful', 'dhcp6'],
    );
    openstack('router', 'add', 'subnet', 'router', 'dhcp6');
    await neutrinoOk(
      ['instance', 'create', ...L, '--network', 'dhcp6', '--host', 'compute1', '--security-group', 'demo-ssh', 'vm6c'],
      120_000,
    );
    for (const i of JSON.parse(await neutrinoOk(['instance', 'list', ...L, '--json'])) as Array<{
      name: string;
      port_id: string;
      addresses: string[];
    }>)
      vm[i.name] = i;
    assert.ok(v6Of('vm6c').startsWith('2001:db8:2:'), JSON.stringify(vm.vm6c));

    const leg = await traceDhcp6(vm.vm6c!.port_id, ['--probe']);
    assert.equal(leg.ok, true, JSON.stringify(leg.firstBroken));
    assert.equal(leg.target.flow.port, 547);
    for (const check of ['radvd', 'security group DHCPv6 egress', 'dnsmasq options', 'DHCP host entry', 'security group DHCPv6 ingress'])
      assert.ok(
        leg.hops.some((h) => h.check === check && h.status === 'ok'),
        `a ${check} hop`,
      );
    assert.ok(leg.probe && leg.probe.sent > 0 && leg.probe.answered === 1, JSON.stringify(leg.probe));
    const captured = leg.hops.filter((h) => h.capture);
    assert.ok(captured.length >= 6, `captures on ${captured.length} hops`);
    assert.ok(!captured.some((h) => h.check === 'radvd'), 'the router interface carries no DHCPv6');
    for (const h of captured.filter((x) => x.check !== 'l2population'))
      assert.ok(h.capture!.request > 0, `hop ${h.index} ${h.device} ${h.check}: ${JSON.stringify(h.capture)}`);
    // The probe changed nothing on the instance: the same addresses.
    const after = (JSON.parse(await neutrinoOk(['instance', 'list', ...L, '--json'])) as Array<{ name: string; addresses: string[] }>).find(
      (i) => i.name === 'vm6c',
    )!;
    assert.deepEqual(after.addresses, vm.vm6c!.addresses);

    const inst = await neutrino(['trace', 'instance', 'vm6c', ...L, '--json'], 60_000);
    assert.equal(inst.code, 0, inst.stderr);
    const instReport = JSON.parse(inst.stdout) as Report;
    assert.equal(instReport.target.destination, '2001:db8:123::1');
    assert.ok(
      instReport.hops.some((h) => h.check === 'DHCP host entry'),
      'the DHCPv6 leg leads',
    );

    const slaac = await traceDhcp6(vm.vm6a!.port_id, ['--ipv6']);
    assert.equal(slaac.ok, true, JSON.stringify(slaac.firstBroken));
    assert.match(slaac.warnings.join('\n'), /no DHCPv6 exchange on subnet selfservice-ipv6/);

    signalLabAgents(root, lab, 'SIGSTOP');
    try {
      const file = String(leg.hops.find((h) => h.check === 'DHCP host entry')!.expected['hosts_file']);
      assert.ok(file.startsWith(root));
      const mac = (JSON.parse(openstack('port', 'show', vm.vm6c!.port_id, '-f', 'json')) as { mac_address: string }).mac_address;
      writeFileSync(
        file,
        readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => !l.startsWith(mac))
          .join('\n'),
      );
      const broken = await traceDhcp6(vm.vm6c!.port_id);
      const b = broken.firstBroken!;
      assert.deepEqual(
        [b.reason, b.node, broken.hops[b.index - 1]!.check],
        ['DHCP_HOST_ENTRY_MISSING', 'controller', 'DHCP host entry'],
        b.cause,
      );
    } finally {
      signalLabAgents(root, lab, 'SIGCONT');
    }
  },
);
