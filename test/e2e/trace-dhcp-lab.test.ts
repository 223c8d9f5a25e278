// The DHCP leg on the demo lab, as root: `trace dhcp` of the instance's port and `trace instance`
// are all ok when healthy; then one fault at a time on the DHCP leg — injected with the lab's agents
// paused so they cannot repair it first — is found at the right hop, node and reason, with a cause
// in Neutron's terms; once the agents run again they repair it and the trace is ok again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot, neutrino, neutrinoOk } from '../helpers/neutrino-cli.ts';
import { eventually, labAdminEnv, resumeAndTakeDown, signalLabAgents } from '../helpers/lab.ts';
import type { TraceReport } from '../../src/trace/report.ts';
import { haveOpenstack } from '../helpers/openstack.ts';

const skip = !isRoot() ? 'needs root (network namespaces)' : false;
const lab = `dh${process.pid % 100000}`;
const root = mkdtempSync(join(tmpdir(), 'neutrino-trace-dhcp-'));
const L = ['--lab', lab, '--state-root', root];
const ns = (node: string) => `${lab}-${node}`;
const sh = (argv: string[]) => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
let portId = '';

async function traceJson(args: string[]): Promise<{ code: number; report: TraceReport }> {
  const r = await neutrino(['trace', ...args, ...L, '--json'], 60_000);
  assert.ok(r.code === 0 || r.code === 1, `trace exited ${r.code}: ${r.stderr}`);
  return { code: r.code, report: JSON.parse(r.stdout) as TraceReport };
}
const traceDhcp = () => traceJson(['dhcp', portId]);
const hop = (r: TraceReport, check: string) => r.hops.find((h) => h.check === check)!;

before(async () => {
  if (skip) return;
  await neutrinoOk(['demo', ...L], 240_000);
  portId = (await traceJson(['instance', 'instance'])).report.target.port!.id;
});

after(async () => {
  if (!skip) await resumeAndTakeDown(root, lab);
});

test('healthy: trace dhcp and trace instance see the whole DHCP leg ok', { skip, timeout: 60_000 }, async () => {
  const { code, report } = await traceDhcp();
  assert.equal(code, 0, JSON.stringify(report.firstBroken));
  assert.ok(report.hops.every((h) => h.status === 'ok'));
  const qdhcp = `qdhcp-${report.target.network!.id}`;
  assert.equal(hop(report, 'dnsmasq').namespace, qdhcp);
  assert.equal(hop(report, 'dnsmasq').node, 'controller');
  // The dnsmasq found is the one the DHCP agent's pid file names.
  const pid = hop(report, 'dnsmasq').observed!['pid'] as number;
  assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), new RegExp(`^dnsmasq\\0.*${root}`));
  assert.match(
    String(hop(report, 'DHCP host entry').observed!['entry']),
    new RegExp(`${report.target.port!.mac},.*,${report.target.port!.fixed_ip}$`),
  );
  // trace instance: the DHCP leg first, then the path in through the floating IP.
  const inst = await traceJson(['instance', 'instance']);
  assert.equal(inst.code, 0, JSON.stringify(inst.report.firstBroken));
  const checks = inst.report.hops.map((h) => h.check);
  assert.ok(checks.indexOf('DHCP host entry') < checks.indexOf('DNAT'), 'the DHCP leg leads');
  // Usage: a DHCP trace has no destination; the DHCP port itself gets no DHCP.
  const bad = await neutrino(['trace', 'dhcp', portId, ...L, '--protocol', 'tcp', '--port', '67']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^neutrino trace: trace dhcp follows the DHCP exchange .* it takes no --to, --protocol, --port or --source\n$/);
  const dhcpPort = hop(report, 'DHCP port').resource.id;
  const own = await neutrino(['trace', 'dhcp', dhcpPort, ...L]);
  assert.equal(own.code, 2);
  assert.match(own.stderr, /is a network:dhcp port: Neutron serves it no DHCP/);
});

interface Fault {
  name: string;
  inject: (r: TraceReport) => void;
  want: { node: string; reason: string; check: string };
}

const FAULTS: Fault[] = [
  {
    name: "the lab's dnsmasq killed (by its PID)",
    inject: (r) => {
      const pid = hop(r, 'dnsmasq').observed!['pid'] as number;
      // Only the lab's own: its command line names the lab's state directory.
      assert.ok(readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(root));
      process.kill(pid, 'SIGTERM');
      sh(['sh', '-c', `for i in $(seq 50); do [ -e /proc/${pid} ] || exit 0; sleep 0.1; done; exit 1`]);
    },
    want: { node: 'controller', reason: 'DNSMASQ_NOT_RUNNING', check: 'dnsmasq' },
  },
  {
    name: "the port's host entry removed from dnsmasq's hosts file",
    inject: (r) => {
      const file = String(hop(r, 'DHCP host entry').expected['hosts_file']);
      assert.ok(file.startsWith(root));
      writeFileSync(
        file,
        readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => !l.startsWith(r.target.port!.mac))
          .join('\n'),
      );
    },
    want: { node: 'controller', reason: 'DHCP_HOST_ENTRY_MISSING', check: 'DHCP host entry' },
  },
  {
    name: "the DHCP port's veth taken out of the bridge",
    inject: (r) => sh(['ip', '-n', ns('controller'), 'link', 'set', hop(r, 'DHCP port in bridge').device!, 'nomaster']),
    want: { node: 'controller', reason: 'DHCP_PORT_NOT_IN_BRIDGE', check: 'DHCP port in bridge' },
  },
  {
    name: "the DHCP RETURN rule removed from the instance port's chain",
    inject: (r) => {
      const rule = (hop(r, 'security group DHCP ingress').expected['rules'] as string[]).find((x) =>
        x.includes(`-d ${r.target.port!.fixed_ip}/32`),
      )!;
      sh(['ip', 'netns', 'exec', ns('compute1'), 'iptables', '-D', ...rule.replace(/^-A /, '').split(' ')]);
    },
    want: { node: 'compute1', reason: 'SG_DHCP_BLOCKED', check: 'security group DHCP ingress' },
  },
];

for (const f of FAULTS) {
  test(`fault: ${f.name} → ${f.want.reason} on ${f.want.node}`, { skip, timeout: 90_000 }, async () => {
    const healthy = await eventually(
      'a healthy DHCP trace before the fault',
      async () => {
        const t = await traceDhcp();
        return t.report.ok ? t.report : undefined;
      },
      30_000,
    );
    signalLabAgents(root, lab, 'SIGSTOP');
    let found: TraceReport;
    let viaInstance: TraceReport;
    try {
      f.inject(healthy);
      found = (await traceDhcp()).report;
      viaInstance = (await traceJson(['instance', 'instance'])).report;
    } finally {
      signalLabAgents(root, lab, 'SIGCONT');
    }
    for (const r of [found, viaInstance]) {
      const b = r.firstBroken;
      assert.ok(b, 'the trace finds the fault');
      assert.equal(b.reason, f.want.reason, b.cause);
      assert.equal(b.node, f.want.node, b.cause);
      assert.equal(r.hops[b.index - 1]!.check, f.want.check);
      assert.match(b.cause, /network selfservice|port [0-9a-f-]{36}/, 'the cause names the network or the port');
    }
    await eventually('the DHCP leg repaired by the agents', async () => (await traceDhcp()).report.ok, 45_000);
  });
}

/** Every device the probe captured on saw the requests and the replies, and every request was answered. */
function seenEverywhere(r: TraceReport) {
  assert.equal(r.ok, true, JSON.stringify(r.firstBroken));
  assert.ok(r.probe && r.probe.sent > 0 && r.probe.answered === r.probe.sent, JSON.stringify(r.probe));
  const captured = r.hops.filter((h) => h.capture);
  assert.ok(captured.length >= 8, `captures on ${captured.length} hops`);
  for (const h of captured)
    assert.ok(h.capture!.request > 0 && h.capture!.reply! > 0, `hop ${h.index} ${h.device} ${h.check}: ${JSON.stringify(h.capture)}`);
}

test(
  '--probe on trace port (east-west across nodes, through the router to another network) and trace instance (east-west, out through SNAT, in through the floating IP): request and reply on every hop',
  { skip, timeout: 180_000 },
  async () => {
    await neutrinoOk(['instance', 'create', ...L, 'vm2', '--network', 'selfservice', '--host', 'controller', '--project', 'demo'], 60_000);
    const vm2 = (JSON.parse(await neutrinoOk(['instance', 'list', ...L, '--json'])) as Array<{ name: string; port_id: string }>).find(
      (i) => i.name === 'vm2',
    )!;
    let seq = 0;
    const probe = async (args: string[]) =>
      (await traceJson([...args, '--probe', '--capture-dir', join(root, `captures-${++seq}`)])).report;
    // vm2 (controller) → the instance (compute1): the probe starts in vm2's namespace and crosses the VXLAN tunnel.
    const eastWest = await probe(['port', vm2.port_id, '--to', '172.16.1.3']);
    seenEverywhere(eastWest);
    assert.equal(eastWest.probe!.from, `netns:${lab}-i-vm2`);
    assert.ok(
      eastWest.hops.some((h) => h.node === 'compute1' && h.device?.startsWith('tap') && h.capture),
      'captured on the far tap',
    );
    assert.ok(
      eastWest.hops.some((h) => h.check === 'vxlan underlay' && h.capture),
      'captured on the underlay',
    );
    const viaInstance = await probe(['instance', 'vm2', '--to', '172.16.1.3']);
    seenEverywhere(viaInstance);
    // The DHCP leg leads, probed too: a DHCP exchange from vm2, seen up to the DHCP port in the namespace.
    assert.ok(
      viaInstance.dhcpProbe && viaInstance.dhcpProbe.sent > 0 && viaInstance.dhcpProbe.answered === viaInstance.dhcpProbe.sent,
      JSON.stringify(viaInstance.dhcpProbe),
    );
    assert.ok(viaInstance.hops.some((h) => h.check === 'DHCP port' && h.capture!.request > 0 && h.capture!.reply! > 0));
    // vm2 has no floating IP: out through the router's SNAT to the external gateway.
    const out = await probe(['instance', 'vm2']);
    seenEverywhere(out);
    // The instance with a floating IP: the path probed from the external host, the DHCP leg from the instance.
    const inbound = await probe(['instance', 'instance']);
    seenEverywhere(inbound);
    assert.equal(inbound.probe!.from, `netns:${lab}-external`);
    assert.equal(inbound.dhcpProbe!.from, `netns:${lab}-i-instance`);
    assert.ok(
      out.hops.some((h) => h.device === 'eth2' && h.capture),
      'captured on the provider NIC',
    );
    // Through the router to another tenant network (the openstack CLI makes it): vm2 → vm3 on compute1.
    if (haveOpenstack()) {
      const env = await labAdminEnv(L);
      const openstack = (...args: string[]) => execFileSync('openstack', args, { env, encoding: 'utf8' });
      openstack('network', 'create', '--project', 'demo', 'net2');
      openstack('subnet', 'create', '--project', 'demo', '--network', 'net2', '--subnet-range', '172.16.2.0/24', 'sub2');
      openstack('router', 'add', 'subnet', 'router', 'sub2');
      await neutrinoOk(['instance', 'create', ...L, 'vm3', '--network', 'net2', '--host', 'compute1', '--project', 'demo'], 60_000);
      const vm3 = (JSON.parse(await neutrinoOk(['instance', 'list', ...L, '--json'])) as Array<{ name: string; ip: string }>).find(
        (i) => i.name === 'vm3',
      )!;
      const routed = await probe(['port', vm2.port_id, '--to', vm3.ip.split('/')[0]!]);
      seenEverywhere(routed);
      const qrs = new Set(routed.hops.filter((h) => h.check === 'router port' && h.capture).map((h) => h.device));
      assert.equal(qrs.size, 2, 'captured on both router interfaces');
      await neutrinoOk(['instance', 'delete', ...L, 'vm3'], 60_000);
    }
    // A port with no instance to send from needs --from.
    const routerPort = out.hops.find((h) => h.check === 'router port')!.resource.id;
    const noFrom = await neutrino(['trace', 'port', routerPort, '--to', '172.16.1.3', ...L, '--probe', '--json']);
    assert.equal(noFrom.code, 2, noFrom.stderr);
    assert.match(noFrom.stderr, /^neutrino trace: --probe needs --from ACCESS: where port [0-9a-f-]+'s traffic starts/);
    await neutrinoOk(['instance', 'delete', ...L, 'vm2'], 60_000);
  },
);

test(
  'trace dhcp --probe: a DHCP exchange from the instance, seen on every device of the leg, the instance keeping its address; --wait captures a client the operator starts; with dnsmasq killed the requests reach ns- and nothing answers',
  { skip, timeout: 120_000 },
  async () => {
    let seq = 0;
    const probe = async () => (await traceJson(['dhcp', portId, '--probe', '--capture-dir', join(root, `dhcp-captures-${++seq}`)])).report;
    const healthy = await probe();
    seenEverywhere(healthy);
    assert.equal(healthy.probe!.protocol, 'dhcp');
    assert.ok(
      healthy.hops.some((h) => h.check === 'DHCP port' && h.namespace.startsWith('qdhcp-') && h.capture),
      'captured inside the DHCP namespace',
    );
    assert.ok(
      healthy.hops.some((h) => h.check === 'vxlan underlay' && h.capture),
      'captured on the underlay',
    );
    const addr = JSON.parse(await neutrinoOk(['instance', 'exec', ...L, 'instance', '--', 'ip', '-j', 'addr', 'show', 'eth0']))[0];
    assert.ok(
      addr.addr_info.some((a: { local: string }) => a.local === '172.16.1.3'),
      'the probe changed nothing in the instance',
    );
    // --wait: no client started by the trace; the operator (here the test) starts the instance's own within the window.
    const operator = new Promise<void>((resolve) =>
      setTimeout(
        () =>
          execFile(
            'ip',
            ['netns', 'exec', `${lab}-i-instance`, 'udhcpc', '-i', 'eth0', '-f', '-q', '-n', '-t', '3', '-T', '1', '-s', '/bin/true'],
            () => resolve(),
          ),
        3000,
      ),
    );
    const passive = (await traceJson(['dhcp', portId, '--probe', '--wait', '8', '--capture-dir', join(root, 'dhcp-passive')])).report;
    await operator;
    seenEverywhere(passive);
    assert.match(passive.probe!.from, /^the port's own client \(captured for 8 s\)$/);
    signalLabAgents(root, lab, 'SIGSTOP');
    let broken: TraceReport;
    try {
      const pid = hop(healthy, 'dnsmasq').observed!['pid'] as number;
      assert.ok(readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(root));
      process.kill(pid, 'SIGTERM');
      sh(['sh', '-c', `for i in $(seq 50); do [ -e /proc/${pid} ] || exit 0; sleep 0.1; done; exit 1`]);
      broken = await probe();
    } finally {
      signalLabAgents(root, lab, 'SIGCONT');
    }
    assert.equal(broken.firstBroken!.reason, 'DNSMASQ_NOT_RUNNING');
    assert.equal(broken.probe!.answered, 0);
    const nsDev = broken.hops.find((h) => h.check === 'DHCP port' && h.capture)!;
    assert.ok(nsDev.capture!.request > 0, 'the requests reached the DHCP port in the namespace');
    for (const h of broken.hops.filter((x) => x.capture)) assert.equal(h.capture!.reply, 0, `no reply on ${h.device}`);
    await eventually('dnsmasq respawned by the DHCP agent', async () => (await traceDhcp()).report.ok, 45_000);
  },
);
