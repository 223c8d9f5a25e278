// One agent pass: plan from the host view (the taps present on the node are an input), run the
// kernel reconcile (observe → diff → apply → observe), and work out which ports are ACTIVE.
import { tapName } from '../kernel/names.js';
import { render } from '../kernel/render.js';
import { HOST, type DesiredNode } from '../kernel/types.js';
import type { Kernel } from '../exec/kernel.js';
import { reconcile as kernelPass } from '../exec/reconcile.js';
import type { HostView } from '../model/hostview.js';
import { planNode, type NodeFacts } from '../planner/index.js';

export interface PassResult {
  /** operations applied, and the commands they were batched into */
  ops: number;
  commands: number;
  converged: boolean;
  error?: Error;
  unresolved: string[];
  /** port id → ACTIVE | DOWN for every port bound to this host */
  portStatus: Record<string, 'ACTIVE' | 'DOWN'>;
  desired: DesiredNode;
  ms: number;
}

export type Facts = Omit<NodeFacts, 'presentTaps'>;

/** Namespaces the agents of a node may create; owned ones nobody wants any more are removed. */
const AGENT_NAMESPACE_PREFIXES = ['qdhcp-', 'qrouter-'];

export async function agentPass(kernel: Kernel, view: HostView, facts: Facts): Promise<PassResult> {
  const t0 = performance.now();
  const presentTaps = new Set((await kernel.linkNames()).filter((n) => n.startsWith('tap')));
  const plan = planNode(view, { ...facts, presentTaps });
  // The owner mark keeps nodes that share one /run/netns (a lab) off each other's namespaces.
  plan.desired.owner = facts.host;
  const r = await kernelPass(kernel, plan.desired, { prefixes: AGENT_NAMESPACE_PREFIXES });
  const hostLinks = new Map((r.observed.namespaces[HOST]?.links ?? []).map((l) => [l.name, l]));
  const plugged = new Set(plan.plugged.map((p) => p.id));
  const portStatus: PassResult['portStatus'] = {};
  for (const p of view.ports) {
    portStatus[p.id] = plugged.has(p.id) && hostLinks.get(tapName(p.id))?.master ? 'ACTIVE' : 'DOWN';
  }
  return {
    ops: r.plan.ops.length,
    commands: r.plan.ops.length ? render(r.plan.ops).length : 0,
    converged: r.converged,
    error: r.error,
    unresolved: r.remaining.unresolved.map((u) => (typeof u === 'string' ? u : JSON.stringify(u))),
    portStatus,
    desired: plan.desired,
    ms: performance.now() - t0,
  };
}
