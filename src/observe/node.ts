// Assembles one namespace's command outputs into ObservedNamespace, and resolves veth peers across namespaces.
import { MARK } from '../kernel/mark.js';
import { HOST, type NsKey, type ObservedNamespace, type ObservedNode } from '../kernel/types.js';
import { parseFdb } from './bridge.js';
import { parseIptablesSave } from './iptables.js';
import { splitBatchJson } from './json.js';
import { addressesFrom, neighFrom, parseRoutes, routesFrom } from './l3.js';
import { parseLink } from './link.js';
import { netnsIdsFrom, parseSysctl } from './netns.js';

/** One `ip -j -d -batch -` run per namespace reads links, addresses, neighbours, nsids and IPv4 routes. */
export const IP_OBSERVE_BATCH = ['link show', 'addr show', 'neigh show', 'netns list-id', 'route show table main'];

/** What the observe commands printed in one namespace. */
export interface RawNamespace {
  /** `ip -j -d -batch -` of IP_OBSERVE_BATCH. */
  ip: string;
  /** `ip -6 -j -d route show table main` (the batch cannot switch family per line). */
  route6: string;
  /** `bridge -j fdb show`. */
  fdb: string;
  /** `iptables-save`. */
  iptablesSave: string;
  /** `sysctl -e KEY…`, or '' when no key was asked for. */
  sysctl: string;
}

export interface ParsedNamespace {
  state: ObservedNamespace;
  /** nsid → name, as seen from this namespace. */
  nsids: Map<number, string>;
}

export function parseNamespace(ns: NsKey, raw: RawNamespace): ParsedNamespace {
  const [links, addrs, neigh, ids, routes] = splitBatchJson(raw.ip, IP_OBSERVE_BATCH.length, 'ip -j -d -batch');
  const state: ObservedNamespace = {
    marked: false,
    links: (links ?? []).map(parseLink),
    addresses: addressesFrom(addrs ?? []),
    routes: [...routesFrom(routes ?? [], 4), ...parseRoutes(raw.route6.trim() || '[]', 6)],
    fdb: parseFdb(raw.fdb.trim() || '[]'),
    neigh: neighFrom(neigh ?? []),
    sysctls: parseSysctl(raw.sysctl),
    iptables: parseIptablesSave(raw.iptablesSave),
    processes: [],
  };
  // A namespace is neutrino's when its loopback carries the mark (namespaces have no alias of their own).
  state.marked = ns !== HOST && state.links.some((l) => l.name === 'lo' && l.alias === MARK);
  return { state, nsids: netnsIdsFrom(ids ?? []) };
}

/**
 * Fills in `peer.netns` and `peer.name` of every veth end. The peer's nsid is local to the
 * namespace that reports it; `ip netns list-id` names it. A peer in a namespace without a name
 * is taken to be in HOST (the node's own namespace is the only unnamed one neutrino deals with),
 * and, like every resolution, is accepted only if the peer points back at this end.
 */
export function resolvePeers(node: ObservedNode, nsids: ReadonlyMap<NsKey, ReadonlyMap<number, string>>, hostNetns?: string): void {
  for (const [ns, state] of Object.entries(node.namespaces)) {
    for (const link of state.links) {
      const peer = link.peer;
      if (!peer) continue;
      const target = peerNamespace(ns, peer.netnsid, nsids.get(ns), hostNetns);
      if (target === undefined) continue;
      peer.netns = target;
      const other = node.namespaces[target]?.links.find((l) => l.ifindex === peer.ifindex);
      if (other?.kind === 'veth' && other.peer?.ifindex === link.ifindex) peer.name = other.name;
    }
  }
}

function peerNamespace(ns: NsKey, netnsid: number | undefined, ids: ReadonlyMap<number, string> | undefined, hostNetns?: string): NsKey | undefined {
  if (netnsid === undefined) return ns;
  const name = ids?.get(netnsid);
  if (name === undefined) return ns === HOST ? undefined : HOST;
  return name === hostNetns ? HOST : name;
}
