// neutrino's ownership mark: how an object in the kernel says "neutrino made this" (see README.md).
import type { ObservedChain, ObservedFdb, ObservedLink, ObservedNeigh, ObservedRoute } from './types.ts';

/** The ifalias of every link neutrino creates or adopts, and of `lo` in every namespace it creates. */
export const MARK = 'neutrino';

/** The mark on `lo` of a namespace neutrino creates; with an owner when nodes share /run/netns. */
export const namespaceMark = (owner?: string): string => (owner === undefined ? MARK : `${MARK}:${owner}`);

/** Whether an alias is one of neutrino's marks (of any owner). */
export const isNeutrinoMark = (alias: string | null): alias is string => alias === MARK || (alias?.startsWith(`${MARK}:`) ?? false);

/** Routes neutrino adds carry this routing protocol number (unassigned in /etc/iproute2/rt_protos). */
export const ROUTE_PROTO = '149';

/** Owned iptables chains (Neutron's own wrap prefixes); jumps to them from built-in chains are owned too. */
export const CHAIN_PREFIX = 'neutron-';

/** Owned IP sets: Neutron's remote-group set names (IpsetManager.get_name), for both families. */
export const IPSET_PREFIXES = ['NIPv4', 'NIPv6'] as const;

export const isOwnedIpset = (name: string): boolean => IPSET_PREFIXES.some((p) => name.startsWith(p));

/** The sets an iptables rule matches (`-m set [!] --match-set NAME src|dst`). */
export function ruleIpsets(rule: string): string[] {
  return [...rule.matchAll(/(?:^|\s)--match-set\s+(\S+)/g)].map((m) => m[1]!);
}

export const isMarkedLink = (l: ObservedLink): boolean => l.alias === MARK;

export const isOwnedRoute = (r: ObservedRoute): boolean => r.protocol === ROUTE_PROTO;

/** Static entries on a marked VXLAN device: what `bridge fdb add … self permanent` creates. */
export const isOwnedFdb = (e: ObservedFdb, markedDevs: ReadonlySet<string>): boolean =>
  markedDevs.has(e.dev) && e.flags.includes('self') && e.state === 'permanent' && e.dst !== undefined;

/** Permanent neighbour entries on a marked device. */
export const isOwnedNeigh = (n: ObservedNeigh, markedDevs: ReadonlySet<string>): boolean =>
  markedDevs.has(n.dev) && n.state.includes('PERMANENT');

export const isOwnedChain = (name: string): boolean => name.startsWith(CHAIN_PREFIX);

/** A rule in a built-in chain is neutrino's when it jumps (or goes) to an owned chain. */
export function isOwnedBuiltinRule(rule: string): boolean {
  const m = /(?:^|\s)-[jg]\s+(\S+)/.exec(rule);
  return m !== null && isOwnedChain(m[1] ?? '');
}

export const ownedChains = (chains: readonly ObservedChain[]): ObservedChain[] => chains.filter((c) => isOwnedChain(c.name));
