// Reading sysctls of the process's own network namespace from /proc/sys directly, as `sysctl -e`
// prints them, without a process: the agent's targeted passes read a bridge's or tap's settings
// before and after each change, its full passes the node's, and a spawn costs more than the read.
import { readFile } from 'node:fs/promises';
import type { Runner } from './run.ts';

/** A sysctl key's file: dots separate levels, a slash stands for a dot inside a level (a device named eth1.100). */
export function procSysPath(key: string): string {
  return (
    '/proc/sys/' +
    key
      .split('.')
      .map((level) => level.replace(/\//g, '.'))
      .join('/')
  );
}

/** `key = value` lines, as `sysctl -e KEY…` prints them: a key whose file is not there (no such device yet) is left out. */
export async function readSysctlsHere(keys: readonly string[]): Promise<string> {
  const lines = await Promise.all(
    keys.map(async (key) => {
      try {
        return `${key} = ${(await readFile(procSysPath(key), 'utf8')).replace(/\n$/, '')}\n`;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
        throw e;
      }
    }),
  );
  return lines.join('');
}

/** `sysctl -e KEY…`'s output in `netns`: from /proc/sys in this process's own namespace, else by the command ('' for no keys). */
export function readSysctls(run: Runner, netns: string | undefined, keys: readonly string[]): Promise<string> {
  if (!keys.length) return Promise.resolve('');
  if (netns === undefined) return readSysctlsHere(keys);
  // -e: a key of a device not there yet is left out, not an error.
  return run(['sysctl', '-e', ...keys], { netns }).then((r) => r.stdout);
}
