// The tracer on recordings of a real Neutron (Zed, Linux bridge agent) whose traffic worked
// (test/fixtures/trace/real-neutron-zed, see its README): its agent writes security-group rules in
// its server's order, its instance has no libvirt XML. Both recordings trace healthy through
// runTrace, the command's own entry point; copies with a real fault put in still trace broken, naming
// the fault, and a copy with a node left out traces inconclusive, the walk going on past it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { contextFrom, type TraceCliOptions } from '../../src/trace/run.ts';
import { traceJson } from '../helpers/trace-cli.ts';
import { sgHop } from '../../src/trace/checks/sg.ts';
import { readsIpsets } from '../../src/trace/read/gather.ts';
import { loadSnapshot, saveSnapshot } from '../../src/trace/read/snapshot-io.ts';
import type { Snapshot } from '../../src/trace/snapshot.ts';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'trace', 'real-neutron-zed');
const FIP_DIR = join(fixtures, 'healthy-fip');
const PORT_DIR = join(fixtures, 'healthy-port-to-external');
const FIP = '10.123.123.104';
const PORT = '63ff1621-32b2-46c1-8367-5ec1686f54ee';
const INGRESS = 'neutron-linuxbri-i63ff1621-3';
const QROUTER = 'qrouter-3d4ee74d-8598-4bb5-89ec-743a2fc97a97';

let dir: string;
before(() => (dir = mkdtempSync(join(tmpdir(), 'neutrino-real-neutron-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

const trace = (o: Parameters<typeof traceJson>[0] & Pick<TraceCliOptions, 'snapshot'>) => traceJson(o);

/** A copy of a recording with `mutate` applied, saved under the test's own directory. */
let copies = 0;
async function mutated(from: string, mutate: (s: Snapshot) => void): Promise<string> {
  const snap = await loadSnapshot(from);
  mutate(snap);
  const to = join(dir, `copy-${++copies}`);
  await saveSnapshot(to, snap);
  return to;
}

/** Edits one namespace's iptables-save text on a node. */
function editIptables(s: Snapshot, host: string, ns: string, edit: (text: string) => string): void {
  const raw = s.nodes[host]!.namespaces[ns]!;
  const before = raw.iptablesSave;
  raw.iptablesSave = edit(before);
  assert.notEqual(raw.iptablesSave, before, 'the edit changed the recording');
}

const dropLine = (line: string) => (text: string) =>
  text
    .split('\n')
    .filter((l) => l !== line)
    .join('\n');

test('trace fip on the real cloud: healthy, exit 0, every hop ok (its rules in its server’s order, no libvirt XML)', async () => {
  const { code, report } = await trace({ kind: 'fip', target: FIP, snapshot: FIP_DIR });
  assert.equal(code, 0, JSON.stringify(report.firstBroken ?? report.warnings));
  assert.equal(report.verdict, 'healthy');
  assert.equal(report.ok, true);
  assert.equal(report.firstBroken, null);
  assert.deepEqual(
    report.hops.filter((h) => h.status !== 'ok').map((h) => `${h.index} ${h.check} ${h.status}`),
    [],
  );
  const sg = report.hops.find((h) => h.check === 'security group icmp')!;
  assert.equal(sg.node, 'compute1');
  // Checked by the tap's carrier, since there is no domain XML to read.
  const nic = report.hops.find((h) => h.check === 'instance NIC')!;
  assert.deepEqual({ domain_xml: nic.observed?.['domain_xml'], carrier: nic.observed?.['carrier'] }, { domain_xml: null, carrier: true });
});

test('trace port to the outside on the real cloud: healthy, exit 0, every hop ok', async () => {
  const { code, report } = await trace({ kind: 'port', target: PORT.slice(0, 8), to: '10.123.123.1', snapshot: PORT_DIR });
  assert.equal(code, 0, JSON.stringify(report.firstBroken ?? report.warnings));
  assert.equal(report.verdict, 'healthy');
  assert.deepEqual(
    report.hops.filter((h) => h.status !== 'ok').map((h) => `${h.index} ${h.check} ${h.status}`),
    [],
  );
  assert.ok(report.hops.some((h) => h.check === 'SNAT' && h.status === 'ok'));
});

test('a security-group rule really missing from the real chain: broken at the security-group hop, the rule named', async () => {
  const rule = `-A ${INGRESS} -p tcp -m tcp --dport 22 -j RETURN`;
  const snap = await mutated(FIP_DIR, (s) => editIptables(s, 'compute1', '', dropLine(rule)));
  const { code, report } = await trace({ kind: 'fip', target: FIP, snapshot: snap });
  assert.equal(code, 1);
  assert.equal(report.verdict, 'broken');
  assert.equal(report.firstBroken?.reason, 'SG_CHAIN_MISSING');
  assert.equal(report.firstBroken?.node, 'compute1');
  assert.ok(report.firstBroken!.cause.includes(`missing: '${rule}'`), report.firstBroken!.cause);
  assert.doesNotMatch(report.firstBroken!.cause, /unexpected|out of order/);
  assert.deepEqual(report.hops[report.firstBroken!.index - 1]!.observed?.['missing'], [rule]);
});

test('the real chain with its DROP of invalid packets moved behind the fallback: broken, the pair out of order named', async () => {
  const invalid = `-A ${INGRESS} -m state --state INVALID -m comment --comment "Drop packets that appear related to an existing connection (e.g. TCP ACK/FIN) but do not have an entry in conntrack." -j DROP`;
  const fallback = `-A ${INGRESS} -m comment --comment "Send unmatched traffic to the fallback chain." -j neutron-linuxbri-sg-fallback`;
  const snap = await mutated(FIP_DIR, (s) =>
    editIptables(s, 'compute1', '', (t) => t.replace(`${invalid}\n${fallback}`, `${fallback}\n${invalid}`)),
  );
  const { code, report } = await trace({ kind: 'fip', target: FIP, snapshot: snap });
  assert.equal(code, 1);
  assert.equal(report.firstBroken?.reason, 'SG_CHAIN_MISSING');
  assert.ok(report.firstBroken!.cause.includes(`out of order: '${fallback}' comes before '${invalid}'`), report.firstBroken!.cause);
  assert.doesNotMatch(report.firstBroken!.cause, /missing:|unexpected:/);
});

test('the real DNAT rule really missing: broken at the DNAT hop (NAT_RULE_MISSING); the port trace’s SNAT rule too', async () => {
  const dnat = `-A neutron-l3-agent-PREROUTING -d ${FIP}/32 -j DNAT --to-destination 172.16.1.124`;
  const fipSnap = await mutated(FIP_DIR, (s) => editIptables(s, 'controller', QROUTER, dropLine(dnat)));
  const fip = await trace({ kind: 'fip', target: FIP, snapshot: fipSnap });
  assert.equal(fip.code, 1);
  assert.equal(fip.report.firstBroken?.reason, 'NAT_RULE_MISSING');
  assert.equal(fip.report.hops[fip.report.firstBroken!.index - 1]!.check, 'DNAT');

  const snat = `-A neutron-l3-agent-float-snat -s 172.16.1.124/32 -j SNAT --to-source ${FIP} --random-fully`;
  const portSnap = await mutated(PORT_DIR, (s) => editIptables(s, 'controller', QROUTER, dropLine(snat)));
  const port = await trace({ kind: 'port', target: PORT, to: '10.123.123.1', snapshot: portSnap });
  assert.equal(port.code, 1);
  assert.equal(port.report.firstBroken?.reason, 'NAT_RULE_MISSING');
  assert.equal(port.report.hops[port.report.firstBroken!.index - 1]!.check, 'SNAT');
});

test('no domain XML and the tap without carrier: nothing is attached on the instance side, broken (DEVICE_DOWN)', async () => {
  const snap = await mutated(PORT_DIR, (s) => {
    const raw = s.nodes['compute1']!.namespaces['']!;
    raw.ip = raw.ip.replaceAll(
      '"ifname":"tap63ff1621-32","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"]',
      '"ifname":"tap63ff1621-32","flags":["NO-CARRIER","BROADCAST","MULTICAST","UP"]',
    );
  });
  const { code, report } = await trace({ kind: 'port', target: PORT, to: '10.123.123.1', snapshot: snap });
  assert.equal(code, 1);
  assert.equal(report.firstBroken?.reason, 'DEVICE_DOWN');
  assert.equal(report.hops[report.firstBroken!.index - 1]!.check, 'instance NIC');
  assert.match(report.firstBroken!.cause, /no carrier/);
});

test('a node not recorded: its hops are unknown, the walk goes on to the others; inconclusive, exit 3', async () => {
  const snap = await mutated(FIP_DIR, (s) => delete s.nodes['compute1']);
  const { code, report } = await trace({ kind: 'fip', target: FIP, snapshot: snap });
  assert.equal(code, 3);
  assert.equal(report.verdict, 'inconclusive');
  assert.equal(report.ok, false);
  assert.equal(report.firstBroken, null);
  const unknown = report.hops.filter((h) => h.status === 'unknown');
  assert.ok(
    unknown.length > 0 && unknown.every((h) => h.node === 'compute1' && ['NODE_UNREADABLE', 'CONFIG_MISSING'].includes(h.reason!)),
    JSON.stringify(unknown),
  );
  // The hops on controller after the first unknown one were still checked, and are fine.
  const after = report.hops.filter((h) => h.index > unknown[0]!.index && h.node === 'controller');
  assert.ok(after.length >= 3 && after.every((h) => h.status === 'ok'), JSON.stringify(after.map((h) => [h.index, h.check, h.status])));
  assert.equal(report.warnings.filter((w) => / not checked: /.test(w)).length, unknown.length);
});

// ---- every comparison by meaning: the real recordings with one kernel listing in another order

/** Every `-A` line of one table in reverse order: each chain's rules, and the chains interleaved otherwise. */
function reverseRules(table: string) {
  return (text: string) => {
    const lines = text.split('\n');
    const start = lines.indexOf(`*${table}`);
    const end = lines.indexOf('COMMIT', start);
    const at = lines.map((l, i) => (i > start && i < end && l.startsWith('-A ') ? i : -1)).filter((i) => i >= 0);
    const rules = at.map((i) => lines[i]!).reverse();
    at.forEach((i, k) => (lines[i] = rules[k]!));
    return lines.join('\n');
  };
}

/** Each JSON listing of `ip -j -batch` (links, addresses, neighbours, routes) reversed, and each link's addresses. */
const reverseIpListings = (text: string) =>
  text
    .split('\n')
    .map((line) => {
      if (!line.startsWith('[')) return line;
      const list = (JSON.parse(line) as Array<Record<string, unknown>>).reverse();
      for (const o of list) if (Array.isArray(o['addr_info'])) o['addr_info'] = [...o['addr_info']].reverse();
      return JSON.stringify(list);
    })
    .join('\n');

const reverseJson = (text: string) => JSON.stringify((JSON.parse(text) as unknown[]).reverse());

const REORDERINGS: Array<[string, (s: Snapshot) => void]> = [
  [
    'NAT rules within their chains (DNAT in PREROUTING, the SNAT rules in snat and float-snat)',
    (s) => editIptables(s, 'controller', QROUTER, reverseRules('nat')),
  ],
  [
    'the filter rules of every chain on compute1 (security-group rules, FORWARD jumps)',
    (s) => {
      // Reversing a whole chain also moves its DROP ahead of its RETURNs; only the port's own rules are
      // reordered here, in place (the real agent's other order of the same rules).
      editIptables(s, 'compute1', '', (t) =>
        t.replace(
          `-A ${INGRESS} -p tcp -m tcp --dport 22 -j RETURN\n-A ${INGRESS} -p icmp -j RETURN`,
          `-A ${INGRESS} -p icmp -j RETURN\n-A ${INGRESS} -p tcp -m tcp --dport 22 -j RETURN`,
        ),
      );
      editIptables(s, 'compute1', '', (t) =>
        t.replace(
          /(-A neutron-linuxbri-FORWARD -m physdev --physdev-out .*)\n(-A neutron-linuxbri-FORWARD -m physdev --physdev-in .*)/,
          '$2\n$1',
        ),
      );
    },
  ],
  [
    'fdb entries (l2population) on both nodes',
    (s) => {
      for (const host of ['controller', 'compute1']) s.nodes[host]!.namespaces['']!.fdb = reverseJson(s.nodes[host]!.namespaces['']!.fdb);
    },
  ],
  [
    'links, addresses on a device, neighbours and routes in the router namespace and on both nodes',
    (s) => {
      for (const [host, ns] of [
        ['controller', QROUTER],
        ['controller', ''],
        ['compute1', ''],
      ] as const) {
        const raw = s.nodes[host]!.namespaces[ns]!;
        raw.ip = reverseIpListings(raw.ip);
      }
    },
  ],
  [
    'sysctl output with a carriage return (read through a terminal)',
    (s) => {
      const raw = s.nodes['controller']!.namespaces[QROUTER]!;
      raw.sysctl = raw.sysctl.replace('net.ipv4.ip_forward = 1\n', 'net.ipv4.ip_forward = 1\r\n');
      assert.match(raw.sysctl, /\r/);
    },
  ],
];

for (const [what, reorder] of REORDERINGS) {
  test(`the real recordings with ${what} in another order: still healthy`, async () => {
    for (const [from, o] of [
      [FIP_DIR, { kind: 'fip', target: FIP }],
      [PORT_DIR, { kind: 'port', target: PORT, to: '10.123.123.1' }],
    ] as const) {
      const snap = await mutated(from, reorder);
      const { code, report } = await trace({ ...o, snapshot: snap });
      assert.equal(code, 0, `${o.kind}: ${JSON.stringify(report.firstBroken ?? report.warnings)}`);
      assert.equal(report.verdict, 'healthy');
    }
  });
}

test('the real cloud’s own verdicts per flow: tcp/22 admitted (healthy), tcp/8080 not (SG_DENIED at its security group), as measured there', async () => {
  const ssh = await trace({ kind: 'fip', target: FIP, snapshot: FIP_DIR, protocol: 'tcp', port: '22' });
  assert.equal(ssh.code, 0, JSON.stringify(ssh.report.firstBroken));
  const blocked = await trace({ kind: 'fip', target: FIP, snapshot: FIP_DIR, protocol: 'tcp', port: '8080' });
  assert.equal(blocked.code, 1);
  assert.equal(blocked.report.firstBroken?.reason, 'SG_DENIED');
  assert.equal(blocked.report.firstBroken?.node, 'compute1');
  assert.match(blocked.report.firstBroken!.cause, /no ingress rule admitting tcp\/8080/);
});

// ---- a remote-group rule: the kernel's IP set must hold the source

const LAB_SG = 'd07e005d-7860-49c9-a578-9deb94421587';
const SET = 'NIPv4d07e005d-7860-49c9-a578-';
const DHCP_PORT = '2615ead5-9f3b-4c17-a76e-c085eb9ecbdf';

/**
 * The real recording with a udp rule from lab-sg's own members (the DHCP port, 172.16.1.2, put in
 * lab-sg), its iptables rule on compute1 as the agent writes it, and `ipset` as recorded (or none).
 */
async function remoteGroupCloud(ipset: string | undefined) {
  const copy = await mutated(FIP_DIR, (s) => {
    const group = s.api.security_groups.find((g) => g.id === LAB_SG)!;
    (group['security_group_rules'] as unknown[]).push({
      id: 'r-udp-from-group',
      security_group_id: LAB_SG,
      direction: 'ingress',
      ethertype: 'IPv4',
      protocol: 'udp',
      port_range_min: null,
      port_range_max: null,
      remote_ip_prefix: null,
      remote_group_id: LAB_SG,
      remote_address_group_id: null,
    });
    s.api.ports.find((p) => p.id === DHCP_PORT)!['security_groups'] = [LAB_SG];
    editIptables(s, 'compute1', '', (t) =>
      t.replace(
        `-A ${INGRESS} -p icmp -j RETURN\n`,
        `-A ${INGRESS} -p icmp -j RETURN\n-A ${INGRESS} -p udp -m set --match-set ${SET} src -j RETURN\n`,
      ),
    );
    if (ipset !== undefined) s.nodes['compute1']!.namespaces['']!.ipset = ipset;
  });
  const ctx = contextFrom(await loadSnapshot(copy), 'test');
  const port = ctx.api.ports.find((p) => p.id === PORT)!;
  return sgHop(ctx, 'compute1', port, { protocol: 'udp', port: 53 }, '172.16.1.2', 'request');
}

const created = `create ${SET} hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x5f2a1c3b\n`;

test('remote group: the set holds the source (members in the kernel’s order, not the planner’s): ok, the member as evidence', async () => {
  const hop = await remoteGroupCloud(`${created}add ${SET} 172.16.1.124\nadd ${SET} 172.16.1.2\n`);
  assert.equal(hop.status, 'ok', hop.cause);
  assert.equal(hop.observed?.['admitting_rule'], 'r-udp-from-group');
  assert.ok(
    hop.evidence.some((e) => e.command === 'ipset save' && e.line === `add ${SET} 172.16.1.2`),
    JSON.stringify(hop.evidence),
  );
});

test('remote group: the set does not hold the source: broken, the set and the source named', async () => {
  const hop = await remoteGroupCloud(`${created}add ${SET} 172.16.1.124\n`);
  assert.equal(hop.status, 'mismatch');
  assert.equal(hop.reason, 'SG_CHAIN_MISSING');
  assert.match(
    hop.cause!,
    new RegExp(`IP set ${SET} on compute1 does not hold 172\\.16\\.1\\.2, a member of remote group lab-sg.*holds 172\\.16\\.1\\.124`),
  );
  const gone = await remoteGroupCloud('');
  assert.equal(gone.status, 'missing');
  assert.match(gone.cause!, new RegExp(`IP set ${SET} of remote group lab-sg does not exist on compute1`));
});

test('remote group: the sets were not read: the hop is unknown, not ok and not broken', async () => {
  const hop = await remoteGroupCloud(undefined);
  assert.equal(hop.status, 'unknown');
  assert.match(hop.cause!, /ipset save was not read on compute1/);
});

test('readsIpsets: a node is asked for its IP sets only when a port bound there has a remote-group rule', async () => {
  const snap = await loadSnapshot(FIP_DIR);
  // compute1's port is in lab-sg alone (no remote group); the default groups' rules do not count.
  assert.equal(readsIpsets(snap.api, 'compute1'), false);
  const group = snap.api.security_groups.find((g) => g.id === LAB_SG)!;
  (group['security_group_rules'] as unknown[]).push({
    id: 'r',
    direction: 'ingress',
    ethertype: 'IPv4',
    protocol: null,
    remote_ip_prefix: null,
    remote_group_id: LAB_SG,
  });
  assert.equal(readsIpsets(snap.api, 'compute1'), true);
  assert.equal(readsIpsets(snap.api, 'controller'), false);
});
