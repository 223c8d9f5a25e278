// The cloud's network as a picture's data: per node its namespaces, per namespace its devices with
// bridge membership, veth peers, VXLAN parameters, addresses and state, and the links between them
// (bridge ports, veth pairs, VXLAN tunnels between VTEPs). Every device the planner expects is checked
// with the tracer's own checks (checkLink, checkAddress), so a fault carries the tracer's reason and
// cause; a device in Neutron's naming the planner does not expect is marked unexpected; the
// namespace's iptables are compared with what the planner writes (iptables-faults.ts). Pure.
import { HOST, type NsKey, type ObservedLink } from '../kernel/types.ts';
import { VXLAN_PREFIX } from '../kernel/names.ts';
import { checkAddress, checkLink, desiredLink, wantOf, type HopBase } from '../trace/checks/checks.ts';
import type { TraceContext } from '../trace/context.ts';
import type { TraceNode } from '../trace/read/nodes.ts';
import type { Reason } from '../trace/report.ts';
import { iptablesFaults } from './iptables-faults.ts';

/** ok: as expected; observed: present, not Neutron's (eth0, lo, the instance side); the rest: faults. */
export type ElementStatus = 'ok' | 'observed' | 'missing' | 'unexpected' | 'mismatch' | 'down' | 'unknown';

export interface Fault {
  status: Exclude<ElementStatus, 'ok' | 'observed'>;
  /** the tracer's reason; or the picture's own: a device or an iptables rule nothing explains */
  reason: Reason | 'UNEXPECTED_DEVICE' | 'IPTABLES_RULE_UNEXPECTED';
  cause: string;
}

export interface TopologyDevice {
  /** `node/namespace/name`: unique in the picture */
  id: string;
  name: string;
  kind: string;
  up: boolean | null;
  operstate: string | null;
  mtu: number | null;
  mac: string | null;
  master: string | null;
  peer: { node: string; namespace: NsKey | null; name: string | null } | null;
  vxlan: { vni: number; local: string | null; dev: string | null } | null;
  addresses: string[];
  status: ElementStatus;
  faults: Fault[];
}

export interface TopologyNamespace {
  id: string;
  /** '' for the node's own namespace */
  name: NsKey;
  status: ElementStatus;
  faults: Fault[];
  devices: TopologyDevice[];
}

export interface TopologyNode {
  id: string;
  host: string;
  access: string | null;
  /** VXLAN local_ip as configured */
  vtep: string | null;
  agents: Array<{ type: string; alive: boolean }>;
  read: boolean;
  errors: string[];
  namespaces: TopologyNamespace[];
}

export interface TopologyEdge {
  kind: 'bridge' | 'veth' | 'tunnel';
  from: string;
  to: string;
  /** tunnel: the VNI; bridge: the bridge's name */
  label?: string;
  status: ElementStatus;
  faults: Fault[];
}

export interface Topology {
  source: string;
  readAt: string;
  nodes: TopologyNode[];
  edges: TopologyEdge[];
  /** counts of devices by status, for a headline */
  summary: Record<ElementStatus, number>;
}

/** Devices Neutron's agents create: a namesake the planner does not expect is a leftover or a stranger. */
const NEUTRON_DEVICE = /^(tap|brq|qr-|qg-|ns-|vxlan-)/;

export const deviceId = (host: string, ns: NsKey, name: string) => `${host}/${ns}/${name}`;

const OWNER = 'the planner expects it from the Networking API';

function deviceFromObserved(host: string, ns: NsKey, l: ObservedLink, addresses: string[]): TopologyDevice {
  return {
    id: deviceId(host, ns, l.name),
    name: l.name,
    kind: l.kind,
    up: l.up,
    operstate: l.operstate,
    mtu: l.mtu,
    mac: l.mac,
    master: l.master,
    peer: l.peer ? { node: host, namespace: l.peer.netns ?? null, name: l.peer.name ?? null } : null,
    vxlan: l.vxlan ? { vni: l.vxlan.vni, local: l.vxlan.local ?? null, dev: l.vxlan.dev ?? null } : null,
    addresses,
    status: 'observed',
    faults: [],
  };
}

function addFault(d: { status: ElementStatus; faults: Fault[] }, f: Fault): void {
  d.faults.push(f);
  d.status = f.status;
}

function namespaceOf(node: TraceNode, ns: NsKey): TopologyNamespace {
  const host = node.host;
  const observed = node.observed.namespaces[ns];
  const desired = node.desired?.namespaces[ns];
  const out: TopologyNamespace = { id: `${host}/${ns}`, name: ns, status: 'ok', faults: [], devices: [] };
  const base = (device: string): HopBase => ({
    leg: 'request',
    node: host,
    namespace: ns,
    device,
    resource: { type: 'config', id: device },
    check: device,
  });
  if (!observed && desired) {
    const unread = node.unreadable[ns];
    addFault(
      out,
      unread !== undefined
        ? {
            status: 'unknown',
            reason: 'NODE_UNREADABLE',
            cause: `the state ${ns ? `in ${ns} ` : ''}on ${host} could not be parsed: ${unread}`,
          }
        : node.dump?.namespaces[ns] === null
          ? { status: 'missing', reason: 'NAMESPACE_MISSING', cause: `namespace ${ns} does not exist on ${host}; ${OWNER}` }
          : { status: 'unknown', reason: 'NODE_UNREADABLE', cause: `${ns || 'the node namespace'} on ${host} was not read` },
    );
  }
  const byName = new Map<string, TopologyDevice>();
  for (const l of observed?.links ?? []) {
    const addrs = (observed?.addresses ?? []).filter((a) => a.dev === l.name).map((a) => a.address);
    const d = deviceFromObserved(host, ns, l, addrs);
    byName.set(l.name, d);
    out.devices.push(d);
  }
  for (const spec of desired?.links ?? []) {
    let d = byName.get(spec.name);
    if (!d) {
      d = {
        id: deviceId(host, ns, spec.name),
        name: spec.name,
        kind: spec.kind,
        up: null,
        operstate: null,
        mtu: spec.mtu ?? null,
        mac: spec.mac ?? null,
        master: spec.master ?? null,
        peer: spec.kind === 'veth' ? { node: host, namespace: spec.peer.netns, name: spec.peer.name } : null,
        vxlan: spec.kind === 'vxlan' ? { vni: spec.vxlan.vni, local: spec.vxlan.local ?? null, dev: spec.vxlan.dev ?? null } : null,
        addresses: [],
        status: 'missing',
        faults: [],
      };
      byName.set(spec.name, d);
      out.devices.push(d);
    }
    if (!observed) {
      if (out.faults[0]) addFault(d, out.faults[0]);
      continue;
    }
    d.status = 'ok';
    const hop = checkLink(node, base(spec.name), wantOf(desiredLink(node, ns, spec.name), { name: spec.name }), OWNER);
    if (hop.status !== 'ok' && hop.reason && hop.cause) addFault(d, { status: statusOf(hop.status), reason: hop.reason, cause: hop.cause });
  }
  for (const a of desired?.addresses ?? []) {
    const d = byName.get(a.dev);
    if (!d || !observed || d.status === 'missing') continue;
    const hop = checkAddress(node, base(a.dev), a.dev, a.address, OWNER);
    if (hop.status !== 'ok' && hop.reason && hop.cause) addFault(d, { status: statusOf(hop.status), reason: hop.reason, cause: hop.cause });
  }
  for (const f of desired?.fdb ?? []) {
    const d = byName.get(f.dev);
    if (!d || !observed || d.status === 'missing') continue;
    const found = observed.fdb.some((e) => e.dev === f.dev && e.mac === f.mac && e.dst === f.dst);
    if (!found)
      addFault(d, {
        status: 'missing',
        reason: 'NO_FDB_ENTRY',
        cause: `${f.dev} on ${host} has no fdb entry for ${f.mac} toward ${f.dst}; ${OWNER}`,
      });
  }
  // Standing iptables faults: on the device a chain or rule names, else on the namespace.
  if (desired && observed)
    for (const f of iptablesFaults(host, ns, desired, observed)) addFault((f.device && byName.get(f.device)) || out, f.fault);
  const planned = new Set((desired?.links ?? []).map((l) => l.name));
  // Only where the planner speaks for the namespace: the node's own (Neutron's devices) or a namespace it plans.
  if (desired || ns === HOST) {
    for (const d of out.devices) {
      if (planned.has(d.name) || !NEUTRON_DEVICE.test(d.name)) continue;
      addFault(d, {
        status: 'unexpected',
        reason: 'UNEXPECTED_DEVICE',
        cause: `${d.name} ${ns ? `in ${ns} ` : ''}on ${host} matches no resource of the Networking API (a leftover, or made by hand)`,
      });
    }
  }
  return out;
}

const statusOf = (s: string): Fault['status'] =>
  s === 'missing' || s === 'mismatch' || s === 'down' || s === 'unknown' ? s : s === 'not_reached' ? 'unknown' : 'mismatch';

function nodeOf(node: TraceNode, ctx: TraceContext): TopologyNode {
  const names = new Set<NsKey>([...Object.keys(node.desired?.namespaces ?? {}), ...Object.keys(node.observed.namespaces)]);
  const order = (ns: NsKey) => (ns === HOST ? '0' : `1${ns}`);
  return {
    id: node.host,
    host: node.host,
    access: node.dump?.access ?? null,
    vtep: node.settings['local_ip']?.value ?? null,
    agents: ctx.api.agents
      .filter((a) => a['host'] === node.host)
      .map((a) => ({ type: String(a['agent_type'] ?? ''), alive: a['alive'] !== false })),
    read: !!node.dump,
    errors: node.dump?.errors ?? [],
    namespaces: [...names].sort((a, b) => order(a).localeCompare(order(b))).map((ns) => namespaceOf(node, ns)),
  };
}

function edgesOf(nodes: TopologyNode[]): TopologyEdge[] {
  const edges: TopologyEdge[] = [];
  const all = new Map<string, TopologyDevice>();
  for (const n of nodes) for (const ns of n.namespaces) for (const d of ns.devices) all.set(d.id, d);
  const faultsOf = (d: TopologyDevice) => (d.status === 'ok' || d.status === 'observed' ? [] : d.faults);
  const seenVeth = new Set<string>();
  for (const n of nodes) {
    for (const ns of n.namespaces) {
      for (const d of ns.devices) {
        if (d.master) {
          const bridge = all.get(deviceId(n.host, ns.name, d.master));
          if (bridge) edges.push({ kind: 'bridge', from: d.id, to: bridge.id, label: d.master, status: d.status, faults: faultsOf(d) });
        }
        if (d.peer?.name && d.peer.namespace !== null) {
          const other = deviceId(n.host, d.peer.namespace, d.peer.name);
          const key = [d.id, other].sort().join('|');
          if (all.has(other) && !seenVeth.has(key)) {
            seenVeth.add(key);
            edges.push({ kind: 'veth', from: d.id, to: other, status: d.status, faults: faultsOf(d) });
          }
        }
      }
    }
  }
  // VXLAN tunnels: the same VNI on two nodes, between their VTEPs.
  const byVni = new Map<number, Array<{ node: TopologyNode; dev: TopologyDevice }>>();
  for (const n of nodes)
    for (const d of n.namespaces.find((ns) => ns.name === HOST)?.devices ?? [])
      if (d.vxlan || d.name.startsWith(VXLAN_PREFIX)) {
        const vni = d.vxlan?.vni ?? Number(d.name.slice(VXLAN_PREFIX.length));
        byVni.set(vni, [...(byVni.get(vni) ?? []), { node: n, dev: d }]);
      }
  for (const [vni, ends] of byVni)
    for (let i = 0; i < ends.length; i++)
      for (let j = i + 1; j < ends.length; j++) {
        const a = ends[i]!;
        const b = ends[j]!;
        const faults = [...faultsOf(a.dev), ...faultsOf(b.dev)];
        edges.push({
          kind: 'tunnel',
          from: a.dev.id,
          to: b.dev.id,
          label: `VNI ${vni}${a.node.vtep && b.node.vtep ? ` ${a.node.vtep} ↔ ${b.node.vtep}` : ''}`,
          status: faults[0]?.status ?? 'ok',
          faults,
        });
      }
  return edges;
}

export function buildTopology(ctx: TraceContext): Topology {
  const nodes = Object.values(ctx.nodes)
    .sort((a, b) => a.host.localeCompare(b.host))
    .map((n) => nodeOf(n, ctx));
  const summary: Record<ElementStatus, number> = { ok: 0, observed: 0, missing: 0, unexpected: 0, mismatch: 0, down: 0, unknown: 0 };
  for (const n of nodes) for (const ns of n.namespaces) for (const d of ns.devices) summary[d.status]++;
  return { source: ctx.source, readAt: ctx.now.toISOString(), nodes, edges: edgesOf(nodes), summary };
}
