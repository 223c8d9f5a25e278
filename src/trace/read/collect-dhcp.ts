// Reads what runs in a node's service namespaces: the PIDs in each (`ip netns pids`), their command
// lines, and the files the daemons' own arguments name (dnsmasq's in qdhcp-, radvd's -C and the
// state file beside keepalived's -f in qrouter-). Only reads; what cannot be read is said in `errors` and left null.
import { dirname, join } from 'node:path';
import { isExecError } from '../../exec/errors.ts';
import type { NodeAccess } from './access.ts';
import { argValue, dnsmasqFiles, isDnsmasq, parseCmdline, parseNetnsPids } from './dnsmasq.ts';
import type { DhcpNamespaceDump } from '../snapshot.ts';

export const netnsPidsArgv = (ns: string) => ['ip', 'netns', 'pids', ns];
export const cmdlinePath = (pid: number) => `/proc/${pid}/cmdline`;

const why = (e: unknown) => (isExecError(e) ? e.stderr.trim().split('\n')[0] || e.message : e instanceof Error ? e.message : String(e));

/** The files a process's argv names that a trace reads: dnsmasq's host/opts/lease files. */
const dnsmasqPaths = (argv: string[] | null): string[] => (isDnsmasq(argv) ? Object.values(dnsmasqFiles(argv)) : []);

export const isRadvd = (argv: readonly string[] | null): argv is string[] => !!argv && /(^|\/)radvd$/.test(argv[0] ?? '');
/** radvd's configuration file (`-C`). */
export const radvdConfigOf = (argv: readonly string[]): string | undefined => argValue(argv, '-C') ?? argValue(argv, '--config');
export const isKeepalived = (argv: readonly string[] | null): argv is string[] => !!argv && /(^|\/)keepalived$/.test(argv[0] ?? '');
/**
 * The HA state file of a keepalived: `state` beside its configuration (`-f`), where Neutron's L3
 * agent writes the router's last VRRP state ('primary', 'backup'; ha_router.py ha_state_path).
 */
export const keepalivedStateFileOf = (argv: readonly string[]): string | undefined => {
  const conf = argValue(argv, '-f') ?? argValue(argv, '--use-file');
  return conf ? join(dirname(conf), 'state') : undefined;
};
const routerDaemonPaths = (argv: string[] | null): string[] => {
  const file = isRadvd(argv) ? radvdConfigOf(argv) : isKeepalived(argv) ? keepalivedStateFileOf(argv) : undefined;
  return file ? [file] : [];
};

export const collectDhcpNamespace = (access: NodeAccess, ns: string, errors: string[]) =>
  collectNamespaceProcesses(access, ns, errors, dnsmasqPaths);
/** A qrouter- namespace's processes, the radvd configuration and keepalived state file they name. */
export const collectRouterNamespace = (access: NodeAccess, ns: string, errors: string[]) =>
  collectNamespaceProcesses(access, ns, errors, routerDaemonPaths);

async function collectNamespaceProcesses(
  access: NodeAccess,
  ns: string,
  errors: string[],
  filesOf: (argv: string[] | null) => string[],
): Promise<DhcpNamespaceDump> {
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
  const paths = new Set(Object.values(dump.cmdlines).flatMap(filesOf));
  await Promise.all([...paths].map(async (p) => void (dump.files[p] = await read(p))));
  return dump;
}
