// `neutrino trace fip` on the demo lab, as root: the healthy path lists every hop of the scenario's
// walk (docs/scenario.md), all ok; then one fault at a time — injected in the kernel with the lab's agents paused so
// they cannot repair it first, or through the API with the agents running — is found at the right
// hop, node and reason. Every trace is recorded, and each recording gives the same verdict when
// traced again as an unprivileged user (no root, no live system). The agents repair each kernel
// fault once resumed, and the trace is ok again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, isRoot, neutrino, neutrinoOk } from '../helpers/neutrino-cli.ts';
import { eventually, labAdminEnv, resumeAndTakeDown, signalLabAgents } from '../helpers/lab.ts';
import { haveOpenstack } from '../helpers/openstack.ts';

const skip = !isRoot() ? 'needs root (network namespaces)' : !haveOpenstack() ? 'needs the openstack CLI' : false;
const lab = `t${process.pid % 100000}`;
const root = mkdtempSync(join(tmpdir(), 'neutrino-trace-'));
const L = ['--lab', lab, '--state-root', root];
const FIP = '10.123.123.104';
const NOBODY = 65534;
let env: NodeJS.ProcessEnv;
let seq = 0;

interface Report {
  ok: boolean;
  target: any;
  probe?: { sent: number; answered: number };
  hops: Array<{
    index: number;
    node: string;
    namespace: string;
    device: string | null;
    check: string;
    status: string;
    reason?: string;
    observed: any;
    expected: any;
    leg: string;
    capture?: { request: number; reply: number | null };
  }>;
  firstBroken: null | { index: number; node: string; namespace: string; device: string | null; reason: string; cause: string };
}

const ns = (node: string) => `${lab}-${node}`;
const sh = (argv: string[]) => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
const openstack = (...args: string[]) => execFileSync('openstack', args, { env, encoding: 'utf8' });

const signalAgents = (sig: 'SIGSTOP' | 'SIGCONT', nodes?: string[]) => signalLabAgents(root, lab, sig, nodes);

/** Traces the floating IP (recording the snapshot); returns the report, the exit code and the snapshot dir. */
async function trace(extra: string[] = []): Promise<{ report: Report; code: number; snap: string; stdout: string }> {
  const snap = join(root, `snap-${++seq}`);
  // The probe's pcaps go under the test's own directory (removed with it), not a new temp dir.
  const captures = extra.includes('--probe') ? ['--capture-dir', join(root, `captures-${seq}`)] : [];
  const r = await neutrino(['trace', 'fip', FIP, ...L, '--json', '--record', snap, ...captures, ...extra], 60_000);
  assert.ok(r.code === 0 || r.code === 1, `trace exited ${r.code}: ${r.stderr}`);
  return { report: JSON.parse(r.stdout), code: r.code, snap, stdout: r.stdout };
}

/** The recorded snapshot traced again by an unprivileged user gives the same report (timings aside). */
async function sameFromSnapshot(snap: string, live: Report) {
  for (const p of [
    root,
    snap,
    join(snap, 'nodes'),
    ...readdirSync(join(snap, 'nodes')).map((f) => join(snap, 'nodes', f)),
    join(snap, 'snapshot.json'),
  ])
    chmodSync(p, statSync(p).isDirectory() ? 0o755 : 0o644);
  const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(
      process.execPath,
      [BIN, 'trace', 'fip', FIP, '--snapshot', snap, '--json'],
      { uid: NOBODY, gid: NOBODY, env: { PATH: process.env.PATH }, cwd: '/' },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    ),
  );
  assert.ok(out.code === (live.ok ? 0 : 1), `snapshot trace as nobody exited ${out.code}: ${out.stderr}`);
  const replay = JSON.parse(out.stdout) as Report;
  const strip = (r: Report) => ({
    ok: r.ok,
    firstBroken: r.firstBroken,
    hops: r.hops.map((h) => [h.index, h.node, h.namespace, h.device, h.check, h.status, h.reason]),
  });
  assert.deepEqual(strip(replay), strip(live));
}

before(async () => {
  if (skip) return;
  chmodSync(root, 0o755);
  await neutrinoOk(['demo', ...L], 240_000);
  env = await labAdminEnv(L);
});

after(async () => {
  if (!skip) await resumeAndTakeDown(root, lab);
});

test(
  'the healthy demo path: every hop of the walk, with Neutron names, nodes and veth peers, all ok',
  { skip, timeout: 60_000 },
  async () => {
    const { report, code, snap } = await trace();
    assert.equal(code, 0, JSON.stringify(report.firstBroken));
    assert.equal(report.ok, true);
    assert.equal(report.firstBroken, null);
    assert.ok(
      report.hops.every((h) => h.status === 'ok'),
      report.hops
        .filter((h) => h.status !== 'ok')
        .map((h) => `${h.index} ${h.check}: ${h.reason}`)
        .join('\n'),
    );
    const t = report.target;
    assert.equal(t.port.fixed_ip, '172.16.1.3');
    assert.equal(t.port.host, 'compute1');
    assert.equal(t.router.host, 'controller');
    const routerNs = `qrouter-${t.router.id}`;
    const at = (node: string, namespace: string, device: string, check?: string) =>
      report.hops.find((h) => h.node === node && h.namespace === namespace && h.device === device && (!check || h.check === check));
    const brqSelf = `brq${t.network.id.slice(0, 11)}`;
    const portTap = `tap${t.port.id.slice(0, 11)}`;
    // The scenario's devices, on the right nodes and in the right namespaces.
    assert.ok(at('controller', '', 'eth2', 'uplink'), 'provider NIC eth2 on controller');
    assert.ok(at('controller', '', 'vxlan-41', 'vxlan'), 'vxlan-41 on controller');
    assert.ok(at('compute1', '', 'vxlan-41', 'vxlan'), 'vxlan-41 on compute1');
    assert.ok(at('controller', '', brqSelf, 'bridge') && at('compute1', '', brqSelf, 'bridge'), 'the selfservice bridge on both nodes');
    assert.ok(at('compute1', '', portTap, 'tap in bridge'), 'the instance tap on compute1');
    assert.ok(at('compute1', '', portTap, 'instance NIC'), 'the instance NIC from libvirt.xml');
    const qr = report.hops.find(
      (h) => h.node === 'controller' && h.namespace === routerNs && h.device?.startsWith('qr-') && h.check === 'router port',
    )!;
    const qrTap = report.hops.find((h) => h.node === 'controller' && h.namespace === '' && h.device === `tap${qr.device!.slice(3)}`)!;
    // veth peers point at each other by ifindex, as steps 5–7 of the walk read them.
    assert.equal(qr.observed.peer.ifindex, qrTap.observed.ifindex);
    assert.equal(qrTap.observed.peer.ifindex, qr.observed.ifindex);
    assert.equal(qrTap.observed.master, brqSelf);
    assert.ok(
      report.hops.some(
        (h) =>
          h.check === 'DNAT' &&
          h.namespace === routerNs &&
          h.expected.rule === `-A neutron-l3-agent-PREROUTING -d ${FIP}/32 -j DNAT --to-destination 172.16.1.3`,
      ),
    );
    assert.ok(report.hops.some((h) => h.leg === 'reply' && h.check === 'route' && h.expected.via === '10.123.123.1'));
    await sameFromSnapshot(snap, report);
    // --probe: request and reply seen on every device of the path, on both nodes and in the router.
    const probed = (await trace(['--probe'])).report;
    assert.equal(probed.ok, true, JSON.stringify(probed.firstBroken));
    assert.equal(probed.probe!.answered, probed.probe!.sent);
    const captured = probed.hops.filter((h) => h.capture);
    assert.ok(captured.length >= 15, `captures on ${captured.length} hops`);
    for (const h of captured)
      assert.ok(h.capture!.request > 0 && h.capture!.reply! > 0, `hop ${h.index} ${h.device}: ${JSON.stringify(h.capture)}`);
    // The table, the picture and the help.
    const text = await neutrino(['trace', 'fip', FIP, ...L, '--no-color']);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /OK +every hop checked matches/);
    assert.match(await neutrinoOk(['trace', 'fip', FIP, ...L, '--format', 'dot']), /^digraph trace \{/);
    assert.match(await neutrinoOk(['trace', 'fip', FIP, ...L, '--format', 'mermaid']), /^flowchart LR/);
  },
);

/**
 * The probe's measurement agrees with the static verdict: packets were seen up to the broken hop
 * and not past it (on its leg); with the agent down, the kernel path still carries everything.
 */
function probeAgrees(r: Report, staticReason: string) {
  const b = r.firstBroken!;
  assert.equal(b.reason, staticReason, 'the probe keeps the static verdict first');
  const captured = r.hops.filter((h) => h.capture);
  if (staticReason === 'AGENT_DOWN') {
    assert.ok(
      captured.length > 0 && captured.every((h) => h.capture!.request > 0 && (h.capture!.reply ?? 1) > 0),
      'traffic still flows through the intact kernel path',
    );
    assert.equal(r.probe!.answered, r.probe!.sent);
    return;
  }
  if (staticReason === 'FIP_NOT_ASSOCIATED') {
    assert.equal(r.probe?.answered ?? 0, 0, 'nothing answers on the floating IP');
    return;
  }
  const leg = r.hops[b.index - 1]!.leg;
  const seen = (h: Report['hops'][number]) => (leg === 'request' ? h.capture!.request : (h.capture!.reply ?? 0));
  const past = captured.filter((h) => h.leg === leg && h.index > b.index);
  for (const h of past) assert.equal(seen(h), 0, `hop ${h.index} (${h.device} ${h.check}) past the break saw ${leg}s`);
  assert.ok(
    captured.some((h) => h.index <= b.index && h.capture!.request > 0),
    `the request was seen up to the break (hop ${b.index}); probe ${JSON.stringify(r.probe)}, captures ${JSON.stringify(
      captured.map((h) => [h.index, h.node, h.namespace, h.device, h.check, h.capture]),
    )}, warnings ${JSON.stringify((r as { warnings?: unknown }).warnings)}`,
  );
}

interface Fault {
  name: string;
  /** kernel faults are injected with the agents paused; API faults with them running */
  kind: 'kernel' | 'api';
  inject: (r: Report) => void;
  undo?: (r: Report) => void;
  want: { node: string; reason: string; device?: (r: Report) => string | null; namespace?: (r: Report) => string };
  flow?: string[];
}

/** The external host's device toward the provider network (the one holding its route to `FIP`). */
const externalDev = () => /\bdev (\S+)/.exec(sh(['ip', '-n', ns('external'), 'route', 'get', FIP]))![1]!;

/** Resolves `ip` on the external host (through the healthy path) and pins the entry as permanent. */
function pinExternalNeighbour(ip: string) {
  sh(['ip', 'netns', 'exec', ns('external'), 'ping', '-c', '1', '-W', '2', ip]);
  const dev = externalDev();
  const mac = /lladdr (\S+)/.exec(sh(['ip', '-n', ns('external'), 'neigh', 'show', 'to', ip, 'dev', dev]))?.[1];
  assert.ok(mac, `the external host has resolved ${ip}`);
  sh(['ip', '-n', ns('external'), 'neigh', 'replace', ip, 'lladdr', mac, 'dev', dev, 'nud', 'permanent']);
}

const portTap = (r: Report) => `tap${r.target.port.id.slice(0, 11)}`;
const routerNs = (r: Report) => `qrouter-${r.target.router.id}`;
const qrDev = (r: Report) => r.hops.find((h) => h.device?.startsWith('qr-'))!.device!;

const FAULTS: Fault[] = [
  {
    name: "the instance's tap set down",
    kind: 'kernel',
    inject: (r) => sh(['ip', '-n', ns('compute1'), 'link', 'set', portTap(r), 'down']),
    want: { node: 'compute1', reason: 'DEVICE_DOWN', device: portTap },
  },
  {
    name: 'the tap taken out of its bridge',
    kind: 'kernel',
    inject: (r) => sh(['ip', '-n', ns('compute1'), 'link', 'set', portTap(r), 'nomaster']),
    want: { node: 'compute1', reason: 'NOT_IN_BRIDGE', device: portTap },
  },
  {
    name: 'vxlan-41 deleted on compute1',
    kind: 'kernel',
    inject: () => sh(['ip', '-n', ns('compute1'), 'link', 'del', 'vxlan-41']),
    want: { node: 'compute1', reason: 'DEVICE_MISSING', device: () => 'vxlan-41' },
  },
  {
    name: "the fdb entries toward compute1's VTEP deleted on the controller",
    kind: 'kernel',
    inject: (r) => {
      const vtep = r.hops.find((h) => h.node === 'compute1' && h.check === 'vxlan')!.expected.vxlan.local;
      for (const mac of [r.target.port.mac, '00:00:00:00:00:00'])
        sh(['bridge', '-n', ns('controller'), 'fdb', 'del', mac, 'dev', 'vxlan-41', 'dst', vtep]);
    },
    want: { node: 'controller', reason: 'NO_FDB_ENTRY', device: () => 'vxlan-41' },
  },
  {
    name: 'the qr- device deleted',
    kind: 'kernel',
    inject: (r) => sh(['ip', '-n', routerNs(r), 'link', 'del', qrDev(r)]),
    want: { node: 'controller', reason: 'DEVICE_MISSING', device: qrDev, namespace: routerNs },
  },
  {
    name: "the router's default route removed",
    kind: 'kernel',
    inject: (r) => sh(['ip', '-n', routerNs(r), 'route', 'del', 'default']),
    want: { node: 'controller', reason: 'NO_ROUTE', namespace: routerNs },
  },
  {
    name: 'the DNAT rule deleted',
    kind: 'kernel',
    inject: (r) =>
      sh([
        'ip',
        'netns',
        'exec',
        routerNs(r),
        'iptables',
        '-t',
        'nat',
        '-D',
        'neutron-l3-agent-PREROUTING',
        '-d',
        `${FIP}/32`,
        '-j',
        'DNAT',
        '--to-destination',
        '172.16.1.3',
      ]),
    want: { node: 'controller', reason: 'NAT_RULE_MISSING', device: () => null, namespace: routerNs },
  },
  {
    name: 'the provider NIC taken out of its bridge',
    kind: 'kernel',
    // The fault also cuts the external host's ARP for the floating IP: an entry that was being
    // re-confirmed (DELAY/PROBE after an earlier probe's ping) fails, and the probe's pings never
    // leave the host. Pinned first, so what is measured is the bridge membership alone.
    inject: () => {
      pinExternalNeighbour(FIP);
      sh(['ip', '-n', ns('controller'), 'link', 'set', 'eth2', 'nomaster']);
    },
    undo: () => sh(['ip', '-n', ns('external'), 'neigh', 'del', FIP, 'dev', externalDev()]),
    want: { node: 'controller', reason: 'NOT_IN_BRIDGE', device: () => 'eth2' },
  },
  {
    name: 'the floating IP disassociated through the API',
    kind: 'api',
    inject: () => openstack('floating', 'ip', 'unset', '--port', FIP),
    undo: (r) => openstack('floating', 'ip', 'set', '--port', r.target.port.id, FIP),
    want: { node: '', reason: 'FIP_NOT_ASSOCIATED' },
  },
  {
    name: "the security group's ICMP rule deleted through the API",
    kind: 'api',
    inject: () => {
      const rules = JSON.parse(openstack('security', 'group', 'rule', 'list', 'demo-ssh', '--protocol', 'icmp', '-f', 'json')) as Array<{
        ID: string;
      }>;
      for (const rule of rules) openstack('security', 'group', 'rule', 'delete', rule.ID);
    },
    undo: () => openstack('security', 'group', 'rule', 'create', '--ingress', '--protocol', 'icmp', '--project', 'demo', 'demo-ssh'),
    want: { node: 'compute1', reason: 'SG_DENIED', device: portTap },
  },
];

for (const f of FAULTS) {
  test(`fault: ${f.name} → ${f.want.reason} on ${f.want.node || 'the API'}`, { skip, timeout: 90_000 }, async () => {
    const healthy = (await eventually(
      'a healthy trace before the fault',
      async () => {
        const t = await trace();
        return t.report.ok ? t.report : undefined;
      },
      30_000,
    )) as Report;
    if (f.kind === 'kernel') signalAgents('SIGSTOP');
    let found: { report: Report; snap: string };
    try {
      f.inject(healthy);
      // API faults reach the kernel through the running agents; the verdict must not depend on that.
      found =
        f.kind === 'api'
          ? await eventually(
              'the API change in the trace',
              async () => {
                const t = await trace();
                return t.report.firstBroken?.reason === f.want.reason ? t : undefined;
              },
              30_000,
            )
          : await trace();
      probeAgrees((await trace(['--probe'])).report, f.want.reason);
    } finally {
      if (f.kind === 'kernel') signalAgents('SIGCONT');
    }
    const b = found.report.firstBroken;
    assert.ok(b, 'the trace finds the fault');
    assert.equal(b.reason, f.want.reason, b.cause);
    assert.equal(b.node, f.want.node, b.cause);
    if (f.want.device) assert.equal(b.device, f.want.device(healthy), b.cause);
    if (f.want.namespace) assert.equal(b.namespace, f.want.namespace(healthy), b.cause);
    assert.ok(b.cause.length > 20, 'the cause explains it');
    await sameFromSnapshot(found.snap, found.report);
    f.undo?.(healthy);
    // Level-triggered agents repair kernel faults once they run again; the trace turns ok.
    await eventually('the trace ok again after repair', async () => (await trace()).report.ok, 30_000);
  });
}

test('fault: the L2 agent on compute1 stopped → AGENT_DOWN on compute1', { skip, timeout: 90_000 }, async () => {
  signalAgents('SIGSTOP', ['compute1']);
  try {
    const t = await eventually(
      'compute1 L2 agent shown dead',
      async () => {
        const x = await trace();
        return x.report.firstBroken?.reason === 'AGENT_DOWN' ? x : undefined;
      },
      45_000,
    );
    assert.equal(t.report.firstBroken!.node, 'compute1');
    assert.match(t.report.firstBroken!.cause, /Linux bridge agent on compute1 is down: it last reported \d+ s ago/);
    await sameFromSnapshot(t.snap, t.report);
    probeAgrees((await trace(['--probe'])).report, 'AGENT_DOWN');
  } finally {
    signalAgents('SIGCONT', ['compute1']);
  }
  await eventually('the trace ok again', async () => (await trace()).report.ok, 30_000);
});

test(
  'trace port and trace instance: east-west across nodes, and out through the router; verdicts match real pings',
  { skip, timeout: 120_000 },
  async () => {
    await neutrinoOk(['instance', 'create', ...L, 'vm2', '--network', 'selfservice', '--host', 'controller', '--project', 'demo'], 60_000);
    const list = JSON.parse(await neutrinoOk(['instance', 'list', ...L, '--json'])) as Array<{ name: string; ip: string; port_id: string }>;
    const vm2 = list.find((i) => i.name === 'vm2')!;
    const vm2Ip = vm2.ip.split('/')[0]!;
    const ping = async (from: string, to: string) =>
      (await neutrino(['instance', 'exec', ...L, from, '--', 'ping', '-c', '1', '-W', '1', to])).code === 0;
    const json = async (args: string[]) => {
      const r = await neutrino(['trace', ...args, ...L, '--json'], 60_000);
      return { code: r.code, report: JSON.parse(r.stdout) as Report };
    };
    // instance (compute1, group demo-ssh) → vm2 (controller, the default group: ingress only from its members): denied at vm2's tap.
    const toVm2 = await json(['instance', 'instance', '--to', vm2Ip]);
    assert.equal(toVm2.code, 1);
    assert.equal(toVm2.report.firstBroken!.reason, 'SG_DENIED');
    assert.equal(toVm2.report.firstBroken!.node, 'controller');
    assert.equal(toVm2.report.firstBroken!.device, `tap${vm2.port_id.slice(0, 11)}`);
    assert.ok(
      toVm2.report.hops.some((h) => h.node === 'compute1' && h.check === 'l2population' && h.status === 'ok'),
      'crosses the VXLAN tunnel',
    );
    assert.equal(await ping('instance', vm2Ip), false, 'the real ping is dropped too');
    // vm2 → instance: demo-ssh admits ICMP from anywhere.
    const toInstance = await json(['port', vm2.port_id, '--to', '172.16.1.3']);
    assert.equal(toInstance.code, 0, JSON.stringify(toInstance.report.firstBroken));
    assert.equal(await ping('vm2', '172.16.1.3'), true);
    // vm2 has no floating IP: its way out, SNAT to the router's gateway address, the provider NIC.
    const out = await json(['instance', 'vm2']);
    assert.equal(out.code, 0, JSON.stringify(out.report.firstBroken));
    assert.ok(out.report.hops.some((h) => h.check === 'SNAT' && /--to-source 10\.123\.123\.102/.test(String(h.expected.rule))));
    assert.ok(out.report.hops.some((h) => h.check === 'uplink' && h.device === 'eth2'));
    assert.equal(await ping('vm2', '10.123.123.1'), true);
    // The router's SNAT rule removed by hand (agents paused) is found on the way out.
    signalAgents('SIGSTOP');
    try {
      const ns = `qrouter-${out.report.target.router.id}`;
      const rule = out.report.hops.find((h) => h.check === 'SNAT')!.expected.rule as string;
      sh(['ip', 'netns', 'exec', ns, 'iptables', '-t', 'nat', '-D', ...rule.replace(/^-A /, '').split(' ')]);
      const broken = await json(['instance', 'vm2']);
      assert.equal(broken.report.firstBroken!.reason, 'NAT_RULE_MISSING');
      assert.equal(broken.report.firstBroken!.namespace, ns);
    } finally {
      signalAgents('SIGCONT');
    }
    await eventually('the SNAT rule repaired', async () => (await json(['instance', 'vm2'])).code === 0, 30_000);
    await neutrinoOk(['instance', 'delete', ...L, 'vm2'], 60_000);
  },
);

test('bad usage: a clear one-line reason and exit status 2', { skip, timeout: 30_000 }, async () => {
  const bad = await neutrino(['trace', 'fip', 'not-an-ip', ...L]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^neutrino trace: 'not-an-ip' is not an IPv4 address\n$/);
  const port = await neutrino(['trace', 'fip', FIP, ...L, '--port', '22']);
  assert.equal(port.code, 2);
  assert.match(port.stderr, /--port needs --protocol tcp or udp/);
  const missing = await neutrino(['trace', 'fip', '10.123.123.199', ...L, '--json']);
  assert.equal(missing.code, 1);
  assert.equal(JSON.parse(missing.stdout).firstBroken.reason, 'FIP_NOT_FOUND');
  const noTo = await neutrino(['trace', 'port', 'abcdef12', ...L]);
  assert.equal(noTo.code, 2);
  assert.match(noTo.stderr, /^neutrino trace: trace port needs --to ADDRESS\|PORT\n$/);
  const unknown = await neutrino(['trace', 'instance', 'nosuch', ...L]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /has no instance 'nosuch'/);
});
