// `--probe` on the demo lab, as root, through the library (gather → trace → probeFip): real traffic
// from the external host, a capture on every device the report names on both nodes and in the
// router namespace, counted per hop. On the healthy demo every device sees request and reply (ICMP
// and TCP); a port the security group refuses is seen up to the instance node's bridge and not on
// the tap, as the static verdict says; with the DNAT rule deleted (the agents paused, so they
// cannot repair it) the request is seen up to the router's qg- and not after, and the probe puts the
// loss there. No tcpdump is left running after any probe.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labNodes, resumeAndTakeDown, signalLabAgents } from '../helpers/lab.ts';
import { isRoot, neutrinoOk } from '../helpers/neutrino-cli.ts';
import { nodeAccess, parseAccess, type NodeAccess } from '../../src/trace/read/access.ts';
import { traceFip } from '../../src/trace/walk/fip.ts';
import { gatherSnapshot } from '../../src/trace/read/gather.ts';
import { labSource } from '../../src/cli/trace-lab.ts';
import { probeFip } from '../../src/trace/probe/probe.ts';
import type { Hop, TraceReport, TraceTarget } from '../../src/trace/report.ts';
import { contextFrom } from '../../src/trace/run.ts';

const skip = !isRoot() ? 'needs root (network namespaces)' : false;
const lab = `pr${process.pid % 100000}`;
const root = mkdtempSync(join(tmpdir(), 'neutrino-probe-e2e-'));
const L = ['--lab', lab, '--state-root', root];
const FIP = '10.123.123.104';
const FIXED = '172.16.1.3';

const labState = () => ({ nodes: labNodes(root, lab) });
const signalAgents = (sig: 'SIGSTOP' | 'SIGCONT') => signalLabAgents(root, lab, sig);

async function trace(flow: TraceTarget['flow']): Promise<TraceReport> {
  const snapshot = await gatherSnapshot({ lab: labSource({ lab, stateRoot: root }) });
  return traceFip(contextFrom(snapshot, `live, lab ${lab}`), FIP, { flow });
}

let seq = 0;
async function probe(report: TraceReport): Promise<TraceReport> {
  const access: Record<string, NodeAccess> = Object.fromEntries(
    labState().nodes.map((n) => [n.name, nodeAccess(parseAccess(`netns:${n.namespace}`))]),
  );
  const from = { access: nodeAccess(parseAccess(`netns:${lab}-external`)), label: `${lab}-external` };
  const r = await probeFip(report, { access, from, count: 3, captureDir: join(root, `probe-${++seq}`) });
  assertNoCaptureLeft(r);
  assertPcapsKept(r);
  return r;
}

/** Names only this lab has (they carry its resources' ids): no process may still capture on them. */
function assertNoCaptureLeft(r: TraceReport) {
  const ours = new Set(r.hops.map((h) => h.device).filter((d): d is string => !!d && /^(brq|tap|qg-|qr-)/.test(d)));
  const procs = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => /\btcpdump\b/.test(l));
  const left = procs.filter((l) => [...ours].some((d) => l.includes(` ${d} `)));
  assert.deepEqual(left, [], 'a tcpdump of the probe is still running');
}

/** Every capture's pcap is kept, per node; there is no pcap of a device the report does not name. */
function assertPcapsKept(r: TraceReport) {
  const dir = r.probe!.captureDir!;
  const named = new Set(r.hops.filter((h) => h.capture?.pcap).map((h) => h.capture!.pcap!));
  for (const p of named) assert.ok(existsSync(join(dir, p)), `pcap ${p} kept`);
  const files = readdirSync(dir).flatMap((node) => readdirSync(join(dir, node)).map((f) => `${node}/${f}`));
  assert.deepEqual(files.sort(), [...named].sort());
}

const routerNs = (r: TraceReport) => `qrouter-${r.target.router!.id}`;
const deviceHops = (r: TraceReport) => r.hops.filter((h) => h.device && h.node);
const show = (hops: Hop[]) =>
  hops
    .map(
      (h) =>
        `${h.index} ${h.node} ${h.namespace} ${h.device} ${h.check}: ${h.status} ${h.capture ? `${h.capture.request}/${h.capture.reply}` : 'not captured'}`,
    )
    .join('\n');
/** The position of a device on the path (its first hop). */
const position = (r: TraceReport, pred: (h: Hop) => boolean) => r.hops.find(pred)!.index;

before(async () => {
  if (skip) return;
  await neutrinoOk(['demo', ...L], 240_000);
});

after(async () => {
  if (!skip) await resumeAndTakeDown(root, lab);
});

test(
  'healthy demo, ICMP: every device of the path, on both nodes and in the router, sees the 3 requests and the 3 replies',
  { skip, timeout: 60_000 },
  async () => {
    const r = await probe(await trace({ protocol: 'icmp' }));
    assert.equal(r.ok, true, show(r.hops));
    assert.deepEqual(r.probe && { protocol: r.probe.protocol, from: r.probe.from, sent: r.probe.sent, answered: r.probe.answered }, {
      protocol: 'icmp',
      from: `${lab}-external`,
      sent: 3,
      answered: 3,
    });
    const hops = deviceHops(r);
    assert.ok(
      hops.every((h) => h.capture && h.capture.request === 3 && h.capture.reply === 3),
      show(hops),
    );
    const ns = routerNs(r);
    const qg = hops.find((h) => h.namespace === ns && h.device!.startsWith('qg-'))!;
    const qr = hops.find((h) => h.namespace === ns && h.device!.startsWith('qr-'))!;
    // The filters follow the address through the DNAT.
    assert.equal(qg.capture!.filter, `icmp and host ${FIP}`);
    assert.equal(qr.capture!.filter, `icmp and host ${FIXED}`);
    assert.equal(hops.find((h) => h.node === 'controller' && h.check === 'uplink')!.capture!.filter, `icmp and host ${FIP}`);
    assert.equal(hops.find((h) => h.node === 'compute1' && h.check === 'tap in bridge')!.capture!.filter, `icmp and host ${FIXED}`);
    // The VXLAN leg's underlay NICs (the devices holding local_ip) see the encapsulated echoes.
    const underlay = hops.filter((h) => h.check === 'vxlan underlay');
    assert.deepEqual(
      underlay.map((h) => `${h.node} ${h.device}`),
      ['controller eth1', 'compute1 eth0'],
    );
    assert.match(underlay[0]!.capture!.filter, /^udp port 8472 and /);
    assert.deepEqual(underlay[0]!.observed, { request: 3, reply: 3 });
    assert.equal(underlay[0]!.index + 1, underlay[1]!.index);
    assert.ok(
      underlay[0]!.index > position(r, (h) => h.node === 'controller' && h.device === 'vxlan-41') &&
        underlay[1]!.index < position(r, (h) => h.node === 'compute1' && h.device === 'vxlan-41'),
    );
    assert.match(r.probe!.captureDir!, new RegExp(`^${root}/probe-`));
  },
);

test('healthy demo, TCP to port 22: SYN and SYN-ACK on every device', { skip, timeout: 60_000 }, async () => {
  const r = await probe(await trace({ protocol: 'tcp', port: 22 }));
  assert.equal(r.ok, true, show(r.hops));
  assert.equal(r.probe!.answered, 1);
  const hops = deviceHops(r);
  assert.ok(
    hops.every((h) => h.capture && h.capture.request >= 1 && (h.capture.reply ?? 0) >= 1),
    show(hops),
  );
  assert.equal(hops.find((h) => h.node === 'compute1' && h.check === 'tap in bridge')!.capture!.filter, `tcp port 22 and host ${FIXED}`);
});

test(
  'TCP to port 8080, which the security group does not admit: seen up to the bridge on compute1, not on the tap — the static verdict, measured',
  { skip, timeout: 60_000 },
  async () => {
    const before = await trace({ protocol: 'tcp', port: 8080 });
    assert.equal(before.firstBroken?.reason, 'SG_DENIED');
    const r = await probe(before);
    assert.equal(r.probe!.answered, 0);
    assert.equal(r.firstBroken?.reason, 'SG_DENIED', show(r.hops));
    assert.equal(r.firstBroken?.node, 'compute1');
    const tap = `tap${r.target.port!.id.slice(0, 11)}`;
    const tapAt = position(r, (h) => h.node === 'compute1' && h.device === tap);
    for (const h of deviceHops(r)) {
      if (h.index < tapAt) assert.ok(h.capture!.request >= 1, `${h.index} ${h.device} saw the SYN`);
      else if (h.leg === 'request') assert.equal(h.capture!.request, 0, `${h.index} ${h.device} saw nothing`);
    }
    assert.ok(r.hops.filter((h) => h.device === tap && h.status !== 'dropped').every((h) => h.status === 'not_reached'));
    assert.ok(!r.hops.some((h) => h.reason === 'PACKETS_LOST'), 'the static verdict already explains the loss');
  },
);

test(
  "the DNAT rule deleted (agents paused): the request is seen up to the router's qg- and not after; the probe puts the loss at qr-",
  { skip, timeout: 90_000 },
  async () => {
    const healthy = await trace({ protocol: 'icmp' });
    const ns = routerNs(healthy);
    signalAgents('SIGSTOP');
    try {
      execFileSync('nsenter', [
        `--net=/run/netns/${ns}`,
        '--',
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
        FIXED,
      ]);
      const before = await trace({ protocol: 'icmp' });
      assert.equal(before.firstBroken?.reason, 'NAT_RULE_MISSING');
      const r = await probe(before);
      const qrAt = position(r, (h) => h.namespace === ns && !!h.device?.startsWith('qr-'));
      assert.equal(
        r.hops
          .filter((h) => h.index < qrAt && h.device)
          .at(-1)!
          .device!.slice(0, 3),
        'qg-',
        'qg- is the last device before qr-',
      );
      for (const h of deviceHops(r).filter((x) => x.leg === 'request')) {
        if (h.index < qrAt) assert.equal(h.capture!.request, 3, `${show([h])}: the request reaches it`);
        else assert.equal(h.capture!.request, 0, `${show([h])}: the request does not reach it`);
      }
      const qr = r.hops.find((h) => h.index === qrAt)!;
      assert.equal(qr.status, 'dropped', show(r.hops));
      assert.equal(qr.reason, 'PACKETS_LOST');
      assert.match(
        qr.cause!,
        new RegExp(
          `seen on qg-\\S+ in ${ns} on controller \\(3 of 3 sent\\) and never on ${qr.device} in ${ns} on controller: it is lost between the two, where hop \\d+ \\(DNAT\\) is missing \\(NAT_RULE_MISSING\\)`,
        ),
      );
      // The static verdict stays first; everything past qr- that saw nothing was not reached.
      assert.equal(r.firstBroken?.reason, 'NAT_RULE_MISSING');
      assert.ok(
        deviceHops(r)
          .filter((h) => h.index > qrAt && h.leg === 'request')
          .every((h) => h.status === 'not_reached'),
        show(r.hops),
      );
      assert.ok(r.warnings.some((w) => w.startsWith(`hop ${qrAt}: `)));
    } finally {
      signalAgents('SIGCONT');
    }
  },
);
