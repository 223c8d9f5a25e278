// The one exec seam: run an argument vector (never a shell string), optionally inside a named network namespace, with stdin.
import { spawn } from 'node:child_process';
import { assertNamespaceName } from '../kernel/names.js';
import { classify, ExecError, failedLine } from './errors.js';

export interface RunOptions {
  /** Name under /run/netns; undefined = the calling process's namespace. */
  netns?: string;
  stdin?: string;
  timeoutMs?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

export type Runner = (argv: readonly string[], opts?: RunOptions) => Promise<RunResult>;

/** Tools with their own netns switch; everything else is entered with nsenter. */
const NETNS_AWARE = new Set(['ip', 'bridge']);

/**
 * The argv that runs `argv` inside `netns`. `nsenter --net` enters the network namespace alone:
 * `ip netns exec` would also give the command a private mount namespace, in which namespaces it
 * creates cannot be used by anyone else.
 */
export function inNetns(argv: readonly string[], netns: string | undefined): string[] {
  if (argv.length === 0) throw new Error('empty argv');
  if (netns === undefined) return [...argv];
  const ns = assertNamespaceName(netns);
  const [cmd, ...rest] = argv as [string, ...string[]];
  if (NETNS_AWARE.has(cmd)) return [cmd, '-n', ns, ...rest];
  return ['nsenter', `--net=/run/netns/${ns}`, '--', ...argv];
}

export const run: Runner = (argv, opts = {}) => {
  const full = inNetns(argv, opts.netns);
  return new Promise((resolve, reject) => {
    const child = spawn(full[0]!, full.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], shell: false });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 30_000);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const kind = e.code === 'ENOENT' ? 'no-command' : 'failed';
      reject(new ExecError(kind, full, null, e.message, opts.netns));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0 && !timedOut) return resolve({ stdout, stderr });
      const kind = timedOut ? 'timeout' : classify(stderr, code);
      reject(new ExecError(kind, full, code, stderr, opts.netns, failedLine(stderr, opts.stdin)));
    });
    // A child that exits before reading stdin must not crash us with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.stdin ?? '');
  });
};
