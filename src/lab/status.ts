// `neutrino lab status`: the lab's server and node agents, checked live (PID still ours, server
// answering), as JSON or a readable table.
import { agentMarkers } from './agents.ts';
import type { LabContext } from './context.ts';
import { isOurs } from './procs.ts';
import { serverAnswers, serverMarkers } from './server-proc.ts';

export interface LabStatus {
  lab: string;
  stateDir: string;
  status: 'starting' | 'up';
  server: { pid: number | null; url: string | null; socket: string; alive: boolean };
  nodes: Array<{ name: string; namespace: string; roles: string[]; managementIp: string; agentPid: number | null; agentAlive: boolean }>;
  external: { namespace: string; address: string };
}

export async function labStatus({ paths, state }: LabContext): Promise<LabStatus> {
  const s = state.server;
  const serverAlive = !!s.pid && isOurs({ pid: s.pid, markers: serverMarkers(paths) }) && !!s.url && (await serverAnswers(s.url));
  return {
    lab: state.lab,
    stateDir: paths.dir,
    status: state.status,
    server: { pid: s.pid, url: s.url, socket: s.socket, alive: serverAlive },
    nodes: state.topology.nodes.map((n) => {
      const pid = state.nodes.find((x) => x.name === n.name)?.agentPid ?? null;
      return {
        name: n.name,
        namespace: n.namespace,
        roles: n.roles,
        managementIp: n.managementIp,
        agentPid: pid,
        agentAlive: !!pid && isOurs({ pid, markers: agentMarkers(paths, n.name) }),
      };
    }),
    external: { namespace: state.topology.external.namespace, address: state.topology.external.address },
  };
}

/** Left-aligned columns. */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}

export function renderStatus(st: LabStatus): string {
  const head = `lab ${st.lab} (${st.status}), state in ${st.stateDir}\nserver: ${st.server.url ?? '-'} pid ${st.server.pid ?? '-'} ${st.server.alive ? 'alive' : 'NOT RUNNING'}, agents use unix:${st.server.socket}\n`;
  const rows = [
    ['NODE', 'NAMESPACE', 'ROLES', 'MANAGEMENT IP', 'AGENT PID', 'AGENT'],
    ...st.nodes.map((n) => [
      n.name,
      n.namespace,
      n.roles.join(','),
      n.managementIp,
      n.agentPid ? String(n.agentPid) : '-',
      n.agentPid ? (n.agentAlive ? 'running' : 'NOT RUNNING') : 'not started',
    ]),
    ['external', st.external.namespace, 'upstream', st.external.address, '-', '-'],
  ];
  return head + table(rows);
}
