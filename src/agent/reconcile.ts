// One reconcile pass: plan from the host view, observe, diff, apply the smallest batch, observe
// again to confirm convergence, and work out which ports are ACTIVE.
import { diff, isConverged } from '../kernel/diff.js';
import { tapName } from '../kernel/names.js';
import { scopeFor } from '../kernel/scope.js';
import { HOST, type DesiredNode } from '../kernel/types.js';
import type { Kernel } from '../exec/kernel.js';
import type { HostView } from '../model/hostview.js';
import { planNode, type NodeFacts } from '../planner/index.js';

export interface PassResult {
  /** operations applied */
  ops: number;
  converged: boolean;
  unresolved: string[];
  /** port id → ACTIVE | DOWN for every port bound to this host */
  portStatus: Record<string, 'ACTIVE' | 'DOWN'>;
  desired: DesiredNode;
  ms: number;
}

export type Facts = Omit<NodeFacts, 'presentTaps'>;

/** Namespaces the agent made before and may have to remove (never found by prefix: labs share /run/netns). */
export async function reconcile(kernel: Kernel, view: HostView, facts: Facts, previous: Set<string>): Promise<PassResult> {
  const t0 = performance.now();
  const hostOnly = await kernel.observe({ host: true, namespaces: [], prefixes: [], sysctls: {}, processes: {} });
  const presentTaps = new Set((hostOnly.namespaces[HOST]?.links ?? []).map((l) => l.name).filter((n) => n.startsWith('tap')));
  const plan = planNode(view, { ...facts, presentTaps });
  const scope = scopeFor(plan.desired);
  for (const ns of previous) if (!scope.namespaces.includes(ns)) scope.namespaces.push(ns);
  let observed = await kernel.observe(scope);
  let steps = diff(plan.desired, observed);
  let applied = 0;
  if (steps.ops.length) {
    await kernel.apply(steps.ops);
    applied = steps.ops.length;
    observed = await kernel.observe(scope);
    steps = diff(plan.desired, observed);
  }
  const hostLinks = observed.namespaces[HOST]?.links ?? [];
  const plugged = new Set(plan.plugged.map((p) => p.id));
  const portStatus: PassResult['portStatus'] = {};
  for (const p of view.ports) {
    const link = hostLinks.find((l) => l.name === tapName(p.id));
    portStatus[p.id] = plugged.has(p.id) && link && link.master ? 'ACTIVE' : 'DOWN';
  }
  return {
    ops: applied,
    converged: isConverged(steps),
    unresolved: steps.unresolved.map((u) => (typeof u === 'string' ? u : JSON.stringify(u))),
    portStatus,
    desired: plan.desired,
    ms: performance.now() - t0,
  };
}
