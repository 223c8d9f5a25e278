// A real `neutrino server` process with a Unix socket (server-process.ts's spawner, on its own temp
// state dir and an ephemeral loopback port), for tests of what the process does on signals.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_PASSWORD } from './server.ts';
import { freePort, listening, spawnServer as spawnProcess } from './server-process.ts';

export interface ServerProcess {
  proc: ChildProcess;
  url: string;
  port: number;
  socket: string;
  stateDir: string;
  /** What the process wrote so far (for assertion messages). */
  stderr(): string;
  /** Resolves when it exits (the code, and the time since `since`, e.g. the signal), or after `giveUpMs` with `running: true`. */
  exited(
    since: number,
    giveUpMs?: number,
  ): Promise<{ running: boolean; code: number | null; signal: NodeJS.Signals | null; afterMs: number }>;
  /** Kills the process if still running (by its PID) and removes the state dir. */
  cleanup(): Promise<void>;
}

export async function spawnServer(extraArgs: string[] = []): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-proc-'));
  const port = await freePort();
  const socket = join(dir, 'api.sock');
  const server = spawnProcess(dir, port, { NEUTRINO_ADMIN_PASSWORD: ADMIN_PASSWORD }, [
    '--listen-unix',
    socket,
    '--log-level',
    'warn',
    ...extraArgs,
  ]);
  const proc = server.child;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const cleanup = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exit;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await listening(server, 20_000);
  } catch (e) {
    await cleanup();
    throw e;
  }
  return {
    proc,
    url: server.url,
    port,
    socket,
    stateDir: dir,
    stderr: server.output,
    exited: async (since, giveUpMs = 20_000) => {
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), giveUpMs)));
      const e = await Promise.race([exit, gaveUp]);
      clearTimeout(timer);
      return e
        ? { running: false, code: e.code, signal: e.signal, afterMs: e.at - since }
        : { running: true, code: null, signal: null, afterMs: Date.now() - since };
    },
    cleanup,
  };
}
