// A real `neutrino server` process with a Unix socket (bin/neutrino.js → dist/) on its own temp state dir, an ephemeral
// loopback port and a Unix socket, for tests of what the process does on signals.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort } from '../../src/lab/server-proc.js';
import { BIN } from './neutrino-cli.js';
import { ADMIN_PASSWORD } from './server.js';

export interface ServerProcess {
  proc: ChildProcess;
  url: string;
  port: number;
  socket: string;
  stateDir: string;
  /** What the process wrote to stderr so far (for assertion messages). */
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
  const port = await freeLoopbackPort();
  const socket = join(dir, 'api.sock');
  const args = [
    BIN,
    'server',
    '--state-dir',
    dir,
    '--listen',
    `127.0.0.1:${port}`,
    '--listen-unix',
    socket,
    '--log-level',
    'warn',
    ...extraArgs,
  ];
  const proc = spawn(process.execPath, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NEUTRINO_ADMIN_PASSWORD: ADMIN_PASSWORD },
  });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const url = `http://127.0.0.1:${port}`;
  const server: ServerProcess = {
    proc,
    url,
    port,
    socket,
    stateDir: dir,
    stderr: () => stderr,
    exited: async (since, giveUpMs = 20_000) => {
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), giveUpMs)));
      const e = await Promise.race([exit, gaveUp]);
      clearTimeout(timer);
      return e
        ? { running: false, code: e.code, signal: e.signal, afterMs: e.at - since }
        : { running: true, code: null, signal: null, afterMs: Date.now() - since };
    },
    async cleanup() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exit;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const until = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`the server exited at start-up: ${stderr}`);
    const up = await fetch(`${url}/identity/v3`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return server;
    if (Date.now() > until) {
      await server.cleanup();
      throw new Error(`the server did not answer within 20 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
