// Port forwardings in the router's namespace, as Neutron's L3 port_forwarding extension writes them:
// the wrapped PREROUTING jumps to fip-pf, one pf-<id> chain per forwarding with its DNAT, and the
// floating IP on qg-; removing the forwarding removes exactly that, on the fake kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planNode } from '../../src/planner/index.ts';
import { controllerFacts, controllerHost, NS, router, view } from '../helpers/router-view.ts';
import { HOST } from '../../src/kernel/types.ts';
import { diff } from '../../src/kernel/diff.ts';
import { FakeKernel } from '../../src/exec/fake.ts';
import { scopeFor } from '../../src/kernel/scope.ts';
import type { PortForwardingView } from '../../src/model/hostview.ts';

const facts = controllerFacts(['l2', 'dhcp', 'l3']);
const chains = (t: { name: string; rules: string[] }[] | undefined) => Object.fromEntries((t ?? []).map((c) => [c.name, c.rules]));

const ssh: PortForwardingView = {
  id: '3f1d2c4b-5a69-4788-9abc-def012345678',
  floatingip_id: 'a1b2c3d4-0000-4000-8000-000000000001',
  floating_ip_address: '10.123.123.110',
  protocol: 'tcp',
  external_port: 2222,
  external_port_end: 2222,
  internal_ip_address: '172.16.1.3',
  internal_port: 22,
  internal_port_end: 22,
};
const withForwardings = (port_forwardings: PortForwardingView[]) => view([router({ floating_ips: [], port_forwardings })]);

test('a forwarding: fip-pf from the wrapped PREROUTING, its pf- chain with the DNAT, the floating IP on qg-', () => {
  const ns = planNode(
    withForwardings([
      ssh,
      {
        ...ssh,
        id: '9e8d7c6b-1111-4222-8333-444455556666',
        protocol: 'udp',
        external_port: 53,
        external_port_end: 53,
        internal_port: 5353,
        internal_port_end: 5353,
      },
    ]),
    facts,
  ).desired.namespaces[NS];
  const nat = chains(ns.iptables.nat);
  assert.deepEqual(nat['neutron-l3-agent-PREROUTING'], ['-j neutron-l3-agent-fip-pf']);
  assert.deepEqual(nat['neutron-l3-agent-fip-pf'], ['-j neutron-l3-agent-pf-3f1d2c4b', '-j neutron-l3-agent-pf-9e8d7c6b']);
  assert.deepEqual(nat['neutron-l3-agent-pf-3f1d2c4b'], [
    '-d 10.123.123.110/32 -p tcp -m tcp --dport 2222 -j DNAT --to-destination 172.16.1.3:22',
  ]);
  assert.deepEqual(nat['neutron-l3-agent-pf-9e8d7c6b'], [
    '-d 10.123.123.110/32 -p udp -m udp --dport 53 -j DNAT --to-destination 172.16.1.3:5353',
  ]);
  assert.deepEqual(nat['neutron-l3-agent-float-snat'], [], 'no SNAT to the floating IP: the instance keeps the router’s');
  assert.deepEqual(
    ns.addresses.filter((a) => a.address === '10.123.123.110/32'),
    [{ dev: 'qg-7a8b9c0d-1e', address: '10.123.123.110/32' }],
    'the address once, however many forwardings',
  );
});

test('port ranges as extract_ports writes them: N:N offset from the external start, N:1 to one port', () => {
  const nn = { ...ssh, external_port: 2222, external_port_end: 2224, internal_port: 22, internal_port_end: 24 };
  const n1 = {
    ...ssh,
    id: '9e8d7c6b-1111-4222-8333-444455556666',
    external_port: 8000,
    external_port_end: 8009,
    internal_port: 80,
    internal_port_end: 80,
  };
  const nat = chains(planNode(withForwardings([nn, n1]), facts).desired.namespaces[NS].iptables.nat);
  assert.deepEqual(nat['neutron-l3-agent-pf-3f1d2c4b'], [
    '-d 10.123.123.110/32 -p tcp -m tcp --dport 2222:2224 -j DNAT --to-destination 172.16.1.3:22-24/2222',
  ]);
  assert.deepEqual(nat['neutron-l3-agent-pf-9e8d7c6b'], [
    '-d 10.123.123.110/32 -p tcp -m tcp --dport 8000:8009 -j DNAT --to-destination 172.16.1.3:80',
  ]);
});

test('no forwardings (or none with ports): no fip-pf chain and no jump', () => {
  for (const pfs of [[], [{ ...ssh, protocol: 'icmp' }]]) {
    const nat = chains(planNode(withForwardings(pfs), facts).desired.namespaces[NS].iptables.nat);
    assert.equal(nat['neutron-l3-agent-fip-pf'], undefined);
    assert.deepEqual(nat['neutron-l3-agent-PREROUTING'], []);
  }
});

test('apply to the FakeKernel, then remove the forwarding: its chains, jump and address go', async () => {
  const desired = planNode(withForwardings([ssh]), facts).desired;
  const kernel = new FakeKernel({ namespaces: { [HOST]: controllerHost() } });
  const scope = () => scopeFor(desired, { prefixes: ['qrouter-', 'qdhcp-'] });
  await kernel.apply(diff(desired, await kernel.observe(scope())).ops);
  assert.deepEqual(diff(desired, await kernel.observe(scope())).ops, []);
  const after = planNode(withForwardings([]), facts).desired;
  await kernel.apply(diff(after, await kernel.observe(scope())).ops);
  const seen = await kernel.observe(scope());
  assert.deepEqual(diff(after, seen).ops, []);
  const nat = chains(seen.namespaces[NS]!.iptables.nat);
  assert.ok(!Object.keys(nat).some((c) => c.includes('pf')), Object.keys(nat).join(','));
  assert.ok(!seen.namespaces[NS]!.addresses.some((a) => a.address === '10.123.123.110/32'));
});
