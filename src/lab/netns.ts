// Named network namespaces (/run/netns): list, delete, and which processes live in one.
import { existsSync, readdirSync } from 'node:fs';
import { run, runStatus } from '../exec/run.ts';

const NETNS_DIR = '/run/netns';

export function listNamespaces(): string[] {
  return existsSync(NETNS_DIR) ? readdirSync(NETNS_DIR).sort() : [];
}

export const namespaceExists = (ns: string) => existsSync(`${NETNS_DIR}/${ns}`);

/** PIDs of the processes whose network namespace is `ns`. */
export async function namespacePids(ns: string): Promise<number[]> {
  if (!namespaceExists(ns)) return [];
  const r = await runStatus(['ip', 'netns', 'pids', ns]);
  if (r.code !== 0) return [];
  return r.stdout
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((p) => Number.isInteger(p) && p > 1 && p !== process.pid);
}

/** Deletes a namespace if it exists; its devices go with it once no process holds it. */
export async function deleteNamespace(ns: string): Promise<void> {
  if (namespaceExists(ns)) await run(['ip', 'netns', 'delete', ns]);
}
