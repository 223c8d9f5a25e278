// `--probe`'s pure parts: the capture points and filters a report gives (through the DNAT, on the
// VXLAN underlay), the underlay hops, counting requests and replies in tcpdump's text, the argv of a
// capture through each access, and locating where packets vanish on hand-made reports.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessArgv, nodeAccess, parseAccess } from '../../src/trace/read/access.ts';
import { probeFip } from '../../src/trace/probe/probe.ts';
import { captureCommand, readCapture, tcpdumpArgv } from '../../src/trace/probe/probe-capture.ts';
import { countPackets, parsePing } from '../../src/trace/probe/probe-count.ts';
import { locateLoss, refinish } from '../../src/trace/probe/probe-locate.ts';
import { renderText } from '../../src/trace/render/render-text.ts';
import {
  capturePoints,
  captureFilter,
  pcapPath,
  probeFlow,
  ProbeError,
  underlayFilter,
  UNDERLAY_CHECK,
  withUnderlayHops,
} from '../../src/trace/probe/probe-plan.ts';
import type { Hop, HopCapture, TraceReport } from '../../src/trace/report.ts';

const FIP = '10.123.123.104';
const FIXED = '172.16.1.3';
const QR = 'qrouter-6f1b2c3d-0000-4000-8000-000000000001';

type H = Partial<Hop> & Pick<Hop, 'node' | 'device' | 'check'>;

/** The demo's walk, abridged: provider side, router, tenant side on two nodes, the reply leg. */
const WALK: H[] = [
  { node: '', device: null, check: 'floating IP associated' },
  { node: 'controller', device: 'eth2', check: 'uplink' },
  { node: 'controller', device: 'brqprovider-1', check: 'bridge' },
  { node: 'controller', device: 'tapgw', check: 'veth in bridge' },
  { node: 'controller', namespace: QR, device: 'qg-gw', check: 'router port' },
  { node: 'controller', namespace: QR, device: 'qg-gw', check: 'floating IP address' },
  { node: 'controller', namespace: QR, device: null, check: 'DNAT' },
  { node: 'controller', namespace: QR, device: 'qr-if', check: 'router port' },
  { node: 'controller', namespace: QR, device: 'qr-if', check: 'route' },
  { node: 'controller', device: 'tapif', check: 'veth in bridge' },
  { node: 'controller', device: 'brqself-1', check: 'bridge' },
  {
    node: 'controller',
    device: 'vxlan-41',
    check: 'vxlan',
    expected: { vxlan: { vni: 41, local: '192.168.0.104', dev: 'eth1' } },
    observed: { vxlan: { vni: 41, local: '192.168.0.104', dev: 'eth1', dstport: 8472 } },
  },
  { node: 'controller', device: 'vxlan-41', check: 'l2population' },
  { node: 'compute1', device: null, check: 'agent alive' },
  {
    node: 'compute1',
    device: 'vxlan-41',
    check: 'vxlan',
    expected: { vxlan: { vni: 41, local: '192.168.0.105', dev: 'eth0' } },
    observed: null,
  },
  { node: 'compute1', device: 'brqself-1', check: 'bridge' },
  { node: 'compute1', device: 'tapvm', check: 'security group icmp' },
  { node: 'compute1', device: 'tapvm', check: 'tap in bridge' },
  { node: 'compute1', device: 'vxlan-41', check: 'l2population', leg: 'reply' },
  { node: 'controller', namespace: QR, device: null, check: 'SNAT', leg: 'reply' },
  { node: 'controller', namespace: QR, device: 'qg-gw', check: 'route', leg: 'reply' },
];

function report(
  hops: H[] = WALK,
  o: { protocol?: 'icmp' | 'tcp' | 'udp'; port?: number; probe?: TraceReport['probe']; warnings?: string[] } = {},
): TraceReport {
  const full: Hop[] = hops.map((h, i) => ({
    index: i + 1,
    leg: 'request',
    namespace: '',
    resource: { type: 'network', id: 'n1' },
    expected: {},
    observed: {},
    status: 'ok',
    evidence: [],
    ...h,
  }));
  const flow =
    o.protocol === 'tcp' || o.protocol === 'udp'
      ? { protocol: o.protocol, ...(o.port ? { port: o.port } : {}) }
      : { protocol: 'icmp' as const };
  return refinish({
    schema: 'neutrino.trace/v1',
    verdict: 'healthy',
    ok: true,
    target: {
      kind: 'floatingip',
      query: FIP,
      floatingip: { id: 'f1', address: FIP },
      port: { id: 'p1', fixed_ip: FIXED, mac: 'fa:16:3e:00:00:01', host: 'compute1', network_id: 'n1' },
      network: { id: 'n1', name: 'selfservice', type: 'vxlan', segmentation_id: 41 },
      flow,
    },
    hops: full,
    firstBroken: null,
    warnings: o.warnings ?? [],
    source: 'test',
    took_ms: 1,
    ...(o.probe ? { probe: o.probe } : {}),
  });
}

const at = (r: TraceReport, node: string, device: string, check?: string) =>
  r.hops.find((h) => h.node === node && h.device === device && (!check || h.check === check))!;

// ---- flows and filters

test('probeFlow: ICMP, TCP to a port; a tcp flow without a port and a udp flow are refused', () => {
  assert.deepEqual(probeFlow(report()), { protocol: 'icmp' });
  assert.deepEqual(probeFlow(report(WALK, { protocol: 'tcp', port: 22 })), { protocol: 'tcp', port: 22 });
  assert.throws(
    () => probeFlow(report(WALK, { protocol: 'tcp' })),
    (e: unknown) => e instanceof ProbeError && /--port/.test(e.message),
  );
  assert.throws(
    () => probeFlow(report(WALK, { protocol: 'udp', port: 53 })),
    (e: unknown) => e instanceof ProbeError && /udp flow has no reply/.test(e.message),
  );
});

test('filters: the flow and the address; on the underlay the inner protocol and addresses past UDP + VXLAN + Ethernet', () => {
  assert.equal(captureFilter({ protocol: 'icmp' }, FIP), `icmp and host ${FIP}`);
  assert.equal(captureFilter({ protocol: 'tcp', port: 22 }, FIXED), `tcp port 22 and host ${FIXED}`);
  assert.equal(
    underlayFilter({ protocol: 'icmp' }, FIXED),
    'udp port 8472 and udp[39] = 1 and (udp[42:4] = 0xac100103 or udp[46:4] = 0xac100103)',
  );
  assert.equal(
    underlayFilter({ protocol: 'tcp', port: 22 }, '10.0.0.255', 4789),
    'udp port 4789 and udp[39] = 6 and (udp[42:4] = 0x0a0000ff or udp[46:4] = 0x0a0000ff)',
  );
  // An IPv6 inner header has its own offsets (trace-ipv6.test.ts); what is no address is refused.
  assert.match(underlayFilter({ protocol: 'icmp' }, 'fd00::1'), /^udp port 8472 and udp\[36\] = 58 and /);
  assert.throws(() => underlayFilter({ protocol: 'icmp' }, '172.16.1'), ProbeError);
});

// ---- the plan

test('withUnderlayHops: the two underlay NICs go between the nodes, after the sender’s last vxlan-N hop; hops renumbered', () => {
  const r = withUnderlayHops(report());
  assert.equal(r.hops.length, WALK.length + 2);
  assert.deepEqual(
    r.hops.map((h) => h.index),
    r.hops.map((_, i) => i + 1),
  );
  const i = r.hops.findIndex((h) => h.check === UNDERLAY_CHECK);
  assert.deepEqual(
    r.hops.slice(i - 1, i + 3).map((h) => `${h.node} ${h.device} ${h.check}`),
    ['controller vxlan-41 l2population', 'controller eth1 vxlan underlay', 'compute1 eth0 vxlan underlay', 'compute1 null agent alive'],
  );
  // The receiving side's device comes from the planner when the kernel showed nothing.
  const u = r.hops[i + 1]!;
  assert.equal(u.namespace, '');
  assert.equal(u.status, 'ok');
  assert.equal(u.expected['carries'], 'vxlan-41 (VNI 41) as UDP port 8472');
  assert.equal(u.expected['inner'], FIXED);
  // The original report is untouched.
  assert.equal(report().hops.length, WALK.length);
});

test('withUnderlayHops: a path on one node has no VXLAN leg, nothing is added', () => {
  const oneNode = WALK.filter((h) => h.node !== 'compute1' && h.device !== 'vxlan-41');
  assert.equal(withUnderlayHops(report(oneNode)).hops.length, oneNode.length);
});

test('capturePoints: one per device in path order, the floating IP before the DNAT, the fixed IP after, the underlay encapsulated', () => {
  const r = withUnderlayHops(report());
  const points = capturePoints(r, { protocol: 'icmp' });
  assert.deepEqual(
    points.map((p) => `${p.node}/${p.namespace ? 'qrouter' : ''}/${p.device} ${p.address}${p.encapsulated ? ' vxlan' : ''}`),
    [
      `controller//eth2 ${FIP}`,
      `controller//brqprovider-1 ${FIP}`,
      `controller//tapgw ${FIP}`,
      `controller/qrouter/qg-gw ${FIP}`,
      `controller/qrouter/qr-if ${FIXED}`,
      `controller//tapif ${FIXED}`,
      `controller//brqself-1 ${FIXED}`,
      `controller//vxlan-41 ${FIXED}`,
      `controller//eth1 ${FIXED} vxlan`,
      `compute1//eth0 ${FIXED} vxlan`,
      `compute1//vxlan-41 ${FIXED}`,
      `compute1//brqself-1 ${FIXED}`,
      `compute1//tapvm ${FIXED}`,
    ],
  );
  const qg = points.find((p) => p.device === 'qg-gw')!;
  assert.deepEqual(qg.hops, [5, 6, 23], 'the reply leg’s route on qg- shares its capture');
  assert.equal(qg.filter, `icmp and host ${FIP}`);
  assert.equal(qg.pcap, `controller/${QR}.qg-gw.pcap`);
  assert.equal(points.find((p) => p.device === 'eth1')!.filter, underlayFilter({ protocol: 'icmp' }, FIXED));
  assert.equal(points.find((p) => p.device === 'tapvm')!.pcap, 'compute1/tapvm.pcap');
  const tcp = capturePoints(r, { protocol: 'tcp', port: 22 });
  assert.equal(tcp.find((p) => p.device === 'tapvm')!.filter, `tcp port 22 and host ${FIXED}`);
});

test('capturePoints: never on a device the static trace found absent; API hops have none', () => {
  const hops = WALK.map((h) =>
    h.node === 'compute1' && h.device === 'vxlan-41' && h.check === 'vxlan'
      ? { ...h, status: 'missing' as const, reason: 'DEVICE_MISSING' as const }
      : h,
  );
  const points = capturePoints(report(hops), { protocol: 'icmp' });
  assert.ok(!points.some((p) => p.node === 'compute1' && p.device === 'vxlan-41'));
  assert.ok(points.some((p) => p.node === 'controller' && p.device === 'vxlan-41'));
  assert.throws(
    () => capturePoints({ ...report(), target: { kind: 'floatingip', query: FIP, flow: { protocol: 'icmp' } } }, { protocol: 'icmp' }),
    ProbeError,
  );
});

test('pcapPath: per node, the namespace in the name, nothing that leaves the directory', () => {
  assert.equal(pcapPath('compute1', '', 'tapvm'), 'compute1/tapvm.pcap');
  assert.equal(pcapPath('../x', 'qrouter-1', 'qg-1'), '.._x/qrouter-1.qg-1.pcap');
});

// ---- the capture's argv

test('tcpdumpArgv: bounded by count and by timeout on the node, pcap on stdout, entered like every other command', () => {
  const argv = tcpdumpArgv({ device: 'qg-gw', filter: `icmp and host ${FIP}` }, 28, 10_000);
  assert.deepEqual(argv, [
    'timeout',
    '-s',
    'INT',
    '10',
    'tcpdump',
    '-i',
    'qg-gw',
    '-n',
    '-U',
    '--immediate-mode',
    '-c',
    '28',
    '-w',
    '-',
    `icmp and host ${FIP}`,
  ]);
  assert.deepEqual(accessArgv(parseAccess('netns:x1-controller'), argv, QR).slice(0, 4), [
    'nsenter',
    `--net=/run/netns/${QR}`,
    '--',
    'timeout',
  ]);
  assert.deepEqual(accessArgv(parseAccess('netns:x1-controller'), argv).slice(0, 3), ['nsenter', '--net=/run/netns/x1-controller', '--']);
  const ssh = accessArgv(parseAccess('ssh:root@192.0.2.5'), argv, QR);
  assert.equal(
    ssh[ssh.length - 1],
    `nsenter --net=/run/netns/${QR} -- timeout -s INT 10 tcpdump -i qg-gw -n -U --immediate-mode -c 28 -w - 'icmp and host ${FIP}'`,
  );
  const points = capturePoints(report(), { protocol: 'icmp' });
  assert.equal(
    captureCommand(
      points.find((p) => p.device === 'qg-gw')!,
      28,
    ),
    `ip netns exec ${QR} tcpdump -i qg-gw -n -c 28 -w controller/${QR}.qg-gw.pcap 'icmp and host ${FIP}'`,
  );
});

// ---- counting

const ICMP_TEXT = `1795735298.677040 fa:16:3e:1c:92:1b > fa:16:3e:13:9c:d0, ethertype IPv4 (0x0800), length 98: 10.123.123.1 > 172.16.1.3: ICMP echo request, id 9232, seq 1, length 64
1795735298.677081 fa:16:3e:13:9c:d0 > fa:16:3e:1c:92:1b, ethertype IPv4 (0x0800), length 98: 172.16.1.3 > 10.123.123.1: ICMP echo reply, id 9232, seq 1, length 64
1795735298.882996 fa:16:3e:1c:92:1b > fa:16:3e:13:9c:d0, ethertype IPv4 (0x0800), length 98: 10.123.123.1 > 172.16.1.3: ICMP echo request, id 9232, seq 2, length 64
1795735298.990000 fa:16:3e:13:9c:d0 > fa:16:3e:1c:92:1b, ethertype IPv4 (0x0800), length 98: 172.16.1.3 > 8.8.8.8: ICMP echo request, id 7, seq 1, length 64
1795735298.990001 fa:16:3e:13:9c:d0 > fa:16:3e:1c:92:1b, ethertype IPv4 (0x0800), length 126: 172.16.1.3 > 10.123.123.1: ICMP host 10.9.9.9 unreachable, length 92
1795735299.087031 fa:16:3e:1c:92:1b > fa:16:3e:13:9c:d0, ethertype IPv4 (0x0800), length 98: 10.123.123.1 > 172.16.1.3: ICMP echo request, id 9232, seq 3, length 64
`;

const VXLAN_TEXT = `1795735298.677040 f6:f4:3f:33:c0:93 > 32:bf:2b:82:d4:96, ethertype IPv4 (0x0800), length 148: 192.168.0.104.38796 > 192.168.0.105.8472: VXLAN, flags [I] (0x08), vni 41
fa:16:3e:1c:92:1b > fa:16:3e:13:9c:d0, ethertype IPv4 (0x0800), length 98: 10.123.123.1 > 172.16.1.3: ICMP echo request, id 9232, seq 1, length 64
1795735298.677091 32:bf:2b:82:d4:96 > f6:f4:3f:33:c0:93, ethertype IPv4 (0x0800), length 148: 192.168.0.105.38796 > 192.168.0.104.8472: VXLAN, flags [I] (0x08), vni 41
fa:16:3e:13:9c:d0 > fa:16:3e:1c:92:1b, ethertype IPv4 (0x0800), length 98: 172.16.1.3 > 10.123.123.1: ICMP echo reply, id 9232, seq 1, length 64
`;

const TCP_TEXT = `1795735300.000001 aa:aa:aa:aa:aa:aa > bb:bb:bb:bb:bb:bb, ethertype IPv4 (0x0800), length 74: 10.123.123.1.41514 > 172.16.1.3.22: Flags [S], seq 1, win 64240, options [mss 1460], length 0
1795735300.000002 bb:bb:bb:bb:bb:bb > aa:aa:aa:aa:aa:aa, ethertype IPv4 (0x0800), length 74: 172.16.1.3.22 > 10.123.123.1.41514: Flags [S.], seq 9, ack 2, win 65160, length 0
1795735300.000003 aa:aa:aa:aa:aa:aa > bb:bb:bb:bb:bb:bb, ethertype IPv4 (0x0800), length 66: 10.123.123.1.41514 > 172.16.1.3.22: Flags [.], ack 10, win 502, length 0
1795735300.000004 aa:aa:aa:aa:aa:aa > bb:bb:bb:bb:bb:bb, ethertype IPv4 (0x0800), length 66: 10.123.123.1.41514 > 172.16.1.3.22: Flags [F.], seq 1, ack 10, win 502, length 0
1795735301.000001 aa:aa:aa:aa:aa:aa > bb:bb:bb:bb:bb:bb, ethertype IPv4 (0x0800), length 74: 10.123.123.1.41516 > 172.16.1.3.22: Flags [S], seq 1, win 64240, length 0
1795735301.000002 bb:bb:bb:bb:bb:bb > aa:aa:aa:aa:aa:aa, ethertype IPv4 (0x0800), length 54: 172.16.1.3.22 > 10.123.123.1.41516: Flags [R.], seq 0, ack 2, win 0, length 0
1795735301.000003 aa:aa:aa:aa:aa:aa > bb:bb:bb:bb:bb:bb, ethertype IPv4 (0x0800), length 74: 10.123.123.1.41518 > 172.16.1.3.2222: Flags [S], seq 1, win 64240, length 0
`;

test('countPackets: ICMP echo requests to the address and replies from it; other ICMP and other hosts do not count', () => {
  assert.deepEqual(countPackets(ICMP_TEXT, { protocol: 'icmp' }, FIXED), { request: 3, reply: 1 });
  assert.deepEqual(countPackets(ICMP_TEXT, { protocol: 'icmp' }, FIP), { request: 0, reply: 0 }, 'the address decides the direction');
  assert.deepEqual(countPackets('', { protocol: 'icmp' }, FIXED), { request: 0, reply: 0 });
});

test('countPackets: -T vxlan output, the inner frame on its own line under the outer UDP one', () => {
  assert.deepEqual(countPackets(VXLAN_TEXT, { protocol: 'icmp' }, FIXED), { request: 1, reply: 1 });
});

test('countPackets: TCP SYNs to the port are requests; SYN-ACKs and RSTs from it are replies; ACK/FIN and other ports are not', () => {
  assert.deepEqual(countPackets(TCP_TEXT, { protocol: 'tcp', port: 22 }, FIXED), { request: 2, reply: 2 });
  assert.deepEqual(countPackets(TCP_TEXT, { protocol: 'tcp', port: 2222 }, FIXED), { request: 1, reply: 0 });
});

test('parsePing: transmitted and received from the summary line', () => {
  assert.deepEqual(
    parsePing('--- 10.123.123.104 ping statistics ---\n3 packets transmitted, 2 received, 33.3333% packet loss, time 404ms\n'),
    { sent: 3, answered: 2 },
  );
  assert.deepEqual(parsePing('3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 410ms\n'), { sent: 3, answered: 0 });
  assert.equal(parsePing('ping: connect: Network is unreachable\n'), null);
});

// readCapture runs the real tcpdump on a pcap written here: an Ethernet/IPv4/ICMP echo request, and
// the same frame inside VXLAN on UDP port 8472 (which tcpdump decodes only with -T vxlan).
const dir = mkdtempSync(join(tmpdir(), 'neutrino-probe-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function ipv4(src: string, dst: string, proto: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt8(0x45, 0);
  h.writeUInt16BE(20 + payload.length, 2);
  h.writeUInt8(64, 8);
  h.writeUInt8(proto, 9);
  Buffer.from(src.split('.').map(Number)).copy(h, 12);
  Buffer.from(dst.split('.').map(Number)).copy(h, 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += h.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  h.writeUInt16BE(~sum & 0xffff, 10);
  return Buffer.concat([h, payload]);
}
const ether = (ip: Buffer) => Buffer.concat([Buffer.from('fa163e000002fa163e0000010800', 'hex'), ip]);
function pcap(frames: Buffer[]): Buffer {
  const g = Buffer.alloc(24);
  g.writeUInt32LE(0xa1b2c3d4, 0);
  g.writeUInt16LE(2, 4);
  g.writeUInt16LE(4, 6);
  g.writeUInt32LE(262144, 16);
  g.writeUInt32LE(1, 20); // Ethernet
  return Buffer.concat([
    g,
    ...frames.flatMap((f, i) => {
      const r = Buffer.alloc(16);
      r.writeUInt32LE(1795735298 + i, 0);
      r.writeUInt32LE(f.length, 8);
      r.writeUInt32LE(f.length, 12);
      return [r, f];
    }),
  ]);
}

test('readCapture: tcpdump reads the pcap back; -T vxlan shows the inner echo of the underlay; an empty pcap is no packets', async () => {
  const echo = ether(ipv4('10.123.123.1', FIXED, 1, Buffer.from('0800f7ff00010001', 'hex')));
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(38796, 0);
  udp.writeUInt16BE(8472, 2);
  const vxlanHeader = Buffer.from('0800000000002900', 'hex'); // flags I, VNI 41
  udp.writeUInt16BE(8 + vxlanHeader.length + echo.length, 4);
  const outer = ether(ipv4('192.168.0.104', '192.168.0.105', 17, Buffer.concat([udp, vxlanHeader, echo])));
  writeFileSync(join(dir, 'plain.pcap'), pcap([echo]));
  writeFileSync(join(dir, 'underlay.pcap'), pcap([outer]));
  writeFileSync(join(dir, 'empty.pcap'), '');
  assert.deepEqual(countPackets(await readCapture(join(dir, 'plain.pcap'), false), { protocol: 'icmp' }, FIXED), { request: 1, reply: 0 });
  const inner = await readCapture(join(dir, 'underlay.pcap'), true);
  assert.match(inner, /vni 41/);
  assert.deepEqual(countPackets(inner, { protocol: 'icmp' }, FIXED), { request: 1, reply: 0 });
  assert.equal(await readCapture(join(dir, 'empty.pcap'), false), '');
  assert.equal(await readCapture(join(dir, 'absent.pcap'), false), '');
});

// ---- locating the loss

/** Puts measured counts on every device hop: `counts(node, device)` gives [request, reply]. */
function measured(
  r: TraceReport,
  counts: (h: Hop) => [number, number] | null,
  probe: Partial<NonNullable<TraceReport['probe']>> = {},
): TraceReport {
  const hops = r.hops.map((h) => {
    const c = h.device && h.node ? counts(h) : null;
    const capture: HopCapture | undefined = c ? { filter: 'f', request: c[0], reply: c[1], pcap: `${h.node}/${h.device}.pcap` } : undefined;
    return capture ? { ...h, capture } : { ...h };
  });
  return { ...r, hops, probe: { protocol: 'icmp', from: 'x-external', sent: 3, answered: 3, captureDir: '/tmp/p', ...probe } };
}

/** Devices in path order, for the counts. */
const ORDER = [
  'controller eth2',
  'controller brqprovider-1',
  'controller tapgw',
  'controller qg-gw',
  'controller qr-if',
  'controller tapif',
  'controller brqself-1',
  'controller vxlan-41',
  'controller eth1',
  'compute1 eth0',
  'compute1 vxlan-41',
  'compute1 brqself-1',
  'compute1 tapvm',
];
const upTo =
  (last: string, reply = 3, n = 3) =>
  (h: Hop): [number, number] =>
    ORDER.indexOf(`${h.node} ${h.device}`) <= ORDER.indexOf(last) ? [n, reply] : [0, 0];

test('locateLoss: a healthy measurement changes nothing', () => {
  const r = locateLoss(measured(withUnderlayHops(report()), () => [3, 3]));
  assert.equal(r.ok, true);
  assert.equal(r.firstBroken, null);
  assert.ok(r.hops.every((h) => h.status === 'ok'));
});

test('locateLoss: the first silent device after one that saw the request is dropped (PACKETS_LOST); the silent rest not_reached', () => {
  const r = locateLoss(measured(withUnderlayHops(report()), upTo('controller eth1'), { answered: 0 }));
  const drop = at(r, 'compute1', 'eth0');
  assert.equal(drop.status, 'dropped');
  assert.equal(drop.reason, 'PACKETS_LOST');
  assert.match(
    drop.cause!,
    /ICMP echo request was seen on eth1 on controller \(3 of 3 sent\) and never on eth0 on compute1: it is lost between the two; no static check explains it: the static and the measured evidence disagree/,
  );
  assert.equal(r.ok, false);
  assert.deepEqual(r.firstBroken, {
    index: drop.index,
    node: 'compute1',
    namespace: '',
    device: 'eth0',
    reason: 'PACKETS_LOST',
    cause: drop.cause,
  });
  for (const h of r.hops.filter((x) => x.node === 'compute1' && x.device && x !== drop))
    assert.equal(h.status, 'not_reached', `${h.device} ${h.check}`);
  assert.equal(
    r.hops.find((h) => h.node === 'compute1' && h.check === 'agent alive')!.status,
    'ok',
    'hops without a device are not measured',
  );
  assert.equal(at(r, 'controller', 'vxlan-41', 'l2population').status, 'ok');
});

test('locateLoss: a static break between the last device that saw the request and the silent one is named; the DNAT case', () => {
  const hops = WALK.map((h) =>
    h.check === 'DNAT' ? { ...h, status: 'missing' as const, reason: 'NAT_RULE_MISSING' as const, cause: 'the DNAT rule is missing' } : h,
  );
  const r = locateLoss(measured(report(hops), upTo('controller qg-gw')));
  const qr = at(r, 'controller', 'qr-if', 'router port');
  assert.equal(qr.status, 'dropped');
  assert.match(
    qr.cause!,
    new RegExp(
      `seen on qg-gw in ${QR} on controller \\(3 of 3 sent\\) and never on qr-if in ${QR} on controller: it is lost between the two, where hop 7 \\(DNAT\\) is missing \\(NAT_RULE_MISSING\\); the 3 answer\\(s\\) the sender got did not come from 172\\.16\\.1\\.3$`,
    ),
  );
  assert.equal(at(r, 'controller', 'qr-if', 'route').status, 'not_reached');
  assert.equal(r.firstBroken!.reason, 'NAT_RULE_MISSING', 'the static verdict stays first');
  assert.deepEqual(r.warnings, [`hop ${qr.index}: ${qr.cause}`]);
  // The reply leg's route on qg- shares qg-'s capture, which saw traffic: it stays ok.
  assert.equal(r.hops.find((h) => h.leg === 'reply' && h.device === 'qg-gw')!.status, 'ok');
});

test('locateLoss: a static break on the last device that saw the request is named too (vxlan-N without the fdb entry)', () => {
  const hops = WALK.map((h) =>
    h.node === 'controller' && h.check === 'l2population'
      ? { ...h, status: 'missing' as const, reason: 'NO_FDB_ENTRY' as const, cause: 'no fdb entry' }
      : h,
  );
  const r = locateLoss(measured(withUnderlayHops(report(hops)), upTo('controller vxlan-41'), { answered: 0 }));
  const eth1 = at(r, 'controller', 'eth1');
  assert.equal(eth1.status, 'dropped');
  assert.match(
    eth1.cause!,
    /seen on vxlan-41 on controller \(3 of 3 sent\) and never on eth1 on controller: it is lost between the two, where hop 13 \(l2population\) is missing \(NO_FDB_ENTRY\)$/,
  );
  assert.equal(r.firstBroken!.reason, 'NO_FDB_ENTRY');
});

test('locateLoss: the router holds the request back (its ARP for the fixed IP cannot cross the VXLAN device without a flooding entry): the later static break stays the verdict, with the measurement', () => {
  const hops = WALK.map((h) =>
    h.node === 'controller' && h.check === 'l2population'
      ? { ...h, status: 'missing' as const, reason: 'NO_FDB_ENTRY' as const, cause: 'no fdb entry' }
      : h,
  );
  // Seen up to the router's qg- (after the DNAT, qr- never sends: no ARP answer).
  const r = locateLoss(measured(withUnderlayHops(report(hops)), upTo('controller qg-gw'), { answered: 0 }));
  assert.equal(r.firstBroken!.reason, 'NO_FDB_ENTRY');
  assert.match(
    r.firstBroken!.cause,
    /^no fdb entry; measured: the ICMP echo request was seen on qg-gw in \S+ on controller \(3 of 3 sent\) and never on qr-if/,
  );
  assert.ok(!r.hops.some((h) => h.reason === 'PACKETS_LOST'), 'no loss invented before the break that causes it');
  assert.equal(at(r, 'controller', 'qr-if').status, 'not_reached');
});

test('probeFip: no floating IP, nothing to send to: the static report comes back with a warning, nothing is run', async () => {
  const r = report([
    { node: '', device: null, check: 'floating IP exists', status: 'missing', reason: 'FIP_NOT_FOUND', cause: 'no floating IP' },
  ]);
  const noFip = { ...r, target: { kind: 'floatingip' as const, query: FIP, flow: { protocol: 'icmp' as const } } };
  const out = await probeFip(noFip, { access: {}, from: { access: nodeAccess(parseAccess('netns:x1-external')), label: 'x1-external' } });
  assert.equal(out.probe, undefined);
  assert.deepEqual(out.warnings, [`probe: nothing sent: there is no floating IP ${FIP}`]);
  assert.deepEqual(out.firstBroken, r.firstBroken);
});

test('locateLoss: a silent device whose static check already explains it is left as is (the measurement agrees); its ok hops not_reached', () => {
  const hops = WALK.map((h) =>
    h.check === 'security group icmp' ? { ...h, status: 'dropped' as const, reason: 'SG_DENIED' as const, cause: 'no rule' } : h,
  );
  const r = locateLoss(measured(report(hops), upTo('compute1 brqself-1'), { answered: 0 }));
  assert.equal(at(r, 'compute1', 'tapvm', 'security group icmp').reason, 'SG_DENIED');
  assert.equal(at(r, 'compute1', 'tapvm', 'tap in bridge').status, 'not_reached');
  assert.equal(r.firstBroken!.reason, 'SG_DENIED');
  assert.ok(!r.hops.some((h) => h.reason === 'PACKETS_LOST'));
});

test('locateLoss: the tap is down, so its capture could not start: the static DEVICE_DOWN explains the missing replies', () => {
  const hops = WALK.map((h) =>
    h.device === 'tapvm' && h.check === 'tap in bridge'
      ? { ...h, status: 'down' as const, reason: 'DEVICE_DOWN' as const, cause: 'tap down' }
      : h,
  );
  // Measured up to compute1's bridge (request seen, no reply); nothing measured on the tap.
  const r = locateLoss(measured(report(hops), (h) => (h.device === 'tapvm' ? null : upTo('compute1 brqself-1', 0)(h)), { answered: 0 }));
  assert.equal(r.firstBroken!.reason, 'DEVICE_DOWN');
  assert.ok(!r.hops.some((h) => h.reason === 'PACKETS_LOST'), 'no loss invented before the down tap');
});

test('locateLoss: nothing reached the first device: it is where the request stops', () => {
  const r = locateLoss(measured(report(), () => [0, 0], { answered: 0 }));
  const first = at(r, 'controller', 'eth2');
  assert.equal(first.status, 'dropped');
  assert.match(
    first.cause!,
    /none of the 3 ICMP echo request\(s\) sent from x-external reached eth2 on controller, the first device measured on the path/,
  );
  assert.ok(r.hops.filter((h) => h.device && h !== first).every((h) => h.status === 'not_reached'));
});

test('locateLoss: half-open — the request reaches the instance, the reply is lost on the way back', () => {
  // Replies seen from the instance's tap back to the controller's vxlan-41, not on its bridge.
  const counts = (h: Hop): [number, number] => [3, ORDER.indexOf(`${h.node} ${h.device}`) >= ORDER.indexOf('controller vxlan-41') ? 3 : 0];
  const r = locateLoss(measured(report(), counts, { answered: 0 }));
  const drop = at(r, 'controller', 'brqself-1');
  assert.equal(drop.status, 'dropped');
  assert.match(
    drop.cause!,
    /reached tapvm on compute1 \(3 of 3 sent\), the ICMP echo reply was seen on vxlan-41 on controller \(3\) and never on brqself-1 on controller: the reply is lost between the two \(a half-open path\)/,
  );
  // Devices that saw the request are not "not reached"; the reply leg's hops after the loss are.
  assert.equal(at(r, 'controller', 'qr-if', 'router port').status, 'ok');
  assert.equal(r.hops.find((h) => h.leg === 'reply' && h.device === 'qg-gw')!.status, 'not_reached');
  assert.equal(r.firstBroken!.device, 'brqself-1');
});

test('locateLoss: the instance does not answer: its tap, the reply side’s first device, is where the reply is missing', () => {
  const r = locateLoss(measured(report(), () => [3, 0], { answered: 0 }));
  const tap = r.hops.filter((h) => h.device === 'tapvm');
  assert.equal(tap.find((h) => h.status === 'dropped')!.check, 'tap in bridge', 'no reply-leg hop on the tap: its last hop');
  assert.match(r.firstBroken!.cause, /reached tapvm on compute1 \(3 of 3 sent\) but no ICMP echo reply came back from 172\.16\.1\.3/);
});

test('locateLoss: every answer came back: a device without replies is not called a loss; nothing sent, nothing located', () => {
  const r = locateLoss(measured(report(), (h) => [3, h.device === 'brqself-1' ? 0 : 3]));
  assert.equal(r.ok, true);
  const none = locateLoss(measured(report(), () => [0, 0], { sent: 0, answered: 0 }));
  assert.equal(none.ok, true);
  assert.ok(none.hops.every((h) => h.status === 'ok'));
});

test('locateLoss: TCP words in the cause; refinish keeps warnings that are not per hop', () => {
  const r = locateLoss(
    measured(
      report(WALK, { protocol: 'tcp', port: 22, warnings: ['probe: no access to compute9: eth9 not captured'] }),
      upTo('controller vxlan-41', 0, 2),
      { protocol: 'tcp/22', sent: 1, answered: 0 },
    ),
  );
  assert.match(
    r.firstBroken!.cause,
    /^the TCP SYN to port 22 was seen on vxlan-41 on controller \(2 SYN\(s\) of 1 connect attempt\(s\)\) and never on vxlan-41 on compute1/,
  );
  assert.deepEqual(r.warnings, ['probe: no access to compute9: eth9 not captured']);
});

// ---- static and measured evidence must agree

test('reconcile: a static difference where every device saw the 3 requests and 3 replies pass is `differs`, not the break; healthy, and the report says they disagree', () => {
  const hops = WALK.map((h) =>
    h.check === 'security group icmp'
      ? { ...h, status: 'mismatch' as const, reason: 'SG_CHAIN_MISSING' as const, cause: 'chain differs' }
      : h,
  );
  const statically = report(hops);
  assert.equal(statically.verdict, 'broken');
  const r = locateLoss(measured(withUnderlayHops(statically), () => [3, 3]));
  const sg = at(r, 'compute1', 'tapvm', 'security group icmp');
  assert.equal(sg.status, 'differs');
  assert.equal(sg.reason, 'SG_CHAIN_MISSING');
  assert.match(
    sg.cause!,
    /^the static check and the measurement disagree: mismatch \(SG_CHAIN_MISSING\): chain differs; but the probe's traffic was measured passing: tapvm on compute1 \(3 request\(s\), 3 reply\(ies\)\) passed it$/,
  );
  assert.equal(r.verdict, 'healthy');
  assert.equal(r.ok, true);
  assert.equal(r.firstBroken, null);
  assert.deepEqual(r.warnings, [`hop ${sg.index}: ${sg.cause}`]);
  assert.match(
    renderText(r, { color: false, detail: false }),
    new RegExp(`OK +traffic measured passing every hop .*hop ${sg.index} differ`),
  );
});

test('reconcile: a rule hop without a device (DNAT) is measured by the devices on both sides of it', () => {
  const hops = WALK.map((h) =>
    h.check === 'DNAT' ? { ...h, status: 'missing' as const, reason: 'NAT_RULE_MISSING' as const, cause: 'no DNAT rule' } : h,
  );
  const r = locateLoss(measured(withUnderlayHops(report(hops)), () => [3, 3]));
  const dnat = r.hops.find((h) => h.check === 'DNAT')!;
  assert.equal(dnat.status, 'differs');
  assert.match(
    dnat.cause!,
    /qg-gw in \S+ on controller \(3 request\(s\), 3 reply\(ies\)\) before it and qr-if in \S+ on controller \(3 request\(s\), 3 reply\(ies\)\) after it passed it$/,
  );
  assert.equal(r.verdict, 'healthy');
});

test('reconcile: requests seen but no reply anywhere, or nothing answered: the static break stays the break', () => {
  const hops = WALK.map((h) =>
    h.check === 'security group icmp'
      ? { ...h, status: 'mismatch' as const, reason: 'SG_CHAIN_MISSING' as const, cause: 'chain differs' }
      : h,
  );
  const noReply = locateLoss(measured(withUnderlayHops(report(hops)), () => [3, 0], { answered: 0 }));
  assert.equal(at(noReply, 'compute1', 'tapvm', 'security group icmp').status, 'mismatch');
  assert.equal(noReply.firstBroken?.reason, 'SG_CHAIN_MISSING');
  assert.equal(noReply.verdict, 'broken');
  // Replies counted on the devices, but the sender got no answer: not proven either.
  const unanswered = locateLoss(measured(withUnderlayHops(report(hops)), () => [3, 3], { answered: 0 }));
  assert.equal(unanswered.firstBroken?.reason, 'SG_CHAIN_MISSING');
});

test('verdict: an unknown hop does not stop the walk: the first broken hop after it is the break; with none, inconclusive', () => {
  const unknownFirst = WALK.map((h) =>
    h.check === 'uplink' ? { ...h, status: 'unknown' as const, reason: 'NODE_UNREADABLE' as const, cause: 'not read' } : h,
  );
  const inconclusive = report(unknownFirst);
  assert.equal(inconclusive.verdict, 'inconclusive');
  assert.equal(inconclusive.ok, false);
  assert.equal(inconclusive.firstBroken, null);
  assert.deepEqual(inconclusive.warnings, ['hop 2 not checked: not read']);
  assert.match(
    renderText(inconclusive, { color: false, detail: false }),
    /INCONCLUSIVE +no hop is broken, but 1 of \d+ could not be checked \(hop 2\)/,
  );
  const broken = report(
    unknownFirst.map((h) =>
      h.check === 'tap in bridge' ? { ...h, status: 'down' as const, reason: 'DEVICE_DOWN' as const, cause: 'tap down' } : h,
    ),
  );
  assert.equal(broken.verdict, 'broken');
  assert.equal(broken.firstBroken?.reason, 'DEVICE_DOWN');
  assert.deepEqual(broken.warnings, ['hop 2 not checked: not read']);
});

test('reconcile: an agent that is down stays the break though the traffic passes (the control plane is not on the data path)', () => {
  const hops = WALK.map((h) =>
    h.node === 'compute1' && h.check === 'agent alive'
      ? {
          ...h,
          resource: { type: 'agent' as const, id: 'a1' },
          status: 'down' as const,
          reason: 'AGENT_DOWN' as const,
          cause: 'agent down',
        }
      : h,
  );
  const r = locateLoss(measured(withUnderlayHops(report(hops)), () => [3, 3]));
  assert.equal(r.firstBroken?.reason, 'AGENT_DOWN');
  assert.equal(r.verdict, 'broken');
});
