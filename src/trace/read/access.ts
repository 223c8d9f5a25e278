// How the tracer reaches a Neutron host: this machine, a network namespace standing for a node (the
// lab; a lab node whose agent has a /run/netns of its own is entered through that agent's mount
// namespace), or SSH to a real host. Each gives a Runner (namespaces entered on the node itself) and a
// file reader; the argv each builds is pure, so it is tested without running anything.
import { readFile as fsReadFile } from 'node:fs/promises';
import { isExecError } from '../../exec/errors.ts';
import { inNetns, run as localRun, type Runner } from '../../exec/run.ts';
import { isNamespaceName } from '../../kernel/names.ts';
import { shellQuote } from '../../exec/shell-quote.ts';

/** netns: `mountOf` is the process whose mount namespace has the node's /run/netns (netns:NAME@PID). */
export type AccessSpec =
  { kind: 'local' } | { kind: 'netns'; name: string; mountOf?: number } | { kind: 'ssh'; user: string; address: string };

export class AccessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AccessError';
  }
}

// A login name and a host name, IPv4 or IPv6 address; neither may start with '-' (ssh would take it for an option).
const SSH_USER = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const SSH_ADDRESS = /^(?:[A-Za-z0-9][A-Za-z0-9.-]*|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*|\[[0-9A-Fa-f:.]+\])$/;

const USAGE = "expected 'local', 'netns:NAME' or 'ssh:USER@ADDRESS'";

export function parseAccess(text: string): AccessSpec {
  if (text === 'local') return { kind: 'local' };
  const colon = text.indexOf(':');
  const scheme = colon < 0 ? text : text.slice(0, colon);
  const rest = colon < 0 ? '' : text.slice(colon + 1);
  if (scheme === 'netns') {
    const [name, pid, ...more] = rest.split('@');
    if (!isNamespaceName(name))
      throw new AccessError(`access '${text}': '${name}' is not a namespace name (letters, digits, '_', '.', '-'); ${USAGE}`);
    if (pid === undefined) return { kind: 'netns', name };
    if (more.length || !/^[1-9]\d{0,9}$/.test(pid))
      throw new AccessError(`access '${text}': '${pid}' is not a process id (netns:NAME@PID)`);
    return { kind: 'netns', name, mountOf: Number(pid) };
  }
  if (scheme === 'ssh') {
    const at = rest.indexOf('@');
    const user = rest.slice(0, Math.max(at, 0));
    const address = rest.slice(at + 1);
    if (at < 0 || !SSH_USER.test(user)) throw new AccessError(`access '${text}': ssh needs a user name before '@'; ${USAGE}`);
    if (!SSH_ADDRESS.test(address)) throw new AccessError(`access '${text}': '${address}' is not a host name or address; ${USAGE}`);
    return { kind: 'ssh', user, address: address.replace(/^\[(.*)\]$/, '$1') };
  }
  throw new AccessError(`access '${text}': ${USAGE}`);
}

export function formatAccess(spec: AccessSpec): string {
  switch (spec.kind) {
    case 'local':
      return 'local';
    case 'netns':
      return `netns:${spec.name}${spec.mountOf === undefined ? '' : `@${spec.mountOf}`}`;
    case 'ssh':
      return `ssh:${spec.user}@${spec.address}`;
  }
}

export const SSH_OPTIONS = ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5'];
/**
 * ssh connections open at once to one node: servers drop unauthenticated connections beyond a few
 * (OpenSSH's MaxStartups 10:30:100, dropbear's 5 per address), and each command is one connection.
 */
export const SSH_PARALLEL = 4;

/**
 * The local argv that runs `argv` on the node, in `netns` (a name under /run/netns on the node;
 * undefined = the node's own namespace). For netns:NAME the node's own namespace is NAME, and its
 * other namespaces are names under the same /run/netns (the lab shares one). `sshOptions` go before
 * the destination (e.g. ['-F', FILE], ['-i', KEY]).
 */
export function accessArgv(spec: AccessSpec, argv: readonly string[], netns?: string, sshOptions: readonly string[] = []): string[] {
  switch (spec.kind) {
    case 'local':
      return inNetns(argv, netns);
    case 'netns': {
      if (spec.mountOf === undefined) return inNetns(argv, netns ?? spec.name);
      // The process's /run/netns holds the node's namespaces but not the node's own: that one is the process's.
      const proc = `/proc/${spec.mountOf}/ns`;
      if (netns === undefined) return ['nsenter', `--mount=${proc}/mnt`, `--net=${proc}/net`, '--', ...argv];
      return ['nsenter', `--mount=${proc}/mnt`, '--', ...inNetns(argv, netns)];
    }
    case 'ssh': {
      // ssh hands the remote shell one command line: quote every word; namespaces are entered over there.
      const remote = inNetns(argv, netns).map(shellQuote).join(' ');
      return ['ssh', ...SSH_OPTIONS, ...sshOptions, `${spec.user}@${spec.address}`, '--', remote];
    }
  }
}

export interface NodeAccess {
  spec: AccessSpec;
  /** 'local', 'netns:NAME', 'ssh:USER@ADDRESS' (NodeDump.access) */
  label: string;
  /** Runs on the node; `netns` undefined = the node's own namespace, a name = a namespace on that node. */
  run: Runner;
  /** A file's text on the node; null when it does not exist. Other failures reject. */
  readFile(path: string): Promise<string | null>;
}

export interface NodeAccessOptions {
  /** runs an argv on this machine (default: src/exec/run.ts) */
  exec?: Runner;
  /** more ssh options, before the destination */
  sshOptions?: readonly string[];
}

export function nodeAccess(spec: AccessSpec, opts: NodeAccessOptions = {}): NodeAccess {
  const label = formatAccess(spec);
  const exec = opts.exec ?? localRun;
  const sshOptions = opts.sshOptions ?? [];
  const limit = spec.kind === 'ssh' ? limiter(SSH_PARALLEL) : <T>(f: () => Promise<T>) => f();
  // accessArgv has already entered the namespace: the local runner must not enter one again.
  // async, so that an invalid namespace name rejects like any other failure.
  const runOn: Runner = async (argv, o = {}) => {
    const full = accessArgv(spec, argv, o.netns, sshOptions);
    return limit(() => exec(full, { ...o, netns: undefined }));
  };
  const readFile =
    spec.kind === 'ssh'
      ? async (path: string) => {
          try {
            return (await runOn(['cat', '--', path])).stdout;
          } catch (e) {
            if (isExecError(e, 'not-found')) return null;
            throw e;
          }
        }
      : async (path: string) => {
          // The lab's nodes share this machine's file system; a netns access reads it directly.
          try {
            return await fsReadFile(path, 'utf8');
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
            throw e;
          }
        };
  return { spec, label, run: runOn, readFile };
}

/** Runs at most `n` of the functions given to it at once, the others in turn. */
function limiter(n: number): <T>(f: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (f) => {
    // A finishing call hands its slot straight to the next waiting one, so none can slip in between.
    if (active >= n) await new Promise<void>((r) => waiting.push(r));
    else active++;
    try {
      return await f();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
