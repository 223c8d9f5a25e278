// IP sets of one namespace: desired sets created or their members changed before the iptables rules
// that match them are written; owned sets nobody wants destroyed after those rules are gone.
import { isOwnedBuiltinRule, isOwnedChain, isOwnedIpset, ruleIpsets } from './mark.ts';
import type { Op, Unresolved } from './ops.ts';
import { BUILTIN_CHAINS, type DesiredNamespace, type NsKey, type ObservedChain, type ObservedNamespace, type TableName } from './types.ts';

export interface IpsetPlan {
  /** Before the namespace's iptables ops: a rule may only name a set that exists. */
  early: Op[];
  /** After them: a set cannot be destroyed while a rule matches it. */
  late: Op[];
  unresolved: Unresolved[];
}

/**
 * Sets matched by rules that stay after this pass's iptables change: rules that are not
 * neutrino's (neutrino's own are replaced by the desired ones, which may only name desired sets).
 */
function setsUsedByOthers(have: ObservedNamespace): Set<string> {
  const used = new Set<string>();
  for (const tables of [have.iptables, have.ip6tables ?? {}]) {
    for (const [table, chains] of Object.entries(tables) as [TableName, ObservedChain[]][]) {
      const builtin = new Set(BUILTIN_CHAINS[table]);
      for (const c of chains) {
        if (isOwnedChain(c.name)) continue;
        for (const r of c.rules) if (!(builtin.has(c.name) && isOwnedBuiltinRule(r))) for (const s of ruleIpsets(r)) used.add(s);
      }
    }
  }
  return used;
}

/** Sets matched by any observed rule of either family, neutrino's included (the rules as they are before this pass). */
function setsUsedNow(have: ObservedNamespace): Set<string> {
  const used = new Set<string>();
  for (const tables of [have.iptables, have.ip6tables ?? {}])
    for (const chains of Object.values(tables))
      for (const c of chains ?? []) for (const r of c.rules) for (const s of ruleIpsets(r)) used.add(s);
  return used;
}

const sorted = (xs: Iterable<string>): string[] => [...xs].sort();

export function diffIpsets(ns: NsKey, want: DesiredNamespace, have: ObservedNamespace): IpsetPlan {
  const plan: IpsetPlan = { early: [], late: [], unresolved: [] };
  // `?? []`: observed states written before sets were modelled (saved snapshots) have none.
  const haveSets = have.ipsets ?? [];
  const haveByName = new Map(haveSets.map((s) => [s.name, s]));
  const wanted = new Set(want.ipsets.map((s) => s.name));
  for (const spec of want.ipsets) {
    const got = haveByName.get(spec.name);
    const base = { name: spec.name, type: spec.type, family: spec.family };
    if (!got) {
      plan.early.push({ op: 'ipset', ns, change: { ...base, mode: 'create', add: sorted(spec.members), del: [] } });
      continue;
    }
    if (got.type !== spec.type || got.family !== spec.family) {
      // The kernel refuses to swap sets of different types or families, and to destroy a set a rule matches.
      if (setsUsedNow(have).has(spec.name)) {
        plan.unresolved.push({
          ns,
          object: `ipset ${spec.name}`,
          reason: `it is ${got.type} family ${got.family}, not ${spec.type} family ${spec.family}, and iptables rules match it`,
        });
      } else {
        plan.early.push({ op: 'ipset', ns, change: { ...base, mode: 'recreate', add: sorted(spec.members), del: [] } });
      }
      continue;
    }
    const keep = new Set(spec.members);
    const present = new Set(got.members);
    const add = sorted(spec.members.filter((m) => !present.has(m)));
    const del = sorted(got.members.filter((m) => !keep.has(m)));
    if (add.length + del.length > 0) plan.early.push({ op: 'ipset', ns, change: { ...base, mode: 'update', add, del } });
  }
  // Owned sets nobody wants, unless a rule that is not neutrino's still matches one (destroy would
  // fail). IPv6 sets only where ip6tables was observed: elsewhere whether one is in use is unknown.
  const others = setsUsedByOthers(have);
  const families = new Set(have.ip6tables === undefined ? ['inet'] : ['inet', 'inet6']);
  for (const s of haveSets) {
    if (isOwnedIpset(s.name) && families.has(s.family ?? '') && !wanted.has(s.name) && !others.has(s.name))
      plan.late.push({ op: 'ipset-destroy', ns, name: s.name });
  }
  return plan;
}
