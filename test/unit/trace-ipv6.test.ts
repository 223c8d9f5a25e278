// The tracer over IPv6 on recorded snapshots of a real demo lab with a SLAAC subnet behind the
// router and an IPv6 gateway subnet (test/fixtures/trace/ipv6-*, made by record-ipv6.ts there): no
// root, no live system. The healthy paths (east-west, out through the router) are ok hop by hop
// with the IPv6 hops and no NAT; each recorded IPv6 fault is named at its hop; faults edited into
// the healthy snapshot (radvd's prefix, the SLAAC address, no IPv6 address) likewise. Also the
// probe's IPv6 capture filters and packet counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tracePort } from '../../src/trace/walk/port.ts';
import { contextFrom } from '../../src/trace/run.ts';
import { loadSnapshot } from '../../src/trace/read/snapshot-io.ts';
import { renderText } from '../../src/trace/render/render-text.ts';
import { captureFilter, underlayFilter } from '../../src/trace/probe/probe-plan.ts';
import { countPackets } from '../../src/trace/probe/probe-count.ts';
import type { Snapshot } from '../../src/trace/snapshot.ts';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'trace');
const VM6A = '5686314d-cf46-4560-9c22-11bd8f7c3738'; // compute1
const VM6B = '572d8905-58be-4a74-a31f-fe6443b74fb1'; // controller
const VM6B_V6 = '2001:db8:1:0:f816:3eff:fec3:aa5c';
const OUTSIDE = '2001:db8:ffff::1';

async function traced(name: string, to: string, edit?: (s: Snapshot) => void) {
  const snap = await loadSnapshot(join(fixtures, name));
  edit?.(snap);
  return tracePort(contextFrom(snap, `snapshot ${name}`), VM6A, to, { flow: { protocol: 'icmp' } });
}

const broken = (r: Awaited<ReturnType<typeof traced>>) => {
  const b = r.firstBroken!;
  return { reason: b.reason, node: b.node, check: r.hops[b.index - 1]!.check };
};

test('healthy, east-west over IPv6: the SLAAC addresses and the ICMPv6 neighbour-discovery rules of both ports, ip6tables security groups', async () => {
  const r = await traced('ipv6-healthy', VM6B_V6);
  assert.equal(r.ok, true, JSON.stringify(r.firstBroken));
  assert.equal(r.target.port!.fixed_ip, '2001:db8:1:0:f816:3eff:fead:6f08');
  assert.equal(r.target.destination, VM6B_V6);
  const checks = r.hops.map((h) => `${h.node} ${h.check}`);
  for (const c of [
    'compute1 IPv6 address',
    'compute1 ICMPv6 neighbour discovery',
    'controller IPv6 address',
    'controller ICMPv6 neighbour discovery',
  ])
    assert.ok(checks.includes(c), c);
  const nd = r.hops.find((h) => h.check === 'ICMPv6 neighbour discovery' && h.node === 'controller')!;
  assert.equal(nd.device, `tap${VM6B.slice(0, 11)}`);
  assert.deepEqual(
    nd.expected['rules'],
    [130, 135, 136].map((t) => `-A neutron-linuxbri-i${VM6B.slice(0, 10)} -p ipv6-icmp -m icmp6 --icmpv6-type ${t} -j RETURN`),
  );
  const sg = r.hops.find((h) => h.check === 'security group icmp')!;
  assert.match(sg.evidence[0]!.command, /ip6tables-save -t filter/);
  assert.match(sg.evidence[0]!.line ?? '', /-p ipv6-icmp/);
  const fdb = r.hops.find((h) => h.check === 'l2population')!;
  assert.equal(fdb.status, 'ok');
});

test('healthy, out through the router over IPv6: router IPv6 addresses, IPv6 forwarding, radvd with the prefix, the IPv6 default route; no NAT', async () => {
  const r = await traced('ipv6-healthy', OUTSIDE);
  assert.equal(r.ok, true, JSON.stringify(r.firstBroken));
  const at = (check: string) => r.hops.find((h) => h.check === check && h.namespace.startsWith('qrouter-'));
  assert.equal(at('ipv6 forwarding')!.expected['net.ipv6.conf.all.forwarding'], '1');
  assert.deepEqual(at('radvd')!.observed!['prefixes'], ['2001:db8:1::/64']);
  const route = r.hops.find((h) => h.check === 'route' && h.leg === 'request')!;
  assert.deepEqual(route.expected, { to: OUTSIDE, dev: route.device, via: '2001:db8:123::1' });
  assert.match(route.evidence[0]!.line ?? '', /^default via 2001:db8:123::1 dev qg-/);
  assert.match(route.evidence[0]!.command, /-6 -j route show/);
  const addresses = r.hops.filter((h) => h.check === 'address').map((h) => h.expected['address']);
  assert.deepEqual(addresses, ['2001:db8:1::/64', '2001:db8:123::102/64']);
  assert.ok(!r.hops.some((h) => h.check === 'SNAT' || h.check === 'ip_forward'), 'IPv6 is not NATed; IPv4 forwarding is not its path');
  assert.match(renderText(r, { color: false, detail: true }), /OK +every hop checked matches/);
});

test('an IPv4 destination on the same snapshot walks the IPv4 path: no IPv6 hop', async () => {
  const r = await traced('ipv6-healthy', '10.123.123.1');
  assert.equal(r.ok, true, JSON.stringify(r.firstBroken));
  assert.equal(r.target.port!.fixed_ip, '172.16.1.201');
  assert.ok(!r.hops.some((h) => ['radvd', 'ipv6 forwarding', 'IPv6 address', 'ICMPv6 neighbour discovery'].includes(h.check)));
  assert.ok(r.hops.some((h) => h.check === 'SNAT' && h.status === 'ok'));
});

for (const [name, to, want] of [
  ['ipv6-radvd-killed', OUTSIDE, { reason: 'RADVD_NOT_RUNNING', node: 'controller', check: 'radvd' }],
  ['ipv6-forwarding-off', OUTSIDE, { reason: 'FORWARDING_DISABLED', node: 'controller', check: 'ipv6 forwarding' }],
  ['ipv6-route-missing', OUTSIDE, { reason: 'NO_ROUTE', node: 'controller', check: 'route' }],
  ['ipv6-nd-blocked', VM6B_V6, { reason: 'SG_ICMPV6_BLOCKED', node: 'controller', check: 'ICMPv6 neighbour discovery' }],
] as const) {
  test(`${name}: ${want.reason} at the ${want.check} hop on ${want.node}`, async () => {
    const r = await traced(name, to);
    assert.equal(r.ok, false);
    assert.deepEqual(broken(r), want, r.firstBroken?.cause);
    assert.ok(
      r.hops.slice(0, r.firstBroken!.index - 1).every((h) => h.status === 'ok'),
      'every hop before it is ok',
    );
  });
}

test("the ICMPv6 rule's cause names Neutron's ICMPV6_ALLOWED_INGRESS_TYPES and the type; radvd's names ra.py", async () => {
  const nd = await traced('ipv6-nd-blocked', VM6B_V6);
  assert.match(nd.firstBroken!.cause, /type 136 \(neighbour advertisement\) \(ICMPV6_ALLOWED_INGRESS_TYPES\)/);
  const radvd = await traced('ipv6-radvd-killed', OUTSIDE);
  assert.match(radvd.firstBroken!.cause, /radvd is not running for router router .*no SLAAC address.*ra\.py/);
  // The same faults do not touch the IPv4 path.
  assert.equal((await traced('ipv6-radvd-killed', '10.123.123.1')).ok, true);
  assert.equal((await traced('ipv6-forwarding-off', '10.123.123.1')).ok, true);
});

test("radvd's configuration without the subnet's prefix: RADVD_CONFIG_MISMATCH", async () => {
  const r = await traced('ipv6-healthy', OUTSIDE, (s) => {
    for (const ns of Object.values(s.nodes['controller']!.radvd!))
      for (const path of Object.keys(ns.files))
        ns.files[path] = ns.files[path]!.replace('prefix 2001:db8:1::/64', 'prefix 2001:db8:42::/64');
  });
  assert.deepEqual(broken(r), { reason: 'RADVD_CONFIG_MISMATCH', node: 'controller', check: 'radvd' });
});

test('a snapshot without the router processes (older recordings): radvd cannot be told, the rest is checked', async () => {
  const r = await traced('ipv6-healthy', OUTSIDE, (s) => delete s.nodes['controller']!.radvd);
  assert.equal(r.verdict, 'inconclusive');
  const unknown = r.hops.filter((h) => h.status !== 'ok');
  assert.deepEqual(
    unknown.map((h) => [h.check, h.node, h.status, h.reason]),
    [['radvd', 'controller', 'unknown', 'NODE_UNREADABLE']],
  );
});

test("a fixed IP that is not the port's EUI-64 address on a SLAAC subnet; a port without an IPv6 address", async () => {
  const other = await traced('ipv6-healthy', VM6B_V6, (s) => {
    const p = s.api.ports.find((x) => x.id === VM6A)!;
    p['fixed_ips'] = (p['fixed_ips'] as Array<{ ip_address: string }>).map((f) =>
      f.ip_address.includes(':') ? { ...f, ip_address: '2001:db8:1::99' } : f,
    );
  });
  assert.deepEqual(broken(other), { reason: 'ADDRESS_MISSING', node: 'compute1', check: 'IPv6 address' });
  assert.match(other.firstBroken!.cause, /forms 2001:db8:1:0:f816:3eff:fead:6f08 from MAC/);
  const none = await traced('ipv6-healthy', VM6B_V6, (s) => {
    const p = s.api.ports.find((x) => x.id === VM6A)!;
    p['fixed_ips'] = (p['fixed_ips'] as Array<{ ip_address: string }>).filter((f) => !f.ip_address.includes(':'));
  });
  assert.deepEqual(broken(none), { reason: 'ADDRESS_MISSING', node: 'compute1', check: 'IPv6 address' });
  assert.match(none.firstBroken!.cause, /has no IPv6 address/);
});

test("the probe over IPv6: echo-only ICMPv6 filters, the inner IPv6 header's addresses on the underlay, ICMP6 and TCP lines counted", () => {
  assert.equal(captureFilter({ protocol: 'icmp' }, 'fd00:41::1'), 'icmp6 and (ip6[40] = 128 or ip6[40] = 129) and host fd00:41::1');
  assert.equal(captureFilter({ protocol: 'tcp', port: 22 }, 'fd00:41::1'), 'tcp port 22 and host fd00:41::1');
  assert.equal(captureFilter({ protocol: 'icmp' }, '172.16.1.3'), 'icmp and host 172.16.1.3');
  const words = 'udp[38:4] = 0xfd000041 and udp[42:4] = 0x00000000 and udp[46:4] = 0x00000000 and udp[50:4] = 0x00000001';
  assert.equal(
    underlayFilter({ protocol: 'icmp' }, 'fd00:41::1'),
    `udp port 8472 and udp[36] = 58 and ((${words}) or (${words.replace(/udp\[(\d+)/g, (_, n) => `udp[${Number(n) + 16}`)}))`,
  );
  const text = [
    '1.0 fa:16:3e:de:7e:ad > fa:16:3e:6f:7c:df, ethertype IPv6 (0x86dd), length 118: fd00:41::a > fd00:41::1: ICMP6, echo request, id 3, seq 1, length 64',
    '1.1 fa:16:3e:6f:7c:df > fa:16:3e:de:7e:ad, ethertype IPv6 (0x86dd), length 118: fd00:41::1 > fd00:41::a: ICMP6, echo reply, id 3, seq 1, length 64',
    '1.2 fa:16:3e:6f:7c:df > fa:16:3e:de:7e:ad, ethertype IPv6 (0x86dd), length 86: fd00:41::1 > fd00:41::a: ICMP6, neighbor advertisement, tgt is fd00:41::1, length 32',
    '1.3 fa:16:3e:de:7e:ad > fa:16:3e:6f:7c:df, ethertype IPv6 (0x86dd), length 94: fd00:41::a.41514 > fd00:41::1.22: Flags [S], seq 1, win 64800, length 0',
    '1.4 fa:16:3e:6f:7c:df > fa:16:3e:de:7e:ad, ethertype IPv6 (0x86dd), length 94: fd00:41::1.22 > fd00:41::a.41514: Flags [S.], seq 2, ack 2, win 64800, length 0',
  ].join('\n');
  assert.deepEqual(countPackets(text, { protocol: 'icmp' }, 'fd00:41::1'), { request: 1, reply: 1 });
  assert.deepEqual(countPackets(text, { protocol: 'tcp', port: 22 }, 'fd00:41::1'), { request: 1, reply: 1 });
});

test("a real Neutron router keeps DAD on its IPv6 interfaces (accept_dad 1, an address still tentative): neutrino's own accept_dad 0 is never expected", async () => {
  const realNeutron = (s: Snapshot) => {
    for (const [ns, raw] of Object.entries(s.nodes['controller']!.namespaces)) {
      if (!ns.startsWith('qrouter-') || !raw) continue;
      raw.sysctl = raw.sysctl!.replace(/(accept_dad = )0/g, '$11');
      raw.ip = raw.ip!.replace(/("local":"2001:db8:1::","prefixlen":64,)/, '$1"tentative":true,');
      assert.match(raw.sysctl!, /qr-\S+\.accept_dad = 1/);
      assert.match(raw.ip!, /"tentative":true/);
    }
  };
  for (const to of [OUTSIDE, VM6B_V6]) {
    const r = await traced('ipv6-healthy', to, realNeutron);
    assert.equal(r.ok, true, JSON.stringify(r.firstBroken));
    assert.ok(!JSON.stringify(r.hops.map((h) => h.expected)).includes('accept_dad'), 'no hop expects accept_dad');
  }
});
