// A real `neutrino server` process for the benchmarks: SQLite file in a temp dir, a free loopback
// port, `--log-level warn`, run from the current directory's bin/ (so a copy of an older build can be
// compared); stopped with SIGTERM (so a --cpu-prof profile is written) and removed.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { freeLoopbackPort } from '../src/lab/server-proc.ts';

export interface ServerProcess {
  url: string;
  password: string;
  /** CPU time (user + system) the server process has used so far, in ms (Linux /proc). */
  cpuMs(): number;
  stop(): Promise<void>;
}

export async function startServer(nodeArgs: string[] = []): Promise<ServerProcess> {
  const password = 'bench-admin';
  const state = mkdtempSync(join(tmpdir(), 'neutrino-bench-'));
  const port = await freeLoopbackPort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    [...nodeArgs, 'bin/neutrino.js', 'server', '--state-dir', state, '--listen', `127.0.0.1:${port}`, '--log-level', 'warn'],
    { env: { ...process.env, NEUTRINO_ADMIN_PASSWORD: password }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    rmSync(state, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    try {
      await fetch(url);
      return { url, password, stop, cpuMs: () => processCpuMs(child.pid!) };
    } catch {
      if (i > 100) {
        await stop();
        throw new Error('server did not start');
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const TICKS_PER_S = 100; // USER_HZ on Linux

export function processCpuMs(pid: number): number {
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_S;
}

export const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return +s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))].toFixed(2);
};

export async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const r = await fn();
  return [performance.now() - t, r];
}

export async function memberProjectId(url: string, admin: string, name: string): Promise<string> {
  const r = await fetch(`${url}/identity/v3/projects?name=${name}`, { headers: { 'x-auth-token': admin } });
  return ((await r.json()) as { projects: Array<{ id: string }> }).projects[0].id;
}
