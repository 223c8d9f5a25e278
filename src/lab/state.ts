// lab.json: everything `lab down`, `lab status` and the instance commands need to find what a lab
// made (topology, PIDs, URLs, passwords). Written after every step of `lab up`, so a half-made lab
// can still be taken down. Parsing is pure; reading and writing are tiny.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { labTopology, LabError, type LabTopology } from './topology.ts';
import type { LabPaths } from './paths.ts';
/** Nova's metadata API port (metadata_listen_port), where the lab's agents send metadata requests. */
export const NOVA_METADATA_PORT = 8775;

export interface LabNodeState {
  name: string;
  namespace: string;
  managementIp: string;
  agentPid: number | null;
}

export interface LabState {
  version: 1;
  lab: string;
  stateDir: string;
  /** 'starting' until `lab up` has finished */
  status: 'starting' | 'up';
  createdAt: string;
  agents: boolean;
  topology: LabTopology;
  server: { pid: number | null; url: string | null; socket: string; adminPassword: string };
  demo: { project: string; username: string; password: string };
  nodes: LabNodeState[];
  /**
   * The lab's metadata server (Nova's stand-in) in the controller's namespace, and the
   * metadata_proxy_shared_secret it shares with the agents. Absent in labs made before it existed.
   */
  metadata?: { pid: number | null; host: string; port: number; secret: string };
}

export function newLabState(o: {
  lab: string;
  stateDir: string;
  nodes: string[];
  socket: string;
  agents: boolean;
  adminPassword: string;
  demoPassword: string;
  /** metadata_proxy_shared_secret; without it the lab has no metadata server */
  metadataSecret?: string;
  now: Date;
}): LabState {
  const topology = labTopology(o.lab, o.nodes);
  return {
    version: 1,
    lab: o.lab,
    stateDir: o.stateDir,
    status: 'starting',
    createdAt: o.now.toISOString(),
    agents: o.agents,
    topology,
    server: { pid: null, url: null, socket: o.socket, adminPassword: o.adminPassword },
    demo: { project: 'demo', username: 'demo', password: o.demoPassword },
    nodes: topology.nodes.map((n) => ({ name: n.name, namespace: n.namespace, managementIp: n.managementIp, agentPid: null })),
    ...(o.metadataSecret
      ? { metadata: { pid: null, host: topology.nodes[0]!.managementIp, port: NOVA_METADATA_PORT, secret: o.metadataSecret } }
      : {}),
  };
}

const isPid = (v: unknown) => v === null || (Number.isInteger(v) && (v as number) > 1);

/** Parses and checks lab.json's text; throws LabError naming the first problem. */
export function parseLabState(text: string, file = 'lab.json'): LabState {
  let s: LabState;
  try {
    s = JSON.parse(text) as LabState;
  } catch (e) {
    throw new LabError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  const bad = (what: string) => new LabError(`${file} is damaged: ${what}`);
  if (!s || s.version !== 1) throw bad('unknown version');
  if (typeof s.lab !== 'string' || !s.topology || !Array.isArray(s.topology.nodes)) throw bad('no lab name or topology');
  // Recomputing the topology from the names checks every namespace name the file holds.
  const expected = labTopology(
    s.lab,
    s.topology.nodes.map((n) => n.name),
  );
  if (JSON.stringify(expected) !== JSON.stringify(s.topology)) throw bad('topology does not match its node names');
  if (!Array.isArray(s.nodes) || s.nodes.some((n, i) => n.name !== expected.nodes[i]?.name || n.namespace !== expected.nodes[i].namespace))
    throw bad('nodes do not match the topology');
  if (!s.server || !isPid(s.server.pid) || s.nodes.some((n) => !isPid(n.agentPid)) || (s.metadata && !isPid(s.metadata.pid)))
    throw bad('invalid PID');
  return s;
}

export function readLabState(paths: LabPaths): LabState | null {
  if (!existsSync(paths.labJson)) return null;
  return parseLabState(readFileSync(paths.labJson, 'utf8'), paths.labJson);
}

/** Atomic write (temp file + rename), readable by root only: the file holds passwords. */
export function writeLabState(paths: LabPaths, state: LabState): void {
  const tmp = `${paths.labJson}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, paths.labJson);
}
