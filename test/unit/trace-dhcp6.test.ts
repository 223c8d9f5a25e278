// The DHCPv6 leg (`trace dhcp`, `trace instance` over IPv6) on recorded snapshots of the dual-stack
// demo lab (test/fixtures/trace/ipv6-*, made by record-ipv6.ts there): no root, no live system. A
// DHCPv6-stateful port walks the router's advertisements (Managed flag), its ip6tables DHCPv6 rules,
// dnsmasq's IPv6 range and its host entry by MAC; a stateless subnet gets options only; a SLAAC
// port has no DHCPv6 exchange and radvd is checked instead. Faults are edited into the recordings
// as the node would show them. Also the probe's DHCPv6 capture filters and counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { traceDhcp } from '../../src/trace/walk/dhcp.ts';
import { contextFrom, type TraceCliOptions } from '../../src/trace/run.ts';
import { traceJson } from '../helpers/trace-cli.ts';
import { loadSnapshot } from '../../src/trace/read/snapshot-io.ts';
import { parseHostsFile, parseLeases6 } from '../../src/trace/read/dnsmasq.ts';
import { countDhcp6, DHCP6_WIRE, probeDhcp6 } from '../../src/trace/probe/probe-dhcp6.ts';
import { dhcpTraffic } from '../../src/trace/probe/probe-dhcp.ts';
import { renderText } from '../../src/trace/render/render-text.ts';
import type { Snapshot } from '../../src/trace/snapshot.ts';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'trace');
const VM6C = '8fcfb3c1-e3d9-4643-a2fc-114bcb998791'; // compute1, DHCPv6-stateful 2001:db8:2::/64 only
const VM6C_MAC = 'fa:16:3e:85:16:1e';
const VM6A = '5686314d-cf46-4560-9c22-11bd8f7c3738'; // compute1, IPv4 and SLAAC 2001:db8:1::/64

async function traced(name: string, port: string, edit?: (s: Snapshot) => void, family?: 4 | 6) {
  const snap = await loadSnapshot(join(fixtures, name));
  edit?.(snap);
  return traceDhcp(contextFrom(snap, `snapshot ${name}`), port, Date.now(), family);
}

const broken = (r: Awaited<ReturnType<typeof traced>>) => {
  const b = r.firstBroken!;
  return { reason: b.reason, node: b.node, check: r.hops[b.index - 1]!.check };
};

/** Rewrites every file of a node's dnsmasq (or radvd) dumps. */
function editFiles(s: Snapshot, node: string, what: 'dhcp' | 'radvd', edit: (path: string, text: string) => string) {
  for (const ns of Object.values(s.nodes[node]![what]!))
    for (const path of Object.keys(ns.files)) if (ns.files[path] !== null) ns.files[path] = edit(path, ns.files[path]!);
}

const editIp6tables = (s: Snapshot, node: string, edit: (text: string) => string) => {
  const raw = s.nodes[node]!.namespaces['']!;
  raw.ip6tablesSave = edit(raw.ip6tablesSave!);
};

test('DHCPv6-stateful, healthy: radvd with the Managed flag, ip6tables DHCPv6 rules both ways, dnsmasq range and the host entry by MAC', async () => {
  const r = await traced('ipv6-dhcp-stateful', VM6C);
  assert.equal(r.ok, true, JSON.stringify(r.firstBroken));
  // A port with only IPv6 addresses gets its DHCPv6 leg without asking.
  assert.deepEqual(r.target.flow, { protocol: 'udp', port: 547 });
  assert.equal(r.target.port!.fixed_ip, '2001:db8:2::34a');
  const at = (check: string) => r.hops.find((h) => h.check === check)!;
  assert.deepEqual(at('radvd').observed!['flags'], ['AdvManagedFlag']);
  assert.deepEqual(at('radvd').observed!['prefixes'], ['2001:db8:2::/64']);
  const egress = at('security group DHCPv6 egress');
  assert.match(egress.evidence[0]!.command, /ip6tables-save -t filter/);
  assert.match(String((egress.expected['rules'] as string[])[0]), /--sport 546 --dport 547 .*-j RETURN$/);
  assert.deepEqual(at('security group DHCPv6 ingress').expected['rules'], [
    `-A neutron-linuxbri-i${VM6C.slice(0, 10)} -d 2001:db8:2::34a/128 -p udp -m udp --sport 547 --dport 546 -j RETURN`,
    `-A neutron-linuxbri-i${VM6C.slice(0, 10)} -d fe80::/64 -p udp -m udp --sport 547 --dport 546 -j RETURN`,
  ]);
  assert.equal(at('DHCP port address').expected['address'], '2001:db8:2::1/64');
  assert.match(String((at('dnsmasq options').expected['ranges'] as string[])[0]), /,2001:db8:2::,static,64,/);
  const entry = at('DHCP host entry');
  assert.deepEqual(entry.expected, { mac: VM6C_MAC, ip_address: '2001:db8:2::34a', hosts_file: entry.expected['hosts_file'] });
  assert.match(String(entry.observed!['entry']), /^fa:16:3e:85:16:1e,tag:dhcpv6,.*\[2001:db8:2::34a\]$/);
  assert.match(String(entry.observed!['lease']), / 2001:db8:2::34a .* 00:03:00:01:fa:16:3e:85:16:1e$/);
  // The radvd hop leads: without the advertisements the instance never asks.
  assert.equal(
    r.hops.findIndex((h) => h.check === 'radvd'),
    1,
  );
  assert.deepEqual(r.warnings, []);
});

const FAULTS: Array<[string, (s: Snapshot) => void, { reason: string; node: string; check: string }]> = [
  [
    'the host entry gone from the hosts file',
    (s) => editFiles(s, 'controller', 'dhcp', (p, t) => (p.endsWith('/host') ? t.replace(/^fa:16:3e:85:16:1e,.*\n/m, '') : t)),
    { reason: 'DHCP_HOST_ENTRY_MISSING', node: 'controller', check: 'DHCP host entry' },
  ],
  [
    "dnsmasq started without the subnet's IPv6 range",
    (s) => {
      for (const ns of Object.values(s.nodes['controller']!.dhcp!))
        for (const pid of Object.keys(ns.cmdlines)) ns.cmdlines[pid] = ns.cmdlines[pid]!.filter((a) => !a.includes(',2001:db8:2::,'));
    },
    { reason: 'DHCP_OPTIONS_MISMATCH', node: 'controller', check: 'dnsmasq options' },
  ],
  [
    'the DHCPv6 client rule gone from the egress chain',
    (s) =>
      editIp6tables(s, 'compute1', (t) => t.replace(/^-A neutron-linuxbri-o8fcfb3c1-e -p udp -m udp --sport 546 --dport 547 .*\n/m, '')),
    { reason: 'SG_DHCP_BLOCKED', node: 'compute1', check: 'security group DHCPv6 egress' },
  ],
  [
    'the DHCPv6 reply rules gone from the ingress chain',
    (s) => editIp6tables(s, 'compute1', (t) => t.replace(/^-A neutron-linuxbri-i8fcfb3c1-e .*--sport 547 --dport 546 -j RETURN\n/gm, '')),
    { reason: 'SG_DHCP_BLOCKED', node: 'compute1', check: 'security group DHCPv6 ingress' },
  ],
  [
    "radvd's configuration without the Managed flag",
    (s) => editFiles(s, 'controller', 'radvd', (_p, t) => t.replace('AdvManagedFlag on;', '')),
    { reason: 'RADVD_CONFIG_MISMATCH', node: 'controller', check: 'radvd' },
  ],
  [
    'radvd not running',
    (s) => {
      for (const ns of Object.values(s.nodes['controller']!.radvd!)) ns.cmdlines = {};
    },
    { reason: 'RADVD_NOT_RUNNING', node: 'controller', check: 'radvd' },
  ],
];

for (const [what, edit, want] of FAULTS)
  test(`DHCPv6-stateful, ${what}: ${want.reason} at the ${want.check} hop on ${want.node}`, async () => {
    assert.deepEqual(broken(await traced('ipv6-dhcp-stateful', VM6C, edit)), want);
  });

test('the causes speak DHCPv6: Solicit and Advertise, udp 546 and 547, the Managed flag', async () => {
  const [entry, egress, ingress, flag] = [0, 2, 3, 4].map((i) => traced('ipv6-dhcp-stateful', VM6C, FAULTS[i]![1]));
  assert.match((await entry).firstBroken!.cause, /ignores the DHCPv6 Solicit of port/);
  assert.match((await egress).firstBroken!.cause, /the instance's Solicit and Request \(udp 546 → 547\)/);
  assert.match((await ingress).firstBroken!.cause, /dnsmasq's Advertise and Reply \(udp 547 → 546\)/);
  assert.match((await flag).firstBroken!.cause, /does not set AdvManagedFlag .*instances ask DHCPv6 for their address/);
});

test('DHCPv6-stateless: options only, no host entry; radvd with the Other flag; a note says the address is SLAAC', async () => {
  const r = await traced('ipv6-dhcp-stateful', VM6C, (s) => {
    const subnet = s.api.subnets.find((x) => x['cidr'] === '2001:db8:2::/64')!;
    subnet['ipv6_ra_mode'] = subnet['ipv6_address_mode'] = 'dhcpv6-stateless';
    editFiles(s, 'controller', 'radvd', (_p, t) =>
      t.replace('AdvManagedFlag on;', 'AdvOtherConfigFlag on;').replace('AdvAutonomous off', 'AdvAutonomous on'),
    );
  });
  assert.equal(r.ok, true, JSON.stringify(r.firstBroken));
  assert.ok(!r.hops.some((h) => h.check === 'DHCP host entry'));
  assert.deepEqual(r.hops.find((h) => h.check === 'radvd')!.observed!['flags'], ['AdvOtherConfigFlag']);
  assert.ok(r.hops.some((h) => h.check === 'dnsmasq options' && h.status === 'ok'));
  assert.match(r.warnings.join('\n'), /DHCPv6-stateless: dnsmasq gives options only/);
});

test('SLAAC: no DHCPv6 exchange; the subnet says so and radvd is checked instead (a dual-stack port asks with family 6)', async () => {
  const r = await traced('ipv6-healthy', VM6A, undefined, 6);
  assert.equal(r.ok, true, JSON.stringify(r.firstBroken));
  assert.deepEqual(
    r.hops.map((h) => [h.node, h.check]),
    [
      ['', 'DHCPv6'],
      ['controller', 'agent alive'],
      ['controller', 'radvd'],
    ],
  );
  assert.deepEqual(r.hops[0]!.observed, { ipv6_address_mode: 'slaac', ipv6_ra_mode: 'slaac' });
  assert.match(
    r.warnings[0]!,
    /no DHCPv6 exchange on subnet selfservice-ipv6 \(2001:db8:1::\/64\).*from the router's advertisements \(radvd checked instead\)/,
  );
  assert.match(renderText(r, { color: false, detail: false }), /none: addresses by SLAAC/);
  // Without asking, the dual-stack port's DHCP leg is IPv4's.
  const v4 = await traced('ipv6-healthy', VM6A);
  assert.deepEqual(v4.target.flow, { protocol: 'udp', port: 67 });
  assert.equal(v4.ok, true);
  // radvd killed: the SLAAC port's leg breaks there.
  assert.deepEqual(broken(await traced('ipv6-radvd-killed', VM6A, undefined, 6)), {
    reason: 'RADVD_NOT_RUNNING',
    node: 'controller',
    check: 'radvd',
  });
});

test('refusals before the exchange: no IPv6 address; DHCP off on a subnet without modes; a mode but no router interface', async () => {
  const noV6 = await traced(
    'ipv6-healthy',
    VM6A,
    (s) => {
      const p = s.api.ports.find((x) => x.id === VM6A)!;
      p['fixed_ips'] = (p['fixed_ips'] as Array<{ ip_address: string }>).filter((f) => !f.ip_address.includes(':'));
    },
    6,
  );
  assert.deepEqual(broken(noV6), { reason: 'ADDRESS_MISSING', node: '', check: 'IPv6 address' });
  const off = await traced('ipv6-dhcp-stateful', VM6C, (s) => {
    const subnet = s.api.subnets.find((x) => x['cidr'] === '2001:db8:2::/64')!;
    Object.assign(subnet, { enable_dhcp: false, ipv6_ra_mode: null, ipv6_address_mode: null });
  });
  assert.deepEqual(broken(off), { reason: 'DHCP_DISABLED', node: '', check: 'DHCP enabled' });
  assert.match(off.firstBroken!.cause, /no DHCPv6 server answers port/);
  const noRouter = await traced('ipv6-dhcp-stateful', VM6C, (s) => {
    s.api.ports = s.api.ports.filter(
      (p) => !(p['device_owner'] === 'network:router_interface' && JSON.stringify(p['fixed_ips']).includes('2001:db8:2:')),
    );
  });
  assert.deepEqual(broken(noRouter), { reason: 'NO_ROUTER_INTERFACE', node: '', check: 'router interface' });
});

test("dnsmasq's files over IPv6: host lines with id: and bracketed addresses; IPv6 leases by address", () => {
  assert.deepEqual(
    parseHostsFile('fa:16:3e:85:16:1e,tag:dhcpv6,id:00:03:00:01:fa:16:3e:85:16:1e,host-x.openstacklocal.,[2001:db8:2::34a]\n').map((e) => [
      e.mac,
      e.ip,
    ]),
    [['fa:16:3e:85:16:1e', '2001:db8:2::34a']],
  );
  const leases = parseLeases6(
    'duid 00:01:00:01:32:a7:d2:45:fa:16:3e:d4:72:97\n1796630352 1 2001:db8:2:0::34a host-2001-db8-2--34a 00:03:00:01:fa:16:3e:85:16:1e\n1796630352 fa:16:3e:00:00:01 10.0.0.5 host *\n',
  );
  assert.deepEqual(
    leases.map((l) => [l.iaid, l.ip]),
    [['1', '2001:db8:2::34a']],
  );
});

test('the DHCPv6 probe: capture filters on the bridge and the underlay, Solicit / Advertise counted by MAC, radvd hops not captured', async () => {
  assert.equal(DHCP6_WIRE.filters.plain(''), 'udp and (port 546 or port 547)');
  assert.equal(
    DHCP6_WIRE.filters.underlay('', 4789),
    'udp port 4789 and udp[36] = 17 and ((udp[70:2] = 546 and udp[72:2] = 547) or (udp[70:2] = 547 and udp[72:2] = 546))',
  );
  const text = [
    `1.0 ${VM6C_MAC} > 33:33:00:01:00:02, ethertype IPv6 (0x86dd), length 118: fe80::f816:3eff:fe72:c8dd.546 > ff02::1:2.547: dhcp6 solicit`,
    `1.1 fa:16:3e:d4:72:97 > ${VM6C_MAC}, ethertype IPv6 (0x86dd), length 160: fe80::f816:3eff:fed4:7297.547 > fe80::f816:3eff:fe72:c8dd.546: dhcp6 advertise`,
    `1.2 fa:16:3e:00:00:01 > 33:33:00:01:00:02, ethertype IPv6 (0x86dd), length 118: fe80::1.546 > ff02::1:2.547: dhcp6 solicit`,
    `1.3 ${VM6C_MAC} > 33:33:00:00:00:01, ethertype IPv6 (0x86dd), length 86: fe80::f816:3eff:fe72:c8dd > ff02::1: ICMP6, neighbor advertisement`,
  ].join('\n');
  assert.deepEqual(countDhcp6(text, VM6C_MAC), { request: 1, reply: 1 });
  const r = await traced('ipv6-dhcp-stateful', VM6C);
  const traffic = dhcpTraffic(DHCP6_WIRE, VM6C_MAC, 'x', 1, async () => ({
    sent: 0,
    answered: 0,
  }));
  const points = traffic.points(r);
  assert.ok(points.length > 5);
  assert.ok(!points.some((p) => p.device.startsWith('qr-')), 'the router interface carries no DHCPv6');
  // A SLAAC leg has nothing to probe; over ssh nothing is run.
  const slaac = await traced('ipv6-healthy', VM6A, undefined, 6);
  const none = { access: {}, from: { access: { spec: { kind: 'local' as const } } as never, label: 'local' } };
  assert.match((await probeDhcp6(slaac, none)).warnings.at(-1)!, /nothing sent: the port has no DHCPv6 exchange \(SLAAC\)/);
  const ssh = { access: {}, from: { access: { spec: { kind: 'ssh' as const, user: 'u', address: 'h' } } as never, label: 'ssh:u@h' } };
  assert.match((await probeDhcp6(r, ssh)).warnings.at(-1)!, /the DHCPv6 leg was not probed: no client over ssh/);
});

const traceInstance = async (instanceId: string, extra: Partial<TraceCliOptions> = {}) =>
  (await traceJson({ kind: 'instance', target: instanceId, snapshot: join(fixtures, 'ipv6-dhcp-stateful'), ...extra })).report;

test('trace instance picks the family: the floating IP or IPv4 when there is one, IPv6 for an IPv6-only instance (DHCPv6 leg first); --ipv6 asks', async () => {
  const v6only = await traceInstance('e1eaa28b-f35c-42c5-a9e7-805e5495ce06'); // vm6c
  assert.equal(v6only.ok, true, JSON.stringify(v6only.firstBroken));
  assert.equal(v6only.target.kind, 'port');
  assert.equal(v6only.target.destination, '2001:db8:123::1');
  assert.equal(v6only.hops[0]!.check, 'agent alive');
  assert.ok(v6only.hops.some((h) => h.check === 'DHCP host entry' && h.expected['ip_address'] === '2001:db8:2::34a'));
  assert.ok(!v6only.hops.some((h) => h.check === 'SNAT'));
  const fip = await traceInstance('88165da6-bd73-4da6-8301-801ef7299fe2'); // instance, with 10.123.123.104
  assert.equal(fip.target.kind, 'floatingip');
  assert.ok(fip.hops.some((h) => h.check === 'security group DHCP egress'));
  const v4 = await traceInstance('9c05e786-9470-46d6-b224-90e4370f6919'); // vm6a: IPv4 and SLAAC, no floating IP
  assert.equal(v4.target.destination, '10.123.123.1');
  const asked = await traceInstance('9c05e786-9470-46d6-b224-90e4370f6919', { ipv6: true });
  assert.equal(asked.target.destination, '2001:db8:123::1');
  assert.equal(asked.hops[0]!.check, 'DHCPv6');
  assert.equal(asked.ok, true, JSON.stringify(asked.firstBroken));
});
