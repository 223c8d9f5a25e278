// A host view's change from one revision to another, as the server sends it to an agent that holds
// the earlier view: per list of the view, the entries added or changed (at their place in the new
// list) and the keys of those removed; a list whose order changed otherwise is sent whole. Applying
// it to the earlier view gives the later view exactly (same entries, same order). Pure.
import type { HostView } from './hostview.ts';

/** The view's lists, in the order a full view holds them. */
const SECTIONS = [
  'networks',
  'subnets',
  'ports',
  'remote_ports',
  'remote_vteps',
  'security_groups',
  'address_groups',
  'dhcp_networks',
  'dhcp_ports',
  'routers',
] as const;
type Section = (typeof SECTIONS)[number];

/** Lists a full view leaves out while empty. */
const OMITTED_WHEN_EMPTY: ReadonlySet<Section> = new Set(['address_groups']);

/** What identifies an entry of each list (remote ports carry no port id: a MAC is unique on a network). */
const keyOf: Record<Section, (entry: unknown) => string> = {
  networks: (e) => (e as { id: string }).id,
  subnets: (e) => (e as { id: string }).id,
  ports: (e) => (e as { id: string }).id,
  remote_ports: (e) => {
    const p = e as HostView['remote_ports'][number];
    return `${p.network_id}|${p.host}|${p.mac_address}`;
  },
  remote_vteps: (e) => {
    const v = e as HostView['remote_vteps'][number];
    return `${v.network_id}|${v.host}`;
  },
  security_groups: (e) => (e as { id: string }).id,
  address_groups: (e) => (e as { id: string }).id,
  dhcp_networks: (e) => e as string,
  dhcp_ports: (e) => (e as { id: string }).id,
  routers: (e) => (e as { id: string }).id,
};

/** One list's change: the whole new list, or its new length, the entries to set (index in the new list, entry) and the keys removed. */
export type SectionDelta = { all: unknown[] } | { length: number; set: Array<[number, unknown]>; remove: string[] };

export interface HostViewDelta {
  /** the revision of the view this applies to, and the revision of the view it makes */
  since: number;
  revision: number;
  /** only the lists that changed */
  sections: Partial<Record<Section, SectionDelta>>;
}

/** The delta does not fit the view it was applied to: the holder should fetch the whole view. */
export class DeltaMismatchError extends Error {}

const listOf = (view: HostView, s: Section): unknown[] => (view[s] as unknown[] | undefined) ?? [];

function uniqueKeys(list: unknown[], key: (e: unknown) => string): string[] | null {
  const keys = list.map(key);
  return new Set(keys).size === keys.length ? keys : null;
}

/** One list's change, or null when it is unchanged. */
function diffSection(s: Section, before: unknown[], after: unknown[]): SectionDelta | null {
  const beforeKeys = uniqueKeys(before, keyOf[s]);
  const afterKeys = uniqueKeys(after, keyOf[s]);
  if (!beforeKeys || !afterKeys) return { all: after };
  const beforeByKey = new Map(beforeKeys.map((k, i) => [k, before[i]]));
  const afterSet = new Set(afterKeys);
  // Entries in both lists must keep their relative order; else the list goes whole.
  const keptBefore = beforeKeys.filter((k) => afterSet.has(k));
  const keptAfter = afterKeys.filter((k) => beforeByKey.has(k));
  if (keptBefore.some((k, i) => k !== keptAfter[i])) return { all: after };
  const remove = beforeKeys.filter((k) => !afterSet.has(k));
  const set: Array<[number, unknown]> = [];
  after.forEach((entry, i) => {
    const was = beforeByKey.get(afterKeys[i]);
    // The very same object (a port view the server kept from one revision to the next) is unchanged.
    if (was !== entry && JSON.stringify(was) !== JSON.stringify(entry)) set.push([i, entry]);
  });
  if (!set.length && !remove.length) return null;
  // Most of the list changed: the list itself is smaller.
  if (set.length > after.length / 2) return { all: after };
  return { length: after.length, set, remove };
}

/** The delta from `before` to `after` (both views of one host). */
export function diffHostViews(before: HostView, after: HostView): HostViewDelta {
  const sections: HostViewDelta['sections'] = {};
  for (const s of SECTIONS) {
    const d = diffSection(s, listOf(before, s), listOf(after, s));
    if (d) sections[s] = d;
  }
  return { since: before.revision, revision: after.revision, sections };
}

function applySection(s: Section, before: unknown[], d: SectionDelta): unknown[] {
  if ('all' in d) return d.all;
  const removed = new Set(d.remove);
  const setKeys = new Set(d.set.map(([, e]) => keyOf[s](e)));
  // Entries kept as they were fill, in their order, the places the set entries leave.
  const kept = before.filter((e) => {
    const k = keyOf[s](e);
    return !removed.has(k) && !setKeys.has(k);
  });
  const out: unknown[] = new Array<unknown>(d.length);
  const placed = new Array<boolean>(d.length).fill(false);
  for (const [i, e] of d.set) {
    if (!(i >= 0 && i < d.length) || placed[i]) throw new DeltaMismatchError(`${s}: entry ${i} out of place`);
    out[i] = e;
    placed[i] = true;
  }
  let next = 0;
  for (let i = 0; i < d.length; i++) if (!placed[i]) out[i] = kept[next++];
  if (next !== kept.length || out.some((e) => e === undefined))
    throw new DeltaMismatchError(`${s}: ${kept.length} kept entries for ${d.length - d.set.length} places`);
  return out;
}

/**
 * The view `delta` makes of `view` (a new object: the given view is not changed, so whoever still
 * holds it sees it as it was). DeltaMismatchError when the delta was made for another view.
 */
export function applyHostViewDelta(view: HostView, delta: HostViewDelta): HostView {
  if (delta.since !== view.revision) throw new DeltaMismatchError(`delta from revision ${delta.since} for a view at ${view.revision}`);
  const out: Record<string, unknown> = { host: view.host, revision: delta.revision };
  for (const s of SECTIONS) {
    const d = delta.sections[s];
    const list = d ? applySection(s, listOf(view, s), d) : listOf(view, s);
    if (!(OMITTED_WHEN_EMPTY.has(s) && !list.length)) out[s] = list;
  }
  return out as unknown as HostView;
}

/** The ids of every port the view shows whole (bound here, DHCP leases, router and HA ports): what any change of such a port alters. */
export function portIdsInView(view: HostView): Set<string> {
  const ids = new Set<string>();
  for (const p of [...view.ports, ...view.dhcp_ports]) ids.add(p.id);
  for (const r of view.routers) {
    for (const rp of [...(r.gateway ? [r.gateway] : []), ...r.interfaces]) ids.add(rp.port.id);
    if (r.ha) ids.add(r.ha.port.id);
  }
  return ids;
}
