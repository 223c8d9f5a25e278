// Which namespaces a node's agents own: the prefixes they create, and the owner mark that keeps the
// nodes sharing one /run/netns (a lab, several labs) off each other's. Apart from the pass so that
// `neutrino lab` can find a node's namespaces without loading the planner.
import { createHash } from 'node:crypto';
import { DHCP_NS_PREFIX, ROUTER_NS_PREFIX } from '../kernel/names.ts';

/** Namespaces the agents of a node may create; owned ones nobody wants any more are removed. */
export const AGENT_NAMESPACE_PREFIXES = [DHCP_NS_PREFIX, ROUTER_NS_PREFIX];

/**
 * The owner mark keeps nodes that share one /run/netns (a lab, several labs at once) off each
 * other's namespaces. The host name alone repeats across labs (each has a `controller`), so the
 * mark adds a digest of the agent's state path, which is stable across restarts and unique per
 * node of a lab.
 */
export function namespaceOwner(facts: { host: string; statePath: string }): string {
  const digest = createHash('sha256').update(facts.statePath).digest('hex').slice(0, 8);
  return `${facts.host.slice(0, 55)}-${digest}`;
}
