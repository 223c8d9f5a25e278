// iptables of one namespace: owned chains compared whole, neutrino's jumps in built-in chains compared in order.
import { isOwnedBuiltinRule, isOwnedChain } from './mark.ts';
import type { ChainEdit, IptablesChange, Op } from './ops.ts';
import {
  BUILTIN_CHAINS,
  type ChainSpec,
  type DesiredNamespace,
  type NsKey,
  type ObservedChain,
  type ObservedNamespace,
  type TableName,
} from './types.ts';

const sameRules = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((r, i) => r === b[i]);

/**
 * The iptables ops, then the ip6tables ops, of one namespace. Both families are managed alike: an
 * absent desired `ip6tables` wants no owned chain there; an absent observed one (a state saved
 * before IPv6 tables were observed) is taken as empty.
 */
export function diffIptables(ns: NsKey, want: DesiredNamespace, have: ObservedNamespace): Op[] {
  const ops: Op[] = [];
  for (const [op, wanted, had] of [
    ['iptables', want.iptables, have.iptables],
    ['ip6tables', want.ip6tables ?? {}, have.ip6tables ?? {}],
  ] as const) {
    const tables = new Set([...Object.keys(wanted), ...Object.keys(had)] as TableName[]);
    for (const table of [...tables].sort()) {
      const change = diffTable(table, wanted[table] ?? [], had[table] ?? []);
      if (change) ops.push({ op, ns, table, change });
    }
  }
  return ops;
}

function diffTable(table: TableName, want: ChainSpec[], have: ObservedChain[]): IptablesChange | undefined {
  const builtin = new Set(BUILTIN_CHAINS[table]);
  const haveByName = new Map(have.map((c) => [c.name, c]));
  const wantByName = new Map(want.map((c) => [c.name, c]));
  const change: IptablesChange = { write: [], builtins: [], delete: [] };
  const edits: ChainEdit[] = [];
  for (const c of want) {
    if (builtin.has(c.name)) continue;
    const got = haveByName.get(c.name);
    if (got && sameRules(got.rules, c.rules)) continue;
    const edit = got && chainEdit(c.name, got.rules, c.rules, got.assumed);
    if (edit) edits.push(edit);
    else change.write.push(c);
  }
  if (edits.length) change.edit = edits;
  for (const name of builtin) {
    const wanted = wantByName.get(name)?.rules ?? [];
    const ours = (haveByName.get(name)?.rules ?? []).filter(isOwnedBuiltinRule);
    // Position among others' rules is not compared: fighting another agent over the top slot would flap.
    if (!sameRules(ours, wanted)) {
      change.builtins.push({ chain: name, remove: ours, insert: wanted });
    }
  }
  for (const c of have) if (isOwnedChain(c.name) && !wantByName.has(c.name)) change.delete.push(c.name);
  const empty = change.write.length + change.builtins.length + change.delete.length + edits.length === 0;
  return empty ? undefined : change;
}

/** Chains shorter than this are rewritten whole: the text is as short, and simpler to read. */
export const MIN_RULES_FOR_EDIT = 32;

/**
 * The rules to delete and insert that turn `have` into `want` in place, or undefined when a
 * rewrite is the better (or the only) way: a short chain, many changes, a repeated rule, or rules
 * kept in another order. Rewriting a chain of thousands of rules (a node's FORWARD chain with a
 * jump per port) costs the kernel hundreds of milliseconds; one insert costs a few. `byText`: `have`
 * was not read (see ChainEdit), so rules are deleted by their text.
 */
export function chainEdit(chain: string, have: readonly string[], want: readonly string[], byText = false): ChainEdit | undefined {
  if (want.length < MIN_RULES_FOR_EDIT) return undefined;
  const haveSet = new Set(have);
  const wantSet = new Set(want);
  if (haveSet.size !== have.length || wantSet.size !== want.length) return undefined;
  const kept = have.filter((r) => wantSet.has(r));
  const keptInWant = want.filter((r) => haveSet.has(r));
  if (!sameRules(kept, keptInWant)) return undefined;
  const deleteAt: number[] = [];
  have.forEach((r, i) => {
    if (!wantSet.has(r)) deleteAt.push(i + 1);
  });
  const insert: ChainEdit['insert'] = [];
  want.forEach((rule, i) => {
    if (!haveSet.has(rule)) insert.push({ at: i + 1, rule });
  });
  if ((deleteAt.length + insert.length) * 4 > want.length) return undefined;
  if (byText) return { chain, deleteAt: [], deleteRules: deleteAt.map((at) => have[at - 1]!), insert };
  return { chain, deleteAt: deleteAt.reverse(), insert };
}
