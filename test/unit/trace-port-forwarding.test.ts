// The tracer and a floating IP serving port forwardings, on the recorded healthy snapshot
// (test/fixtures/trace) edited: the floating IP associated with no port but forwarding tcp/2222 to
// the instance's port 22. The walk follows the forwarding to the instance: its DNAT in pf-<id>,
// the security group at the internal port, no SNAT hop; ok when the kernel has the rule,
// NAT_RULE_MISSING when it has not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { traceFip } from '../../src/trace/walk/fip.js';
import { contextFrom } from '../../src/trace/run.js';
import { loadSnapshot } from '../../src/trace/read/snapshot-io.js';
import type { Snapshot } from '../../src/trace/snapshot.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'trace');
const FIP = '10.123.123.104';
const PF_ID = '5c4b3a29-1807-4f6e-9d5c-4b3a29180706';
const CHAIN = 'neutron-l3-agent-pf-5c4b3a29';

/** The healthy snapshot with its floating IP turned into a forwarding one; the kernel's rules with it when `inKernel`. */
async function traced(inKernel: boolean, flow: { protocol: 'tcp' | 'icmp'; port?: number } = { protocol: 'tcp', port: 2222 }) {
  const snap: Snapshot = await loadSnapshot(join(fixtures, 'healthy'));
  const fip = snap.api.floatingips.find((f) => f['floating_ip_address'] === FIP)!;
  const portId = fip['port_id'];
  const fixed = String(fip['fixed_ip_address']);
  Object.assign(fip, {
    port_id: null,
    fixed_ip_address: null,
    port_forwardings: [
      { id: PF_ID, protocol: 'tcp', external_port: 2222, internal_port: 22, internal_ip_address: fixed, internal_port_id: portId },
    ],
  });
  const ns = snap.nodes['controller']!.namespaces[`qrouter-${String(fip['router_id'])}`]!;
  const fipRules = new RegExp(`^-A neutron-l3-agent-(OUTPUT|PREROUTING|float-snat) .*${FIP.replace(/\./g, '\\.')}.*\\n`, 'gm');
  ns.iptablesSave = ns.iptablesSave.replace(fipRules, '');
  if (inKernel) {
    ns.iptablesSave = ns.iptablesSave
      .replace(':neutron-l3-agent-float-snat', `:neutron-l3-agent-fip-pf - [0:0]\n:${CHAIN} - [0:0]\n:neutron-l3-agent-float-snat`)
      .replace(
        /(-A neutron-l3-agent-snat -j neutron-l3-agent-float-snat\n)/,
        `-A neutron-l3-agent-PREROUTING -j neutron-l3-agent-fip-pf\n-A neutron-l3-agent-fip-pf -j ${CHAIN}\n-A ${CHAIN} -d ${FIP}/32 -p tcp -m tcp --dport 2222 -j DNAT --to-destination ${fixed}:22\n$1`,
      );
    assert.match(ns.iptablesSave, new RegExp(CHAIN));
  }
  return traceFip(contextFrom(snap, 'snapshot healthy + port forwarding'), FIP, { flow });
}

test('a forwarding in the kernel: the walk reaches the instance, ok, by the forwarding’s DNAT', async () => {
  const r = await traced(true);
  assert.equal(r.ok, true, JSON.stringify(r.firstBroken));
  const dnat = r.hops.find((h) => h.check === 'DNAT')!;
  assert.equal(dnat.expected['chain'], CHAIN);
  assert.match(String(dnat.expected['rule']), /--dport 2222 -j DNAT --to-destination 172\.16\.1\.3:22$/);
  assert.ok(!r.hops.some((h) => h.check === 'SNAT'), 'no SNAT hop for a forwarding');
});

test('the forwarding missing from the namespace: NAT_RULE_MISSING at its DNAT', async () => {
  const r = await traced(false);
  assert.equal(r.ok, false);
  assert.equal(r.firstBroken!.reason, 'NAT_RULE_MISSING', r.firstBroken!.cause);
  assert.match(r.firstBroken!.cause, /the port forwarding 10\.123\.123\.104:2222\/tcp → 172\.16\.1\.3:22 is missing/);
});
