// What the lab's agents made on its behalf: qdhcp-/qrouter- namespaces (named after the networks and
// routers its own server knows, asked through the API as the lab's admin, and after the agents' state
// dirs; or marked on `lo` by one of its agents) and dnsmasq processes (their pid files under
// nodes/*/state/dhcp/*/pid). Nothing is taken as the lab's unless traced to it.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_NAMESPACE_PREFIXES, namespaceOwner } from '../agent/namespace-owner.ts';
import { runStatus } from '../exec/run.ts';
import { namespaceMark } from '../kernel/mark.ts';
import { DHCP_NS_PREFIX, ROUTER_NS_PREFIX } from '../kernel/names.ts';
import { adminClient } from './context.ts';
import { listNamespaces } from './netns.ts';
import type { LabPaths } from './paths.ts';
import { readCmdline, type ProcTarget } from './procs.ts';
import type { LabState } from './state.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** How long to wait for the lab's server: it is local, so one that does not answer soon is broken. */
const SERVER_TIMEOUT_MS = 5_000;

/**
 * Ids of every network and router the lab's server holds (the admin sees all projects); none when
 * there is no state or the server cannot answer (the state dirs still name the DHCP namespaces).
 */
async function serverIds(state: LabState | null): Promise<{ networks: string[]; routers: string[] }> {
  if (!state?.server.url) return { networks: [], routers: [] };
  const client = adminClient(state);
  const ids = async (collection: 'networks' | 'routers') => {
    const body = await client.call<Record<string, Array<{ id: string }>>>(
      'GET',
      `/v2.0/${collection}?fields=id`,
      undefined,
      SERVER_TIMEOUT_MS,
    );
    return body[collection].map((r) => r.id).filter((id) => UUID.test(id));
  };
  try {
    return { networks: await ids('networks'), routers: await ids('routers') };
  } catch {
    return { networks: [], routers: [] };
  }
}

const subdirs = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
    : [];

/** Network ids the agents keep DHCP state for: nodes/<node>/state/dhcp/<network id>/. */
function dhcpDirs(paths: LabPaths): Array<{ node: string; network: string; dir: string }> {
  return subdirs(paths.nodesDir).flatMap((node) => {
    const base = join(paths.agentState(node), 'dhcp');
    return subdirs(base).map((network) => ({ node, network, dir: join(base, network) }));
  });
}

/** The alias on `lo` of a namespace, or null (no such namespace, or no alias). */
async function loAlias(namespace: string): Promise<string | null> {
  const r = await runStatus(['ip', '-j', 'link', 'show', 'lo'], { netns: namespace });
  if (r.code !== 0) return null;
  try {
    return (JSON.parse(r.stdout) as Array<{ ifalias?: string }>)[0]?.ifalias ?? null;
  } catch {
    return null;
  }
}

/**
 * The agent namespaces that carry the mark of one of this lab's agents (agent/pass.ts: its host and
 * state path), found from the kernel alone: the way when the server is gone.
 */
async function markedNamespaces(paths: LabPaths): Promise<string[]> {
  const marks = new Set(
    subdirs(paths.nodesDir).map((node) => namespaceMark(namespaceOwner({ host: node, statePath: paths.agentState(node) }))),
  );
  if (!marks.size) return [];
  const out: string[] = [];
  for (const ns of listNamespaces().filter((n) => AGENT_NAMESPACE_PREFIXES.some((p) => n.startsWith(p)))) {
    const alias = await loAlias(ns);
    if (alias !== null && marks.has(alias)) out.push(ns);
  }
  return out;
}

/** Names of every qdhcp-/qrouter- namespace that belongs to this lab (whether it exists or not). */
export async function agentNamespaces(paths: LabPaths, state: LabState | null): Promise<string[]> {
  const known = await serverIds(state);
  const nets = new Set([
    ...known.networks,
    ...dhcpDirs(paths)
      .map((d) => d.network)
      .filter((id) => UUID.test(id)),
  ]);
  const named = [...[...nets].map((id) => `${DHCP_NS_PREFIX}${id}`), ...known.routers.map((id) => `${ROUTER_NS_PREFIX}${id}`)];
  return [...new Set([...named, ...(await markedNamespaces(paths))])];
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
    if (cmd?.[0]?.endsWith('dnsmasq') && cmd.some((a) => a.includes(`${paths.dir}/`)))
      out.push({ pid, markers: ['dnsmasq', paths.dir], label: `stray dnsmasq (pid ${pid}) of this lab` });
  }
  return out;
}
