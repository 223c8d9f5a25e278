// A stateful fake kernel behind the Kernel seam: applies ops to an in-memory node with the kernel's rules and cascades, and dumps itself.
import { isNeutrinoMark } from '../kernel/mark.ts';
import type { LinkChanges, Op } from '../kernel/ops.ts';
import { inScope, ipsetsInScope, type ObserveScope } from '../kernel/scope.ts';
import { sliceObserved, type Slice } from '../kernel/slice.ts';
import {
  emptyObservedNamespace,
  HOST,
  type LinkSpec,
  type NsKey,
  type ObservedLink,
  type ObservedNamespace,
  type ObservedNode,
} from '../kernel/types.ts';
import { Work } from '../kernel/work.ts';
import { applyIpset, applyL3, applyIptables, applyProcess, fakeFail } from './fake-ops.ts';
import { ApplyError, type Kernel } from './kernel.ts';

export class FakeKernel implements Kernel {
  private readonly world: Work;
  private nextIfindex = 2;
  readonly counters = { nextPid: 1000, mac: 1 };

  /** Starts from `initial` (deep-copied), or from a node with only HOST and its `lo`. */
  constructor(initial?: ObservedNode) {
    this.world = new Work(initial ?? { namespaces: { [HOST]: loOnly() } });
    for (const s of this.world.namespaces.values()) {
      s.ipsets ??= []; // initial states written before sets were modelled
      for (const l of s.links) this.nextIfindex = Math.max(this.nextIfindex, l.ifindex + 1);
    }
  }

  async observe(scope: ObserveScope): Promise<ObservedNode> {
    const out: ObservedNode = { namespaces: {} };
    for (const [ns, state] of this.world.namespaces) {
      if (!(ns === HOST ? scope.host : inScope(scope, ns))) continue;
      const seen = structuredClone(state);
      // Like the real observer: sets are read only where asked for, fdb entries only of the devices named.
      if (!ipsetsInScope(scope, ns)) seen.ipsets = [];
      const fdbDevices = scope.fdbDevices?.[ns];
      if (fdbDevices) seen.fdb = seen.fdb.filter((f) => fdbDevices.includes(f.dev));
      out.namespaces[ns] = seen;
    }
    refreshMarks(out);
    return out;
  }

  async observeSlice(slice: Slice, scope: ObserveScope): Promise<ObservedNode> {
    const ipsets = [...new Set([HOST, ...(scope.ipsets ?? [])])];
    // The slice names its own entry devices (sliceObserved cuts to them), as observeHostSlice reads them.
    const { fdbDevices: _named, ...rest } = scope;
    return sliceObserved(await this.observe({ ...rest, host: true, namespaces: [...slice.namespaces], prefixes: [], ipsets }), slice);
  }

  async linkNames(): Promise<string[]> {
    return (this.world.namespaces.get(HOST)?.links ?? []).map((l) => l.name);
  }

  async apply(ops: readonly Op[]): Promise<void> {
    for (const op of ops) {
      try {
        this.applyOne(op);
      } catch (e) {
        throw new ApplyError([op], e as Error);
      }
    }
  }

  /** The whole fake node, every namespace (marked or not). */
  dump(): ObservedNode {
    const out = { namespaces: Object.fromEntries(structuredClone([...this.world.namespaces])) };
    refreshMarks(out);
    return out;
  }

  private ns(op: Op, key: NsKey = op.ns): ObservedNamespace {
    return this.world.ns(key) ?? fakeFail('not-found', op, `Cannot open network namespace "${key}"`);
  }

  private applyOne(op: Op): void {
    switch (op.op) {
      case 'netns-add':
        if (this.world.ns(op.ns)) fakeFail('exists', op, `Cannot create namespace file "/run/netns/${op.ns}": File exists`);
        this.world.namespaces.set(op.ns, loOnly(this.nextIfindex++));
        return;
      case 'netns-del':
        this.ns(op);
        this.world.removeNamespace(op.ns);
        return;
      case 'link-add':
        return this.linkAdd(op, op.link);
      case 'link-del':
        if (!this.world.link(op.ns, op.name)) fakeFail('not-found', op, 'Cannot find device');
        this.world.removeLink(op.ns, op.name);
        return;
      case 'link-set':
        return this.linkSet(op, op.name, op.set);
      case 'iptables':
      case 'ip6tables':
        return applyIptables(this.ns(op), op);
      case 'ipset':
      case 'ipset-destroy':
        return applyIpset(this.ns(op), op);
      case 'proc-start':
      case 'proc-reload':
      case 'proc-stop':
        return applyProcess(this.ns(op), op, this.counters);
      default:
        return applyL3(this.ns(op), op);
    }
  }

  private newLink(name: string, kind: string): ObservedLink {
    const mac = `02:00:00:00:${(this.counters.mac >> 8).toString(16).padStart(2, '0')}:${(this.counters.mac++ & 255).toString(16).padStart(2, '0')}`;
    return { ifindex: this.nextIfindex++, name, kind, mtu: 1500, up: false, operstate: 'DOWN', master: null, mac, alias: null };
  }

  private linkAdd(op: Op, spec: Exclude<LinkSpec, { kind: 'device' }>): void {
    const state = this.ns(op);
    if (state.links.some((l) => l.name === spec.name)) fakeFail('exists', op, 'RTNETLINK answers: File exists');
    const link = this.newLink(spec.name, spec.kind);
    if (spec.kind === 'bridge') link.bridge = { forwardDelay: 0, stp: false };
    if (spec.kind === 'vxlan') {
      const under = spec.vxlan.dev === undefined ? undefined : state.links.find((l) => l.name === spec.vxlan.dev);
      if (spec.vxlan.dev !== undefined && !under) fakeFail('not-found', op, `Cannot find device "${spec.vxlan.dev}"`);
      link.vxlan = { ...spec.vxlan };
      // The kernel leaves room for the 50 bytes of VXLAN-over-IPv4 encapsulation.
      link.mtu = (under?.mtu ?? 1500) - 50;
    }
    if (spec.kind === 'vlan') {
      const parent = state.links.find((l) => l.name === spec.vlan.dev);
      if (!parent) fakeFail('not-found', op, `Cannot find device "${spec.vlan.dev}"`);
      link.vlan = { ...spec.vlan };
      link.mtu = parent.mtu;
    }
    if (spec.kind === 'veth') {
      const peerNs = this.ns(op, spec.peer.netns);
      if (peerNs.links.some((l) => l.name === spec.peer.name)) fakeFail('exists', op, 'RTNETLINK answers: File exists');
      const peer = this.newLink(spec.peer.name, 'veth');
      link.peer = { ifindex: peer.ifindex, netns: spec.peer.netns, name: peer.name };
      peer.peer = { ifindex: link.ifindex, netns: op.ns, name: link.name };
      peerNs.links.push(peer);
    }
    state.links.push(link);
  }

  private linkSet(op: Op, name: string, set: LinkChanges): void {
    const state = this.ns(op);
    const link = state.links.find((l) => l.name === name) ?? fakeFail('not-found', op, `Cannot find device "${name}"`);
    if (set.master) {
      const master = state.links.find((l) => l.name === set.master);
      if (!master) fakeFail('not-found', op, `Cannot find device "${set.master}"`);
      if (master.kind !== 'bridge') fakeFail('invalid', op, 'RTNETLINK answers: Operation not supported');
    }
    if (set.alias !== undefined) link.alias = set.alias === '' ? null : set.alias;
    if (set.mtu !== undefined) link.mtu = set.mtu;
    if (set.mac !== undefined) link.mac = set.mac;
    if (set.master !== undefined) link.master = set.master;
    if (set.up !== undefined) {
      link.up = set.up;
      link.operstate = set.up ? 'UP' : 'DOWN';
    }
    if (set.bridgeDefaults && link.bridge) link.bridge = { forwardDelay: 0, stp: false };
  }
}

function loOnly(ifindex = 1): ObservedNamespace {
  const state = emptyObservedNamespace();
  state.links.push({
    ifindex,
    name: 'lo',
    kind: 'device',
    mtu: 65536,
    up: false,
    operstate: 'DOWN',
    master: null,
    mac: '00:00:00:00:00:00',
    alias: null,
  });
  return state;
}

/** A namespace is marked as the real kernel reports it: when its `lo` carries the mark. */
function refreshMarks(node: ObservedNode): void {
  for (const [ns, s] of Object.entries(node.namespaces)) {
    const alias = s.links.find((l) => l.name === 'lo')?.alias ?? null;
    s.mark = ns !== HOST && isNeutrinoMark(alias) ? alias : null;
  }
}
