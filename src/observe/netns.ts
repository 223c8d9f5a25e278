// Parsers of `ip -j netns list`, `ip -j netns list-id` and `sysctl -e KEY…` output.
import { optNum, optStr, parseArray, str, type Obj } from './json.ts';

/** Names under /run/netns. Output is empty (not "[]") when there are none. */
export function parseNetnsList(text: string): string[] {
  if (text.trim() === '') return [];
  return parseArray(text, 'ip -j netns list').map((n) => str(n, 'name', 'ip -j netns list'));
}

/** nsid (local to the namespace that ran the command) → namespace name, for the ids that have one. */
export const parseNetnsIds = (text: string): Map<number, string> =>
  netnsIdsFrom(text.trim() === '' ? [] : parseArray(text, 'ip -j netns list-id'));

export function netnsIdsFrom(entries: Obj[]): Map<number, string> {
  const ids = new Map<number, string>();
  for (const e of entries) {
    const id = optNum(e, 'nsid');
    const name = optStr(e, 'name');
    if (id !== undefined && name !== undefined) ids.set(id, name);
  }
  return ids;
}

/** `key = value` lines; keys that do not exist are simply absent (sysctl -e). */
export function parseSysctl(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(' = ');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 3);
  }
  return out;
}
