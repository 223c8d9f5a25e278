// The DHCP leg on a recorded demo lab (test/fixtures/trace-dhcp, made by record.ts there): no root,
// no live system. The healthy leg is ok hop by hop; each fault is made in a copy of the recording
// exactly as the kernel or the files would show it (a dnsmasq gone from the namespace, a host line
// removed, a rule removed from iptables-save, …) and is found at its hop, node and reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { traceDhcp, DhcpTraceError } from '../../src/trace/walk/dhcp.ts';
import {
  argValues,
  dnsmasqIn,
  parseCmdline,
  parseHostsFile,
  parseLeases,
  parseNetnsPids,
  parseOptsFile,
} from '../../src/trace/read/dnsmasq.ts';
import { checkOptions, contextFrom, TraceUsageError, type TraceCliOptions } from '../../src/trace/run.ts';
import { traceCliDefaults } from '../helpers/trace-cli.ts';
import type { TraceReport } from '../../src/trace/report.ts';
import type { DhcpNamespaceDump, Snapshot } from '../../src/trace/snapshot.ts';
import { loadSnapshot, saveSnapshot } from '../../src/trace/read/snapshot-io.ts';
import { renderText } from '../../src/trace/render/render-text.ts';
import { hostsReadRefused } from '../../src/trace/read/host-refusals.ts';

const fixture = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'trace-dhcp', 'healthy');
const recorded = await loadSnapshot(fixture);
const instancePort = recorded.api.ports.find((p) => String(p['device_owner']).startsWith('compute:'))!;
const dhcpPort = recorded.api.ports.find((p) => p['device_owner'] === 'network:dhcp')!;
const netId = String(instancePort['network_id']);
const qdhcp = `qdhcp-${netId}`;
const mac = String(instancePort['mac_address']);
const ip = (instancePort['fixed_ips'] as Array<{ ip_address: string }>)[0]!.ip_address;

const copy = (): Snapshot => structuredClone(recorded);
/** The network's IPv4 subnet (the demo's network is dual-stack; the API lists its subnets in any order). */
const ipv4Subnet = (s: Snapshot) => s.api.subnets.find((x) => x['network_id'] === netId && x['ip_version'] === 4)!;
const trace = (s: Snapshot): TraceReport => traceDhcp(contextFrom(s, 'snapshot'), instancePort.id);
const dhcpDump = (s: Snapshot): DhcpNamespaceDump => s.nodes['controller']!.dhcp![qdhcp]!;
/** Rewrites the file dnsmasq's command line names with `arg`. */
function editFile(s: Snapshot, arg: string, edit: (text: string) => string): void {
  const d = dhcpDump(s);
  const argv = Object.values(d.cmdlines).find((a) => a?.[0] === 'dnsmasq')!;
  const path = argValues(argv, arg)[0]!;
  d.files[path] = edit(d.files[path]!);
}
const dropLines = (re: RegExp) => (text: string) =>
  text
    .split('\n')
    .filter((l) => !re.test(l))
    .join('\n');

function brokenAt(r: TraceReport, want: { reason: string; node: string; check: string; namespace?: string }) {
  assert.equal(r.ok, false);
  const b = r.firstBroken!;
  assert.equal(b.reason, want.reason, b.cause);
  assert.equal(b.node, want.node);
  assert.equal(r.hops[b.index - 1]!.check, want.check);
  if (want.namespace !== undefined) assert.equal(b.namespace, want.namespace);
  assert.ok(
    r.hops.slice(0, b.index - 1).every((h) => h.status === 'ok'),
    'every hop before it is ok',
  );
  return b;
}

test('healthy: the DHCP leg from the instance on compute1 to dnsmasq on the controller and back, all ok', () => {
  const r = trace(copy());
  assert.equal(r.ok, true, JSON.stringify(r.firstBroken));
  assert.equal(r.target.kind, 'dhcp');
  const at = (check: string) => r.hops.find((h) => h.check === check)!;
  assert.equal(at('DHCP agent alive').node, 'controller');
  assert.equal(at('DHCP namespace').namespace, qdhcp);
  assert.equal(at('DHCP port in bridge').device, `tap${dhcpPort.id.slice(0, 11)}`);
  assert.equal(at('DHCP port').device, `ns-${dhcpPort.id.slice(0, 11)}`);
  assert.equal(at('dnsmasq').observed!['pid'], dhcpDump(recorded).pids![0]);
  assert.deepEqual(at('dnsmasq options').observed!['force'], ['option:mtu,1450']);
  const entry = at('DHCP host entry');
  assert.equal(entry.observed!['entry'], `${mac},host-${ip.replace(/\./g, '-')}.openstacklocal.,${ip}`);
  assert.match(String(entry.observed!['lease']), new RegExp(` ${mac} ${ip} `));
  assert.equal(at('security group DHCP egress').node, 'compute1');
  assert.equal(at('security group DHCP ingress').leg, 'reply');
  // The VXLAN leg to the DHCP node and back.
  assert.ok(r.hops.some((h) => h.node === 'compute1' && h.check === 'l2population' && h.leg === 'request'));
  assert.ok(r.hops.some((h) => h.node === 'controller' && h.check === 'l2population' && h.leg === 'reply'));
  assert.match(renderText(r, { color: false, detail: true }), /OK +every hop checked matches/);
});

test('dnsmasq gone from the namespace: DNSMASQ_NOT_RUNNING in qdhcp- on the controller', () => {
  const s = copy();
  const d = dhcpDump(s);
  d.pids = [];
  d.cmdlines = {};
  const b = brokenAt(trace(s), { reason: 'DNSMASQ_NOT_RUNNING', node: 'controller', check: 'dnsmasq', namespace: qdhcp });
  assert.match(b.cause, /no dnsmasq runs in qdhcp-.* on controller: nothing answers DHCP on network selfservice/);
  assert.match(b.cause, /DHCP agent on controller last reported/);
});

test("another process in the namespace is not dnsmasq (Neutron's haproxy for isolated metadata)", () => {
  const s = copy();
  const d = dhcpDump(s);
  d.pids = [4242];
  d.cmdlines = { '4242': ['haproxy', '-f', '/var/lib/neutron/ns-metadata-proxy/x.conf'] };
  const b = brokenAt(trace(s), { reason: 'DNSMASQ_NOT_RUNNING', node: 'controller', check: 'dnsmasq' });
  assert.match(b.cause, /only 4242 haproxy/);
});

test("the port's line removed from dnsmasq's hosts file: DHCP_HOST_ENTRY_MISSING", () => {
  const s = copy();
  editFile(s, '--dhcp-hostsfile', dropLines(new RegExp(mac)));
  const b = brokenAt(trace(s), { reason: 'DHCP_HOST_ENTRY_MISSING', node: 'controller', check: 'DHCP host entry' });
  assert.match(b.cause, new RegExp(`has no entry for ${mac} → ${ip}`));
});

test('the host entry gives another address: DHCP_HOST_ENTRY_MISSING as a mismatch', () => {
  const s = copy();
  editFile(s, '--dhcp-hostsfile', (t) => t.replace(`,${ip}\n`, ',172.16.1.99\n'));
  const r = trace(s);
  brokenAt(r, { reason: 'DHCP_HOST_ENTRY_MISSING', node: 'controller', check: 'DHCP host entry' });
  assert.equal(r.hops[r.firstBroken!.index - 1]!.status, 'mismatch');
});

test("the gateway option gone from dnsmasq's options file: DHCP_OPTIONS_MISMATCH naming the line", () => {
  const s = copy();
  editFile(s, '--dhcp-optsfile', dropLines(/option:router/));
  const b = brokenAt(trace(s), { reason: 'DHCP_OPTIONS_MISMATCH', node: 'controller', check: 'dnsmasq options' });
  assert.match(b.cause, /no 'tag:subnet-[0-9a-f-]+,option:router,172\.16\.1\.1'/);
});

test('dnsmasq started without the MTU option: DHCP_OPTIONS_MISMATCH', () => {
  const s = copy();
  const d = dhcpDump(s);
  for (const [pid, argv] of Object.entries(d.cmdlines)) d.cmdlines[pid] = argv!.filter((a) => !a.startsWith('--dhcp-option-force'));
  const b = brokenAt(trace(s), { reason: 'DHCP_OPTIONS_MISMATCH', node: 'controller', check: 'dnsmasq options' });
  assert.match(b.cause, /no --dhcp-option-force=option:mtu,1450 \(the network's MTU\)/);
});

test('a real Neutron opts file with more routes (metadata) and tags in another order still holds', () => {
  const s = copy();
  editFile(s, '--dhcp-optsfile', (t) => `tag:port-${instancePort.id},option:tftp-server,10.0.0.9\n${t.trim()}\n`);
  assert.equal(trace(s).ok, true);
});

test("the DHCP port's tap out of its bridge on the controller: DHCP_PORT_NOT_IN_BRIDGE", () => {
  const s = copy();
  const raw = s.nodes['controller']!.namespaces['']!;
  const tap = `tap${dhcpPort.id.slice(0, 11)}`;
  const lines = raw.ip.split('\n');
  const links = JSON.parse(lines[0]!) as Array<Record<string, unknown>>;
  const link = links.find((l) => l['ifname'] === tap)!;
  delete link['master'];
  delete (link['linkinfo'] as Record<string, unknown>)['info_slave_kind'];
  delete (link['linkinfo'] as Record<string, unknown>)['info_slave_data'];
  lines[0] = JSON.stringify(links);
  raw.ip = lines.join('\n');
  const b = brokenAt(trace(s), { reason: 'DHCP_PORT_NOT_IN_BRIDGE', node: 'controller', check: 'DHCP port in bridge' });
  assert.match(
    b.cause,
    new RegExp(
      `${tap} on controller is not in bridge brq${netId.slice(0, 11)}: DHCP requests on brq${netId.slice(0, 11)} never reach dnsmasq;`,
    ),
  );
});

test("the DHCP RETURN rule removed from the instance port's ingress chain: SG_DHCP_BLOCKED on compute1, reply leg", () => {
  const s = copy();
  const raw = s.nodes['compute1']!.namespaces['']!;
  raw.iptablesSave = dropLines(new RegExp(`-d ${ip.replace(/\./g, '\\.')}/32 -p udp -m udp --sport 67 --dport 68 -j RETURN`))(
    raw.iptablesSave,
  );
  const r = trace(s);
  const b = brokenAt(r, { reason: 'SG_DHCP_BLOCKED', node: 'compute1', check: 'security group DHCP ingress' });
  assert.equal(r.hops[b.index - 1]!.leg, 'reply');
  assert.match(b.cause, /DHCPOFFER and DHCPACK \(udp 67 → 68\)/);
});

test('the egress DHCP rules removed: SG_DHCP_BLOCKED on compute1 before the packet leaves', () => {
  const s = copy();
  const raw = s.nodes['compute1']!.namespaces['']!;
  raw.iptablesSave = dropLines(/--sport 68 --dport 67 .*-j RETURN/)(raw.iptablesSave);
  const b = brokenAt(trace(s), { reason: 'SG_DHCP_BLOCKED', node: 'compute1', check: 'security group DHCP egress' });
  assert.match(b.cause, /DHCPDISCOVER and DHCPREQUEST \(udp 68 → 67\)/);
});

test('the qdhcp- namespace absent on the controller: DHCP_NAMESPACE_MISSING', () => {
  const s = copy();
  s.nodes['controller']!.namespaces[qdhcp] = null;
  delete s.nodes['controller']!.dhcp;
  const b = brokenAt(trace(s), { reason: 'DHCP_NAMESPACE_MISSING', node: 'controller', check: 'DHCP namespace', namespace: qdhcp });
  assert.match(b.cause, /does not exist on controller: the DHCP agent has not set network selfservice up there/);
});

test('the DHCP agent not reporting: DHCP_AGENT_DOWN with its heartbeat', () => {
  const s = copy();
  const agent = s.api.agents.find((a) => a['agent_type'] === 'DHCP agent')!;
  agent['alive'] = false;
  const b = brokenAt(trace(s), { reason: 'DHCP_AGENT_DOWN', node: 'controller', check: 'DHCP agent alive' });
  assert.match(b.cause, /the DHCP agent on controller is down: it last reported .* ago/);
});

test('no DHCP agent hosts the network: NO_DHCP_AGENT, from the API alone', () => {
  const s = copy();
  s.api.dhcp_hosts[netId] = [];
  const b = brokenAt(trace(s), { reason: 'NO_DHCP_AGENT', node: '', check: 'DHCP agent hosting' });
  assert.match(b.cause, /openstack network agent add network --dhcp AGENT selfservice/);
});

test('where DHCP runs refused to the caller (dhcp-agents 403, the DHCP port’s host hidden): unknown, not NO_DHCP_AGENT', () => {
  const s = copy();
  s.api.dhcp_hosts[netId] = [];
  s.api.errors = [hostsReadRefused(`/v2.0/networks/${netId}/dhcp-agents`, 403)];
  const r = trace(s);
  const hop = r.hops.find((h) => h.check === 'DHCP agent hosting')!;
  assert.equal(hop.status, 'unknown');
  assert.equal(hop.reason, 'API_UNREADABLE');
  assert.match(
    hop.cause!,
    /cannot be read with these credentials \(GET \/v2\.0\/networks\/.*\/dhcp-agents answered 403, .*trace with an admin's/,
  );
  assert.equal(r.verdict, 'inconclusive');
});

test('DHCP disabled on the subnet: DHCP_DISABLED', () => {
  const s = copy();
  const subnet = ipv4Subnet(s);
  subnet['enable_dhcp'] = false;
  brokenAt(trace(s), { reason: 'DHCP_DISABLED', node: '', check: 'DHCP enabled' });
});

test('a snapshot recorded without the DHCP namespaces’ processes: the dnsmasq hop is unknown, the verdict inconclusive', () => {
  const s = copy();
  delete s.nodes['controller']!.dhcp;
  const r = trace(s);
  assert.equal(r.verdict, 'inconclusive');
  assert.equal(r.ok, false);
  const h = r.hops.find((x) => x.check === 'dnsmasq')!;
  assert.equal(h.status, 'unknown');
  assert.equal(h.reason, 'NODE_UNREADABLE');
  assert.ok(
    r.warnings.some((w) => new RegExp(`^hop ${h.index} not checked: the processes in ${qdhcp} on controller were not read`).test(w)),
    r.warnings.join('\n'),
  );
});

test('trace dhcp of a port Neutron serves no DHCP (the DHCP port itself) is refused', () => {
  assert.throws(
    () => traceDhcp(contextFrom(copy(), 'snapshot'), dhcpPort.id),
    (e: Error) => e instanceof DhcpTraceError && /network:dhcp port: Neutron serves it no DHCP/.test(e.message),
  );
  assert.throws(() => traceDhcp(contextFrom(copy(), 'snapshot'), 'deadbeef-0000'), DhcpTraceError);
});

test('a snapshot keeps the DHCP namespaces through save and load; a malformed one is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-dhcp-snap-'));
  try {
    await saveSnapshot(join(dir, 'a'), recorded);
    assert.deepEqual((await loadSnapshot(join(dir, 'a'))).nodes['controller']!.dhcp, recorded.nodes['controller']!.dhcp);
    const file = join(dir, 'a', 'nodes', 'controller.json');
    const bad = JSON.parse(readFileSync(file, 'utf8'));
    bad.dhcp[qdhcp].pids = ['x'];
    writeFileSync(file, JSON.stringify(bad));
    await assert.rejects(loadSnapshot(join(dir, 'a')), /dhcp is malformed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Neutron's dnsmasq files are read by meaning: client ids, port tags, IPv6, the duid line", () => {
  const hosts = parseHostsFile(
    [
      'fa:16:3e:aa:bb:cc,host-10-0-0-3.openstacklocal,10.0.0.3',
      'fa:16:3e:aa:bb:dd,id:01:fa:16:3e:aa:bb:dd,host-10-0-0-4.openstacklocal,10.0.0.4,set:port-5b0a6c0e',
      'FA:16:3E:AA:BB:EE,tag:dhcpv6,host-fd00--5.openstacklocal,[fd00::5]',
      '',
    ].join('\n'),
  );
  assert.deepEqual(
    hosts.map((h) => [h.mac, h.ip]),
    [
      ['fa:16:3e:aa:bb:cc', '10.0.0.3'],
      ['fa:16:3e:aa:bb:dd', '10.0.0.4'],
      ['fa:16:3e:aa:bb:ee', 'fd00::5'],
    ],
  );
  const opts = parseOptsFile(
    'tag:subnet-1,option:dns-server,8.8.8.8,1.1.1.1\ntag:subnet-1,option:classless-static-route,169.254.169.254/32,10.0.0.2,0.0.0.0/0,10.0.0.1\ntag:subnet-1,249,169.254.169.254/32,10.0.0.2\ntag:subnet-1,option6:dns-server,[fd00::1]\n',
  );
  assert.deepEqual(
    opts.map((o) => [o.tags, o.option, o.values.length]),
    [
      [['subnet-1'], 'dns-server', 2],
      [['subnet-1'], 'classless-static-route', 4],
      [['subnet-1'], '249', 2],
      [['subnet-1'], 'dns-server', 1],
    ],
  );
  assert.deepEqual(
    parseLeases(
      'duid 00:01:00:01:2c:aa\n1733443200 fa:16:3e:aa:bb:cc 10.0.0.3 host-10-0-0-3 01:fa:16:3e:aa:bb:cc\n0 fa:16:3e:aa:bb:dd 10.0.0.4 * *\n',
    ).map((l) => [l.mac, l.ip]),
    [
      ['fa:16:3e:aa:bb:cc', '10.0.0.3'],
      ['fa:16:3e:aa:bb:dd', '10.0.0.4'],
    ],
  );
  assert.deepEqual(parseNetnsPids('812\n1377\n'), [812, 1377]);
  assert.deepEqual(parseCmdline('dnsmasq\0--no-hosts\0--dhcp-hostsfile=/var/lib/neutron/dhcp/n1/host\0'), [
    'dnsmasq',
    '--no-hosts',
    '--dhcp-hostsfile=/var/lib/neutron/dhcp/n1/host',
  ]);
  assert.deepEqual(argValues(['dnsmasq', '--dhcp-optsfile', '/x/opts', '--dhcp-range=a', '--dhcp-range=b'], '--dhcp-optsfile'), [
    '/x/opts',
  ]);
  // Paths come from the command line, wherever they are.
  const found = dnsmasqIn({
    pids: [9],
    cmdlines: { '9': ['/usr/sbin/dnsmasq', '--dhcp-hostsfile=/var/lib/neutron/dhcp/n1/host'] },
    files: { '/var/lib/neutron/dhcp/n1/host': 'fa:16:3e:aa:bb:cc,h,10.0.0.3\n' },
  });
  assert.equal(found[0]!.files.hosts!.text, 'fa:16:3e:aa:bb:cc,h,10.0.0.3\n');
  assert.equal(found[0]!.files.opts, undefined);
});

test('the DHCP probe counts the exchange by MAC, plain and inside VXLAN, and reads what the client said', async () => {
  const { countDhcp, parseUdhcpc, DHCP_FILTERS } = await import('../../src/trace/probe/probe-dhcp.ts');
  const me = 'fa:16:3e:31:94:3b';
  // `tcpdump -n -tt -e` on a tap or a bridge …
  const plain = [
    `1796513640.014033 ${me} > ff:ff:ff:ff:ff:ff, ethertype IPv4 (0x0800), length 342: 0.0.0.0.68 > 255.255.255.255.67: BOOTP/DHCP, Request from ${me}, length 300`,
    `1796513640.015507 fa:16:3e:58:8c:b5 > ${me}, ethertype IPv4 (0x0800), length 371: 172.16.1.2.67 > 172.16.1.3.68: BOOTP/DHCP, Reply, length 329`,
    '1796513640.016000 fa:16:3e:00:00:09 > ff:ff:ff:ff:ff:ff, ethertype IPv4 (0x0800), length 342: 0.0.0.0.68 > 255.255.255.255.67: BOOTP/DHCP, Request from fa:16:3e:00:00:09, length 300',
    '1796513640.017000 fa:16:3e:58:8c:b5 > fa:16:3e:00:00:09, ethertype IPv4 (0x0800), length 371: 172.16.1.2.67 > 172.16.1.9.68: BOOTP/DHCP, Reply, length 329',
    `1796513640.018000 fa:16:3e:58:8c:b5 > ff:ff:ff:ff:ff:ff, ethertype IPv4 (0x0800), length 371: 172.16.1.2.67 > 255.255.255.255.68: BOOTP/DHCP, Reply, length 329`,
  ].join('\n');
  assert.deepEqual(countDhcp(plain, me), { request: 1, reply: 2 }, "another client's exchange does not count; a broadcast reply does");
  // … and with -T vxlan on the underlay NIC, where the inner frame's DHCP is misnamed VXLAN.
  const underlay = [
    '1796513640.014059 ce:7e:59:ea:18:2f > fa:77:39:9b:e8:24, ethertype IPv4 (0x0800), length 392: 192.168.0.105.42144 > 192.168.0.104.8472: VXLAN, flags [I] (0x08), vni 41',
    `${me} > ff:ff:ff:ff:ff:ff, ethertype IPv4 (0x0800), length 342: 0.0.0.0.68 > 255.255.255.255.67: VXLAN, flags [invalid] (0x01), vni 14215292`,
    '1796513640.015507 fa:77:39:9b:e8:24 > ce:7e:59:ea:18:2f, ethertype IPv4 (0x0800), length 421: 192.168.0.104.43742 > 192.168.0.105.8472: VXLAN, flags [I] (0x08), vni 41',
    `fa:16:3e:58:8c:b5 > ${me}, ethertype IPv4 (0x0800), length 371: 172.16.1.2.67 > 172.16.1.3.68: VXLAN, flags [invalid] (0x02), vni 14215292`,
  ].join('\n');
  assert.deepEqual(countDhcp(underlay, me), { request: 1, reply: 1 });
  assert.deepEqual(
    parseUdhcpc(
      'udhcpc: started, v1.36.1\nudhcpc: broadcasting discover\nudhcpc: broadcasting select for 172.16.1.3, server 172.16.1.2\nudhcpc: lease of 172.16.1.3 obtained from 172.16.1.2, lease time 86400\n',
    ),
    { sent: 2, answered: 2 },
  );
  assert.deepEqual(
    parseUdhcpc('udhcpc: sending discover\nudhcpc: sending discover\nudhcpc: sending discover\nudhcpc: no lease, failing\n'),
    { sent: 3, answered: 0 },
  );
  assert.equal(DHCP_FILTERS.plain('0.0.0.0'), 'udp and (port 67 or port 68)');
});

test('trace dhcp options: no flow options, no --count; --wait only with --probe, 1-600 s, without --from', () => {
  const base: TraceCliOptions = { ...traceCliDefaults(), kind: 'dhcp', target: instancePort.id };
  assert.doesNotThrow(() => checkOptions(base));
  assert.doesNotThrow(() => checkOptions({ ...base, probe: true, wait: '30' }));
  const refused = (o: Partial<TraceCliOptions>, re: RegExp) =>
    assert.throws(
      () => checkOptions({ ...base, ...o }),
      (e: Error) => e instanceof TraceUsageError && re.test(e.message),
    );
  refused({ to: '172.16.1.1' }, /it takes no --to, --protocol, --port or --source/);
  refused({ protocol: 'tcp', port: '67' }, /it takes no --to, --protocol, --port or --source/);
  refused({ probe: true, count: '3' }, /takes no --count/);
  refused({ wait: '30' }, /--wait goes with trace dhcp --probe/);
  refused({ kind: 'port', to: '172.16.1.1', probe: true, wait: '30' }, /--wait goes with trace dhcp --probe/);
  for (const w of ['0', '601', '1.5', 'x']) refused({ probe: true, wait: w }, /--wait must be 1-600 seconds/);
  refused({ probe: true, wait: '5', from: 'local' }, /--wait starts no client: it takes no --from/);
});

test("a real Neutron's recording (no dnsmasq data in it): its qdhcp- namespace, ns-/tap veth, DHCP port address and DHCP security-group rules all check ok; dnsmasq is unknown", async () => {
  const real = await loadSnapshot(
    join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'trace', 'real-neutron-zed', 'healthy-fip'),
  );
  const r = traceDhcp(contextFrom(real, 'snapshot'), '63ff1621-32b2-46c1-8367-5ec1686f54ee');
  assert.equal(r.verdict, 'inconclusive', JSON.stringify(r.firstBroken));
  const notOk = r.hops.filter((h) => h.status !== 'ok').map((h) => `${h.check}: ${h.status} ${h.reason}`);
  assert.deepEqual(notOk, ['dnsmasq: unknown NODE_UNREADABLE']);
  for (const check of [
    'DHCP namespace',
    'DHCP port in bridge',
    'DHCP port',
    'DHCP port address',
    'security group DHCP egress',
    'security group DHCP ingress',
  ])
    assert.ok(
      r.hops.some((h) => h.check === check && h.status === 'ok'),
      check,
    );
});

test("a subnet's DNS servers and host routes changed in the API but not in dnsmasq's options: DHCP_OPTIONS_MISMATCH; written there, ok", () => {
  const s = copy();
  const subnet = ipv4Subnet(s);
  subnet['dns_nameservers'] = ['192.0.2.53', '192.0.2.54'];
  subnet['host_routes'] = [{ destination: '10.10.0.0/16', nexthop: '172.16.1.254' }];
  const b = brokenAt(trace(s), { reason: 'DHCP_OPTIONS_MISMATCH', node: 'controller', check: 'dnsmasq options' });
  assert.match(b.cause, /no 'tag:subnet-[0-9a-f-]+,option:dns-server,192\.0\.2\.53,192\.0\.2\.54'/);
  assert.match(
    b.cause,
    /no 'tag:subnet-[0-9a-f-]+,option:classless-static-route,10\.10\.0\.0\/16,172\.16\.1\.254,169\.254\.169\.254\/32,172\.16\.1\.1,0\.0\.0\.0\/0,172\.16\.1\.1'/,
  );
  // Written in another order (servers; the metadata route via the router before the subnet's), they hold.
  const tag = `tag:subnet-${subnet.id}`;
  const routes = '169.254.169.254/32,172.16.1.1,10.10.0.0/16,172.16.1.254,0.0.0.0/0,172.16.1.1';
  editFile(
    s,
    '--dhcp-optsfile',
    (t) => `${tag},option:dns-server,192.0.2.54,192.0.2.53\n${tag},option:classless-static-route,${routes}\n${tag},249,${routes}\n${t}`,
  );
  assert.equal(trace(s).ok, true, JSON.stringify(trace(s).firstBroken));
});

test("the DHCPv4 probe captures where every DHCP leg's device is (the family's wire skips nothing), with the same filters", async () => {
  const { DHCP4_WIRE, DHCP_FILTERS, dhcpTraffic } = await import('../../src/trace/probe/probe-dhcp.ts');
  const { pathCapturePoints, withUnderlayHops } = await import('../../src/trace/probe/probe-plan.ts');
  const planned = withUnderlayHops(trace(copy()));
  const traffic = dhcpTraffic(DHCP4_WIRE, mac, 'x', 1, async () => ({ sent: 0, answered: 0 }));
  assert.deepEqual(
    traffic.points(planned),
    pathCapturePoints(planned, DHCP_FILTERS, () => '0.0.0.0'),
  );
  assert.ok(traffic.points(planned).some((p) => p.encapsulated));
});
