// The tracer on an HA router: a real lab recorded healthy (test/fixtures/trace/record-ha.ts:
// controller and network2 both hosting the router, floating IP 10.123.123.120 on compute1's `vm`),
// then each HA fault put into a copy — keepalived gone on a node, no primary, two primaries, the
// router's addresses on a standby, the server's ha_state disagreeing with the kernel,
// ip_nonlocal_bind off. The real Neutron recordings (no HA router) show no HA hop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { traceFip } from '../../src/trace/walk/fip.ts';
import { tracePort } from '../../src/trace/walk/port.ts';
import { contextFrom } from '../../src/trace/run.ts';
import { loadSnapshot } from '../../src/trace/read/snapshot-io.ts';
import { isKeepalived } from '../../src/trace/read/collect-dhcp.ts';
import { haStatesOf } from '../../src/trace/read/cloud.ts';
import type { TraceReport } from '../../src/trace/report.ts';
import type { Snapshot } from '../../src/trace/snapshot.ts';
import { splitBatchJson, type Obj } from '../../src/observe/json.ts';
import { IP_OBSERVE_BATCH } from '../../src/observe/node.ts';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'trace');
const FIP = '10.123.123.120';
const HA_KEYS = ['keepalived', 'ip_nonlocal_bind', 'VRRP primary'];

const load = () => loadSnapshot(join(fixtures, 'ha-healthy'));
const routerOf = (s: Snapshot) => s.api.routers.find((r) => r['ha'] === true)!;
const nsOf = (s: Snapshot) => `qrouter-${routerOf(s).id}`;
const trace = (s: Snapshot) => traceFip(contextFrom(s, 'snapshot ha'), FIP, { flow: { protocol: 'icmp' }, source: '198.51.100.1' });

/** The node holding the router as primary in the recording (by the server's word), and the other. */
function roles(s: Snapshot): { primary: string; standby: string } {
  const states = s.api.router_ha_states![routerOf(s).id]!;
  const primary = Object.keys(states).find((h) => states[h] === 'active')!;
  return { primary, standby: Object.keys(states).find((h) => h !== primary)! };
}

/** Rewrites the addresses `ip -j addr show` printed in the router's namespace on `host`. */
function editAddresses(s: Snapshot, host: string, edit: (devs: Obj[]) => void): void {
  const raw = s.nodes[host]!.namespaces[nsOf(s)]!;
  const docs = splitBatchJson(raw.ip, IP_OBSERVE_BATCH.length, 'fixture');
  edit(docs[1]!);
  raw.ip = docs.map((d) => JSON.stringify(d)).join('\n') + '\n';
}

type AddrInfo = { family: string; local: string; prefixlen: number };
const addrsOf = (devs: Obj[], prefix: string): AddrInfo[] =>
  devs.filter((d) => String(d['ifname']).startsWith(prefix)).flatMap((d) => d['addr_info'] as AddrInfo[]);

/** keepalived's addresses on `host`: the primary VIP on ha- and the router's on qr-/qg- (IPv4). */
function vipsOn(s: Snapshot, host: string): { ha: AddrInfo[]; qrqg: Map<string, AddrInfo[]> } {
  let out = { ha: [] as AddrInfo[], qrqg: new Map<string, AddrInfo[]>() };
  editAddresses(s, host, (devs) => {
    const haPorts = new Set(
      s.api.ports
        .filter((p) => p['device_id'] === routerOf(s).id)
        .flatMap((p) => (p['fixed_ips'] as Array<{ ip_address: string }>).map((f) => f.ip_address)),
    );
    const ha = addrsOf(devs, 'ha-').filter((a) => a.family === 'inet' && !haPorts.has(a.local));
    const qrqg = new Map(
      devs
        .filter((d) => /^q[rg]-/.test(String(d['ifname'])))
        .map((d) => [String(d['ifname']), (d['addr_info'] as AddrInfo[]).filter((a) => a.family === 'inet')]),
    );
    out = { ha, qrqg };
  });
  return out;
}

/** Drops every IPv4 address keepalived holds on `host` (what a node that is not primary shows). */
function dropVips(s: Snapshot, host: string): void {
  const { ha } = vipsOn(s, host);
  editAddresses(s, host, (devs) => {
    for (const d of devs) {
      const name = String(d['ifname']);
      if (name.startsWith('ha-')) d['addr_info'] = (d['addr_info'] as AddrInfo[]).filter((a) => !ha.some((v) => v.local === a.local));
      if (/^q[rg]-/.test(name)) d['addr_info'] = (d['addr_info'] as AddrInfo[]).filter((a) => a.family !== 'inet');
    }
  });
}

/** Copies `from`'s keepalived addresses (primary VIP and/or the router's) onto `to`'s devices of the same name kind. */
function copyVips(s: Snapshot, from: string, to: string, which: { primaryVip: boolean }): void {
  const { ha, qrqg } = vipsOn(s, from);
  editAddresses(s, to, (devs) => {
    for (const d of devs) {
      const name = String(d['ifname']);
      const list = d['addr_info'] as AddrInfo[];
      if (which.primaryVip && name.startsWith('ha-')) list.push(...ha);
      // qr-/qg- devices are named after the router's ports: the same on every node.
      if (qrqg.has(name)) list.push(...qrqg.get(name)!);
    }
  });
}

function assertFault(report: TraceReport, want: { reason: string; node: string; check: string; cause: RegExp }) {
  assert.equal(report.ok, false);
  const b = report.firstBroken!;
  const hop = report.hops.find((h) => h.index === b.index)!;
  assert.deepEqual(
    { reason: b.reason, node: b.node, check: hop.check },
    { reason: want.reason, node: want.node, check: want.check },
    JSON.stringify(b),
  );
  assert.match(b.cause, want.cause);
  for (const h of report.hops.filter((x) => x.index < b.index)) assert.equal(h.status, 'ok', `${h.check} before the fault`);
}

test('healthy HA router: keepalived on both nodes, one primary, the server agreeing; the walk goes through the primary', async () => {
  const s = await load();
  const { primary, standby } = roles(s);
  const report = trace(s);
  assert.equal(report.ok, true, JSON.stringify(report.firstBroken));
  assert.equal(report.target.router?.host, primary);
  const ha = report.hops.filter((h) => HA_KEYS.includes(h.check));
  assert.deepEqual(
    ha.map((h) => `${h.node} ${h.check}`),
    ['controller keepalived', 'controller ip_nonlocal_bind', 'network2 keepalived', 'network2 ip_nonlocal_bind', `${primary} VRRP primary`],
  );
  const keepalived = Object.fromEntries(ha.filter((h) => h.check === 'keepalived').map((h) => [h.node, h.observed!]));
  assert.equal(keepalived[primary]!['vrrp'], 'primary');
  assert.equal(keepalived[primary]!['state_file'], 'primary', "the L3 agent's state file");
  assert.equal(keepalived[standby]!['vrrp'], 'backup');
  assert.deepEqual(keepalived[standby]!['addresses'], []);
  assert.deepEqual(ha.at(-1)!.observed!['primary'], [primary]);
  // Every later hop on the router is on the primary.
  assert.ok(report.hops.filter((h) => h.namespace === nsOf(s)).every((h) => h.node === primary || HA_KEYS.includes(h.check)));
});

test('keepalived not running on the standby: HA_KEEPALIVED_NOT_RUNNING there, the node cannot take over', async () => {
  const s = await load();
  const { standby } = roles(s);
  const procs = s.nodes[standby]!.radvd![nsOf(s)]!;
  for (const [pid, argv] of Object.entries(procs.cmdlines)) if (isKeepalived(argv)) delete procs.cmdlines[pid];
  assertFault(trace(s), {
    reason: 'HA_KEEPALIVED_NOT_RUNNING',
    node: standby,
    check: 'keepalived',
    cause: new RegExp(`keepalived is not running for router router in ${nsOf(s)} on ${standby}: this node takes no part in VRRP`),
  });
});

test('keepalived gone on the primary that still holds the addresses: named there, with the consequence', async () => {
  const s = await load();
  const { primary } = roles(s);
  const procs = s.nodes[primary]!.radvd![nsOf(s)]!;
  for (const [pid, argv] of Object.entries(procs.cmdlines)) if (isKeepalived(argv)) delete procs.cmdlines[pid];
  const report = trace(s);
  const hop = report.hops.find((h) => h.node === primary && h.check === 'keepalived')!;
  assert.equal(hop.reason, 'HA_KEEPALIVED_NOT_RUNNING');
  assert.match(hop.cause!, /its addresses stay there with no VRRP advertisement defending them/);
});

test('no node primary: HA_NO_PRIMARY', async () => {
  const s = await load();
  dropVips(s, roles(s).primary);
  assertFault(trace(s), {
    reason: 'HA_NO_PRIMARY',
    node: roles(s).primary,
    check: 'VRRP primary',
    cause: /no node is primary for router router/,
  });
});

test('two primaries: HA_SPLIT_BRAIN naming both nodes', async () => {
  const s = await load();
  const { primary, standby } = roles(s);
  copyVips(s, primary, standby, { primaryVip: true });
  const report = trace(s);
  assertFault(report, {
    reason: 'HA_SPLIT_BRAIN',
    node: primary,
    check: 'VRRP primary',
    cause: /router router is primary on controller and network2 at once \(split brain/,
  });
  assert.equal(report.target.router?.host, primary, 'the walk keeps to the node the server calls active');
});

test("the router's addresses on a standby: HA_VIPS_ON_STANDBY there", async () => {
  const s = await load();
  const { primary, standby } = roles(s);
  copyVips(s, primary, standby, { primaryVip: false });
  assertFault(trace(s), {
    reason: 'HA_VIPS_ON_STANDBY',
    node: standby,
    check: 'keepalived',
    cause: new RegExp(
      `${standby} holds router router's addresses \\(.*${FIP.replace(/\./g, '\\.')}/32 dev qg-.*\\) .* though keepalived there is not primary`,
    ),
  });
});

test("the server's ha_state disagreeing with the kernel: HA_STATE_MISMATCH", async () => {
  const s = await load();
  const { primary, standby } = roles(s);
  s.api.router_ha_states![routerOf(s).id] = { [primary]: 'standby', [standby]: 'active' };
  const report = trace(s);
  assertFault(report, {
    reason: 'HA_STATE_MISMATCH',
    node: primary,
    check: 'VRRP primary',
    cause: new RegExp(`the server's ha_state for router router \\(.*\\) disagrees with the kernel, where ${primary} is primary`),
  });
  assert.equal(report.target.router?.host, primary, 'the kernel decides where the traffic goes');
});

test('ip_nonlocal_bind off in an HA router namespace: HA_NONLOCAL_BIND_OFF', async () => {
  const s = await load();
  const { standby } = roles(s);
  const raw = s.nodes[standby]!.namespaces[nsOf(s)]!;
  raw.sysctl = raw.sysctl.replace('net.ipv4.ip_nonlocal_bind = 1', 'net.ipv4.ip_nonlocal_bind = 0');
  assertFault(trace(s), {
    reason: 'HA_NONLOCAL_BIND_OFF',
    node: standby,
    check: 'ip_nonlocal_bind',
    cause: /net\.ipv4\.ip_nonlocal_bind is 0 in qrouter-\S+ on/,
  });
});

test('an instance going out through the HA router: the same HA hops, through the primary', async () => {
  const s = await load();
  const { primary } = roles(s);
  const vm = s.api.ports.find((p) => String(p['device_owner']).startsWith('compute:'))!;
  const report = tracePort(contextFrom(s, 'snapshot ha'), vm.id, '10.123.123.1', { flow: { protocol: 'icmp' } });
  assert.equal(report.ok, true, JSON.stringify(report.firstBroken));
  assert.equal(report.target.router?.host, primary);
  assert.equal(report.hops.filter((h) => h.check === 'keepalived').length, 2);
});

test('a real Neutron without HA routers: no HA hop, still healthy', async () => {
  const s = await loadSnapshot(join(fixtures, 'real-neutron-zed', 'healthy-fip'));
  const report = traceFip(contextFrom(s, 'snapshot zed'), '10.123.123.104', { flow: { protocol: 'icmp' } });
  assert.equal(report.ok, true, JSON.stringify(report.firstBroken));
  assert.ok(!report.hops.some((h) => HA_KEYS.includes(h.check)));
});

test("the server's ha_state per host, from the l3-agents answer: HA routers' agents only", () => {
  assert.deepEqual(
    haStatesOf([
      { host: 'controller', ha_state: 'standby' },
      { host: 'network2', ha_state: 'active' },
    ]),
    { controller: 'standby', network2: 'active' },
  );
  assert.deepEqual(haStatesOf([{ host: 'controller', ha_state: null }]), {}, 'a legacy router: no state');
  assert.deepEqual(haStatesOf(undefined), {});
});
