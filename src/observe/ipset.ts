// Parser of `ipset save` (the same text as `ipset list -o save`): every set, its type, family, other
// header options and members.
import type { ObservedIpset } from '../kernel/types.ts';
import { ParseError } from './json.ts';

const SRC = 'ipset save';

/**
 * `create NAME TYPE [family F] [options…]` then `add NAME MEMBER [options…]` lines. A member is
 * its first token (the element as ipset prints it); per-element options (timeout, comment,
 * nomatch…) are not kept: neutrino writes none.
 */
export function parseIpsetSave(text: string): ObservedIpset[] {
  const sets = new Map<string, ObservedIpset>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `line ${i + 1}`;
    const [verb, name, arg, ...rest] = line.split(/\s+/);
    if (verb === 'create' && name && arg) {
      if (sets.has(name)) throw new ParseError(SRC, `${where}: set ${name} created twice`);
      const fi = rest.indexOf('family');
      const family = fi >= 0 ? (rest[fi + 1] ?? null) : null;
      const options = fi >= 0 ? [...rest.slice(0, fi), ...rest.slice(fi + 2)] : rest;
      sets.set(name, { name, type: arg, family, options: options.join(' '), members: [] });
    } else if (verb === 'add' && name && arg) {
      const set = sets.get(name);
      if (!set) throw new ParseError(SRC, `${where}: member of an undeclared set: ${line}`);
      set.members.push(arg);
    } else {
      throw new ParseError(SRC, `${where}: unexpected line: ${line}`);
    }
  });
  return [...sets.values()];
}
