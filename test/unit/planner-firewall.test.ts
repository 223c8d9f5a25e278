import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeKernel } from '../../src/exec/fake.ts';
import { diff } from '../../src/kernel/diff.ts';
import { scopeFor } from '../../src/kernel/scope.ts';
import { HOST, type ChainSpec } from '../../src/kernel/types.ts';
import { iptablesPrefix, iptablesProtocol, planFirewall } from '../../src/planner/firewall.ts';
import { planNode } from '../../src/planner/index.ts';
import { INSTANCE, observedHostWithTaps, OTHER, rule, scenarioGroup, SG_ID, sgView, vxlanComputeFacts } from '../helpers/sg-view.ts';

const chains = (ports = [INSTANCE], groups = [scenarioGroup()]): Map<string, string[]> =>
  new Map((planFirewall(sgView(ports, groups)).filter ?? []).map((c: ChainSpec) => [c.name, c.rules]));

const C = {
  assoc: '-m comment --comment "Direct packets associated with a known session to the RETURN chain."',
  invalid:
    '-m comment --comment "Drop packets that appear related to an existing connection (e.g. TCP ACK/FIN) but do not have an entry in conntrack."',
  unmatched: '-m comment --comment "Send unmatched traffic to the fallback chain."',
  vmInt: '-m comment --comment "Direct traffic from the VM interface to the security group chain."',
  toVm: '-m comment --comment "Jump to the VM specific chain."',
  dhcp: '-m comment --comment "Allow DHCP client traffic."',
  noChains: '-m comment --comment "Drop traffic of a tap device that has no security group chains yet."',
};

test("the scenario's instance (ICMP + SSH in, all out): Neutron's chains, as iptables-save prints them", () => {
  const t = chains();
  const tap = 'tap3c338602-d8';
  assert.deepEqual(t.get('FORWARD'), ['-j neutron-filter-top', '-j neutron-linuxbri-FORWARD']);
  assert.deepEqual(t.get('INPUT'), ['-j neutron-linuxbri-INPUT']);
  assert.deepEqual(t.get('OUTPUT'), ['-j neutron-filter-top', '-j neutron-linuxbri-OUTPUT']);
  assert.deepEqual(t.get('neutron-filter-top'), ['-j neutron-linuxbri-local']);
  assert.deepEqual(t.get('neutron-linuxbri-FORWARD'), [
    '-m physdev --physdev-in tap+ --physdev-is-bridged -j neutron-linuxbri-unknown-in',
    '-m physdev --physdev-out tap+ --physdev-is-bridged -j neutron-linuxbri-unknown-out',
    `-m physdev --physdev-out ${tap} --physdev-is-bridged ${C.vmInt} -j neutron-linuxbri-sg-chain`,
    `-m physdev --physdev-in ${tap} --physdev-is-bridged ${C.vmInt} -j neutron-linuxbri-sg-chain`,
  ]);
  assert.deepEqual(t.get('neutron-linuxbri-unknown-in'), [`-m physdev --physdev-in ${tap} -j RETURN`, `${C.noChains} -j DROP`]);
  assert.deepEqual(t.get('neutron-linuxbri-INPUT'), [
    `-m physdev --physdev-in ${tap} --physdev-is-bridged -m comment --comment "Direct incoming traffic from VM to the security group chain." -j neutron-linuxbri-o3c338602-d`,
  ]);
  assert.deepEqual(t.get('neutron-linuxbri-sg-chain'), [
    `-m physdev --physdev-out ${tap} --physdev-is-bridged ${C.toVm} -j neutron-linuxbri-i3c338602-d`,
    `-m physdev --physdev-in ${tap} --physdev-is-bridged ${C.toVm} -j neutron-linuxbri-o3c338602-d`,
    '-j ACCEPT',
  ]);
  assert.deepEqual(t.get('neutron-linuxbri-sg-fallback'), ['-m comment --comment "Default drop rule for unmatched traffic." -j DROP']);
  assert.deepEqual(t.get('neutron-linuxbri-i3c338602-d'), [
    `-m state --state RELATED,ESTABLISHED ${C.assoc} -j RETURN`,
    '-d 172.16.1.3/32 -p udp -m udp --sport 67 --dport 68 -j RETURN',
    '-d 255.255.255.255/32 -p udp -m udp --sport 67 --dport 68 -j RETURN',
    '-p icmp -j RETURN',
    '-p tcp -m tcp --dport 22 -j RETURN',
    `-m state --state INVALID ${C.invalid} -j DROP`,
    `${C.unmatched} -j neutron-linuxbri-sg-fallback`,
  ]);
  assert.deepEqual(t.get('neutron-linuxbri-o3c338602-d'), [
    `-s 0.0.0.0/32 -d 255.255.255.255/32 -p udp -m udp --sport 68 --dport 67 ${C.dhcp} -j RETURN`,
    '-j neutron-linuxbri-s3c338602-d',
    `-p udp -m udp --sport 68 --dport 67 ${C.dhcp} -j RETURN`,
    '-p udp -m udp --sport 67 --dport 68 -m comment --comment "Prevent DHCP Spoofing by VM." -j DROP',
    `-m state --state RELATED,ESTABLISHED ${C.assoc} -j RETURN`,
    '-j RETURN',
    `-m state --state INVALID ${C.invalid} -j DROP`,
    `${C.unmatched} -j neutron-linuxbri-sg-fallback`,
  ]);
  assert.deepEqual(t.get('neutron-linuxbri-s3c338602-d'), [
    '-s 172.16.1.3/32 -m mac --mac-source fa:16:3e:a7:f7:5a -m comment --comment "Allow traffic from defined IP/MAC pairs." -j RETURN',
    '-m comment --comment "Drop traffic without an IP/MAC allow rule." -j DROP',
  ]);
});

test('rule conversion: ranges, ICMP type/code, prefixes, protocol numbers, remote groups; IPv6 rules are not in this table', () => {
  const remote = {
    id: 'f00dcafe-0000-4000-8000-000000000000',
    name: 'web',
    stateful: true,
    rules: [],
    member_ips: ['10.0.0.7', '10.0.0.5', 'fd00::5'],
  };
  const group = scenarioGroup([
    rule({ protocol: 'tcp', port_range_min: 8000, port_range_max: 8080 }),
    rule({ protocol: 'udp', port_range_min: 1, port_range_max: 65535 }),
    rule({ protocol: 'icmp', port_range_min: 8, port_range_max: 0, remote_ip_prefix: '10.1.2.3/8' }),
    rule({ protocol: 'icmp', port_range_min: 3 }),
    rule({ protocol: '132', port_range_min: 5, port_range_max: 5 }),
    rule({ protocol: 'udplite', port_range_min: 5, port_range_max: 6 }),
    rule({ protocol: '47' }),
    rule({ protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '0.0.0.0/0' }), // duplicate of SSH
    rule({ protocol: 'tcp', port_range_min: 443, port_range_max: 443, remote_group_id: remote.id }),
    rule({ direction: 'egress', protocol: 'tcp', port_range_min: 53, port_range_max: 53, remote_ip_prefix: '192.168.7.0/24' }),
    rule({ ethertype: 'IPv6', protocol: 'ipv6-icmp' }),
  ]);
  const t = chains([INSTANCE], [group, remote]);
  assert.deepEqual(t.get('neutron-linuxbri-i3c338602-d')!.slice(3, -2), [
    '-p icmp -j RETURN',
    '-p tcp -m tcp --dport 22 -j RETURN',
    '-p tcp -m tcp -m multiport --dports 8000:8080 -j RETURN',
    '-p udp -m udp -j RETURN',
    '-s 10.0.0.0/8 -p icmp -m icmp --icmp-type 8/0 -j RETURN',
    '-p icmp -m icmp --icmp-type 3 -j RETURN',
    '-p sctp -m sctp --dport 5 -j RETURN',
    '-p udplite -m multiport --dports 5:6 -j RETURN',
    '-p gre -j RETURN',
    '-p tcp -m tcp --dport 443 -m set --match-set NIPv4f00dcafe-0000-4000-8000- src -j RETURN',
  ]);
  assert.ok(t.get('neutron-linuxbri-o3c338602-d')!.includes('-d 192.168.7.0/24 -p tcp -m tcp --dport 53 -j RETURN'));
  assert.equal(iptablesProtocol('6'), 'tcp');
  assert.equal(iptablesProtocol('ipip'), 'ipencap');
  assert.equal(iptablesProtocol('0'), null);
  assert.equal(iptablesProtocol('113'), '113');
  assert.equal(iptablesPrefix('10.9.8.7/0'), '');
  assert.equal(iptablesPrefix('fd00::/64'), null);
});

test('allowed address pairs extend the anti-spoofing chain (MAC defaults to the port MAC); no IPv4 → MAC only', () => {
  const port = {
    ...INSTANCE,
    allowed_address_pairs: [
      { ip_address: '172.16.1.200/29', mac_address: '' },
      { ip_address: '10.0.0.1', mac_address: 'FA:16:3E:00:00:01' },
    ],
  };
  const spoof = chains([port]).get('neutron-linuxbri-s3c338602-d')!;
  assert.deepEqual(
    spoof.map((r) => r.replace(/-m comment --comment "[^"]*" /, '')),
    [
      '-s 172.16.1.3/32 -m mac --mac-source fa:16:3e:a7:f7:5a -j RETURN',
      '-s 172.16.1.200/29 -m mac --mac-source fa:16:3e:a7:f7:5a -j RETURN',
      '-s 10.0.0.1/32 -m mac --mac-source fa:16:3e:00:00:01 -j RETURN',
      '-j DROP',
    ],
  );
  const bare = chains([{ ...INSTANCE, fixed_ips: [] }]).get('neutron-linuxbri-s3c338602-d')!;
  assert.match(bare[0]!, /^-m mac --mac-source fa:16:3e:a7:f7:5a -m comment/);
});

test('port security disabled and trusted ports: no chains, ACCEPT in FORWARD, known to the no-window drop', () => {
  const open = { ...INSTANCE, port_security_enabled: false, security_groups: [] };
  const dhcp = { ...OTHER, device_owner: 'network:dhcp', security_groups: [] };
  const t = chains([open, dhcp]);
  assert.ok(![...t.keys()].some((n) => /^neutron-linuxbri-[ios][0-9a-f]/.test(n)), [...t.keys()].join(' '));
  const fwd = t.get('neutron-linuxbri-FORWARD')!;
  assert.ok(
    fwd.includes(
      '-m physdev --physdev-out tap3c338602-d8 --physdev-is-bridged -m comment --comment "Accept all packets when port security is disabled." -j ACCEPT',
    ),
  );
  assert.ok(
    fwd.includes(
      '-m physdev --physdev-in tap37720f0a-f0 --physdev-is-bridged -m comment --comment "Accept all packets when port is trusted." -j ACCEPT',
    ),
  );
  assert.deepEqual(t.get('neutron-linuxbri-INPUT'), [
    '-m physdev --physdev-in tap3c338602-d8 --physdev-is-bridged -m comment --comment "Accept all packets when port security is disabled." -j ACCEPT',
  ]);
  assert.deepEqual(t.get('neutron-linuxbri-unknown-out')!.slice(0, 2), [
    '-m physdev --physdev-out tap37720f0a-f0 -j RETURN',
    '-m physdev --physdev-out tap3c338602-d8 -j RETURN',
  ]);
  assert.deepEqual(t.get('neutron-linuxbri-sg-chain'), ['-j ACCEPT']);
  // A service port another role plugs (a router's tap) is trusted even if the view does not list it.
  const router = new Map(
    (planFirewall(sgView([INSTANCE]), ['0f0e0d0c-0b0a-4000-8000-000000000000']).filter ?? []).map((c) => [c.name, c.rules]),
  );
  assert.ok(
    router
      .get('neutron-linuxbri-FORWARD')!
      .includes(
        '-m physdev --physdev-in tap0f0e0d0c-0b --physdev-is-bridged -m comment --comment "Accept all packets when port is trusted." -j ACCEPT',
      ),
  );
  assert.ok(router.get('neutron-linuxbri-unknown-in')!.includes('-m physdev --physdev-in tap0f0e0d0c-0b -j RETURN'));
});

const compute = vxlanComputeFacts(['tap3c338602-d8']);

test('planNode: HOST filter table on an L2 node (skeleton even with no port); chains before the tap joins its bridge', () => {
  const empty = planNode(sgView([]), compute).desired.namespaces[HOST]!;
  assert.ok(empty.iptables.filter?.some((c) => c.name === 'neutron-linuxbri-unknown-in'));
  const { desired } = planNode(sgView([INSTANCE]), compute);
  const observed = observedHostWithTaps(['tap3c338602-d8']);
  const ops = diff(desired, { namespaces: { [HOST]: observed } }).ops;
  const iptables = ops.findIndex((o) => o.op === 'iptables');
  const enslave = ops.findIndex((o) => o.op === 'link-set' && o.name === 'tap3c338602-d8');
  assert.ok(iptables >= 0 && enslave > iptables, `iptables at ${iptables}, tap enslaved at ${enslave}`);
});

test('applying the planned firewall to a fake kernel converges: the second diff is empty', async () => {
  const group = scenarioGroup([rule({ protocol: 'tcp', port_range_min: 8000, port_range_max: 8080, remote_group_id: SG_ID })]);
  const { desired } = planNode(sgView([INSTANCE, OTHER], [group]), {
    ...compute,
    presentTaps: new Set(['tap3c338602-d8', 'tap37720f0a-f0']),
  });
  const host = observedHostWithTaps(['tap3c338602-d8', 'tap37720f0a-f0']);
  const kernel = new FakeKernel({ namespaces: { [HOST]: host } });
  const scope = scopeFor(desired);
  await kernel.apply(diff(desired, await kernel.observe(scope)).ops);
  assert.deepEqual(diff(desired, await kernel.observe(scope)).ops, []);
  const saved = (await kernel.observe(scope)).namespaces[HOST]!.iptables.filter!;
  assert.ok(
    saved
      .find((c) => c.name === 'neutron-linuxbri-i3c338602-d')!
      .rules.includes('-p tcp -m tcp -m multiport --dports 8000:8080 -m set --match-set NIPv45b2b8d0c-1c7e-4d0a-9a36- src -j RETURN'),
  );
  const sets = (await kernel.observe(scope)).namespaces[HOST]!.ipsets;
  assert.deepEqual(
    sets.map((x) => [x.name, x.type, x.family, x.members]),
    [['NIPv45b2b8d0c-1c7e-4d0a-9a36-', 'hash:net', 'inet', ['172.16.1.3', '172.16.1.4']]],
  );
});
