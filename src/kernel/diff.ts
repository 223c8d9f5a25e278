// diff(desired, observed) → the ordered operations that turn observed into desired, touching only neutrino's objects.
import { diffAddresses, diffFdb, diffNeigh, diffRoutes, diffSysctls, type NsPlan } from './diff-l3.ts';
import { diffIpsets } from './diff-ipset.ts';
import { diffIptables } from './diff-iptables.ts';
import { diffLinks } from './diff-links.ts';
import { diffProcesses, unwantedProcesses } from './diff-procs.ts';
import { namespaceMark } from './mark.ts';
import type { Op, Plan } from './ops.ts';
import { HOST, emptyDesiredNamespace, type DesiredNode, type NsKey, type ObservedNode } from './types.ts';
import { normalizeDesired } from './validate.ts';
import { Work } from './work.ts';

/**
 * Order: unwanted namespaces (their daemons stopped first), new namespaces; links that must be
 * recreated, then new links; then per namespace sysctls, IP sets (created, members changed),
 * iptables then ip6tables, link attributes, addresses, routes, neighbour and fdb entries (extras before
 * additions), daemons; last, deletions in reverse: daemons and unwanted IP sets (after the rules
 * that matched them are gone), then links (ports before bridges).
 *
 * Managed are the desired namespaces, HOST when it was observed, and namespaces with this
 * node's mark that nobody wants (deleted). Outside those, and inside them for unmarked objects without a desired name,
 * nothing is touched. Throws InvalidDesired before planning anything from a bad desired state.
 */
export function diff(desiredIn: DesiredNode, observed: ObservedNode): Plan {
  const desired = normalizeDesired(desiredIn);
  const work = new Work(observed);
  const ops: Op[] = [];
  const late: Op[] = [];
  // Marked namespaces nobody wants go first: with them go their veth peers elsewhere, whose names
  // a new pair may need. Their daemons are stopped before.
  const ours = namespaceMark(desired.owner);
  const doomed = [...work.namespaces].filter(([k, s]) => k !== HOST && s.mark === ours && !(k in desired.namespaces)).map(([k]) => k);
  for (const ns of doomed) ops.push(...unwantedProcesses(ns, undefined, work.namespaces.get(ns)!));
  for (const ns of doomed) {
    ops.push({ op: 'netns-del', ns });
    work.removeNamespace(ns);
  }
  for (const ns of Object.keys(desired.namespaces).sort()) {
    if (ns === HOST || work.ns(ns)) continue;
    ops.push({ op: 'netns-add', ns });
    work.addNamespace(ns);
  }
  const managed = managedNamespaces(desired, work);
  const links = diffLinks(desired, work, managed);
  ops.push(...links.create);
  const nsPlan: NsPlan = { ops, unresolved: [...links.unresolved] };
  for (const ns of managed) {
    const want = desired.namespaces[ns] ?? emptyDesiredNamespace();
    const have = work.ns(ns)!;
    // iptables before link attributes: a rule names devices only as strings (never needs them set
    // up), and a tap must not join its bridge (link-set master) before its security group chains
    // exist — no window at plug (see planner/firewall.ts).
    // IP sets around iptables: a rule may only name a set that exists, and a set cannot be
    // destroyed while a rule still matches it.
    const sets = diffIpsets(ns, want, have);
    nsPlan.unresolved.push(...sets.unresolved);
    ops.push(...diffSysctls(ns, want, have), ...sets.early, ...diffIptables(ns, want, have), ...(links.set.get(ns) ?? []));
    diffAddresses(ns, want, have, nsPlan);
    diffRoutes(ns, want, have, nsPlan);
    diffNeigh(ns, want, have, nsPlan);
    diffFdb(ns, want, have, nsPlan);
    ops.push(...diffProcesses(ns, want, have));
    late.push(...unwantedProcesses(ns, want, have), ...sets.late);
  }
  ops.push(...late, ...links.remove);
  return { ops, unresolved: nsPlan.unresolved };
}

function managedNamespaces(desired: DesiredNode, work: Work): NsKey[] {
  const keys = new Set(Object.keys(desired.namespaces));
  if (work.ns(HOST)) keys.add(HOST);
  return [...keys].sort();
}

/** Nothing left to do and nothing blocked. */
export const isConverged = (plan: Plan): boolean => plan.ops.length === 0 && plan.unresolved.length === 0;
