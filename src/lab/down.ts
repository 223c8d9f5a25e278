// `neutrino lab down`: ends the lab's processes by PID (agents, DHCP clients, dnsmasq, server, then
// anything left inside the lab's own namespaces), deletes the agents' qdhcp-/qrouter- namespaces,
// the instance namespaces and the lab's namespaces, then the lab dir. Works from names when lab.json
// is missing or damaged, and does nothing (successfully) when run again.
import { existsSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { agentMarkers } from './agents.ts';
import { dhcpMarkers, listInstances } from './instance-state.ts';
import { metadataMarkers } from './metadata-proc.ts';
import { deleteNamespace, listNamespaces, namespaceExists, namespacePids } from './netns.ts';
import { agentNamespaces, dnsmasqTargets, strayDnsmasq } from './owned.ts';
import { labPaths, stateRoot, type LabPaths } from './paths.ts';
import { readCmdline, terminate, type ProcTarget } from './procs.ts';
import { daemonsOfPrivateAgent } from './mount-ns.ts';
import { serverMarkers } from './server-proc.ts';
import { readLabState, type LabState } from './state.ts';
import { checkLabName, isExtraNetworkNode, labNamespace, LabError } from './topology.ts';
import type { Print } from './util.ts';

export const DEFAULT_NODES = ['controller', 'compute1'];

function safeState(paths: LabPaths, print: Print): LabState | null {
  try {
    return readLabState(paths);
  } catch (e) {
    print(`warning: ${(e as Error).message}; working from names`);
    return null;
  }
}

/** The lab's own namespaces: from lab.json, the node dirs, or (lacking both) the default nodes. */
function ownNamespaces(lab: string, paths: LabPaths, state: LabState | null): string[] {
  const nodeDirs = existsSync(paths.nodesDir) ? readdirSync(paths.nodesDir) : [];
  const nodes = new Set([
    ...(state?.topology.nodes.map((n) => n.name) ?? (nodeDirs.length ? [] : DEFAULT_NODES)),
    ...nodeDirs.filter((n) => /^[a-z][a-z0-9]{0,14}$/.test(n)),
  ]);
  return [...[...nodes].map((n) => labNamespace(lab, n)), labNamespace(lab, 'mgmt'), labNamespace(lab, 'external')];
}

function recordedTargets(paths: LabPaths, state: LabState | null): { first: ProcTarget[]; then: ProcTarget[] } {
  const agents = (state?.nodes ?? [])
    .filter((n) => n.agentPid)
    .map((n) => ({ pid: n.agentPid!, markers: agentMarkers(paths, n.name), label: `agent of ${n.name}` }));
  const dhcp = listInstances(paths)
    .filter((i) => i.dhcpPid)
    .map((i) => ({ pid: i.dhcpPid!, markers: dhcpMarkers(paths.instanceDir(i.id)), label: `DHCP client of instance ${i.name}` }));
  const server = state?.server.pid ? [{ pid: state.server.pid, markers: serverMarkers(paths), label: 'server' }] : [];
  const metadata = state?.metadata?.pid ? [{ pid: state.metadata.pid, markers: metadataMarkers(paths), label: 'metadata server' }] : [];
  return { first: agents, then: [...dhcp, ...metadata, ...server] };
}

/** Processes still inside the lab's namespaces (e.g. a command started with `lab exec`). */
async function strays(namespaces: string[]): Promise<ProcTarget[]> {
  const out: ProcTarget[] = [];
  for (const ns of namespaces) {
    for (const pid of await namespacePids(ns)) {
      const cmd = readCmdline(pid);
      if (cmd) out.push({ pid, markers: [cmd[0]], label: `${cmd[0]} in ${ns}` });
    }
  }
  return out;
}

export async function labDown(o: { lab: string; stateRoot?: string; print: Print }): Promise<void> {
  checkLabName(o.lab);
  const paths = labPaths(stateRoot(o.stateRoot), o.lab);
  const state = safeState(paths, o.print);
  const rec = recordedTargets(paths, state);
  // Agents first, so nothing is re-created meanwhile; the namespaces are listed only once they have
  // ended, since an agent finishes the pass it is in on SIGTERM (and that pass may add one).
  const ended = await terminate(rec.first);
  const privateNodes = (state?.topology.nodes ?? []).filter((n) => isExtraNetworkNode(n.name));
  ended.push(...(await terminate(privateNodes.flatMap((n) => daemonsOfPrivateAgent(paths.agentState(n.name), n.name)))));
  const instanceNs = listNamespaces().filter((ns) => ns.startsWith(`${o.lab}-i-`));
  const agentNs = (await agentNamespaces(paths, state)).filter(namespaceExists);
  const own = ownNamespaces(o.lab, paths, state).filter(namespaceExists);
  const all = [...agentNs, ...instanceNs, ...own];
  const dnsmasq = dnsmasqTargets(paths, agentNs);
  ended.push(...(await terminate([...dnsmasq, ...strayDnsmasq(paths, new Set(dnsmasq.map((t) => t.pid))), ...rec.then])));
  ended.push(...(await terminate(await strays(all))));
  for (const ns of all) await deleteNamespace(ns);

  const left = all.filter(namespaceExists);
  if (left.length) throw new LabError(`could not delete namespace ${left.join(', ')}; lab dir ${paths.dir} kept for another 'lab down'`);
  const hadDir = existsSync(paths.dir);
  rmSync(paths.dir, { recursive: true, force: true });
  const labsDir = dirname(paths.dir);
  if (existsSync(labsDir) && !readdirSync(labsDir).length) rmdirSync(labsDir);
  if (!ended.length && !all.length && !hadDir) o.print(`lab ${o.lab}: nothing to remove`);
  else
    o.print(
      `lab ${o.lab} is down: ended ${ended.length} process(es), deleted ${all.length} namespace(s)${hadDir ? `, removed ${paths.dir}` : ''}`,
    );
  for (const p of ended) o.print(`  ended ${p}`);
}
