// Links: what to create, recreate (wrong kind, VXLAN identity, broken veth pair), re-attribute, and delete.
import { MARK, isMarkedLink, namespaceMark } from './mark.ts';
import type { LinkChanges, Op, Unresolved } from './ops.ts';
import { HOST, type DesiredNode, type LinkSpec, type NsKey, type ObservedLink, type VethSpec } from './types.ts';
import type { Work } from './work.ts';

export interface LinkPlan {
  /** Deletions of links that must be recreated, then creations: run before everything else. */
  create: Op[];
  /** Attribute changes, per namespace. */
  set: Map<NsKey, Op[]>;
  /** Unwanted marked links, deleted at the end (ports before bridges). */
  remove: Op[];
  unresolved: Unresolved[];
}

type Add = { ns: NsKey; link: LinkSpec };

/** The order in which kinds are created: a VXLAN or VLAN device may sit on a veth made in the same pass. */
const CREATE_RANK: Record<string, number> = { bridge: 0, tap: 1, veth: 1, vxlan: 2, vlan: 2 };

export function diffLinks(desired: DesiredNode, work: Work, managed: NsKey[]): LinkPlan {
  const plan: LinkPlan = { create: [], set: new Map(), remove: [], unresolved: [] };
  const pairsSeen = new Set<string>();
  const adds: Add[] = [];
  for (const ns of managed) {
    for (const spec of effectiveLinks(desired, ns)) {
      if (spec.kind === 'veth') planVeth(desired, spec, ns, work, plan, adds, pairsSeen);
      else planLink(desired, spec, ns, work, plan, adds);
    }
  }
  adds.sort((a, b) => (CREATE_RANK[a.link.kind] ?? 1) - (CREATE_RANK[b.link.kind] ?? 1));
  for (const { ns, link } of adds) {
    if (link.kind === 'device') continue;
    plan.create.push({ op: 'link-add', ns, link });
    work.addLink(ns, link);
    if (link.kind === 'veth') work.addLink(link.peer.netns, mirrorOf(desired, ns, link));
  }
  for (const ns of managed) planChanges(desired, ns, work, plan);
  planRemovals(desired, work, managed, plan);
  return plan;
}

/** A link that is not a veth: a device must exist; others are created, or recreated when they differ in identity. */
function planLink(desired: DesiredNode, spec: LinkSpec, ns: NsKey, work: Work, plan: LinkPlan, adds: Add[]): void {
  const obs = work.link(ns, spec.name);
  if (spec.kind === 'device') {
    if (!obs) plan.unresolved.push({ ns, object: `link ${spec.name}`, reason: 'device does not exist' });
    return;
  }
  if (obs && !needsRecreate(spec, obs)) return;
  const under = spec.kind === 'vxlan' ? spec.vxlan.dev : spec.kind === 'vlan' ? spec.vlan.dev : undefined;
  if (under !== undefined && !work.link(ns, under) && !willBeCreated(desired, ns, under)) {
    plan.unresolved.push({ ns, object: `link ${spec.name}`, reason: `underlay device ${under} does not exist` });
    return;
  }
  if (obs) del(plan.create, work, ns, spec.name);
  adds.push({ ns, link: spec });
}

const willBeCreated = (desired: DesiredNode, ns: NsKey, name: string): boolean =>
  (desired.namespaces[ns]?.links ?? []).some((l) => l.name === name && l.kind !== 'device');

/** The desired links of a namespace; a namespace neutrino creates also wants its `lo` up. */
function effectiveLinks(desired: DesiredNode, ns: NsKey): LinkSpec[] {
  const links = desired.namespaces[ns]?.links ?? [];
  if (ns === HOST || links.some((l) => l.name === 'lo')) return links;
  return [{ kind: 'device', name: 'lo', up: true }, ...links];
}

/** The alias a link must carry: the mark on everything neutrino creates, and on `lo` of its namespaces. */
function wantedAlias(spec: LinkSpec, ns: NsKey, owner: string | undefined): string | undefined {
  if (spec.kind !== 'device') return MARK;
  return ns !== HOST && spec.name === 'lo' ? namespaceMark(owner) : undefined;
}

function needsRecreate(spec: LinkSpec, obs: ObservedLink): boolean {
  if (obs.kind !== spec.kind) return true;
  if (spec.kind === 'vlan') return obs.vlan?.id !== spec.vlan.id || obs.vlan.dev !== spec.vlan.dev;
  if (spec.kind !== 'vxlan') return false;
  const want = spec.vxlan;
  const got = obs.vxlan;
  if (!got) return true;
  return (
    got.vni !== want.vni ||
    got.dstport !== want.dstport ||
    got.learning !== want.learning ||
    got.proxy !== want.proxy ||
    (want.local !== undefined && got.local !== want.local) ||
    (want.dev !== undefined && got.dev !== want.dev) ||
    got.group !== want.group ||
    (got.ttl ?? 0) !== (want.ttl ?? 0) ||
    (got.tos ?? 0) !== (want.tos ?? 0)
  );
}

/** A veth pair is handled once, from its primary end (HOST first, then by namespace and name). */
function planVeth(desired: DesiredNode, spec: VethSpec, ns: NsKey, work: Work, plan: LinkPlan, adds: Add[], seen: Set<string>): void {
  const here = `${ns}\0${spec.name}`;
  const there = `${spec.peer.netns}\0${spec.peer.name}`;
  if (seen.has(here)) return;
  seen.add(here).add(there);
  const paired = (x: ObservedLink | undefined, netns: NsKey, name: string) =>
    x?.kind === 'veth' && x.peer?.netns === netns && x.peer.name === name;
  const a = work.link(ns, spec.name);
  const b = work.link(spec.peer.netns, spec.peer.name);
  if (paired(a, spec.peer.netns, spec.peer.name) && paired(b, ns, spec.name)) return;
  // Deleting one end deletes the other: each existing end goes (with whatever it is paired to).
  if (a) del(plan.create, work, ns, spec.name);
  if (work.link(spec.peer.netns, spec.peer.name)) del(plan.create, work, spec.peer.netns, spec.peer.name);
  adds.push(here <= there ? { ns, link: spec } : { ns: spec.peer.netns, link: mirrorOf(desired, ns, spec) });
}

/** The desired spec of the other end of a veth. */
function mirrorOf(desired: DesiredNode, ns: NsKey, link: VethSpec): LinkSpec {
  const found = desired.namespaces[link.peer.netns]?.links.find((l) => l.name === link.peer.name);
  return found ?? { kind: 'veth', name: link.peer.name, peer: { name: link.name, netns: ns } };
}

function del(out: Op[], work: Work, ns: NsKey, name: string): void {
  out.push({ op: 'link-del', ns, name });
  work.removeLink(ns, name);
}

function planChanges(desired: DesiredNode, ns: NsKey, work: Work, plan: LinkPlan): void {
  const ops: Op[] = [];
  for (const spec of effectiveLinks(desired, ns)) {
    const obs = work.link(ns, spec.name);
    if (!obs) continue;
    const set = changes(spec, obs, wantedAlias(spec, ns, desired.owner));
    if (set.master && !work.link(ns, set.master)) {
      plan.unresolved.push({ ns, object: `link ${spec.name}`, reason: `master ${set.master} does not exist` });
      delete set.master;
    }
    if (Object.keys(set).length === 0) continue;
    ops.push({ op: 'link-set', ns, name: spec.name, set });
    applyChanges(obs, set);
  }
  if (ns !== HOST) {
    const state = work.ns(ns);
    if (state) state.mark = namespaceMark(desired.owner);
  }
  plan.set.set(ns, ops);
}

export function changes(spec: LinkSpec, obs: ObservedLink, alias: string | undefined): LinkChanges {
  const set: LinkChanges = {};
  if (alias !== undefined && obs.alias !== alias) set.alias = alias;
  if (spec.mtu !== undefined && obs.mtu !== spec.mtu) set.mtu = spec.mtu;
  if (spec.mac !== undefined && obs.mac !== spec.mac) set.mac = spec.mac;
  if (spec.master !== undefined && obs.master !== spec.master) set.master = spec.master;
  if (spec.up !== undefined && obs.up !== spec.up) set.up = spec.up;
  if (spec.kind === 'bridge' && obs.bridge && (obs.bridge.forwardDelay !== 0 || obs.bridge.stp)) set.bridgeDefaults = true;
  return set;
}

function applyChanges(obs: ObservedLink, set: LinkChanges): void {
  if (set.alias !== undefined) obs.alias = set.alias;
  if (set.mtu !== undefined) obs.mtu = set.mtu;
  if (set.mac !== undefined) obs.mac = set.mac;
  if (set.master !== undefined) obs.master = set.master;
  if (set.up !== undefined) obs.up = set.up;
  if (set.bridgeDefaults) obs.bridge = { forwardDelay: 0, stp: false };
}

/** Marked links nobody wants any more; bridges after their ports, so each deletion cascades least. */
function planRemovals(desired: DesiredNode, work: Work, managed: NsKey[], plan: LinkPlan): void {
  for (const ns of managed) {
    const wanted = new Set(effectiveLinks(desired, ns).map((l) => l.name));
    const unwanted = (work.ns(ns)?.links ?? []).filter((l) => isMarkedLink(l) && !wanted.has(l.name) && l.name !== 'lo');
    unwanted.sort((a, b) => Number(a.kind === 'bridge') - Number(b.kind === 'bridge'));
    for (const l of unwanted) if (work.link(ns, l.name)) del(plan.remove, work, ns, l.name);
  }
}
