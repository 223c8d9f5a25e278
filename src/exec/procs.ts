// Managed daemons (dnsmasq): read their pid file and /proc, start them in a namespace, SIGHUP, stop by PID.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ProcessHint } from '../kernel/scope.ts';
import type { ObservedProcess, ProcessSpec } from '../kernel/types.ts';
import type { Runner } from './run.ts';

const readOrNull = async (path: string): Promise<string | null> => {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
};

/** argv of a live process; null when there is none (or it is a zombie with an empty cmdline). */
async function cmdline(pid: number): Promise<string[] | null> {
  const raw = await readOrNull(`/proc/${pid}/cmdline`);
  if (!raw) return null;
  return raw.split('\0').slice(0, -1);
}

async function livePid(pidFile: string): Promise<number | null> {
  const text = await readOrNull(pidFile);
  const pid = Number(text?.trim());
  return Number.isInteger(pid) && pid > 1 && (await cmdline(pid)) !== null ? pid : null;
}

export async function observeProcess(hint: ProcessHint): Promise<ObservedProcess> {
  const pid = await livePid(hint.pidFile);
  const files = await Promise.all(hint.files.map(async (path) => ({ path, content: await readOrNull(path) })));
  return { id: hint.id, pidFile: hint.pidFile, pid, argv: pid === null ? null : await cmdline(pid), files };
}

async function writeFiles(proc: ProcessSpec): Promise<void> {
  for (const f of proc.files) {
    await mkdir(dirname(f.path), { recursive: true });
    await writeFile(f.path, f.content);
  }
}

/** What `ip -j addr show` says of one address: usable, still tentative, failed DAD, or absent. */
export function addressState(ipJson: string, address: string): 'ready' | 'tentative' | 'dadfailed' | 'absent' {
  const links = JSON.parse(ipJson || '[]') as Array<{ addr_info?: Array<{ local?: string; tentative?: boolean; dadfailed?: boolean }> }>;
  const a = links.flatMap((l) => l.addr_info ?? []).find((x) => x.local === address);
  if (!a) return 'absent';
  if (a.dadfailed) return 'dadfailed';
  return a.tentative ? 'tentative' : 'ready';
}

/**
 * Waits (up to `timeoutMs`) until `want.address` on `want.dev` has passed duplicate address
 * detection. Failed DAD means another node holds the address: starting would only fail to bind.
 */
async function waitForAddress(run: Runner, want: NonNullable<ProcessSpec['waitAddress']>, netns: string | undefined, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = addressState((await run(['ip', '-6', '-j', 'addr', 'show', 'dev', want.dev], { netns })).stdout, want.address);
    if (state === 'ready' || Date.now() > deadline) return;
    if (state === 'dadfailed')
      throw new Error(`${want.address} on ${want.dev} failed duplicate address detection: another node answers for it there`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The argv must daemonize: its launcher exits once the daemon runs and has written its pid file. */
export async function startProcess(run: Runner, proc: ProcessSpec, netns: string | undefined): Promise<void> {
  if (proc.waitAddress) await waitForAddress(run, proc.waitAddress, netns);
  await writeFiles(proc);
  await mkdir(dirname(proc.pidFile), { recursive: true });
  await run(proc.argv, { netns });
}

export async function reloadProcess(proc: ProcessSpec): Promise<void> {
  await writeFiles(proc);
  const pid = await livePid(proc.pidFile);
  if (pid !== null) process.kill(pid, 'SIGHUP');
}

/** SIGTERM the PID from the pid file, SIGKILL after `graceMs`; only that PID is ever signalled. */
export async function stopProcess(pidFile: string, graceMs = 5000): Promise<void> {
  const pid = await livePid(pidFile);
  if (pid !== null) {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while ((await cmdline(pid)) !== null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if ((await cmdline(pid)) !== null) process.kill(pid, 'SIGKILL');
  }
  await rm(pidFile, { force: true });
}
