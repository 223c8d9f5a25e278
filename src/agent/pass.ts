// One agent pass: plan from the host view (the taps present on the node are an input), run the
// kernel's reconcile() (exec/reconcile.ts: observe → diff → apply → observe), and work out which
// ports are ACTIVE and which router addresses came and went. A full pass reads the whole node; a
// targeted one, given the last converged pass, reads and changes only the slice of the node that
// differs from it (kernel/slice.ts), so its cost follows the change, not the node's size.
import { dhcpNamespace, routerNamespace, tapName } from '../kernel/names.ts';
import { render } from '../kernel/render.ts';
import { AGENT_NAMESPACE_PREFIXES, namespaceOwner } from './namespace-owner.ts';
import { HOST, type DesiredNode, type ProcessSpec } from '../kernel/types.ts';
import type { Kernel } from '../exec/kernel.ts';
import { reconcile, reconcileSlice } from '../exec/reconcile.ts';
import type { ProcessHint } from '../kernel/scope.ts';
import { sliceBetween, type Slice, type SliceRefusal } from '../kernel/slice.ts';
import type { LinkEvents } from './link-monitor.ts';
import type { HostView } from '../model/hostview.ts';
import { planNode, type NodeFacts } from '../planner/index.ts';
import type { PortChainMemo } from '../planner/port-memo.ts';
import { addressesReleased, addressesToAnnounce, type RouterAddress } from '../planner/l3.ts';
import { haproxyPidPath, haproxyProcessId } from '../planner/metadata.ts';
import { radvdPidPath, radvdProcessId } from '../planner/radvd.ts';

/** What an agent pass did: the kernel pass's outcome in the agent's terms (ports, router addresses). */
export interface AgentPassResult {
  /** operations applied, and the commands they were batched into */
  ops: number;
  commands: number;
  converged: boolean;
  error?: Error;
  unresolved: string[];
  /** port id → ACTIVE | DOWN for every port bound to this host */
  portStatus: Record<string, 'ACTIVE' | 'DOWN'>;
  desired: DesiredNode;
  /** the taps the plan took as present */
  presentTaps: Set<string>;
  /** the slice a targeted pass worked on, or why the pass was a full one */
  scope: Slice | SliceRefusal | 'full';
  /** router addresses this pass added (to announce with gratuitous ARP) and removed (conntrack state to drop) */
  announce: RouterAddress[];
  released: RouterAddress[];
  ms: number;
  /** Where the time went (ms): planning and the slice, then the kernel pass's parts. */
  timings: { plan: number; observe: number; apply: number; confirm: number };
}

export type Facts = Omit<NodeFacts, 'presentTaps'>;

/** What a targeted pass starts from: the last converged pass, and the link events since it began. */
export interface PriorPass {
  desired: DesiredNode;
  presentTaps: ReadonlySet<string>;
  portStatus: Readonly<Record<string, 'ACTIVE' | 'DOWN'>>;
  events: LinkEvents;
}

const isTap = (name: string): boolean => name.startsWith('tap');

/** The taps present after the events (the pass then reads each of them: the events only say where to look). */
export function tapsAfter(before: ReadonlySet<string>, events: LinkEvents): Set<string> {
  const taps = new Set(before);
  for (const [name, present] of events) {
    if (!isTap(name)) continue;
    if (present) taps.add(name);
    else taps.delete(name);
  }
  return taps;
}

const hintOf = (p: ProcessSpec): ProcessHint => ({ id: p.id, pidFile: p.pidFile, files: p.files.map((f) => f.path) });

/**
 * Daemons the slice no longer wants: those of namespaces it removes (stopped before the namespace
 * goes) and those dropped from namespaces that stay (radvd of a router left without IPv6).
 */
function removedDaemons(before: DesiredNode, after: DesiredNode, slice: Slice): Record<string, ProcessHint[]> {
  const hints: Record<string, ProcessHint[]> = {};
  for (const ns of slice.namespaces) {
    const kept = new Set((after.namespaces[ns]?.processes ?? []).map((p) => p.id));
    const gone = (before.namespaces[ns]?.processes ?? []).filter((p) => !kept.has(p.id));
    if (gone.length) hints[ns] = gone.map(hintOf);
  }
  return hints;
}

/**
 * For a full pass, which knows nothing of earlier ones: the radvd and metadata proxy every hosted
 * router may run, and the metadata proxy of every DHCP namespace, so that one no longer wanted (its
 * router has no IPv6 interface any more, isolated metadata was turned off) is found and stopped.
 */
function serviceDaemons(view: HostView, statePath: string): Record<string, ProcessHint[]> {
  const hints: Record<string, ProcessHint[]> = {};
  const haproxy = (id: string): ProcessHint => ({ id: haproxyProcessId(id), pidFile: haproxyPidPath(statePath, id), files: [] });
  for (const r of view.routers ?? []) {
    hints[routerNamespace(r.id)] = [{ id: radvdProcessId(r.id), pidFile: radvdPidPath(statePath, r.id), files: [] }, haproxy(r.id)];
  }
  for (const id of view.dhcp_networks) hints[dhcpNamespace(id)] = [haproxy(id)];
  return hints;
}

/** A full pass without `prior`; with it, a targeted pass unless the change needs a full one (see sliceBetween). */
export async function agentPass(
  kernel: Kernel,
  view: HostView,
  facts: Facts,
  prior?: PriorPass,
  memo?: PortChainMemo,
): Promise<AgentPassResult> {
  const t0 = performance.now();
  const presentTaps = prior ? tapsAfter(prior.presentTaps, prior.events) : new Set((await kernel.linkNames()).filter(isTap));
  const plan = planNode(view, { ...facts, presentTaps }, memo);
  plan.desired.owner = namespaceOwner(facts);
  const scope = prior ? sliceBetween(prior.desired, plan.desired, prior.events.keys()) : 'full';
  const planned = performance.now();
  const slice = typeof scope === 'object' ? scope : null;
  const r = slice
    ? await reconcileSlice(kernel, plan.desired, slice, {
        processes: removedDaemons(prior!.desired, plan.desired, slice),
        known: prior!.desired,
      })
    : await reconcile(kernel, plan.desired, { prefixes: AGENT_NAMESPACE_PREFIXES, processes: serviceDaemons(view, facts.statePath) });
  const hostLinks = new Map((r.observed.namespaces[HOST]?.links ?? []).map((l) => [l.name, l]));
  const plugged = new Set(plan.plugged.map((p) => p.id));
  const portStatus: AgentPassResult['portStatus'] = {};
  for (const p of view.ports) {
    const tap = tapName(p.id);
    const seen = !slice || slice.links.has(tap);
    // A tap outside the slice is as the last converged pass left it.
    if (!plugged.has(p.id)) portStatus[p.id] = 'DOWN';
    else if (seen) portStatus[p.id] = hostLinks.get(tap)?.master ? 'ACTIVE' : 'DOWN';
    else portStatus[p.id] = prior?.portStatus[p.id] ?? 'DOWN';
  }
  return {
    ops: r.plan.ops.length,
    commands: r.plan.ops.length ? render(r.plan.ops).length : 0,
    converged: r.converged,
    error: r.error,
    unresolved: r.remaining.unresolved.map((u) => (typeof u === 'string' ? u : JSON.stringify(u))),
    portStatus,
    desired: plan.desired,
    presentTaps,
    scope,
    announce: addressesToAnnounce(r.plan.ops, r.observed),
    released: addressesReleased(r.plan.ops, r.observed),
    ms: performance.now() - t0,
    timings: { plan: Math.round(planned - t0), ...r.ms },
  };
}
