// Where a lab keeps its files: everything under <state root>/labs/<lab>/. Pure.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_STATE_ROOT = '/var/lib/neutrino';
export const DEFAULT_LAB = 'neutrino';

/** The state root from the flag, else NEUTRINO_STATE_ROOT, else /var/lib/neutrino. */
export function stateRoot(flag?: string): string {
  return resolve(flag ?? process.env.NEUTRINO_STATE_ROOT ?? DEFAULT_STATE_ROOT);
}

/** ` --state-root ROOT` for commands printed for the user to run, or '' when ROOT is the default. */
export function stateRootFlag(root: string): string {
  return resolve(root) === DEFAULT_STATE_ROOT ? '' : ` --state-root ${root}`;
}

export interface LabPaths {
  dir: string;
  labJson: string;
  cloudsYaml: string;
  serverDir: string;
  socket: string;
  logs: string;
  serverLog: string;
  nodesDir: string;
  instancesDir: string;
  nodeDir(node: string): string;
  agentIni(node: string): string;
  agentState(node: string): string;
  agentLog(node: string): string;
  instanceDir(id: string): string;
}

export function labPaths(root: string, lab: string): LabPaths {
  const dir = join(root, 'labs', lab);
  const logs = join(dir, 'logs');
  const nodesDir = join(dir, 'nodes');
  const instancesDir = join(dir, 'instances');
  return {
    dir,
    labJson: join(dir, 'lab.json'),
    cloudsYaml: join(dir, 'clouds.yaml'),
    serverDir: join(dir, 'server'),
    socket: join(dir, 'server.sock'),
    logs,
    serverLog: join(logs, 'server.log'),
    nodesDir,
    instancesDir,
    nodeDir: (node) => join(nodesDir, node),
    agentIni: (node) => join(nodesDir, node, 'agent.ini'),
    agentState: (node) => join(nodesDir, node, 'state'),
    agentLog: (node) => join(logs, `agent-${node}.log`),
    instanceDir: (id) => join(instancesDir, id),
  };
}

// This file lives at src/lab/ (run as TypeScript) or dist/lab/ (compiled): the repository is two levels up.
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The `neutrino` entry point the lab starts its server and agents with. */
export const NEUTRINO_BIN = join(repo, 'bin', 'neutrino.js');
/** The compiled DHCP client hook (src/lab/dhcp-hook.ts). */
export const DHCP_HOOK = join(repo, 'dist', 'lab', 'dhcp-hook.js');

/** Unix socket paths are limited to 107 bytes. */
export const MAX_SOCKET_PATH = 107;
