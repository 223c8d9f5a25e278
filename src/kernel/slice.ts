// The part of a node one change concerns: which HOST links, chains and IP sets and which other
// namespaces differ between two desired states (plus the links a local event named), closed over
// what the diff needs to look at alongside them. A pass restricted to a slice cuts both the desired
// and the observed state to it, so the ordinary diff can neither see nor remove anything outside.
import { ruleIpsets } from './mark.ts';
import { isInterfaceName, VXLAN_PREFIX } from './names.ts';
import {
  emptyDesiredNamespace,
  HOST,
  type DesiredNamespace,
  type DesiredNode,
  type IptablesSpec,
  type LinkSpec,
  type NsKey,
  type ObservedNode,
  type SysctlSpec,
  type TableName,
} from './types.ts';

export interface Slice {
  /** HOST links by name, with their addresses, fdb and neighbour entries. */
  links: Set<string>;
  /**
   * The slice's links that may carry neutrino's fdb or neighbour entries (VXLAN devices): only
   * these have their entries read; the other links' entries are learned ones, never neutrino's.
   */
  entryDevs: Set<string>;
  /** HOST iptables chains (owned and built-in) per table. */
  chains: Partial<Record<TableName, Set<string>>>;
  /** HOST ip6tables chains, the same way. */
  chains6: Partial<Record<TableName, Set<string>>>;
  /** HOST IP sets by name. */
  ipsets: Set<string>;
  /** Other namespaces, each taken whole (wanted now, before, or both). */
  namespaces: Set<NsKey>;
}

/** Why a change needs a full pass instead: what the slice does not model in HOST. */
export type SliceRefusal = 'no-previous-state' | 'host-routes' | 'host-sysctls' | 'host-processes' | 'too-large';

export interface SliceLimits {
  /** More links than this in one slice: a full pass instead. */
  maxLinks: number;
}
/**
 * No limit: a targeted read of many links reads the namespace's links whole (exec/observe-slice.ts),
 * still far less than a full pass reads, so a burst of link events is one targeted pass.
 */
export const DEFAULT_SLICE_LIMITS: SliceLimits = { maxLinks: Number.POSITIVE_INFINITY };

/**
 * Whether two plain values (what JSON holds) are equal as JSON would print them, but for the
 * order of object keys, without printing them: a pass compares every link of the node, and
 * printing each of thousands costs more than the rest of a one-port pass. A key whose value is
 * undefined counts as absent, as in JSON.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => sameValue(x, b[i]));
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = Object.keys(x).filter((k) => x[k] !== undefined);
  if (keys.length !== Object.keys(y).filter((k) => y[k] !== undefined).length) return false;
  return keys.every((k) => sameValue(x[k], y[k]));
}

/**
 * A list's entries by key, in order. Indexed once per list object and key function (desired
 * states are not changed once planned): the `after` of one pass's slice is the `before` of the
 * next one's, so each pass indexes only the lists its own plan made.
 */
const groupings = new WeakMap<(x: never) => string, WeakMap<readonly unknown[], Map<string, unknown[]>>>();

function grouped<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  let byList = groupings.get(key);
  if (!byList) groupings.set(key, (byList = new WeakMap()));
  let m = byList.get(xs) as Map<string, T[]> | undefined;
  if (!m) {
    m = new Map<string, T[]>();
    for (const x of xs) {
      const k = key(x);
      const list = m.get(k);
      if (list) list.push(x);
      else m.set(k, [x]);
    }
    byList.set(xs, m);
  }
  return m;
}

/**
 * Keys whose entries differ between two keyed collections (present in one only counts). Entries
 * sharing a key are compared in order: the planner lists them in a stable one. Entries that are the
 * same object on both sides (a port's chains the planner reused) are equal without being compared.
 * `key` should be a function made once (its groupings are kept under it).
 */
function changedKeys<T>(
  before: readonly T[],
  after: readonly T[],
  key: (x: T) => string,
  equal: (x: T, y: T) => boolean = sameValue,
): Set<string> {
  const same = (a: readonly T[], b: readonly T[]) => a.length === b.length && a.every((x, i) => x === b[i] || equal(x, b[i]!));
  const a = grouped(before, key);
  const b = grouped(after, key);
  const out = new Set<string>();
  for (const [k, xs] of a) {
    const ys = b.get(k);
    if (!ys || !same(xs, ys)) out.add(k);
  }
  for (const k of b.keys()) if (!a.has(k)) out.add(k);
  return out;
}

const byName = (x: { name: string }): string => x.name;
const byDev = (x: { dev: string }): string => x.dev;
const bySysctlDevice = (x: { key: string }): string => sysctlDevice(x.key)!;

const deviceSysctlsOf = new WeakMap<readonly SysctlSpec[], SysctlSpec[]>();
/** The per-device sysctls of a list (one list object each time, so that its grouping is kept). */
function deviceSysctls(xs: readonly SysctlSpec[]): SysctlSpec[] {
  let out = deviceSysctlsOf.get(xs);
  if (!out) {
    out = xs.filter((x) => sysctlDevice(x.key) !== null);
    deviceSysctlsOf.set(xs, out);
  }
  return out;
}

const sameList = (a: readonly unknown[], b: readonly unknown[]): boolean => sameValue(a, b);

/**
 * The device a per-device sysctl belongs to ('net.ipv6.conf.brqX.disable_ipv6' → 'brqX'; sysctl(8)
 * writes a dot in a device name as '/'), null for the namespace-wide ones ('all', 'default', others).
 * A slice takes the former with their link, like its addresses.
 */
export function sysctlDevice(key: string): string | null {
  const m = /^net\.ipv[46]\.(?:conf|neigh)\.([^.]+)\.[^.]+$/.exec(key);
  if (!m || m[1] === 'all' || m[1] === 'default') return null;
  return m[1]!.replace(/\//g, '.');
}

const inSlice = (slice: Slice, key: string): boolean => {
  const dev = sysctlDevice(key);
  return dev !== null && slice.links.has(dev);
};

/**
 * The slice that turns `before` into `after`, widened by `eventLinks` (HOST links a local event
 * named); or why only a full pass will do. `before` is the desired state of the last converged
 * pass: everything outside the slice was verified then and is wanted unchanged.
 */
export function sliceBetween(
  before: DesiredNode | null,
  after: DesiredNode,
  eventLinks: Iterable<string> = [],
  limits: SliceLimits = DEFAULT_SLICE_LIMITS,
): Slice | SliceRefusal {
  if (!before || before.owner !== after.owner) return 'no-previous-state';
  const was = before.namespaces[HOST] ?? emptyDesiredNamespace();
  const now = after.namespaces[HOST] ?? emptyDesiredNamespace();
  if (!sameList(was.routes, now.routes)) return 'host-routes';
  const global = (xs: DesiredNamespace['sysctls']) => xs.filter((x) => sysctlDevice(x.key) === null);
  if (!sameList(global(was.sysctls), global(now.sysctls))) return 'host-sysctls';
  if (!sameList(was.processes, now.processes)) return 'host-processes';

  // Event names come from the kernel: only names neutrino could write into a command are kept.
  const named = [...eventLinks].filter(isInterfaceName);
  const slice: Slice = { links: new Set(named), entryDevs: new Set(), chains: {}, chains6: {}, ipsets: new Set(), namespaces: new Set() };
  const add = (set: Set<string>, keys: Iterable<string>) => {
    for (const k of keys) set.add(k);
  };
  for (const changed of [
    withoutDevicesLeaving(changedKeys(was.links, now.links, byName), was.links, now.links),
    changedKeys(was.addresses, now.addresses, byDev),
    changedKeys(was.fdb, now.fdb, byDev),
    changedKeys(was.neigh, now.neigh, byDev),
    changedKeys(deviceSysctls(was.sysctls), deviceSysctls(now.sysctls), bySysctlDevice),
  ])
    add(slice.links, changed);
  add(slice.ipsets, changedKeys(was.ipsets, now.ipsets, byName));
  slice.chains = changedChains(was.iptables, now.iptables);
  slice.chains6 = changedChains(was.ip6tables ?? {}, now.ip6tables ?? {});
  for (const ns of new Set([...Object.keys(before.namespaces), ...Object.keys(after.namespaces)])) {
    if (ns !== HOST && !sameValue(before.namespaces[ns], after.namespaces[ns])) slice.namespaces.add(ns);
  }
  closeOver(slice, [linkIndex(was.links), linkIndex(now.links)]);
  // A rule may only name a declared set: the sets the slice's chains match come along.
  for (const [chains, tables] of [
    [slice.chains, now.iptables],
    [slice.chains6, now.ip6tables ?? {}],
  ] as const) {
    for (const [table, names] of Object.entries(chains) as [TableName, Set<string>][]) {
      for (const c of tables[table] ?? []) if (names.has(c.name)) add(slice.ipsets, setsMatchedBy(c.rules));
    }
  }
  if (slice.links.size > limits.maxLinks) return 'too-large';
  const entryDevs = [
    ...[...slice.links].filter((name) => name.startsWith(VXLAN_PREFIX) || isVxlan(was.links, name) || isVxlan(now.links, name)),
    ...[was.fdb, now.fdb, was.neigh, now.neigh].flatMap((entries) => [...grouped(entries, byDev).keys()]),
  ];
  for (const dev of entryDevs) if (slice.links.has(dev)) slice.entryDevs.add(dev);
  return slice;
}

/**
 * The changed links without the devices that are not neutrino's and leave the desired state (the
 * tap of a port deleted or bound elsewhere, its instance still there): the diff leaves such a link
 * as it is, so reading it and its bridge would be all the pass did with them. An event or another
 * change (an address, an entry) naming it still brings it in.
 */
function withoutDevicesLeaving(changed: Set<string>, was: readonly LinkSpec[], now: readonly LinkSpec[]): Set<string> {
  const before = linkIndex(was).byName;
  const after = linkIndex(now).byName;
  for (const name of changed) {
    if (!after.has(name) && (before.get(name) ?? []).every((l) => l.kind === 'device')) changed.delete(name);
  }
  return changed;
}

/** Per table, the chains whose rules differ between two states of one family's tables. */
function changedChains(was: IptablesSpec, now: IptablesSpec): Slice['chains'] {
  const out: Slice['chains'] = {};
  for (const table of new Set([...Object.keys(was), ...Object.keys(now)]) as Set<TableName>) {
    const chains = changedKeys(
      was[table] ?? [],
      now[table] ?? [],
      byName,
      (a, b) => a.rules.length === b.rules.length && a.rules.every((r, i) => r === b.rules[i]),
    );
    if (chains.size) out[table] = chains;
  }
  return out;
}

/** The tables cut to a slice's chains (desired or observed alike). */
export function cutTables<C extends { name: string }>(
  tables: Partial<Record<TableName, C[]>>,
  wanted: Slice['chains'],
): Partial<Record<TableName, C[]>> {
  const out: Partial<Record<TableName, C[]>> = {};
  for (const [table, chains] of Object.entries(tables) as [TableName, C[]][]) {
    const names = wanted[table];
    if (names) out[table] = chains.filter((c) => names.has(c.name));
  }
  return out;
}

const isVxlan = (links: readonly LinkSpec[], name: string): boolean =>
  grouped(links, byName)
    .get(name)
    ?.some((l) => l.kind === 'vxlan') ?? false;

/** The sets a chain's rules match, found once per rules list (a port's chains the planner reused keep theirs). */
const setsOfRules = new WeakMap<readonly string[], string[]>();
function setsMatchedBy(rules: readonly string[]): string[] {
  let sets = setsOfRules.get(rules);
  if (!sets) {
    sets = rules.flatMap((r) => (r.includes('--match-set') ? ruleIpsets(r) : []));
    setsOfRules.set(rules, sets);
  }
  return sets;
}

/** HOST links by name and the veths to each namespace, of one desired state's list. */
interface LinkIndex {
  byName: Map<string, LinkSpec[]>;
  vethsTo: Map<string, string[]>;
}

const linkIndexes = new WeakMap<readonly LinkSpec[], LinkIndex>();
function linkIndex(links: readonly LinkSpec[]): LinkIndex {
  let index = linkIndexes.get(links);
  if (!index) {
    const vethsTo = new Map<string, string[]>();
    for (const l of links) {
      if (l.kind !== 'veth') continue;
      const names = vethsTo.get(l.peer.netns);
      if (names) names.push(l.name);
      else vethsTo.set(l.peer.netns, [l.name]);
    }
    index = { byName: grouped(links, byName), vethsTo };
    linkIndexes.set(links, index);
  }
  return index;
}

/**
 * What the diff reads next to a link: its master and underlay (they must exist), the namespace of
 * a veth's peer (pairing is checked from both ends); and for a namespace, the HOST ends of its veths.
 * The links of both desired states are indexed once per list, then only what the slice reaches is
 * visited: the work follows the slice, not the node.
 */
function closeOver(slice: Slice, indexes: readonly LinkIndex[]): void {
  const linksNamed = (name: string) => indexes.flatMap((i) => i.byName.get(name) ?? []);
  const vethsTo = (ns: string) => indexes.flatMap((i) => i.vethsTo.get(ns) ?? []);
  const links = [...slice.links];
  const namespaces = [...slice.namespaces];
  const addLink = (name: string) => {
    if (slice.links.has(name)) return;
    slice.links.add(name);
    links.push(name);
  };
  while (links.length || namespaces.length) {
    for (let ns = namespaces.pop(); ns !== undefined; ns = namespaces.pop()) for (const name of vethsTo(ns)) addLink(name);
    for (let name = links.pop(); name !== undefined; name = links.pop()) {
      for (const l of linksNamed(name)) {
        if (l.master) addLink(l.master);
        if (l.kind === 'vxlan' && l.vxlan.dev) addLink(l.vxlan.dev);
        if (l.kind === 'vlan') addLink(l.vlan.dev);
        if (l.kind === 'veth' && l.peer.netns !== HOST && !slice.namespaces.has(l.peer.netns)) {
          slice.namespaces.add(l.peer.netns);
          namespaces.push(l.peer.netns);
        }
      }
    }
  }
}

/** `desired` cut to the slice: HOST keeps only the slice's objects; other namespaces only the slice's. */
export function sliceDesired(desired: DesiredNode, slice: Slice): DesiredNode {
  const out: DesiredNode = { namespaces: {} };
  if (desired.owner !== undefined) out.owner = desired.owner;
  for (const [ns, spec] of Object.entries(desired.namespaces)) {
    if (ns !== HOST) {
      if (slice.namespaces.has(ns)) out.namespaces[ns] = spec;
      continue;
    }
    const iptables = cutTables(spec.iptables, slice.chains);
    out.namespaces[HOST] = {
      links: spec.links.filter((l) => slice.links.has(l.name)),
      addresses: spec.addresses.filter((a) => slice.links.has(a.dev)),
      routes: [],
      fdb: spec.fdb.filter((f) => slice.entryDevs.has(f.dev)),
      neigh: spec.neigh.filter((n) => slice.entryDevs.has(n.dev)),
      sysctls: spec.sysctls.filter((x) => inSlice(slice, x.key)),
      iptables,
      ...(spec.ip6tables === undefined ? {} : { ip6tables: cutTables(spec.ip6tables, slice.chains6) }),
      ipsets: spec.ipsets.filter((s) => slice.ipsets.has(s.name)),
      processes: [],
    };
  }
  return out;
}

/**
 * `observed` cut to the slice, the same way as sliceDesired: what a targeted observation reads
 * (the fake kernel's, and a check of the real one's). HOST routes, namespace-wide sysctls and
 * daemons are left out on both sides: a change to them needs a full pass.
 */
export function sliceObserved(observed: ObservedNode, slice: Slice): ObservedNode {
  const out: ObservedNode = { namespaces: {} };
  for (const [ns, state] of Object.entries(observed.namespaces)) {
    if (ns !== HOST) {
      if (slice.namespaces.has(ns)) out.namespaces[ns] = state;
      continue;
    }
    const iptables = cutTables(state.iptables, slice.chains);
    out.namespaces[HOST] = {
      mark: state.mark,
      links: state.links.filter((l) => slice.links.has(l.name)),
      addresses: state.addresses.filter((a) => slice.links.has(a.dev)),
      routes: [],
      fdb: state.fdb.filter((f) => slice.entryDevs.has(f.dev)),
      neigh: state.neigh.filter((n) => slice.entryDevs.has(n.dev)),
      sysctls: Object.fromEntries(Object.entries(state.sysctls).filter(([k]) => inSlice(slice, k))),
      iptables,
      ...(state.ip6tables === undefined ? {} : { ip6tables: cutTables(state.ip6tables, slice.chains6) }),
      ipsets: state.ipsets.filter((s) => slice.ipsets.has(s.name)),
      processes: [],
    };
  }
  return out;
}
