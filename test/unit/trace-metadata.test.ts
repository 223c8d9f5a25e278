// `trace instance … --metadata` on a recorded demo lab (test/fixtures/trace-dhcp, made by record.ts
// there): no root, no live system. The healthy path (router redirect, proxy, metadata agent) is ok;
// each fault is made in a copy of the recording as the node would show it (the REDIRECT gone from
// iptables-save, haproxy gone from the namespace, the metadata agent dead, the network detached from
// its router without a proxy in its DHCP namespace) and is named at its hop in Neutron's terms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { contextFrom } from '../../src/trace/run.js';
import { traceMetadata } from '../../src/trace/walk/metadata.js';
import { loadSnapshot } from '../../src/trace/read/snapshot-io.js';
import type { TraceReport } from '../../src/trace/report.js';
import type { Snapshot } from '../../src/trace/snapshot.js';

const fixture = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'trace-dhcp', 'healthy');
const recorded = await loadSnapshot(fixture);
const instancePort = recorded.api.ports.find((p) => String(p['device_owner']).startsWith('compute:'))!;
const routerId = recorded.api.routers[0]!.id;
const qrouter = `qrouter-${routerId}`;

const copy = (): Snapshot => structuredClone(recorded);
const trace = (s: Snapshot): TraceReport => traceMetadata(contextFrom(s, 'snapshot'), instancePort, 'instance');
const controller = (s: Snapshot) => s.nodes['controller']!;

function brokenAt(r: TraceReport, reason: string, check: string): string {
  assert.equal(r.ok, false);
  const b = r.firstBroken!;
  assert.equal(b.reason, reason, b.cause);
  assert.equal(r.hops[b.index - 1]!.check, check);
  return b.cause;
}

test('healthy: the router redirects to its metadata proxy, which forwards to a live metadata agent', () => {
  const r = trace(copy());
  assert.equal(r.ok, true, JSON.stringify(r.firstBroken));
  assert.deepEqual(
    r.hops.map((h) => [h.check, h.node, h.namespace]),
    [
      ['metadata redirect', 'controller', qrouter],
      ['metadata accept', 'controller', qrouter],
      ['metadata proxy', 'controller', qrouter],
      ['metadata agent', 'controller', ''],
    ],
  );
  assert.equal(r.target.destination, '169.254.169.254');
  assert.equal(r.target.router?.id, routerId);
});

test("the REDIRECT gone from the router's nat table: METADATA_REDIRECT_MISSING", () => {
  const s = copy();
  const ns = controller(s).namespaces[qrouter]!;
  ns.iptablesSave = ns
    .iptablesSave!.split('\n')
    .filter((l) => !l.includes('REDIRECT --to-ports 9697'))
    .join('\n');
  assert.match(
    brokenAt(trace(s), 'METADATA_REDIRECT_MISSING', 'metadata redirect'),
    /no REDIRECT of 169\.254\.169\.254\/32:80 to the metadata proxy/,
  );
});

test("haproxy gone from the router's namespace: METADATA_PROXY_NOT_RUNNING", () => {
  const s = copy();
  const procs = controller(s).radvd![qrouter]!;
  for (const [pid, argv] of Object.entries(procs.cmdlines)) {
    if (argv?.[0] === 'haproxy') {
      delete procs.cmdlines[pid];
      procs.pids = procs.pids!.filter((p) => String(p) !== pid);
    }
  }
  assert.match(
    brokenAt(trace(s), 'METADATA_PROXY_NOT_RUNNING', 'metadata proxy'),
    /no metadata proxy \(haproxy -f \S+\.conf\) runs in qrouter-/,
  );
});

test('the metadata agent stopped reporting: METADATA_AGENT_DOWN', () => {
  const s = copy();
  const agent = s.api.agents.find((a) => a['agent_type'] === 'Metadata agent')!;
  agent['alive'] = false;
  assert.match(brokenAt(trace(s), 'METADATA_AGENT_DOWN', 'metadata agent'), /the Metadata agent on controller is down/);
});

test('the network detached from its router, no proxy in its DHCP namespace: METADATA_PROXY_NOT_RUNNING there', () => {
  const s = copy();
  s.api.ports = s.api.ports.filter((p) => !(p['device_id'] === routerId && String(p['device_owner']) === 'network:router_interface'));
  const r = trace(s);
  const cause = brokenAt(r, 'METADATA_PROXY_NOT_RUNNING', 'metadata proxy');
  assert.equal(r.hops[r.firstBroken!.index - 1]!.namespace, `qdhcp-${String(instancePort['network_id'])}`);
  assert.match(cause, /no metadata proxy .* runs in qdhcp-/);
});
