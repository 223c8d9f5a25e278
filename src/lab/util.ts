// Small helpers shared by the lab commands: sleeping, waiting until something holds, progress lines
// with timings, aborting on Ctrl-C between steps, random passwords, and the last line of a log for
// error messages.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { LabError } from './topology.ts';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const randomPassword = () => randomBytes(18).toString('base64url');

/** The last non-empty line of a log file (shortened), or a note that it is empty. */
export function lastLogLine(file: string): string {
  if (!existsSync(file)) return 'no log';
  const lines = readFileSync(file, 'utf8').trim().split('\n').filter(Boolean);
  const last = lines.pop();
  if (!last) return 'empty log';
  let text = last;
  try {
    const j = JSON.parse(last) as { msg?: string; err?: { message?: string } };
    text = j.err?.message ?? j.msg ?? last;
  } catch {
    /* not a pino line */
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** Set by SIGINT/SIGTERM while a long command runs; steps check it and unwind. */
export class Abort {
  private why: string | null = null;
  trigger(why: string): void {
    this.why = why;
  }
  check(): void {
    if (this.why) throw new LabError(`interrupted (${this.why})`);
  }
}

export type Print = (line: string) => void;

/** Runs one step, printing its name and how long it took. */
export async function step<T>(print: Print, abort: Abort, name: string, fn: () => Promise<T>): Promise<T> {
  abort.check();
  const t0 = Date.now();
  const out = await fn();
  print(`  ${name} (${Date.now() - t0} ms)`);
  return out;
}

export interface PollOptions {
  /** Give up once this long has passed after a probe… */
  timeoutMs?: number;
  /** …or after this many probes (whichever limit comes first). */
  attempts?: number;
  /** Pause between probes; 200 ms by default. */
  everyMs?: number;
  abort?: Abort;
}

/**
 * The lab's one wait-until loop: probes, and while `probe` returns null or undefined and no limit has
 * been reached, pauses `everyMs` and probes again. The value, or undefined when a limit was reached.
 * A probe may throw to stop the wait early (a process that has exited will not come up).
 */
export async function poll<T>(probe: () => Promise<T | null | undefined>, o: PollOptions): Promise<T | undefined> {
  const until = o.timeoutMs === undefined ? Infinity : Date.now() + o.timeoutMs;
  for (let attempt = 1; ; attempt += 1) {
    o.abort?.check();
    const v = await probe();
    if (v !== null && v !== undefined) return v;
    if (Date.now() > until || attempt >= (o.attempts ?? Infinity)) return undefined;
    await sleep(o.everyMs ?? 200);
  }
}

/** Like poll, but reaching a limit throws `onTimeout()`. */
export async function waitFor<T>(probe: () => Promise<T | null | undefined>, o: PollOptions & { onTimeout: () => Error }): Promise<T> {
  const v = await poll(probe, o);
  if (v === undefined) throw o.onTimeout();
  return v;
}
