// `trace instance … --metadata` on a recorded demo lab (test/fixtures/trace-dhcp, made by record.ts
// there): no root, no live system. The healthy path (router redirect, proxy, metadata agent) is ok;
// each fault is made in a copy of the recording as the node would show it (the REDIRECT gone from
// iptables-save, haproxy gone from the namespace, the metadata agent dead, the network detached from
// its router without a proxy in its DHCP namespace) and is named at its hop in Neutron's terms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { contextFrom } from '../../src/trace/run.ts';
import { traceMetadata } from '../../src/trace/walk/metadata.ts';
import { loadSnapshot, saveSnapshot } from '../../src/trace/read/snapshot-io.ts';
import { hostsReadRefused } from '../../src/trace/read/host-refusals.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { TraceReport } from '../../src/trace/report.ts';
import type { Snapshot } from '../../src/trace/snapshot.ts';

const fixture = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'trace-dhcp', 'healthy');
const recorded = await loadSnapshot(fixture);
const instancePort = recorded.api.ports.find((p) => String(p['device_owner']).startsWith('compute:'))!;
const routerId = recorded.api.routers[0]!.id;
const qrouter = `qrouter-${routerId}`;

/** The recording as a cloud's would be: without the instance's own route table (a lab's snapshot has it). */
const copy = (): Snapshot => {
  const s = structuredClone(recorded);
  delete s.nodes['compute1']!.instanceRoutes;
  return s;
};
/** The IPv6 hops after the IPv4 ones: the instance's port is on a SLAAC subnet of the same router. */
const V6_HOPS = () => [
  ['metadata route', 'controller', qrouter],
  ['metadata redirect (IPv6)', 'controller', qrouter],
  ['metadata accept (IPv6)', 'controller', qrouter],
];
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
      ...V6_HOPS(),
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

test("IPv6: the REDIRECT of fe80::a9fe:a9fe gone from the router's ip6tables, or radvd's route to it: each named at its hop", () => {
  const s = copy();
  const ns = controller(s).namespaces[qrouter]!;
  ns.ip6tablesSave = ns
    .ip6tablesSave!.split('\n')
    .filter((l) => !l.includes('REDIRECT --to-ports 9697'))
    .join('\n');
  assert.match(
    brokenAt(trace(s), 'METADATA_REDIRECT_MISSING', 'metadata redirect (IPv6)'),
    /no REDIRECT of fe80::a9fe:a9fe\/128:80 to the metadata proxy/,
  );
  const t = copy();
  const files = controller(t).radvd![qrouter]!.files;
  for (const path of Object.keys(files)) files[path] = files[path]!.replace(/\n\s*route fe80::a9fe:a9fe\/128 \{\n\s*\};/g, '');
  assert.match(
    brokenAt(trace(t), 'METADATA_ROUTE_MISSING', 'metadata route'),
    /announces no route fe80::a9fe:a9fe\/128 on qr-\S+: instances on subnet 2001:db8:1::\/64/,
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

// The instance's own route table, as a lab snapshot holds it (`ip -4 -j route show table main` in
// its namespace): the route hop reads it instead of dnsmasq's configuration.
const INSTANCE_NS = 'lab-i-instance';
const withRoutes = (routes: unknown[] | null): Snapshot => {
  const s = copy();
  s.nodes['compute1']!.instanceRoutes = {
    [String(instancePort['device_id'])]: { namespace: INSTANCE_NS, routes: routes === null ? null : JSON.stringify(routes) },
  };
  return s;
};
const LINK = { dst: '172.16.1.0/24', dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: '172.16.1.3', flags: [] };
const DEFAULT = { dst: 'default', gateway: '172.16.1.1', dev: 'eth0', flags: [] };
const METADATA = { dst: '169.254.169.254', gateway: '172.16.1.1', dev: 'eth0', flags: [] };

test("the instance's route table in the snapshot: its route to 169.254.169.254 via the router's gateway is the first hop", () => {
  const r = trace(withRoutes([DEFAULT, METADATA, LINK]));
  assert.equal(r.ok, true, JSON.stringify(r.firstBroken));
  assert.deepEqual(
    r.hops.map((h) => [h.check, h.node, h.namespace]),
    [
      ['metadata route', 'compute1', INSTANCE_NS],
      ['metadata redirect', 'controller', qrouter],
      ['metadata accept', 'controller', qrouter],
      ['metadata proxy', 'controller', qrouter],
      ['metadata agent', 'controller', ''],
      ...V6_HOPS(),
    ],
  );
  assert.deepEqual(r.hops[0]!.observed, { route: '169.254.169.254 via 172.16.1.1 dev eth0' });
  // The default route serves as well when DHCP gave no /32 (the kernel picks the longest prefix).
  assert.equal(trace(withRoutes([DEFAULT, LINK])).ok, true);
  // Without the table (a cloud's guest) the router path has no route hop, as before.
  assert.equal(trace(copy()).hops[0]!.check, 'metadata redirect');
});

test("the instance's table has no route to 169.254.169.254, or one via another address: METADATA_ROUTE_MISSING at the instance", () => {
  assert.match(
    brokenAt(trace(withRoutes([LINK])), 'METADATA_ROUTE_MISSING', 'metadata route'),
    /the instance has no route to 169\.254\.169\.254/,
  );
  const elsewhere = { ...METADATA, gateway: '172.16.1.2' };
  assert.match(
    brokenAt(trace(withRoutes([DEFAULT, elsewhere, LINK])), 'METADATA_ROUTE_MISSING', 'metadata route'),
    /by its route 169\.254\.169\.254 via 172\.16\.1\.2 dev eth0, not via 172\.16\.1\.1/,
  );
  const unread = trace(withRoutes(null));
  assert.equal(unread.hops[0]!.status, 'unknown');
  assert.equal(unread.hops[0]!.reason, 'NODE_UNREADABLE');
});

test("on an isolated network the instance's table is read instead of dnsmasq's options: the route must lead to the DHCP port", () => {
  const s = withRoutes([DEFAULT, METADATA, LINK]);
  s.api.ports = s.api.ports.filter((p) => !(p['device_id'] === routerId && String(p['device_owner']) === 'network:router_interface'));
  const route = trace(s).hops.find((h) => h.check === 'metadata route')!;
  assert.equal(route.namespace, INSTANCE_NS);
  assert.equal(route.reason, 'METADATA_ROUTE_MISSING');
  assert.match(route.cause!, /by its route 169\.254\.169\.254 via 172\.16\.1\.1 dev eth0, not via 172\.16\.1\.\d+/);
});

test('an isolated network whose DHCP host the caller may not read: the proxy hop unknown, not METADATA_PROXY_NOT_RUNNING', () => {
  const s = copy();
  s.api.ports = s.api.ports.filter((p) => !(p['device_id'] === routerId && String(p['device_owner']) === 'network:router_interface'));
  const netId = String(instancePort['network_id']);
  s.api.dhcp_hosts[netId] = [];
  const refusal = hostsReadRefused(`/v2.0/networks/${netId}/dhcp-agents`, 403);
  const proxy = (snap: Snapshot) => trace(snap).hops.find((h) => h.check === 'metadata proxy')!;
  assert.equal(proxy(s).reason, 'METADATA_PROXY_NOT_RUNNING');
  s.api.errors = [refusal];
  const hop = proxy(s);
  assert.equal(hop.status, 'unknown');
  assert.equal(hop.reason, 'API_UNREADABLE');
  assert.equal(trace(s).verdict, 'inconclusive');
});

test('a snapshot with instance route tables saves and loads (the shape check takes them)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'trace-md-'));
  try {
    const s = withRoutes([DEFAULT]);
    await saveSnapshot(dir, s);
    assert.deepEqual((await loadSnapshot(dir)).nodes['compute1']!.instanceRoutes, s.nodes['compute1']!.instanceRoutes);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
