// Runs the built `neutrino server` as a real process on a loopback port (tests that kill or restart it).
import { spawn, type ChildProcess } from 'node:child_process';
import { freeLoopbackPort } from '../../src/lab/server-proc.ts';
import { BIN } from './neutrino-cli.ts';

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  /** Everything it wrote so far (pino JSON lines on stdout, errors on stderr). */
  output(): string;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  exited: Promise<number | string>;
}

export const freePort = freeLoopbackPort;

/** Spawns the server; does not wait for it (see `listening`). */
export function spawnServer(stateDir: string, port: number, env: Record<string, string> = {}, extraArgs: string[] = []): ServerProcess {
  // The caller decides whether the admin is bootstrapped: the test runner's own setting does not leak in.
  const { NEUTRINO_ADMIN_PASSWORD: _ignored, ...inherited } = process.env;
  const child = spawn(process.execPath, [BIN, 'server', '--state-dir', stateDir, '--listen', `127.0.0.1:${port}`, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...inherited, ...env },
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return { child, pid: child.pid!, url: `http://127.0.0.1:${port}`, output: () => out, exited };
}

/** Waits until it answers HTTP (whatever its log level); fails with its output if it exits first. */
export async function listening(server: ServerProcess, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let ended = false;
  void server.exited.then(() => (ended = true));
  for (;;) {
    if (ended) throw new Error(`server exited during start-up:\n${server.output()}`);
    try {
      if ((await fetch(`${server.url}/identity/v3`)).status === 200) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > until) throw new Error(`server did not answer within ${timeoutMs} ms:\n${server.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Ends the process (by its PID) with `signal` and waits for it. */
export async function stopServer(server: ServerProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill(signal);
  await server.exited;
}
