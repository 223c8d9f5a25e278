// Runs the built `neutrino` command (bin/neutrino.js → dist/) as a test would from a shell, without one.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/neutrino.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function neutrino(args: string[], timeoutMs = 120_000, env?: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { timeout: timeoutMs, maxBuffer: 16 << 20, ...(env ? { env } : {}) },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Like neutrino() but fails the test with the command's output when it exits non-zero. */
export async function neutrinoOk(args: string[], timeoutMs?: number): Promise<string> {
  const r = await neutrino(args, timeoutMs);
  if (r.code !== 0) throw new Error(`neutrino ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Starts a long-running neutrino command (a continuous ping through `instance exec`, say). */
export function neutrinoSpawn(args: string[], env?: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
}

export const isRoot = () => process.getuid?.() === 0;
