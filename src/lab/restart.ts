// `neutrino lab restart-agent NODE`: ends the node's agent by PID (if it still runs), starts the same
// command again in the node's namespace, records the new PID, and waits for its start report.
import { existsSync } from 'node:fs';
import { AGENT_L2 } from '../model/neutron.ts';
import { agentMarkers, startAgent, writeAgentConfig } from './agents.ts';
import { adminClient, type LabContext } from './context.ts';
import { hasEnded, terminate } from './procs.ts';
import { writeLabState } from './state.ts';
import { isExtraNetworkNode, LabError, LabUsageError } from './topology.ts';
import { daemonsOfPrivateAgent } from './mount-ns.ts';
import { lastLogLine, waitFor } from './util.ts';

interface ApiAgent {
  agent_type: string;
  host: string;
  alive: boolean;
  started_at: string;
}

/** Neutron's agent times are UTC without T and Z, to the second. */
const parseAgentTime = (t: string) => Date.parse(`${t.replace(' ', 'T')}Z`);

export async function restartAgent(
  ctx: LabContext,
  nodeName: string,
  timeoutMs = 30_000,
): Promise<{ pid: number; previous: number | null; ms: number }> {
  const { paths, state } = ctx;
  const node = state.topology.nodes.find((n) => n.name === nodeName);
  const rec = state.nodes.find((n) => n.name === nodeName);
  if (!node || !rec)
    throw new LabUsageError(`lab '${state.lab}' has no node '${nodeName}' (nodes: ${state.nodes.map((n) => n.name).join(', ')})`);
  const previous = rec.agentPid;
  const markers = agentMarkers(paths, nodeName);
  if (previous) await terminate([{ pid: previous, markers, label: `agent of ${nodeName}` }]);
  // A new mount namespace comes with the new agent: the former one's daemons go with their namespaces.
  if (isExtraNetworkNode(nodeName)) await terminate(daemonsOfPrivateAgent(paths.agentState(nodeName), nodeName));
  if (!existsSync(paths.agentIni(nodeName))) writeAgentConfig(state, paths, node);
  const t0 = Date.now();
  const since = Math.floor(t0 / 1000) * 1000;
  const pid = await startAgent(paths, node);
  rec.agentPid = pid;
  writeLabState(paths, state);
  const client = adminClient(state);
  const log = paths.agentLog(nodeName);
  await waitFor(
    async () => {
      if (hasEnded({ pid, markers })) throw new LabError(`the agent of node ${nodeName} exited (${lastLogLine(log)}; log: ${log})`);
      const { agents } = await client.call<{ agents: ApiAgent[] }>('GET', '/v2.0/agents');
      return (
        agents.some((a) => a.agent_type === AGENT_L2 && a.host === nodeName && a.alive && parseAgentTime(a.started_at) >= since) || null
      );
    },
    {
      timeoutMs,
      everyMs: 100,
      onTimeout: () => new LabError(`the agent of node ${nodeName} did not report its start within ${timeoutMs / 1000} s (log: ${log})`),
    },
  );
  return { pid, previous, ms: Date.now() - t0 };
}
