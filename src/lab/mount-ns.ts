// The daemons of the agents that have a /run/netns of their own (network nodes besides the controller):
// keepalived, haproxy and dnsmasq run there in namespaces only their agent's mount namespace names,
// so `lab down` and `lab restart-agent` find them by what they run (files under the node's agent
// state dir) in a mount namespace other than this process's, once their agent has ended.
import { readdirSync, readlinkSync } from 'node:fs';
import { readCmdline, type ProcTarget } from './procs.ts';

const mountNs = (pid: number | 'self'): string | null => {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return null;
  }
};

/** The processes, in another mount namespace, whose arguments name a file under `stateDir`. */
export function daemonsOfPrivateAgent(stateDir: string, node: string): ProcTarget[] {
  const mine = mountNs('self');
  const out: ProcTarget[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    const cmd = readCmdline(pid);
    if (!cmd?.some((a) => a.includes(`${stateDir}/`))) continue;
    const ns = mountNs(pid);
    if (ns && ns !== mine) out.push({ pid, markers: [cmd[0]!, stateDir], label: `${cmd[0]} of node ${node}` });
  }
  return out;
}
