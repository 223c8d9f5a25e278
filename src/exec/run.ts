// The one exec seam: run an argument vector (never a shell string), optionally inside a named network
// namespace, with stdin: to completion (failing or reporting its status), attached to the caller's
// terminal, or detached as a long-running process with a log file.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { constants } from 'node:os';
import { assertNamespaceName } from '../kernel/names.ts';
import { classify, ExecError, failedLine } from './errors.ts';

export interface RunOptions {
  /** Name under /run/netns; undefined = the calling process's namespace. */
  netns?: string;
  stdin?: string;
  timeoutMs?: number;
  /** Exit statuses besides 0 that still count as success (a `-force` batch where some lines failed). */
  acceptExit?: readonly number[];
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

/** How a command ended; `timedOut` when it was killed for taking longer than `timeoutMs`. */
interface Completion {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

/** A command that could not be started at all (not found, not executable). */
function notStarted(e: NodeJS.ErrnoException, argv: readonly string[], netns?: string): ExecError {
  return new ExecError(e.code === 'ENOENT' ? 'no-command' : 'failed', argv, null, e.message, netns);
}

/** The shell's convention: the exit code, or 128 + the number of the signal that ended it. */
function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  return code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
}

/** Runs `full` to completion, collecting its output; rejects only when it cannot be started. */
function complete(full: readonly string[], opts: RunOptions): Promise<Completion> {
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
      reject(notStarted(e, full, opts.netns));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, timedOut, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    // A child that exits before reading stdin must not crash us with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.stdin ?? '');
  });
}

/** Runs a command to completion; anything but exit status 0 rejects with an ExecError. */
export const run: Runner = async (argv, opts = {}) => {
  const full = inNetns(argv, opts.netns);
  const c = await complete(full, opts);
  const accepted = c.code === 0 || (c.code !== null && (opts.acceptExit?.includes(c.code) ?? false));
  if (accepted && !c.timedOut) return { stdout: c.stdout, stderr: c.stderr };
  const kind = c.timedOut ? 'timeout' : classify(c.stderr, c.code);
  throw new ExecError(kind, full, c.code, c.stderr, opts.netns, failedLine(c.stderr, opts.stdin));
};

export interface RunStatus extends RunResult {
  /** exit status (128 + signal number when a signal ended it) */
  code: number;
}

/** Runs a command whose failure is an answer (a probe): resolves with its exit status, whatever it is. */
export async function runStatus(argv: readonly string[], opts: RunOptions = {}): Promise<RunStatus> {
  const c = await complete(inNetns(argv, opts.netns), opts);
  return { code: exitStatus(c.code, c.signal), stdout: c.stdout, stderr: c.stderr };
}

/** Runs a command with the caller's stdin/stdout/stderr (an interactive `exec`) and resolves its exit status. */
export function runInherit(argv: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit', shell: false });
    child.on('error', (e: NodeJS.ErrnoException) => reject(notStarted(e, argv)));
    child.on('close', (code, signal) => resolve(exitStatus(code, signal)));
  });
}

/**
 * Starts a process that outlives its caller (its own process group, stdout and stderr appended to
 * `log`) and resolves its PID once it has started.
 */
export function spawnDetached(argv: readonly string[], opts: { log: string; env?: NodeJS.ProcessEnv }): Promise<number> {
  const fd = openSync(opts.log, 'a', 0o600);
  return new Promise<number>((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', fd, fd], env: opts.env ?? process.env, shell: false });
    child.once('error', (e: NodeJS.ErrnoException) => reject(notStarted(e, argv)));
    child.once('spawn', () => {
      child.unref();
      resolve(child.pid!);
    });
  }).finally(() => closeSync(fd));
}
