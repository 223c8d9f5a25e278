// `neutrino lab up`: namespaces and cables, the server, the demo project, the node agents; lab.json
// is saved after every step, and any failure takes down whatever was made before it is reported.
import { AGENT_L2 } from '../model/neutron.ts';
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { startAgent, waitAgentsAlive, writeAgentConfig } from './agents.ts';
import { bootstrapDemo } from './bootstrap.ts';
import { labClouds, renderCloudsYaml } from './clouds.ts';
import { adminClient } from './context.ts';
import { labDown } from './down.ts';
import { namespaceExists } from './netns.ts';
import { labPaths, MAX_SOCKET_PATH, stateRoot, stateRootFlag } from './paths.ts';
import { run } from '../exec/run.ts';
import { startMetadataServer } from './metadata-proc.ts';
import { startServer, waitForServer, type LabTenantNetworkType } from './server-proc.ts';
import { newLabState, writeLabState, type LabState } from './state.ts';
import { labNamespaces, labTopology, LabUsageError } from './topology.ts';
import { randomPassword, step, type Abort, type Print } from './util.ts';
import { wiringCommands } from './wiring.ts';

export interface UpOptions {
  lab: string;
  nodes: string[];
  stateRoot?: string;
  agents: boolean;
  /** the server's tenant_network_types (default vxlan) */
  tenantNetworkType?: LabTenantNetworkType;
  agentTimeoutMs?: number;
  print: Print;
  abort: Abort;
}

/** `/a/b/c` → `/a`, `/a/b`, `/a/b/c`. */
const ancestors = (dir: string) =>
  dir
    .split('/')
    .filter(Boolean)
    .map((_, i, parts) => '/' + parts.slice(0, i + 1).join('/'));

function preflight(o: UpOptions) {
  const topology = labTopology(o.lab, o.nodes);
  const root = stateRoot(o.stateRoot);
  const paths = labPaths(root, o.lab);
  if (process.getuid?.() !== 0) throw new LabUsageError('lab up needs root (it creates network namespaces)');
  if (existsSync(paths.labJson))
    throw new LabUsageError(`lab '${o.lab}' is already up (${paths.dir}); run 'neutrino lab down --lab ${o.lab}' first`);
  const taken = labNamespaces(topology).find(namespaceExists);
  if (taken)
    throw new LabUsageError(
      `namespace ${taken} already exists (left from an earlier lab '${o.lab}'?); run 'neutrino lab down --lab ${o.lab}' first`,
    );
  const closed = ancestors(dirname(root)).find((d) => existsSync(d) && (statSync(d).mode & 0o001) === 0);
  if (closed)
    throw new LabUsageError(
      `${closed} is not searchable by other users, so dnsmasq (which runs as nobody) could not read the agents' files; chmod o+x it or use another --state-root`,
    );
  if (paths.socket.length > MAX_SOCKET_PATH)
    throw new LabUsageError(`the server socket path ${paths.socket} is too long for a Unix socket; use a shorter --state-root`);
  return { topology, paths, root };
}

/** dnsmasq drops to nobody and must reach the agents' files: the state root needs o+x (not o+r). */
function searchableRoot(root: string, print: Print): void {
  if (!existsSync(root)) return; // created below with 0755
  const mode = statSync(root).mode;
  if ((mode & 0o001) === 0) {
    chmodSync(root, (mode & 0o7777) | 0o001);
    print(`  made ${root} searchable by other users (o+x): dnsmasq runs as nobody and reads the agents' files`);
  }
}

export async function labUp(o: UpOptions): Promise<LabState> {
  const { topology, paths, root } = preflight(o);
  const t0 = Date.now();
  o.print(`lab ${o.lab}: nodes ${o.nodes.join(', ')}; state in ${paths.dir}`);
  searchableRoot(root, o.print);
  // The agents' state dirs must be readable by dnsmasq, which runs as nobody: only secrets are private.
  for (const d of [paths.dir, paths.nodesDir, paths.instancesDir]) mkdirSync(d, { recursive: true, mode: 0o755 });
  for (const d of [paths.logs, paths.serverDir]) mkdirSync(d, { recursive: true, mode: 0o700 });
  const state = newLabState({
    lab: o.lab,
    stateDir: paths.dir,
    nodes: o.nodes,
    socket: paths.socket,
    agents: o.agents,
    adminPassword: randomPassword(),
    demoPassword: randomPassword(),
    metadataSecret: randomPassword(),
    now: new Date(),
  });
  writeLabState(paths, state);
  const save = () => writeLabState(paths, state);
  try {
    await step(o.print, o.abort, `namespaces ${labNamespaces(topology).join(', ')} and their cables`, async () => {
      for (const argv of wiringCommands(topology)) await run(argv);
    });
    await step(o.print, o.abort, 'server started', async () => {
      const { pid, url } = await startServer(paths, state.server.adminPassword, o.tenantNetworkType ?? 'vxlan');
      Object.assign(state.server, { pid, url });
      save();
      await waitForServer(paths, pid, url, o.abort);
    });
    o.print(`    ${state.server.url} (pid ${state.server.pid}), agents use unix:${paths.socket}`);
    const client = adminClient(state);
    await step(o.print, o.abort, 'project demo with member user demo', () => bootstrapDemo(client, state.demo));
    writeFileSync(
      paths.cloudsYaml,
      renderCloudsYaml(state.server.url!, labClouds(o.lab, state.server.adminPassword, state.demo.password)),
      { mode: 0o600 },
    );
    await step(
      o.print,
      o.abort,
      `metadata server (Nova's stand-in) on ${state.metadata!.host}:${state.metadata!.port} in ${topology.nodes[0]!.namespace}`,
      async () => {
        state.metadata!.pid = await startMetadataServer(paths, topology.nodes[0]!.namespace, state.metadata!.host, o.abort);
        save();
      },
    );
    for (const node of topology.nodes) writeAgentConfig(state, paths, node);
    if (o.agents) await startAgents(o, state, paths, client);
    else o.print('  agents not started (--no-agents); their configs are in ' + paths.nodesDir);
    state.status = 'up';
    save();
  } catch (e) {
    o.print(`  failed: ${(e as Error).message}; removing what was made`);
    await labDown({ lab: o.lab, stateRoot: o.stateRoot, print: (l) => o.print(`  ${l}`) }).catch((d: Error) =>
      o.print(`  teardown failed too: ${d.message}`),
    );
    throw e;
  }
  o.print(
    `lab ${o.lab} is up (${((Date.now() - t0) / 1000).toFixed(1)} s). Use it with: eval "$(neutrino lab env --lab ${o.lab}${stateRootFlag(root)})"`,
  );
  return state;
}

async function startAgents(o: UpOptions, state: LabState, paths: ReturnType<typeof labPaths>, client: ReturnType<typeof adminClient>) {
  const started: Array<{ name: string; pid: number }> = [];
  await step(o.print, o.abort, `agents started in ${state.topology.nodes.map((n) => n.namespace).join(', ')}`, async () => {
    for (const node of state.topology.nodes) {
      const pid = await startAgent(paths, node);
      state.nodes.find((n) => n.name === node.name)!.agentPid = pid;
      writeLabState(paths, state);
      started.push({ name: node.name, pid });
    }
  });
  await step(o.print, o.abort, `every ${AGENT_L2} alive in GET /v2.0/agents`, () =>
    waitAgentsAlive(client, paths, started, o.abort, o.agentTimeoutMs),
  );
}
