// The tracer's logic on recorded snapshots of a real demo lab (test/fixtures/trace, made by
// record.ts there): no root, no live system. The healthy path is ok hop by hop; each recorded fault
// is found at its hop, node and reason, with the evidence it came from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { traceFip } from '../../src/trace/walk/fip.ts';
import { contextFrom } from '../../src/trace/run.ts';
import { loadSnapshot } from '../../src/trace/read/snapshot-io.ts';
import { agentsReadRefused, hostsReadRefused } from '../../src/trace/read/host-refusals.ts';
import { renderText } from '../../src/trace/render/render-text.ts';
import { renderDot, renderMermaid } from '../../src/trace/render/render-graph.ts';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'trace');
const FIP = '10.123.123.104';

async function traced(name: string) {
  const snap = await loadSnapshot(join(fixtures, name));
  return { snap, report: traceFip(contextFrom(snap, `snapshot ${name}`), FIP, { flow: { protocol: 'icmp' }, source: '198.51.100.1' }) };
}

test('healthy: every hop of the walk ok, on controller and compute1, with the planner’s names', async () => {
  const { snap, report } = await traced('healthy');
  assert.equal(report.ok, true, JSON.stringify(report.firstBroken));
  assert.deepEqual([...new Set(report.hops.map((h) => h.node).filter(Boolean))], ['controller', 'compute1']);
  const devices = report.hops.map((h) => h.device);
  for (const d of ['eth2', 'vxlan-41', `tap${report.target.port!.id.slice(0, 11)}`]) assert.ok(devices.includes(d), d);
  assert.ok(
    report.hops.some(
      (h) =>
        h.check === 'DNAT' && h.evidence[0]?.line === `-A neutron-l3-agent-PREROUTING -d ${FIP}/32 -j DNAT --to-destination 172.16.1.3`,
    ),
  );
  // The agent configurations were recorded without their secrets.
  for (const d of Object.values(snap.nodes)) assert.doesNotMatch(d.agentConfig.text ?? '', /^password = (?!<redacted>)/m);
  assert.match(renderText(report, { color: false, detail: true }), /OK +every hop checked matches/);
  assert.match(renderDot(report), /^digraph trace \{/);
  assert.match(renderMermaid(report), /class .* ok;/);
});

for (const [name, want] of [
  ['dnat-missing', { reason: 'NAT_RULE_MISSING', node: 'controller', check: 'DNAT' }],
  ['fdb-missing', { reason: 'NO_FDB_ENTRY', node: 'controller', check: 'l2population' }],
  ['tap-down', { reason: 'DEVICE_DOWN', node: 'compute1', check: 'tap in bridge' }],
] as const) {
  test(`${name}: ${want.reason} on ${want.node}`, async () => {
    const { report } = await traced(name);
    assert.equal(report.ok, false);
    const b = report.firstBroken!;
    assert.equal(b.reason, want.reason, b.cause);
    assert.equal(b.node, want.node);
    assert.equal(report.hops[b.index - 1]!.check, want.check);
    assert.ok(
      report.hops.slice(0, b.index - 1).every((h) => h.status === 'ok'),
      'every hop before it is ok',
    );
    assert.match(renderText(report, { color: false, detail: false }), new RegExp(`STOPPED AT  hop ${b.index}: .*${want.reason}`));
  });
}

test('a router whose host the API will not tell (a member’s credentials): unknown, not unscheduled', async () => {
  const { snap } = await traced('healthy');
  const routerId = Object.keys(snap.api.router_hosts)[0]!;
  // What a member reads: l3-agents refused, the ports' binding:host_id hidden, so no host at all.
  const refused = hostsReadRefused(`/v2.0/routers/${routerId}/l3-agents`, 403);
  const member = { ...snap, api: { ...snap.api, router_hosts: { [routerId]: [] }, errors: [refused] } };
  const report = traceFip(contextFrom(member, 'snapshot healthy, as a member'), FIP, {
    flow: { protocol: 'icmp' },
    source: '198.51.100.1',
  });
  const hop = report.hops.find((h) => h.check === 'router hosted')!;
  assert.equal(hop.status, 'unknown');
  assert.equal(hop.reason, 'API_UNREADABLE');
  assert.match(
    hop.cause!,
    /cannot be read with these credentials \(GET \/v2\.0\/routers\/.*\/l3-agents answered 403, .*trace with an admin's/,
  );
  assert.equal(report.verdict, 'inconclusive');
  // Without the refusal the same missing host is the cloud's fault: the router is not scheduled.
  const unscheduled = { ...snap, api: { ...snap.api, router_hosts: { [routerId]: [] } } };
  const broken = traceFip(contextFrom(unscheduled, 'snapshot healthy, unscheduled'), FIP, {
    flow: { protocol: 'icmp' },
    source: '198.51.100.1',
  });
  assert.equal(broken.firstBroken?.reason, 'ROUTER_NOT_SCHEDULED');
  assert.equal(broken.verdict, 'broken');
});

test('agents whose state the API will not tell (agent list 403 or 404): unknown, never AGENT_DOWN', async () => {
  const { snap } = await traced('healthy');
  const trace = (api: typeof snap.api) =>
    traceFip(contextFrom({ ...snap, api }, 'snapshot healthy'), FIP, { flow: { protocol: 'icmp' }, source: '198.51.100.1' });
  for (const [status, advice] of [
    [403, "trace with an admin's"],
    [404, 'this cloud serves no agent list'],
  ] as const) {
    const report = trace({ ...snap.api, agents: [], errors: [agentsReadRefused(status)] });
    const agentHops = report.hops.filter((h) => h.check === 'agent alive');
    assert.ok(agentHops.length >= 2, 'the L3 and L2 agents of the path');
    for (const hop of agentHops) {
      assert.equal(hop.status, 'unknown');
      assert.equal(hop.reason, 'API_UNREADABLE');
      assert.match(hop.cause!, new RegExp(`cannot be read with these credentials \\(GET /v2\\.0/agents answered ${status}: ${advice}\\)`));
    }
    assert.ok(!report.hops.some((h) => h.reason === 'AGENT_DOWN'));
    assert.equal(report.verdict, 'inconclusive');
    // Other hops' causes name the unreadable list, not a missing agent.
    assert.doesNotMatch(JSON.stringify(report.hops), /is registered on/);
  }
  // Read, and without the agents: they are not running there.
  const gone = trace({ ...snap.api, agents: [] });
  assert.equal(gone.firstBroken?.reason, 'AGENT_DOWN');
  assert.equal(gone.verdict, 'broken');
});
