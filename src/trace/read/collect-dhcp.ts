// Reads what runs in a node's qdhcp- namespaces: the PIDs in each (`ip netns pids`), their command
// lines, and the files each dnsmasq's own arguments name. Only reads; what cannot be read is said
// in `errors` and left null.
import { isExecError } from '../../exec/errors.js';
import type { NodeAccess } from './access.js';
import { dnsmasqFiles, isDnsmasq, parseCmdline, parseNetnsPids } from './dnsmasq.js';
import type { DhcpNamespaceDump } from '../snapshot.js';

export const netnsPidsArgv = (ns: string) => ['ip', 'netns', 'pids', ns];
export const cmdlinePath = (pid: number) => `/proc/${pid}/cmdline`;

const why = (e: unknown) => (isExecError(e) ? e.stderr.trim().split('\n')[0] || e.message : e instanceof Error ? e.message : String(e));

export async function collectDhcpNamespace(access: NodeAccess, ns: string, errors: string[]): Promise<DhcpNamespaceDump> {
  const dump: DhcpNamespaceDump = { pids: null, cmdlines: {}, files: {} };
  try {
    dump.pids = parseNetnsPids((await access.run(netnsPidsArgv(ns))).stdout);
  } catch (e) {
    errors.push(`cannot list the processes in namespace ${ns}: ${why(e)}`);
    return dump;
  }
  const read = async (path: string): Promise<string | null> => {
    try {
      return await access.readFile(path);
    } catch (e) {
      errors.push(`cannot read ${path} (namespace ${ns}): ${why(e)}`);
      return null;
    }
  };
  await Promise.all(
    dump.pids.map(async (pid) => {
      const text = await read(cmdlinePath(pid));
      dump.cmdlines[String(pid)] = text === null ? null : parseCmdline(text);
    }),
  );
  const paths = new Set(
    Object.values(dump.cmdlines)
      .filter(isDnsmasq)
      .flatMap((argv) => Object.values(dnsmasqFiles(argv))),
  );
  await Promise.all([...paths].map(async (p) => void (dump.files[p] = await read(p))));
  return dump;
}
