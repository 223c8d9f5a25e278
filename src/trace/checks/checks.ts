// Hop checks: compare one expected kernel object (from the planner, fed with the node's
// configuration) with what the node's kernel shows, and say what is wrong in Neutron's terms. Pure.
import { HOST, type LinkSpec, type NsKey, type ObservedLink, type ObservedNamespace } from '../../kernel/types.ts';
import type { EvidenceLine, Hop, HopStatus, Reason, ResourceRef } from '../report.ts';
import type { TraceNode } from '../read/nodes.ts';
import type { DhcpNamespaceDump } from '../snapshot.ts';
import { findRule } from './compare.ts';

export type HopDraft = Omit<Hop, 'index'>;

/** The common part of a hop: where, what for, and which leg. */
export interface HopBase {
  leg: Hop['leg'];
  node: string;
  namespace: NsKey;
  device: string | null;
  resource: ResourceRef;
  check: string;
  setting?: string;
}

/** "in qrouter-… on controller" / "on controller". */
export const where = (b: { node: string; namespace: NsKey }) => (b.namespace === HOST ? `on ${b.node}` : `in ${b.namespace} on ${b.node}`);

/** The command a namespace's state was read with, as an operator would type it on the node. */
export function observeCommand(
  ns: NsKey,
  what: 'link' | 'addr' | 'route' | 'route6' | 'neigh' | 'neigh6' | 'fdb' | 'iptables' | 'ip6tables' | 'sysctl',
  extra = '',
): string {
  const ip = ns === HOST ? 'ip' : `ip -n ${ns}`;
  const exec = ns === HOST ? '' : `ip netns exec ${ns} `;
  switch (what) {
    case 'link':
      return `${ip} -j -d link show${extra ? ` ${extra}` : ''}`;
    case 'addr':
      return `${ip} -j addr show${extra ? ` dev ${extra}` : ''}`;
    case 'route':
      return `${ip} -j route show table main`;
    case 'route6':
      return `${ip} -6 -j route show table main`;
    case 'neigh':
      return `${ip} -j neigh show${extra ? ` dev ${extra}` : ''}`;
    case 'neigh6':
      return `${ip} -6 -j neigh show${extra ? ` dev ${extra}` : ''}`;
    case 'fdb':
      return `${ns === HOST ? 'bridge' : `bridge -n ${ns}`} -j fdb show${extra ? ` dev ${extra}` : ''}`;
    case 'iptables':
    case 'ip6tables':
      return `${exec}${what}-save${extra ? ` -t ${extra}` : ''}`;
    case 'sysctl':
      return `${exec}sysctl ${extra}`;
  }
}

/** A hop checked against the API rather than a node's kernel (in no namespace, on no device; on `node` when it concerns one). */
export const apiHop = (check: string, resource: Hop['resource'], node = '') => ({
  leg: 'request' as const,
  node,
  namespace: HOST,
  device: null,
  resource,
  check,
});

/**
 * The verdict on a hop whose facts the API would not give these credentials: unknown, never a fault
 * of the cloud's. `why` is the refusal (and what else hid the fact); `advice` follows it.
 */
export const unreadable = (what: string, why: string, advice = '') => ({
  status: 'unknown' as const,
  reason: 'API_UNREADABLE' as const,
  cause: `${what} cannot be read with these credentials (${why})${advice}`,
});

export function result(
  base: HopBase,
  expected: Record<string, unknown>,
  observed: Record<string, unknown> | null,
  evidence: EvidenceLine[],
  verdict?: { status: HopStatus; reason: Reason; cause: string },
): HopDraft {
  const hop: HopDraft = { ...base, expected, observed, status: verdict?.status ?? 'ok', evidence };
  if (base.setting === undefined) delete hop.setting;
  if (verdict) {
    hop.reason = verdict.reason;
    hop.cause = verdict.cause;
  }
  return hop;
}

/**
 * The namespace as read, or a finished hop saying why it cannot be checked: the node was not read,
 * its output did not parse, or the namespace does not exist there.
 */
export function namespaceOr(
  node: TraceNode | undefined,
  base: HopBase,
  expected: Record<string, unknown>,
  owner: string,
): ObservedNamespace | HopDraft {
  if (!node || !node.dump) {
    return result(base, expected, null, [], {
      status: 'unknown',
      reason: 'NODE_UNREADABLE',
      cause: `${base.node} was not read: give --node ${base.node}=ACCESS (local, netns:NAME or ssh:USER@ADDRESS)`,
    });
  }
  if (node.unreadable[base.namespace] !== undefined) {
    return result(base, expected, null, [], {
      status: 'unknown',
      reason: 'NODE_UNREADABLE',
      cause: `the state ${where(base)} could not be parsed: ${node.unreadable[base.namespace]}`,
    });
  }
  const ns = node.observed.namespaces[base.namespace];
  if (!ns) {
    const err = node.dump.errors.find((e) => e.includes(base.namespace || node.host));
    if (base.namespace === HOST || node.dump.namespaces[base.namespace] === undefined) {
      return result(base, expected, null, [], {
        status: 'unknown',
        reason: 'NODE_UNREADABLE',
        cause: `${where(base)} was not read${err ? `: ${err}` : ''}`,
      });
    }
    return result(base, { ...expected, namespace: base.namespace }, { namespace: null }, [{ command: 'ip netns list' }], {
      status: 'missing',
      reason: 'NAMESPACE_MISSING',
      cause: `namespace ${base.namespace} does not exist on ${base.node}; ${owner}`,
    });
  }
  return ns;
}

export const isDraft = (x: unknown): x is HopDraft => typeof x === 'object' && x !== null && 'status' in x && 'check' in x;

/** What a link should be: the planner's spec, when the planner wants it. */
export function desiredLink(node: TraceNode | undefined, ns: NsKey, name: string): LinkSpec | undefined {
  return node?.desired?.namespaces[ns]?.links.find((l) => l.name === name);
}

export interface LinkWant {
  name: string;
  up?: boolean;
  master?: string | null;
  mtu?: number;
  mac?: string;
  peer?: { name: string; netns: NsKey };
  vxlan?: { vni: number; local?: string; dev?: string; dstport?: number; group?: string | null };
  vlan?: { id: number; dev: string };
}

export function wantOf(spec: LinkSpec | undefined, fallback: LinkWant): LinkWant {
  if (!spec) return fallback;
  const w: LinkWant = { name: spec.name, up: spec.up ?? fallback.up, master: spec.master === undefined ? fallback.master : spec.master };
  if (spec.mtu !== undefined) w.mtu = spec.mtu;
  if (spec.kind === 'veth') w.peer = spec.peer;
  if (spec.kind === 'vxlan') {
    const { vni, local, dev, dstport, group } = spec.vxlan;
    // null: the device must have no group (l2population's unicast flooding).
    w.vxlan = { vni, local, dev, dstport, group: group ?? null };
  }
  if (spec.kind === 'vlan') w.vlan = { id: spec.vlan.id, dev: spec.vlan.dev };
  if (spec.mac !== undefined) w.mac = spec.mac;
  return w;
}

export function linkObserved(l: ObservedLink): Record<string, unknown> {
  const o: Record<string, unknown> = {
    ifindex: l.ifindex,
    kind: l.kind,
    up: l.up,
    operstate: l.operstate,
    mtu: l.mtu,
    master: l.master,
    mac: l.mac,
  };
  if (l.peer) o.peer = { ifindex: l.peer.ifindex, namespace: l.peer.netns ?? null, name: l.peer.name ?? null };
  if (l.vxlan) {
    const { vni, local, dev, dstport, group } = l.vxlan;
    o.vxlan = { vni, local: local ?? null, dev: dev ?? null, dstport, group: group ?? null };
  }
  if (l.vlan) o.vlan = { id: l.vlan.id, dev: l.vlan.dev ?? null };
  return o;
}

const expectedOf = (w: LinkWant): Record<string, unknown> => {
  const e: Record<string, unknown> = { name: w.name };
  if (w.up !== undefined) e.up = w.up;
  if (w.master !== undefined) e.master = w.master;
  if (w.peer) e.peer = { name: w.peer.name, namespace: w.peer.netns };
  if (w.vxlan) e.vxlan = w.vxlan;
  if (w.vlan) e.vlan = w.vlan;
  if (w.mtu !== undefined) e.mtu = w.mtu;
  return e;
};

/**
 * One device: exists, up, in its bridge, paired with its veth peer, VXLAN parameters, MTU.
 * `owner` says who makes it (for the cause), e.g. "the Linux bridge agent on compute1 creates it for port …; <agent note>".
 */
export function checkLink(node: TraceNode | undefined, base: HopBase, want: LinkWant, owner: string): HopDraft {
  const expected = expectedOf(want);
  const ns = namespaceOr(node, base, expected, owner);
  if (isDraft(ns)) return ns;
  const link = ns.links.find((l) => l.name === want.name);
  const command = observeCommand(base.namespace, 'link');
  const raw = node!.rawLinks.get(base.namespace)?.get(want.name);
  const evidence: EvidenceLine[] = [raw ? { command, line: JSON.stringify(raw) } : { command }];
  const at = where(base);
  if (!link)
    return result(base, expected, null, evidence, {
      status: 'missing',
      reason: 'DEVICE_MISSING',
      cause: `${want.name} does not exist ${at}; ${owner}`,
    });
  const observed = linkObserved(link);
  const bad = (status: HopStatus, reason: Reason, cause: string) => result(base, expected, observed, evidence, { status, reason, cause });
  if (want.up !== false && !link.up)
    return bad('down', 'DEVICE_DOWN', `${want.name} ${at} is administratively down (ip link set ${want.name} up); ${owner}`);
  if (want.master !== undefined && (want.master ?? null) !== link.master) {
    return bad(
      'mismatch',
      'NOT_IN_BRIDGE',
      want.master
        ? `${want.name} ${at} is ${link.master ? `in ${link.master}, not in ${want.master}` : `not in bridge ${want.master}`}; ${owner}`
        : `${want.name} ${at} should not be in a bridge but is in ${link.master}`,
    );
  }
  if (want.peer && (link.peer?.name !== want.peer.name || (link.peer?.netns ?? null) !== want.peer.netns)) {
    const seen = link.peer
      ? `${link.peer.name ?? `ifindex ${link.peer.ifindex}`}${link.peer.netns ? ` in ${link.peer.netns}` : ''}`
      : 'nothing';
    return bad(
      'mismatch',
      'VETH_PEER_MISMATCH',
      `${want.name} ${at} should be a veth paired with ${want.peer.name}${want.peer.netns ? ` in ${want.peer.netns}` : ` on ${base.node}`}, but its peer is ${seen}; ${owner}`,
    );
  }
  if (want.vxlan) {
    const v = link.vxlan;
    const diffs: string[] = [];
    if (!v) diffs.push(`it is a ${link.kind}, not a VXLAN device`);
    else {
      if (v.vni !== want.vxlan.vni) diffs.push(`VNI ${v.vni}, not ${want.vxlan.vni} (the network's provider:segmentation_id)`);
      if (want.vxlan.local && v.local !== want.vxlan.local) diffs.push(`local ${v.local ?? 'unset'}, not ${want.vxlan.local}`);
      if (want.vxlan.dev && v.dev !== want.vxlan.dev)
        diffs.push(`device ${v.dev ?? 'unset'}, not ${want.vxlan.dev} (the NIC holding local_ip)`);
      if (want.vxlan.dstport !== undefined && v.dstport !== want.vxlan.dstport)
        diffs.push(`UDP port ${v.dstport}, not ${want.vxlan.dstport} ([vxlan] udp_dstport)`);
      if (want.vxlan.group !== undefined && want.vxlan.group !== (v.group ?? null))
        diffs.push(`multicast group ${v.group ?? 'unset'}, not ${want.vxlan.group ?? 'unset'} ([vxlan] vxlan_group, l2_population)`);
    }
    if (diffs.length)
      return bad(
        'mismatch',
        'VXLAN_MISCONFIGURED',
        `${want.name} ${at}: ${diffs.join('; ')}${base.setting ? ` — from ${base.setting}` : ''}`,
      );
  }
  if (want.vlan) {
    const v = link.vlan;
    const diffs: string[] = [];
    if (!v) diffs.push(`it is a ${link.kind}, not a VLAN subinterface`);
    else {
      if (v.id !== want.vlan.id) diffs.push(`VLAN id ${v.id}, not ${want.vlan.id} (the network's provider:segmentation_id)`);
      if (v.dev !== want.vlan.dev) diffs.push(`parent ${v.dev ?? 'outside this namespace'}, not ${want.vlan.dev}`);
    }
    if (diffs.length)
      return bad(
        'mismatch',
        'VLAN_MISCONFIGURED',
        `${want.name} ${at}: ${diffs.join('; ')}${base.setting ? ` — from ${base.setting}` : ''}; ${owner}`,
      );
  }
  if (want.mtu !== undefined && link.mtu !== want.mtu)
    return bad(
      'mismatch',
      'MTU_MISMATCH',
      `${want.name} ${at} has MTU ${link.mtu}, the network's mtu is ${want.mtu}: larger packets are dropped`,
    );
  return result(base, expected, observed, evidence);
}

/** An address on a device in a namespace. */
export function checkAddress(node: TraceNode | undefined, base: HopBase, dev: string, address: string, owner: string): HopDraft {
  const expected = { dev, address };
  const ns = namespaceOr(node, base, expected, owner);
  if (isDraft(ns)) return ns;
  const ip = address.split('/')[0];
  const found = ns.addresses.find((a) => a.dev === dev && a.address.split('/')[0] === ip);
  const evidence = [
    {
      command: observeCommand(base.namespace, 'addr', dev),
      ...(found ? { line: `${found.dev} ${ip?.includes(':') ? 'inet6' : 'inet'} ${found.address} scope ${found.scope}` } : {}),
    },
  ];
  if (!found)
    return result(base, expected, { addresses: ns.addresses.filter((a) => a.dev === dev).map((a) => a.address) }, evidence, {
      status: 'missing',
      reason: 'ADDRESS_MISSING',
      cause: `${address} is not on ${dev} ${where(base)}; ${owner}`,
    });
  if (found.address !== address)
    return result(base, expected, { address: found.address }, evidence, {
      status: 'mismatch',
      reason: 'ADDRESS_MISSING',
      cause: `${dev} ${where(base)} has ${found.address}, not ${address}; ${owner}`,
    });
  return result(base, expected, { dev, address: found.address }, evidence);
}

/** An iptables rule in a chain (canonical iptables-save form), and the built-in chain's jump to it. */
export function checkRule(
  node: TraceNode | undefined,
  base: HopBase,
  table: 'nat' | 'filter' | 'mangle',
  chain: string,
  rule: string,
  owner: string,
  missingCause: string,
  tool: 'iptables' | 'ip6tables' = 'iptables',
): HopDraft {
  const expected = { ...(tool === 'ip6tables' ? { tool } : {}), table, chain, rule: `-A ${chain} ${rule}` };
  const ns = namespaceOr(node, base, expected, owner);
  if (isDraft(ns)) return ns;
  const command = observeCommand(base.namespace, tool, table);
  const tables = tool === 'iptables' ? ns.iptables : ns.ip6tables;
  if (tables === undefined)
    return result(base, expected, null, [{ command }], {
      status: 'unknown',
      reason: 'NODE_UNREADABLE',
      cause: `${tool}-save was not read ${where(base)}`,
    });
  const chains = tables[table] ?? [];
  const c = chains.find((x) => x.name === chain);
  // By meaning: the agent may write the matches in another order, or without --random-fully.
  const found = c ? findRule(c.rules, rule) : undefined;
  if (found === undefined) {
    return result(base, expected, { chain: c ? chain : null, rules: c?.rules.map((r) => `-A ${chain} ${r}`) ?? [] }, [{ command }], {
      status: 'missing',
      reason: 'NAT_RULE_MISSING',
      cause: `${missingCause}; ${owner}`,
    });
  }
  return result(base, expected, { rule: `-A ${chain} ${found}` }, [{ command, line: `-A ${chain} ${found}` }]);
}

/** The command a namespace's processes are read with. */
export const processesCommand = (ns: NsKey) => `ip netns pids ${ns}; cat /proc/PID/cmdline`;

/**
 * The processes read in router namespace `base.namespace`, or the hop saying they were not read
 * (so whether `daemon` runs cannot be told).
 */
export function routerProcessesOr(
  node: TraceNode,
  base: HopBase,
  expected: Record<string, unknown>,
  daemon: string,
): DhcpNamespaceDump | HopDraft {
  const procs = node.dump?.radvd?.[base.namespace];
  if (procs && procs.pids !== null) return procs;
  return result(base, expected, null, [{ command: processesCommand(base.namespace) }], {
    status: 'unknown',
    reason: 'NODE_UNREADABLE',
    cause: `the processes in ${base.namespace} on ${base.node} were not read: whether ${daemon} cannot be told`,
  });
}
