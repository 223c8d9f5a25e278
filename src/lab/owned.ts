// What the lab's agents made on its behalf: qdhcp-/qrouter- namespaces (named after the networks and
// routers in the lab's own SQLite database and the agents' state dirs) and dnsmasq processes (their
// pid files under nodes/*/state/dhcp/*/pid). Nothing is taken as the lab's unless traced to it.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { LabPaths } from './paths.js';
import { readCmdline, type ProcTarget } from './procs.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function dbIds(file: string, table: 'networks' | 'routers'): string[] {
  if (!existsSync(file)) return [];
  let db: Database.Database | null = null;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    return (db.prepare(`SELECT id FROM ${table}`).all() as Array<{ id: string }>).map((r) => r.id).filter((id) => UUID.test(id));
  } catch {
    return []; // no such table yet, or a damaged file: the state dirs still name the DHCP namespaces
  } finally {
    db?.close();
  }
}

const subdirs = (dir: string) => (existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name) : []);

/** Network ids the agents keep DHCP state for: nodes/<node>/state/dhcp/<network id>/. */
function dhcpDirs(paths: LabPaths): Array<{ node: string; network: string; dir: string }> {
  return subdirs(paths.nodesDir).flatMap((node) => {
    const base = join(paths.agentState(node), 'dhcp');
    return subdirs(base).map((network) => ({ node, network, dir: join(base, network) }));
  });
}

/** Names of every qdhcp-/qrouter- namespace that belongs to this lab (whether it exists or not). */
export function agentNamespaces(paths: LabPaths): string[] {
  const nets = new Set([...dbIds(paths.serverDb, 'networks'), ...dhcpDirs(paths).map((d) => d.network).filter((id) => UUID.test(id))]);
  const routers = dbIds(paths.serverDb, 'routers');
  return [...[...nets].map((id) => `qdhcp-${id}`), ...routers.map((id) => `qrouter-${id}`)];
}

const nsInode = (path: string): number | null => {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
};

/** True when process `pid` lives in one of the named namespaces. */
export function inOneOf(pid: number, namespaces: string[]): boolean {
  const mine = nsInode(`/proc/${pid}/ns/net`);
  return mine !== null && namespaces.some((ns) => nsInode(`/run/netns/${ns}`) === mine);
}

/** dnsmasq processes from the agents' pid files that are provably this lab's. */
export function dnsmasqTargets(paths: LabPaths, namespaces: string[]): ProcTarget[] {
  const out: ProcTarget[] = [];
  for (const d of dhcpDirs(paths)) {
    const file = join(d.dir, 'pid');
    if (!existsSync(file)) continue;
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 1) continue;
    const cmd = readCmdline(pid);
    const isDnsmasq = !!cmd && cmd[0].endsWith('dnsmasq');
    // A reused PID would be some other program, or a dnsmasq outside this lab.
    if (isDnsmasq && (cmd.some((a) => a.includes(paths.dir)) || inOneOf(pid, namespaces))) {
      out.push({ pid, markers: ['dnsmasq'], label: `dnsmasq for network ${d.network} on ${d.node}` });
    }
  }
  return out;
}

/**
 * dnsmasq processes whose command line names this lab's own directory but that no pid file points
 * to any more: left behind when their namespace was deleted under them. Still provably this lab's.
 */
export function strayDnsmasq(paths: LabPaths, known: ReadonlySet<number>): ProcTarget[] {
  const out: ProcTarget[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 1 || known.has(pid)) continue;
    const cmd = readCmdline(pid);
    if (cmd?.[0]?.endsWith('dnsmasq') && cmd.some((a) => a.includes(`${paths.dir}/`))) out.push({ pid, markers: ['dnsmasq', paths.dir], label: `stray dnsmasq (pid ${pid}) of this lab` });
  }
  return out;
}
