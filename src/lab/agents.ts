// The node agents: each node's agent.ini (as on a real host), the `nsenter --net` command that runs a
// real `neutrino agent` inside the node's namespace, and the wait until GET /v2.0/agents shows it alive.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentConfig } from '../agent/config.ts';
import { DEFAULT_METADATA_CONFIG, renderAgentConfig } from '../agent/config.ts';
import type { NeutrinoClient } from '../client/neutrino.ts';
import { AGENT_L2 } from '../model/neutron.ts';
import { NEUTRINO_BIN, type LabPaths } from './paths.ts';
import { DEFAULT_ADVERT_INT } from '../planner/keepalived.ts';
import { hasEnded } from './procs.ts';
import { inNetns, spawnDetached } from '../exec/run.ts';
import type { LabState } from './state.ts';
import { isExtraNetworkNode, LabError, type LabNode } from './topology.ts';
import { lastLogLine, waitFor, type Abort } from './util.ts';

/** The agent configuration of one node (pure). */
export function nodeAgentConfig(state: LabState, paths: LabPaths, node: LabNode): AgentConfig {
  return {
    host: node.name,
    statePath: paths.agentState(node.name),
    serverUrl: `unix:${paths.socket}`,
    username: 'admin',
    password: state.server.adminPassword,
    project: 'admin',
    userDomainName: 'Default',
    projectDomainName: 'Default',
    authUrl: null,
    roles: node.roles,
    localIp: node.managementIp,
    enableVxlan: true,
    l2Population: true,
    // Neutron's default: ARP is flooded to the other VTEPs, so gratuitous ARP reaches every instance.
    arpResponder: false,
    udpDstport: null,
    ttl: null,
    tos: null,
    vxlanGroup: '224.0.0.1',
    physicalInterfaceMappings: { provider: node.providerNic },
    bridgeMappings: {},
    enableIpset: true,
    reportInterval: 5,
    availabilityZone: 'nova',
    resyncInterval: 3,
    // Within the 3 s `lab down` waits before SIGKILL.
    gracefulShutdownTimeout: 2,
    haVrrpAdvertInt: DEFAULT_ADVERT_INT,
    metadata: {
      ...DEFAULT_METADATA_CONFIG,
      // The lab has networks without routers: their instances get metadata from the DHCP namespace.
      enableIsolatedMetadata: true,
      ...(state.metadata
        ? { novaMetadataHost: state.metadata.host, novaMetadataPort: state.metadata.port, sharedSecret: state.metadata.secret }
        : {}),
    },
  };
}

/**
 * Node.js flags of an agent: V8 lets the young generation grow to 128 MiB while a pass on a big node
 * allocates, though the agent keeps a few MiB alive; capped at 2 MiB semi-spaces, its resident
 * memory follows what it holds (contrib/systemd/neutrino-agent.service sets the same).
 */
export const AGENT_NODE_FLAGS = ['--max-semi-space-size=2'];

/**
 * glibc's malloc, told to give memory back (contrib/systemd/neutrino-agent.service sets the same):
 * - each thread that allocates gets its own arena (up to 8 per core), each keeping what was freed in
 *   it: the agent's few threads (libuv's pool, V8's helpers) held some MiB that way. Two arenas.
 * - once a block of more than 128 KiB is freed, glibc raises its mmap threshold (up to 32 MiB) and its
 *   trim threshold to twice that, so the heap it keeps grows with the largest outputs read (an
 *   iptables-save of a big node): fixed at 128 KiB, the 1,000-port node's agent kept ~6 MiB less
 *   (BENCHMARKS.md).
 */
export const AGENT_ENV = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_TRIM_THRESHOLD_: '131072' };

/**
 * `nsenter --net=/run/netns/<ns> -- node --max-semi-space-size=2 bin/neutrino.js agent --config <ini>`
 * (pure). With `netnsDir`, the agent runs in a mount namespace of its own where that directory is
 * /run/netns, as on a host of its own: the namespaces it makes (qrouter-<id>, also on the controller
 * for an HA router) are apart from the other nodes'. Its daemons inherit that mount namespace.
 */
export function agentArgv(namespace: string, ini: string, netnsDir?: string): string[] {
  const agent = [process.execPath, ...AGENT_NODE_FLAGS, NEUTRINO_BIN, 'agent', '--config', ini];
  if (!netnsDir) return inNetns(agent, namespace);
  const own = ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind "$0" /run/netns && exec "$@"', netnsDir];
  return inNetns([...own, ...agent], namespace);
}

/** The /run/netns of a network node besides the controller (see agentArgv); null for the others. */
export const nodeNetnsDir = (paths: LabPaths, node: Pick<LabNode, 'name'>): string | null =>
  isExtraNetworkNode(node.name) ? join(paths.nodeDir(node.name), 'netns') : null;

export const agentMarkers = (paths: LabPaths, node: string) => ['agent', paths.agentIni(node)];

export function writeAgentConfig(state: LabState, paths: LabPaths, node: LabNode): void {
  mkdirSync(paths.agentState(node.name), { recursive: true, mode: 0o755 }); // dnsmasq (nobody) reads below it
  writeFileSync(paths.agentIni(node.name), renderAgentConfig(nodeAgentConfig(state, paths, node)), { mode: 0o600 });
}

export function startAgent(paths: LabPaths, node: LabNode): Promise<number> {
  const netnsDir = nodeNetnsDir(paths, node);
  // A fresh directory each start: namespaces a former agent made live on in its own mount namespace only.
  if (netnsDir) {
    rmSync(netnsDir, { recursive: true, force: true });
    mkdirSync(netnsDir, { recursive: true, mode: 0o755 });
  }
  return spawnDetached(agentArgv(node.namespace, paths.agentIni(node.name), netnsDir ?? undefined), {
    log: paths.agentLog(node.name),
    env: { ...process.env, ...AGENT_ENV },
  });
}

interface ApiAgent {
  agent_type: string;
  host: string;
  alive: boolean;
}

/** Waits until every node's Linux bridge agent is alive; names the first node that is not. */
export async function waitAgentsAlive(
  client: NeutrinoClient,
  paths: LabPaths,
  nodes: Array<{ name: string; pid: number }>,
  abort: Abort,
  timeoutMs = 30_000,
): Promise<void> {
  let firstMissing = nodes[0];
  await waitFor(
    async () => {
      for (const n of nodes) {
        if (hasEnded({ pid: n.pid, markers: agentMarkers(paths, n.name) })) {
          throw new LabError(`the agent of node ${n.name} exited (${lastLogLine(paths.agentLog(n.name))}; log: ${paths.agentLog(n.name)})`);
        }
      }
      const { agents } = await client.call<{ agents: ApiAgent[] }>('GET', '/v2.0/agents');
      const missing = nodes.filter((n) => !agents.some((a) => a.agent_type === AGENT_L2 && a.host === n.name && a.alive));
      firstMissing = missing[0];
      return missing.length ? null : true;
    },
    {
      timeoutMs,
      everyMs: 200,
      abort,
      onTimeout: () =>
        new LabError(
          `the ${AGENT_L2} of node ${firstMissing.name} did not show alive within ${timeoutMs / 1000} s (log: ${paths.agentLog(firstMissing.name)})`,
        ),
    },
  );
}
