// Assembles one namespace's command outputs into ObservedNamespace, and resolves veth peers across namespaces.
import { isNeutrinoMark } from '../kernel/mark.ts';
import {
  HOST,
  type NsKey,
  type ObservedAddress,
  type ObservedLink,
  type ObservedNamespace,
  type ObservedNeigh,
  type ObservedNode,
  type ObservedRoute,
} from '../kernel/types.ts';
import { parseFdb } from './bridge.ts';
import { parseIpsetSave } from './ipset.ts';
import { parseIptablesSave } from './iptables.ts';
import { splitBatchJson } from './json.ts';
import { addressesFrom, neighFrom, parseRoutes, routesFrom } from './l3.ts';
import { parseLink } from './link.ts';
import { netnsIdsFrom, parseSysctl } from './netns.ts';

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
  /** `ip6tables-save`; absent when not read (older snapshots, a node without ip6tables). */
  ip6tablesSave?: string;
  /** `sysctl -e KEY…`, or '' when no key was asked for. */
  sysctl: string;
  /** `ipset save`, where IP sets were asked for (ObserveScope.ipsets); absent = none read. */
  ipset?: string;
}

export interface ParsedNamespace {
  state: ObservedNamespace;
  /** nsid → name, as seen from this namespace. */
  nsids: Map<number, string>;
}

/** What the `ip` batch and the IPv6 routes (RawNamespace's `ip` and `route6`) say of a namespace. */
export interface IpState {
  links: ObservedLink[];
  addresses: ObservedAddress[];
  routes: ObservedRoute[];
  neigh: ObservedNeigh[];
  /** nsid → name, as seen from this namespace. */
  nsids: Map<number, string>;
}

export function parseIpState(ip: string, route6: string): IpState {
  const [links, addrs, neigh, ids, routes] = splitBatchJson(ip, IP_OBSERVE_BATCH.length, 'ip -j -d -batch');
  return {
    links: (links ?? []).map(parseLink),
    addresses: addressesFrom(addrs ?? []),
    routes: [...routesFrom(routes ?? [], 4), ...parseRoutes(route6.trim() || '[]', 6)],
    neigh: neighFrom(neigh ?? []),
    nsids: netnsIdsFrom(ids ?? []),
  };
}

/** `ip` state parsed before, for one more observation: its links' peers are its own (resolvePeers sets them). */
export const ipStateAgain = (kept: IpState): IpState => ({
  ...kept,
  links: kept.links.map((l) => (l.peer ? { ...l, peer: { ...l.peer } } : l)),
  nsids: new Map(kept.nsids),
});

/** `ip` state is parsed from `raw` unless given (RealKernel keeps it while nothing changed: ip-watch.ts). */
export function parseNamespace(ns: NsKey, raw: RawNamespace, ip: IpState = parseIpState(raw.ip, raw.route6)): ParsedNamespace {
  const state: ObservedNamespace = {
    mark: null,
    links: ip.links,
    addresses: ip.addresses,
    routes: ip.routes,
    fdb: parseFdb(raw.fdb.trim() || '[]'),
    neigh: ip.neigh,
    sysctls: parseSysctl(raw.sysctl),
    iptables: parseIptablesSave(raw.iptablesSave),
    ...(raw.ip6tablesSave === undefined ? {} : { ip6tables: parseIptablesSave(raw.ip6tablesSave, 'ip6tables-save') }),
    ipsets: raw.ipset === undefined ? [] : parseIpsetSave(raw.ipset),
    processes: [],
  };
  // A namespace is neutrino's when its loopback carries the mark (namespaces have no alias of their own).
  const lo = state.links.find((l) => l.name === 'lo');
  state.mark = ns !== HOST && isNeutrinoMark(lo?.alias ?? null) ? lo!.alias : null;
  return { state, nsids: ip.nsids };
}

/**
 * Fills in `peer.netns` and `peer.name` of every veth end. The peer's nsid is local to the
 * namespace that reports it; `ip netns list-id` names it. A name is trusted only if both ends
 * point at each other. When the name is not an observed namespace (an agent started with
 * `nsenter --net` into a lab node does not know its own namespace's name, and a real host's
 * root namespace has none), the peer is looked for in HOST.
 */
export function resolvePeers(node: ObservedNode, nsids: ReadonlyMap<NsKey, ReadonlyMap<number, string>>, hostNetns?: string): void {
  for (const [ns, state] of Object.entries(node.namespaces)) {
    for (const link of state.links) {
      if (!link.peer) continue;
      const named = link.peer.netnsid === undefined ? ns : nsids.get(ns)?.get(link.peer.netnsid);
      const key = named === hostNetns && named !== undefined ? HOST : named;
      const found = (key !== undefined && pointsBack(node, key, link)) || (ns !== HOST && pointsBack(node, HOST, link));
      if (!found && key !== undefined) link.peer.netns = key;
    }
  }
}

/** Sets link.peer from namespace `key` when the link there with the peer's ifindex is a veth pointing back. */
function pointsBack(node: ObservedNode, key: NsKey, link: ObservedLink): boolean {
  const peer = link.peer!;
  const other = node.namespaces[key]?.links.find((l) => l.ifindex === peer.ifindex);
  const crossing = (x: ObservedLink) => x.peer?.netnsid !== undefined;
  if (other?.kind !== 'veth' || other.peer?.ifindex !== link.ifindex || crossing(other) !== crossing(link)) return false;
  peer.netns = key;
  peer.name = other.name;
  return true;
}
