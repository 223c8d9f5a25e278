// The lab's processes, ended by PID only: before any signal, /proc/<pid>/cmdline must still show the
// process the lab started (a PID can be reused), then SIGTERM, and SIGKILL after a grace period.
import { readFileSync } from 'node:fs';
import { LabError } from './topology.ts';
import { poll } from './util.ts';

export interface ProcTarget {
  pid: number;
  /** every marker must appear among the process's arguments (substring match) */
  markers: string[];
  label: string;
}

export function readCmdline(pid: number): string[] | null {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw ? raw.replace(/\0$/, '').split('\0') : null; // a zombie has an empty cmdline
  } catch {
    return null;
  }
}

/** True when `cmdline` is the process described by `markers` (pure). */
export function cmdlineMatches(cmdline: string[] | null, markers: string[]): boolean {
  if (!cmdline || !cmdline.length) return false;
  return markers.every((m) => cmdline.some((arg) => arg.includes(m)));
}

/** Alive, not a zombie, and still the process the markers describe. */
export function isOurs(t: Pick<ProcTarget, 'pid' | 'markers'>): boolean {
  return Number.isInteger(t.pid) && t.pid > 1 && cmdlineMatches(readCmdline(t.pid), t.markers);
}

/**
 * Whether the process we started as `t` has ended: gone, a zombie, or its PID now another program.
 * Unlike !isOurs, a process in the middle of execve (nsenter becoming the agent: for a moment its
 * cmdline reads empty, more often on a loaded machine) has not ended.
 */
export function hasEnded(t: Pick<ProcTarget, 'pid' | 'markers'>): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${t.pid}/stat`, 'utf8');
  } catch {
    return true;
  }
  // "pid (comm) S …": the state follows the last ')' (comm may contain spaces and parentheses).
  if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') return true;
  const cmd = readCmdline(t.pid);
  return cmd !== null && !cmdlineMatches(cmd, t.markers);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/** The targets still ours after `ms` (or none, as soon as all are gone). */
async function waitGone(targets: ProcTarget[], ms: number): Promise<ProcTarget[]> {
  let left = targets;
  await poll(
    async () => {
      left = left.filter(isOurs);
      return left.length ? null : true;
    },
    { timeoutMs: ms, everyMs: 50 },
  );
  return left;
}

/**
 * Ends the targets that are still ours: SIGTERM, then SIGKILL to those left after `graceMs`.
 * Returns the labels of the processes it signalled; throws if one survives SIGKILL.
 */
export async function terminate(targets: ProcTarget[], graceMs = 3000): Promise<string[]> {
  const live = targets.filter(isOurs);
  for (const t of live) signal(t.pid, 'SIGTERM');
  const stubborn = await waitGone(live, graceMs);
  for (const t of stubborn) signal(t.pid, 'SIGKILL');
  const survivors = await waitGone(stubborn, 2000);
  if (survivors.length) throw new LabError(`could not end ${survivors.map((t) => `${t.label} (pid ${t.pid})`).join(', ')}`);
  return live.map((t) => `${t.label} (pid ${t.pid})`);
}
