// The tracer and a floating IP serving port forwardings, on the recorded healthy snapshot
// (test/fixtures/trace) edited: the floating IP associated with no port but forwarding tcp/2222 to
// the instance's port 22. The walk follows the forwarding to the instance: its DNAT in pf-<id>,
// the security group at the internal port, no SNAT hop; ok when the kernel has the rule,
// NAT_RULE_MISSING when it has not. A range forwarding (4021:4023 → 21:23, its ranges read from
// the forwarding itself): the traced port picks it and maps to its internal port; its DNAT with the
// ranges is checked, and a chain holding another rule is named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { traceFip } from '../../src/trace/walk/fip.ts';
import { contextFrom } from '../../src/trace/run.ts';
import { loadSnapshot } from '../../src/trace/read/snapshot-io.ts';
import type { Snapshot } from '../../src/trace/snapshot.ts';
import { hostViewFromApi } from '../../src/trace/expect/expect-view.ts';
import { internalPortOf, parsePortRange } from '../../src/trace/expect/forwardings.ts';

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

const RANGE_ID = '7e6d5c4b-3a29-4180-8706-5f4e3d2c1b0a';
const RANGE_CHAIN = 'neutron-l3-agent-pf-7e6d5c4b';

/**
 * The healthy snapshot with its floating IP forwarding tcp/2222 → 22 and tcp/4021:4023 → 21:23 (the
 * latter shown without ports on the floating IP, its ranges in api.port_forwardings); `kernelRule`:
 * the range chain's rule in the kernel, none when null.
 */
async function tracedRange(kernelRule: string | null, port: number | undefined) {
  const snap: Snapshot = await loadSnapshot(join(fixtures, 'healthy'));
  const fip = snap.api.floatingips.find((f) => f['floating_ip_address'] === FIP)!;
  const portId = String(fip['port_id']);
  const fixed = String(fip['fixed_ip_address']);
  const single = {
    id: PF_ID,
    protocol: 'tcp',
    external_port: 2222,
    internal_port: 22,
    internal_ip_address: fixed,
    internal_port_id: portId,
  };
  const range = { id: RANGE_ID, protocol: 'tcp', internal_ip_address: fixed, internal_port_id: portId };
  Object.assign(fip, { port_id: null, fixed_ip_address: null, port_forwardings: [single, range] });
  snap.api.port_forwardings = {
    [fip.id]: [
      { ...single, external_port_range: '2222:2222', internal_port_range: '22:22' },
      { ...range, external_port: null, internal_port: null, external_port_range: '4021:4023', internal_port_range: '21:23' },
    ],
  };
  const ns = snap.nodes['controller']!.namespaces[`qrouter-${String(fip['router_id'])}`]!;
  const fipRules = new RegExp(`^-A neutron-l3-agent-(OUTPUT|PREROUTING|float-snat) .*${FIP.replace(/\./g, '\\.')}.*\\n`, 'gm');
  ns.iptablesSave = ns.iptablesSave.replace(fipRules, '');
  if (kernelRule !== null) {
    ns.iptablesSave = ns.iptablesSave
      .replace(':neutron-l3-agent-float-snat', `:neutron-l3-agent-fip-pf - [0:0]\n:${RANGE_CHAIN} - [0:0]\n:neutron-l3-agent-float-snat`)
      .replace(
        /(-A neutron-l3-agent-snat -j neutron-l3-agent-float-snat\n)/,
        `-A neutron-l3-agent-PREROUTING -j neutron-l3-agent-fip-pf\n-A neutron-l3-agent-fip-pf -j ${RANGE_CHAIN}\n-A ${RANGE_CHAIN} ${kernelRule}\n$1`,
      );
  }
  const ctx = contextFrom(snap, 'snapshot healthy + range forwarding');
  return { report: traceFip(ctx, FIP, { flow: { protocol: 'tcp', ...(port !== undefined ? { port } : {}) } }), snap, fixed };
}

const rangeRule = (fixed: string, dport = '4021:4023', to = '21-23/4021') =>
  `-d ${FIP}/32 -p tcp -m tcp --dport ${dport} -j DNAT --to-destination ${fixed}:${to}`;

test('port ranges: read as Neutron writes them; an external port maps to its internal one (N:N offset, N:1 to the one port)', () => {
  assert.deepEqual(parsePortRange('4021:4023'), [4021, 4023]);
  assert.deepEqual(parsePortRange('22'), [22, 22]);
  assert.equal(parsePortRange('23:21'), null);
  assert.equal(parsePortRange(null), null);
  const pf = { id: 'x', floatingip_id: 'f', floating_ip_address: FIP, protocol: 'tcp', internal_ip_address: '172.16.1.3' };
  const nn = { ...pf, external_port: 4021, external_port_end: 4023, internal_port: 21, internal_port_end: 23 };
  assert.deepEqual(
    [4020, 4021, 4022, 4023, 4024].map((p) => internalPortOf(nn, p)),
    [null, 21, 22, 23, null],
  );
  assert.equal(internalPortOf({ ...nn, internal_port: 80, internal_port_end: 80 }, 4022), 80);
});

test('a range forwarding in the kernel: the traced port picks it, its DNAT with the ranges ok, the security group at the mapped port', async () => {
  const { report: r, snap, fixed } = await tracedRange(rangeRule('172.16.1.3'), 4022);
  assert.equal(fixed, '172.16.1.3');
  assert.equal(r.ok, true, JSON.stringify(r.firstBroken));
  const dnat = r.hops.find((h) => h.check === 'DNAT')!;
  assert.equal(dnat.expected['chain'], RANGE_CHAIN);
  assert.equal(dnat.expected['rule'], `-A ${RANGE_CHAIN} ${rangeRule(fixed)}`);
  assert.ok(!r.hops.some((h) => h.check === 'SNAT'), 'no SNAT hop for a forwarding');
  assert.ok(
    r.hops.some((h) => h.check === 'security group tcp/22'),
    r.hops.map((h) => h.check).join(', '),
  );
  // The expected router plan holds the range forwarding too (its chain is the agent's).
  const router = hostViewFromApi(snap.api, 'controller').routers[0]!;
  assert.deepEqual(
    router.port_forwardings?.map((f) => [f.id, f.external_port, f.external_port_end, f.internal_port, f.internal_port_end]),
    [
      [PF_ID, 2222, 2222, 22, 22],
      [RANGE_ID, 4021, 4023, 21, 23],
    ],
  );
  // Port 2222 still takes the single forwarding.
  assert.equal((await tracedRange(rangeRule(fixed), 2222)).report.hops.find((h) => h.check === 'DNAT')!.expected['chain'], CHAIN);
});

test('a range forwarding missing from the kernel: NAT_RULE_MISSING naming the ranges and the traced port', async () => {
  const r = (await tracedRange(null, 4023)).report;
  assert.equal(r.firstBroken!.reason, 'NAT_RULE_MISSING', r.firstBroken!.cause);
  assert.match(
    r.firstBroken!.cause,
    /the port forwarding 10\.123\.123\.104:4021:4023\/tcp → 172\.16\.1\.3:21:23 \(port 4023 → 23\) is missing from neutron-l3-agent-pf-7e6d5c4b/,
  );
});

test('a wrong range in the chain: NAT_RULE_MISSING naming the rule the chain holds instead', async () => {
  const wrong = rangeRule('172.16.1.3', '4021:4024', '21-24/4021');
  const r = (await tracedRange(wrong, 4021)).report;
  assert.equal(r.firstBroken!.reason, 'NAT_RULE_MISSING', r.firstBroken!.cause);
  assert.ok(r.firstBroken!.cause.includes(`(${RANGE_CHAIN} holds \`-A ${RANGE_CHAIN} ${wrong}\` instead)`), r.firstBroken!.cause);
});
