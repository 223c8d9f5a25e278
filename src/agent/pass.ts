// One agent pass: plan from the host view (the taps present on the node are an input), run the
// kernel's reconcile() (exec/reconcile.ts: observe → diff → apply → observe), and work out which
// ports are ACTIVE and which router addresses came and went.
import { createHash } from 'node:crypto';
import { DHCP_NS_PREFIX, ROUTER_NS_PREFIX, tapName } from '../kernel/names.js';
import { render } from '../kernel/render.js';
import { HOST, type DesiredNode } from '../kernel/types.js';
import type { Kernel } from '../exec/kernel.js';
import { reconcile } from '../exec/reconcile.js';
import type { HostView } from '../model/hostview.js';
import { planNode, type NodeFacts } from '../planner/index.js';
import { addressesReleased, addressesToAnnounce, type RouterAddress } from '../planner/l3.js';

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
  /** router addresses this pass added (to announce with gratuitous ARP) and removed (conntrack state to drop) */
  announce: RouterAddress[];
  released: RouterAddress[];
  ms: number;
}

export type Facts = Omit<NodeFacts, 'presentTaps'>;

/** Namespaces the agents of a node may create; owned ones nobody wants any more are removed. */
export const AGENT_NAMESPACE_PREFIXES = [DHCP_NS_PREFIX, ROUTER_NS_PREFIX];

/**
 * The owner mark keeps nodes that share one /run/netns (a lab, several labs at once) off each
 * other's namespaces. The host name alone repeats across labs (each has a `controller`), so the
 * mark adds a digest of the agent's state path, which is stable across restarts and unique per
 * node of a lab.
 */
export function namespaceOwner(facts: Pick<Facts, 'host' | 'statePath'>): string {
  const digest = createHash('sha256').update(facts.statePath).digest('hex').slice(0, 8);
  return `${facts.host.slice(0, 55)}-${digest}`;
}

export async function agentPass(kernel: Kernel, view: HostView, facts: Facts): Promise<AgentPassResult> {
  const t0 = performance.now();
  const presentTaps = new Set((await kernel.linkNames()).filter((n) => n.startsWith('tap')));
  const plan = planNode(view, { ...facts, presentTaps });
  plan.desired.owner = namespaceOwner(facts);
  const r = await reconcile(kernel, plan.desired, { prefixes: AGENT_NAMESPACE_PREFIXES });
  const hostLinks = new Map((r.observed.namespaces[HOST]?.links ?? []).map((l) => [l.name, l]));
  const plugged = new Set(plan.plugged.map((p) => p.id));
  const portStatus: AgentPassResult['portStatus'] = {};
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
    announce: addressesToAnnounce(r.plan.ops, r.observed),
    released: addressesReleased(r.plan.ops, r.observed),
    ms: performance.now() - t0,
  };
}
