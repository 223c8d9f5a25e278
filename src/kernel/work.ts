// A working copy of the observed state that diff() updates as it plans, with the kernel's cascades on deletion.
import { MARK } from './mark.ts';
import {
  emptyObservedNamespace,
  type LinkSpec,
  type NsKey,
  type ObservedLink,
  type ObservedNamespace,
  type ObservedNode,
} from './types.ts';

export class Work {
  readonly namespaces: Map<NsKey, ObservedNamespace>;

  constructor(observed: ObservedNode) {
    this.namespaces = new Map(Object.entries(structuredClone(observed.namespaces)));
  }

  ns(key: NsKey): ObservedNamespace | undefined {
    return this.namespaces.get(key);
  }

  link(ns: NsKey, name: string): ObservedLink | undefined {
    return this.namespaces.get(ns)?.links.find((l) => l.name === name);
  }

  /** A namespace fresh from `ip netns add`: only `lo`, down, unmarked. */
  addNamespace(ns: NsKey): void {
    const state = emptyObservedNamespace(null);
    state.links.push(stubLink('lo', 'device', null));
    this.namespaces.set(ns, state);
  }

  /** The link as it is right after `ip link add`: marked later, down, no master. */
  addLink(ns: NsKey, spec: LinkSpec): void {
    const state = this.namespaces.get(ns);
    if (!state) return;
    const link = stubLink(spec.name, spec.kind, null);
    if (spec.kind === 'veth') link.peer = { ifindex: 0, netns: spec.peer.netns, name: spec.peer.name };
    if (spec.kind === 'vxlan') link.vxlan = { ...spec.vxlan };
    state.links.push(link);
  }

  /**
   * Removes a link as the kernel does: with its veth peer, the VXLAN devices on top of it, its
   * addresses, routes, fdb and neighbour entries, its per-device sysctls (a device made again under
   * the name starts from the defaults); ports of a removed bridge lose their master.
   */
  removeLink(ns: NsKey, name: string): void {
    const state = this.namespaces.get(ns);
    const link = state?.links.find((l) => l.name === name);
    if (!state || !link) return;
    state.links = state.links.filter((l) => l !== link);
    state.addresses = state.addresses.filter((a) => a.dev !== name);
    state.routes = state.routes.filter((r) => r.dev !== name);
    state.fdb = state.fdb.filter((f) => f.dev !== name && f.master !== name);
    state.neigh = state.neigh.filter((n) => n.dev !== name);
    for (const key of Object.keys(state.sysctls)) if (key.includes(`.conf.${name.replaceAll('.', '/')}.`)) delete state.sysctls[key];
    for (const l of state.links) if (l.master === name) l.master = null;
    for (const l of [...state.links]) if (l.vxlan?.dev === name) this.removeLink(ns, l.name);
    const peer = link.peer;
    if (peer?.netns !== undefined && peer.name !== undefined) this.removeLink(peer.netns, peer.name);
  }

  removeNamespace(ns: NsKey): void {
    const state = this.namespaces.get(ns);
    if (!state) return;
    for (const l of [...state.links]) this.removeLink(ns, l.name);
    this.namespaces.delete(ns);
  }
}

/** What a just-created link looks like before its attributes are set. */
export function stubLink(name: string, kind: string, alias: string | null): ObservedLink {
  return { ifindex: 0, name, kind, mtu: 0, up: false, operstate: 'DOWN', master: null, mac: '', alias };
}

/** Links whose addresses and entries are neutrino's to remove. `lo`'s mark only marks the namespace. */
export const markedDevices = (state: Pick<ObservedNamespace, 'links'>): Set<string> =>
  new Set(state.links.filter((l) => l.alias === MARK && l.name !== 'lo').map((l) => l.name));
