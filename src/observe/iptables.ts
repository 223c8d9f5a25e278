// Parser of `iptables-save` and `ip6tables-save` output (the same format): every table, chain, policy and rule (rule text kept in save's canonical form).
import type { ObservedChain, ObservedTables, TableName } from '../kernel/types.ts';
import { ParseError } from './json.ts';

const TABLES = new Set<string>(['filter', 'nat', 'mangle', 'raw']);
export function parseIptablesSave(text: string, source = 'iptables-save'): ObservedTables {
  const tables: ObservedTables = {};
  let chains: Map<string, ObservedChain> | undefined;
  let table: string | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (line === '' || line.startsWith('#')) return;
    const where = `line ${i + 1}`;
    if (line.startsWith('*')) {
      table = line.slice(1);
      chains = new Map();
    } else if (line === 'COMMIT') {
      if (!table || !chains) throw new ParseError(source, `${where}: COMMIT outside a table`);
      // Tables other than the four neutrino knows (security, …) are read past, not kept.
      if (TABLES.has(table)) tables[table as TableName] = [...chains.values()];
      table = undefined;
      chains = undefined;
    } else if (line.startsWith(':')) {
      const [name, policy] = line.slice(1).split(' ');
      if (!chains || !name) throw new ParseError(source, `${where}: chain outside a table`);
      chains.set(name, { name, policy: policy === '-' || policy === undefined ? null : policy, rules: [] });
    } else if (line.startsWith('-A ')) {
      const m = /^-A (\S+)(?: (.*))?$/.exec(line);
      const chain = m && chains?.get(m[1] ?? '');
      if (!m || !chain) throw new ParseError(source, `${where}: rule for an undeclared chain: ${line}`);
      chain.rules.push(m[2] ?? '');
    } else {
      throw new ParseError(source, `${where}: unexpected line: ${line}`);
    }
  });
  if (table !== undefined) throw new ParseError(source, `table ${table} has no COMMIT`);
  return tables;
}
