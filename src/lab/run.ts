// How the lab runs commands: argument arrays only (never a shell), in the root namespace or in one of
// the lab's network namespaces through `nsenter --net` (not `ip netns exec`, whose private mount
// namespace hides namespaces created later), plus detached long-running processes with a log file.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { LabError, LabUsageError } from './topology.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class LabCommandError extends LabError {
  constructor(
    readonly argv: string[],
    readonly result: RunResult,
  ) {
    const why = result.stderr.trim().split('\n').pop() || `exit status ${result.code}`;
    super(`${argv.join(' ')}: ${why}`);
  }
}

/** The argv that runs `argv` inside network namespace `ns` (only the network namespace is entered). */
export function inNamespace(ns: string, argv: string[]): string[] {
  return ['nsenter', `--net=/run/netns/${ns}`, '--', ...argv];
}

/** Runs a command to completion; never throws on a non-zero exit (see runOk). */
export function run(argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const input = opts.input;
    const child = spawn(argv[0], argv.slice(1), { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], timeout: opts.timeoutMs ?? 30_000 });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => reject(new LabUsageError(`cannot run ${argv[0]}: ${e.message}`)));
    child.on('close', (code, signal) =>
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
    if (child.stdin) {
      child.stdin.on('error', () => undefined); // the command may exit before reading; its status tells
      child.stdin.end(input);
    }
  });
}

/** Runs a command and returns its stdout; a non-zero exit becomes a LabCommandError. */
export async function runOk(argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0) throw new LabCommandError(argv, r);
  return r.stdout;
}

/** Runs a command with the caller's stdin/stdout/stderr and resolves its exit status. */
export function runInherit(argv: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: 'inherit' });
    child.on('error', (e) => reject(new LabUsageError(`cannot run ${argv[0]}: ${e.message}`)));
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + (signalNumber(signal) ?? 0) : 1)));
  });
}

const signalNumber = (s: NodeJS.Signals) => ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 })[s as string];

/**
 * Starts a process that outlives the CLI (its own process group, stdio to `log`) and resolves its
 * PID once it has started.
 */
export function spawnDetached(argv: string[], opts: { log: string; env?: NodeJS.ProcessEnv }): Promise<number> {
  const fd = openSync(opts.log, 'a', 0o600);
  return new Promise<number>((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', fd, fd], env: opts.env ?? process.env });
    child.once('error', (e) => reject(new LabUsageError(`cannot start ${argv[0]}: ${e.message}`)));
    child.once('spawn', () => {
      child.unref();
      resolve(child.pid!);
    });
  }).finally(() => closeSync(fd));
}
