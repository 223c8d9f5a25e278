// iptables of one namespace: owned chains compared whole, neutrino's jumps in built-in chains compared in order.
import { isOwnedBuiltinRule, isOwnedChain } from './mark.js';
import type { IptablesChange, Op } from './ops.js';
import {
  BUILTIN_CHAINS,
  type ChainSpec,
  type DesiredNamespace,
  type NsKey,
  type ObservedChain,
  type ObservedNamespace,
  type TableName,
} from './types.js';

const sameRules = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((r, i) => r === b[i]);

export function diffIptables(ns: NsKey, want: DesiredNamespace, have: ObservedNamespace): Op[] {
  const tables = new Set([...Object.keys(want.iptables), ...Object.keys(have.iptables)] as TableName[]);
  const ops: Op[] = [];
  for (const table of [...tables].sort()) {
    const change = diffTable(table, want.iptables[table] ?? [], have.iptables[table] ?? []);
    if (change) ops.push({ op: 'iptables', ns, table, change });
  }
  return ops;
}

function diffTable(table: TableName, want: ChainSpec[], have: ObservedChain[]): IptablesChange | undefined {
  const builtin = new Set(BUILTIN_CHAINS[table]);
  const haveByName = new Map(have.map((c) => [c.name, c]));
  const wantByName = new Map(want.map((c) => [c.name, c]));
  const change: IptablesChange = { write: [], builtins: [], delete: [] };
  for (const c of want) {
    if (builtin.has(c.name)) continue;
    const got = haveByName.get(c.name);
    if (!got || !sameRules(got.rules, c.rules)) change.write.push(c);
  }
  for (const name of builtin) {
    const wanted = wantByName.get(name)?.rules ?? [];
    const ours = (haveByName.get(name)?.rules ?? []).filter(isOwnedBuiltinRule);
    // Position among others' rules is not compared: fighting another agent over the top slot would flap.
    if (!sameRules(ours, wanted)) {
      change.builtins.push({ chain: name, remove: ours, insert: wanted });
    }
  }
  for (const c of have) if (isOwnedChain(c.name) && !wantByName.has(c.name)) change.delete.push(c.name);
  const empty = change.write.length + change.builtins.length + change.delete.length === 0;
  return empty ? undefined : change;
}
