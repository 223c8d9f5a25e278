// The IPv6 half of Neutron's iptables firewall: the ip6tables chains of dual-stack, IPv4-only and
// IPv6-only ports, rules of both ethertypes kept apart, NIPv6 sets, and convergence on the fake kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeKernel } from '../../src/exec/fake.ts';
import { diff } from '../../src/kernel/diff.ts';
import { scopeFor } from '../../src/kernel/scope.ts';
import { bridgeName } from '../../src/kernel/names.ts';
import { HOST, type ChainSpec, type DesiredNode } from '../../src/kernel/types.ts';
import type { PortView } from '../../src/model/hostview.ts';
import { ip6tablesPrefix, planFirewall, planIpsets } from '../../src/planner/firewall.ts';
import { planFirewall6 } from '../../src/planner/firewall6.ts';
import { planNode } from '../../src/planner/index.ts';
import { INSTANCE, observedHostWithTaps, OTHER, rule, scenarioGroup, SG_ID, sgView, vxlanComputeFacts } from '../helpers/sg-view.ts';

const V6_SUBNET = '66666666-2222-3333-4444-555555555555';
const dualStack = (p: PortView, ip6: string): PortView => ({
  ...p,
  fixed_ips: [...p.fixed_ips, { subnet_id: V6_SUBNET, ip_address: ip6 }],
});
const DUAL = dualStack(INSTANCE, '2001:db8:0:1::3');
const DUAL_OTHER = dualStack(OTHER, '2001:db8:0:1::4');
const REMOTE_V6 = rule({ id: 'web6', ethertype: 'IPv6', protocol: 'tcp', port_range_min: 80, port_range_max: 80, remote_group_id: SG_ID });

/** The scenario's group, dual stack: SSH from a v6 prefix, echo request, HTTP from the group's v6 members. */
const dualGroup = () => ({
  ...scenarioGroup([
    rule({ id: 'ssh6', ethertype: 'IPv6', protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '2001:DB8:0:2::/64' }),
    rule({ id: 'ping6', ethertype: 'IPv6', protocol: 'ipv6-icmp', port_range_min: 128, port_range_max: null, remote_ip_prefix: '::/0' }),
    REMOTE_V6,
  ]),
  member_ips: ['172.16.1.3', '172.16.1.4', '2001:db8:0:1::3', '2001:db8:0:1::4'],
});

const tables = (spec: { filter?: ChainSpec[] }): Map<string, string[]> => new Map((spec.filter ?? []).map((c) => [c.name, c.rules]));
const v6 = (ports: PortView[], groups = [dualGroup()]) => tables(planFirewall6(sgView(ports, groups)));
const v4 = (ports: PortView[], groups = [dualGroup()]) => tables(planFirewall(sgView(ports, groups)));

const C = {
  assoc: '-m comment --comment "Direct packets associated with a known session to the RETURN chain."',
  invalid:
    '-m comment --comment "Drop packets that appear related to an existing connection (e.g. TCP ACK/FIN) but do not have an entry in conntrack."',
  unmatched: '-m comment --comment "Send unmatched traffic to the fallback chain."',
  icmp6: '-m comment --comment "Allow IPv6 ICMP traffic."',
  dhcp: '-m comment --comment "Allow DHCP client traffic."',
  pair: '-m comment --comment "Allow traffic from defined IP/MAC pairs."',
  pairDrop: '-m comment --comment "Drop traffic without an IP/MAC allow rule." -j DROP',
};
const SET6 = 'NIPv65b2b8d0c-1c7e-4d0a-9a36-';

test("a dual-stack port's ip6tables chains: Neutron's fixed ICMPv6/DHCPv6 rules, provider rules, IPv6 rules only", () => {
  const t = v6([DUAL]);
  const tap = 'tap3c338602-d8';
  // The skeleton is the IPv4 one (Neutron writes both families alike).
  const t4 = v4([DUAL]);
  for (const chain of ['FORWARD', 'INPUT', 'OUTPUT', 'neutron-filter-top', 'neutron-linuxbri-FORWARD', 'neutron-linuxbri-INPUT'])
    assert.deepEqual(t.get(chain), t4.get(chain), chain);
  assert.deepEqual(t.get('neutron-linuxbri-sg-chain'), t4.get('neutron-linuxbri-sg-chain'));
  assert.deepEqual(t.get('neutron-linuxbri-unknown-in'), [
    `-m physdev --physdev-in ${tap} -j RETURN`,
    t4.get('neutron-linuxbri-unknown-in')![1],
  ]);
  assert.deepEqual(t.get('neutron-linuxbri-sg-fallback'), ['-m comment --comment "Default drop rule for unmatched traffic." -j DROP']);
  assert.deepEqual(t.get('neutron-linuxbri-i3c338602-d'), [
    '-p ipv6-icmp -m icmp6 --icmpv6-type 130 -j RETURN',
    '-p ipv6-icmp -m icmp6 --icmpv6-type 135 -j RETURN',
    '-p ipv6-icmp -m icmp6 --icmpv6-type 136 -j RETURN',
    `-m state --state RELATED,ESTABLISHED ${C.assoc} -j RETURN`,
    '-p ipv6-icmp -m icmp6 --icmpv6-type 134 -j RETURN',
    '-d 2001:db8:0:1::3/128 -p udp -m udp --sport 547 --dport 546 -j RETURN',
    '-d fe80::/64 -p udp -m udp --sport 547 --dport 546 -j RETURN',
    '-s 2001:db8:0:2::/64 -p tcp -m tcp --dport 22 -j RETURN',
    '-p ipv6-icmp -m icmp6 --icmpv6-type 128 -j RETURN',
    `-p tcp -m tcp --dport 80 -m set --match-set ${SET6} src -j RETURN`,
    `-m state --state INVALID ${C.invalid} -j DROP`,
    `${C.unmatched} -j neutron-linuxbri-sg-fallback`,
  ]);
  assert.deepEqual(t.get('neutron-linuxbri-o3c338602-d'), [
    `-s ::/128 -d ff02::/16 -p ipv6-icmp -m icmp6 --icmpv6-type 131 ${C.icmp6} -j RETURN`,
    `-s ::/128 -d ff02::/16 -p ipv6-icmp -m icmp6 --icmpv6-type 135 ${C.icmp6} -j RETURN`,
    `-s ::/128 -d ff02::/16 -p ipv6-icmp -m icmp6 --icmpv6-type 143 ${C.icmp6} -j RETURN`,
    '-j neutron-linuxbri-s3c338602-d',
    '-p ipv6-icmp -m icmp6 --icmpv6-type 134 -m comment --comment "Drop IPv6 Router Advts from VM Instance." -j DROP',
    `-p ipv6-icmp ${C.icmp6} -j RETURN`,
    `-p udp -m udp --sport 546 --dport 547 ${C.dhcp} -j RETURN`,
    '-p udp -m udp --sport 547 --dport 546 -m comment --comment "Prevent DHCP Spoofing by VM." -j DROP',
    `-m state --state RELATED,ESTABLISHED ${C.assoc} -j RETURN`,
    '-j RETURN', // the default group's IPv6 egress rule
    `-m state --state INVALID ${C.invalid} -j DROP`,
    `${C.unmatched} -j neutron-linuxbri-sg-fallback`,
  ]);
  assert.deepEqual(t.get('neutron-linuxbri-s3c338602-d'), [
    `-s 2001:db8:0:1::3/128 -m mac --mac-source fa:16:3e:a7:f7:5a ${C.pair} -j RETURN`,
    `-s fe80::f816:3eff:fea7:f75a/128 -m mac --mac-source fa:16:3e:a7:f7:5a ${C.pair} -j RETURN`,
    C.pairDrop,
  ]);
});

test('no address of one family in the other family: IPv4 tables of a dual-stack port are those of its IPv4 half', () => {
  const withPairs = { ...DUAL, allowed_address_pairs: [{ ip_address: '2001:db8:0:1::/64', mac_address: '' }] };
  // The IPv4 table of the dual-stack port with IPv6 pairs and rules is that of the IPv4-only port with the IPv4 rules.
  assert.deepEqual(v4([withPairs]), v4([INSTANCE], [scenarioGroup()]));
  // The same when no IPv6 rule exists at all.
  const only4 = { ...scenarioGroup(), rules: scenarioGroup().rules.filter((r) => r.ethertype === 'IPv4') };
  assert.deepEqual(v4([withPairs], [only4]), v4([INSTANCE], [only4]));
  for (const rules of v4([withPairs]).values()) for (const r of rules) assert.doesNotMatch(r, /-[sd] \S*:|NIPv6|icmp6/, r);
  for (const rules of v6([withPairs]).values())
    for (const r of rules) assert.doesNotMatch(r, /-[sd] [\d.]+\/|NIPv4|--sport 6[78]|-p icmp /, r);
});

test('IPv4-only port: ip6tables keeps the fixed ICMPv6 rules and DHCPv6 to fe80::/64, no RA rule, no spoof chain (Neutron)', () => {
  const t = v6([INSTANCE]);
  const ingress = t.get('neutron-linuxbri-i3c338602-d')!;
  assert.ok(ingress.includes('-d fe80::/64 -p udp -m udp --sport 547 --dport 546 -j RETURN'));
  assert.ok(!ingress.some((r) => r.includes('--icmpv6-type 134')));
  assert.equal(t.has('neutron-linuxbri-s3c338602-d'), false);
  assert.ok(!t.get('neutron-linuxbri-o3c338602-d')!.includes('-j neutron-linuxbri-s3c338602-d'));
});

test('IPv6-only port: no IPv4 spoof chain nor jump (Neutron); a port with no fixed IP: MAC alone in both families', () => {
  const only6 = { ...INSTANCE, fixed_ips: [{ subnet_id: V6_SUBNET, ip_address: '2001:db8:0:1::3' }] };
  const t4 = v4([only6]);
  assert.equal(t4.has('neutron-linuxbri-s3c338602-d'), false);
  assert.ok(!t4.get('neutron-linuxbri-o3c338602-d')!.includes('-j neutron-linuxbri-s3c338602-d'));
  // DHCP replies go to the broadcast address only.
  assert.deepEqual(
    t4.get('neutron-linuxbri-i3c338602-d')!.filter((r) => r.includes('--sport 67')),
    ['-d 255.255.255.255/32 -p udp -m udp --sport 67 --dport 68 -j RETURN'],
  );
  const bare = { ...INSTANCE, fixed_ips: [] };
  const macOnly = `-m mac --mac-source fa:16:3e:a7:f7:5a ${C.pair} -j RETURN`;
  assert.deepEqual(v4([bare]).get('neutron-linuxbri-s3c338602-d'), [macOnly, C.pairDrop]);
  assert.deepEqual(v6([bare]).get('neutron-linuxbri-s3c338602-d'), [macOnly, C.pairDrop]);
});

test("IPv6 allowed address pairs: pairs first, then fixed IPs, each MAC's EUI-64 link-local once (_spoofing_rule)", () => {
  const port = {
    ...DUAL,
    allowed_address_pairs: [
      { ip_address: '2001:db8:0:1::100', mac_address: '' },
      { ip_address: '2001:db8:0:9::/64', mac_address: 'FA:16:3E:00:00:01' },
      { ip_address: '10.0.0.1', mac_address: 'fa:16:3e:00:00:02' },
      { ip_address: '::/0', mac_address: 'fa:16:3e:00:00:03' },
    ],
  };
  assert.deepEqual(
    v6([port])
      .get('neutron-linuxbri-s3c338602-d')!
      .map((r) => r.replace(` ${C.pair}`, '')),
    [
      '-s 2001:db8:0:1::100/128 -m mac --mac-source fa:16:3e:a7:f7:5a -j RETURN',
      '-s fe80::f816:3eff:fea7:f75a/128 -m mac --mac-source fa:16:3e:a7:f7:5a -j RETURN',
      '-s 2001:db8:0:9::/64 -m mac --mac-source fa:16:3e:00:00:01 -j RETURN',
      '-s fe80::f816:3eff:fe00:1/128 -m mac --mac-source fa:16:3e:00:00:01 -j RETURN',
      // ::/0 is no constraint: ip6tables-save prints no -s.
      '-m mac --mac-source fa:16:3e:00:00:03 -j RETURN',
      '-s fe80::f816:3eff:fe00:3/128 -m mac --mac-source fa:16:3e:00:00:03 -j RETURN',
      '-s 2001:db8:0:1::3/128 -m mac --mac-source fa:16:3e:a7:f7:5a -j RETURN',
      C.pairDrop,
    ],
  );
  // The IPv4 pair stays in iptables.
  assert.ok(
    v4([port])
      .get('neutron-linuxbri-s3c338602-d')!
      .some((r) => r.startsWith('-s 10.0.0.1/32 -m mac --mac-source fa:16:3e:00:00:02')),
  );
  assert.equal(ip6tablesPrefix('10.0.0.1'), null);
  assert.equal(ip6tablesPrefix('2001:DB8::1'), '2001:db8::1/128');
  assert.equal(ip6tablesPrefix('::/0'), '');
});

test('NIPv6 sets: one per remote group of an IPv6 rule, family inet6, IPv6 members only, ::/0 as two /1s', () => {
  const group = { ...dualGroup(), member_ips: [...dualGroup().member_ips, '::/0', '2001:db8:0:7::/64'] };
  const remote4 = rule({ id: 'r4', protocol: 'tcp', port_range_min: 443, port_range_max: 443, remote_group_id: SG_ID });
  const both = { ...group, rules: [...group.rules, remote4] };
  const view = sgView([DUAL, DUAL_OTHER], [both]);
  assert.deepEqual(planIpsets(view, 'IPv6'), [
    {
      name: SET6,
      type: 'hash:net',
      family: 'inet6',
      members: ['2001:db8:0:1::3/128', '2001:db8:0:1::4/128', '2001:db8:0:7::/64', '8000::/1', '::/1'],
    },
  ]);
  assert.deepEqual(
    planIpsets(view, 'IPv4').map((s) => [s.name, s.family, s.members]),
    [['NIPv45b2b8d0c-1c7e-4d0a-9a36-', 'inet', ['172.16.1.3/32', '172.16.1.4/32']]],
  );
  // No IPv6 remote-group rule, no NIPv6 set.
  assert.deepEqual(planIpsets(sgView([DUAL], [scenarioGroup([remote4])]), 'IPv6'), []);
});

const compute = vxlanComputeFacts(['tap3c338602-d8', 'tap37720f0a-f0']);

test('planNode: both families on an L2 node, both kinds of sets; IPv6 off on the bridge and the VXLAN device only; IPv4 alone without IPv6', () => {
  const view = sgView([DUAL, DUAL_OTHER], [dualGroup()]);
  const host = planNode(view, compute).desired.namespaces[HOST]!;
  assert.ok(host.iptables.filter?.some((c) => c.name === 'neutron-linuxbri-i3c338602-d'));
  assert.ok(host.ip6tables?.filter?.some((c) => c.name === 'neutron-linuxbri-i3c338602-d'));
  assert.deepEqual(
    host.ipsets.map((s) => [s.name, s.family]),
    [[SET6, 'inet6']],
  );
  assert.deepEqual(
    host.sysctls.map((s) => s.key),
    [`net.ipv6.conf.${bridgeName(view.networks[0].id)}.disable_ipv6`, 'net.ipv6.conf.vxlan-41.disable_ipv6'],
  );
  assert.ok(host.sysctls.every((s) => s.value === '1'));
  // A kernel without IPv6 (Neutron's use_ipv6 false): IPv4 only, no IPv6 sysctl.
  const v4only = planNode(sgView([DUAL, DUAL_OTHER], [dualGroup()]), { ...compute, ipv6: false }).desired.namespaces[HOST]!;
  assert.equal(v4only.ip6tables, undefined);
  assert.deepEqual(v4only.ipsets, []);
  assert.deepEqual(v4only.sysctls, []);
  assert.deepEqual(v4only.iptables, host.iptables);
  // The skeleton is there with no port at all, in both families.
  const empty = planNode(sgView([]), compute).desired.namespaces[HOST]!;
  assert.ok(empty.ip6tables?.filter?.some((c) => c.name === 'neutron-linuxbri-unknown-in'));
});

test('fake kernel: both families converge, drift in ip6tables is repaired, a removed port takes its IPv6 chains and set with it', async () => {
  const kernel = new FakeKernel({ namespaces: { [HOST]: observedHostWithTaps(['tap3c338602-d8', 'tap37720f0a-f0']) } });
  const converge = async (desired: DesiredNode) => {
    const scope = scopeFor(desired);
    await kernel.apply(diff(desired, await kernel.observe(scope)).ops);
    assert.deepEqual(diff(desired, await kernel.observe(scope)).ops, []);
    return (await kernel.observe(scope)).namespaces[HOST]!;
  };
  const both = planNode(sgView([DUAL, DUAL_OTHER], [dualGroup()]), compute).desired;
  let seen = await converge(both);
  const chain6 = (name: string) => seen.ip6tables?.filter?.find((c) => c.name === name);
  assert.ok(chain6('neutron-linuxbri-i3c338602-d')!.rules.includes(`-p tcp -m tcp --dport 80 -m set --match-set ${SET6} src -j RETURN`));
  assert.deepEqual(
    seen.ipsets.map((s) => [s.name, s.family, s.members]),
    [[SET6, 'inet6', ['2001:db8:0:1::3', '2001:db8:0:1::4']]],
  );
  // Drift: a rule removed from an ip6tables chain by hand comes back.
  const drifted = structuredClone(seen);
  drifted.ip6tables!.filter!.find((c) => c.name === 'neutron-linuxbri-s3c338602-d')!.rules.splice(0, 1);
  const repair = diff(both, { namespaces: { [HOST]: drifted } }).ops;
  assert.deepEqual(
    repair.map((o) => [o.op, o.op === 'ip6tables' ? o.change.write.map((w) => w.name) : []]),
    [['ip6tables', ['neutron-linuxbri-s3c338602-d']]],
  );
  // The second port goes: its chains leave both families; the group's set loses its address.
  const one = planNode(sgView([DUAL], [{ ...dualGroup(), member_ips: ['172.16.1.3', '2001:db8:0:1::3'] }]), compute).desired;
  seen = await converge(one);
  assert.equal(chain6('neutron-linuxbri-i37720f0a-f'), undefined);
  assert.equal(
    seen.iptables.filter?.find((c) => c.name === 'neutron-linuxbri-i37720f0a-f'),
    undefined,
  );
  assert.deepEqual(seen.ipsets.find((s) => s.name === SET6)?.members, ['2001:db8:0:1::3']);
  // Without the IPv6 remote-group rule the NIPv6 set is destroyed once no rule matches it.
  const plain = planNode(sgView([DUAL], [scenarioGroup()]), compute).desired;
  seen = await converge(plain);
  assert.deepEqual(seen.ipsets, []);
});
