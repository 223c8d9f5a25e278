// Pure renderer of iptables changes into `iptables-restore --noflush` text (one transaction per namespace).
import { assertChainName } from './names.ts';
import type { IptablesChange } from './ops.ts';
import type { TableName } from './types.ts';
import { assertRuleText } from './validate.ts';

/**
 * Order inside a table, each step checked on this machine (iptables 1.8.9, nf_tables):
 * 1. `:CHAIN - [0:0]` declares a new chain, and with --noflush *flushes* an existing one — so it
 *    both creates the chains to write and empties the chains to delete;
 * 2. `-D` neutrino's old jumps in built-in chains (they may reference chains deleted in 5);
 * 3. `-A` the rules of written chains (every referenced chain is declared by now); edited chains'
 *    rules deleted by position (descending) or by text and inserted at theirs (ascending);
 * 4. `-I BUILTIN n` neutrino's jumps, at the top, in order;
 * 5. `-X` the deleted chains — last, since a chain cannot be deleted while referenced, and a rule
 *    cannot name a chain already deleted earlier in the same input.
 * A failing input changes nothing (the whole COMMIT is one transaction).
 */
export function renderTable(table: TableName, change: IptablesChange): string {
  const out = [`*${table}`];
  for (const c of [...change.write.map((w) => w.name), ...change.delete]) out.push(`:${assertChainName(c)} - [0:0]`);
  for (const b of change.builtins) for (const r of b.remove) out.push(`-D ${assertChainName(b.chain)} ${assertRuleText(r)}`);
  for (const c of change.write) for (const r of c.rules) out.push(`-A ${c.name} ${assertRuleText(r)}`);
  for (const e of change.edit ?? []) {
    const chain = assertChainName(e.chain);
    for (const at of e.deleteAt) out.push(`-D ${chain} ${assertPosition(at)}`);
    for (const r of e.deleteRules ?? []) out.push(`-D ${chain} ${assertRuleText(r)}`);
    for (const { at, rule } of e.insert) out.push(`-I ${chain} ${assertPosition(at)} ${assertRuleText(rule)}`);
  }
  for (const b of change.builtins) b.insert.forEach((r, i) => out.push(`-I ${assertChainName(b.chain)} ${i + 1} ${assertRuleText(r)}`));
  for (const c of change.delete) out.push(`-X ${c}`);
  out.push('COMMIT');
  // An empty rule leaves `-A CHAIN ` with a trailing blank.
  return out.map((l) => l.trimEnd()).join('\n') + '\n';
}

function assertPosition(at: number): number {
  if (!Number.isInteger(at) || at < 1) throw new Error(`bad rule position ${at}`);
  return at;
}
