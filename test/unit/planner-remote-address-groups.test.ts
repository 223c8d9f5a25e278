// The firewall planner's remotes besides security groups: a rule naming an address group matches an
// IP set of the group's addresses (named like a remote group's, as Neutron keys both alike); with
// `[securitygroup] enable_ipset = false` every remote rule is one plain rule per member address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sgChains } from '../../src/kernel/names.ts';
import { planFirewall, planIpsets } from '../../src/planner/firewall.ts';
import { planFirewall6 } from '../../src/planner/firewall6.ts';
import { INSTANCE, OTHER, rule, scenarioGroup, SG_ID, sgView } from '../helpers/sg-view.ts';

const AG = 'a9a9a9a9-0000-4000-8000-000000000000';
const AG_SET4 = 'NIPv4a9a9a9a9-0000-4000-8000-';
const AG_SET6 = 'NIPv6a9a9a9a9-0000-4000-8000-';

const chainOf = (spec: ReturnType<typeof planFirewall>, name: string) => spec.filter?.find((c) => c.name === name)?.rules ?? [];

function viewWithAddressGroup() {
  const group = scenarioGroup([
    rule({ id: 'ag4', protocol: 'tcp', port_range_min: 80, port_range_max: 80, remote_address_group_id: AG }),
    rule({ id: 'ag6', ethertype: 'IPv6', remote_address_group_id: AG }),
    rule({ id: 'sg4', protocol: 'udp', port_range_min: 53, port_range_max: 53, remote_group_id: SG_ID }),
  ]);
  return {
    ...sgView([INSTANCE, OTHER], [group]),
    address_groups: [{ id: AG, addresses: ['192.0.2.0/28', '198.51.100.7/32', '2001:db8::/64'] }],
  };
}

test('an address group remote: its own IP set of each family, matched like a remote group', () => {
  const view = viewWithAddressGroup();
  const sets = planIpsets(view, 'IPv4');
  assert.deepEqual(
    sets.find((s) => s.name === AG_SET4),
    { name: AG_SET4, type: 'hash:net', family: 'inet', members: ['192.0.2.0/28', '198.51.100.7/32'] },
  );
  assert.deepEqual(planIpsets(view, 'IPv6'), [{ name: AG_SET6, type: 'hash:net', family: 'inet6', members: ['2001:db8::/64'] }]);
  const ingress = chainOf(planFirewall(view), sgChains(INSTANCE.id).ingress);
  assert.ok(ingress.includes(`-p tcp -m tcp --dport 80 -m set --match-set ${AG_SET4} src -j RETURN`), ingress.join('\n'));
  const ingress6 = chainOf(planFirewall6(view), sgChains(INSTANCE.id).ingress);
  assert.ok(ingress6.includes(`-m set --match-set ${AG_SET6} src -j RETURN`), ingress6.join('\n'));
});

test('enable_ipset = false: no sets; one rule per member address, never the port itself', () => {
  const view = viewWithAddressGroup();
  const off = { enableIpset: false };
  assert.deepEqual(planIpsets(view, 'IPv4', off), []);
  assert.deepEqual(planIpsets(view, 'IPv6', off), []);
  const ingress = chainOf(planFirewall(view, [], off), sgChains(INSTANCE.id).ingress);
  assert.ok(!ingress.some((r) => r.includes('--match-set')), ingress.join('\n'));
  const remoteRules = ingress.filter((r) => r.includes('--dport 80') || r.includes('--dport 53'));
  assert.deepEqual(remoteRules, [
    '-s 192.0.2.0/28 -p tcp -m tcp --dport 80 -j RETURN',
    '-s 198.51.100.7/32 -p tcp -m tcp --dport 80 -j RETURN',
    // The group's members but the port's own address (172.16.1.3).
    '-s 172.16.1.4/32 -p udp -m udp --dport 53 -j RETURN',
  ]);
  const ingress6 = chainOf(planFirewall6(view, [], off), sgChains(INSTANCE.id).ingress);
  assert.ok(ingress6.includes('-s 2001:db8::/64 -j RETURN'), ingress6.join('\n'));
  // The other member's chain names the first member's address.
  const other = chainOf(planFirewall(view, [], off), sgChains(OTHER.id).ingress);
  assert.ok(other.includes('-s 172.16.1.3/32 -p udp -m udp --dport 53 -j RETURN'), other.join('\n'));
});
