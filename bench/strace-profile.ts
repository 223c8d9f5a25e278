// Where an agent pass spends its time, without touching the agent: `strace -f` on the agent process
// records when each command it runs starts (execve) and ends (exit), and the pass is cut into phases:
// wake-up (request returned → first command: the change feed's long-poll answering plus the host view
// fetch), the first observation, apply (the mutating commands), the second observation, and after.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Cmd {
  pid: number;
  /** Unix ms */
  start: number;
  end: number;
  argv: string[];
}

/** Commands that change the kernel (render.ts's batches and namespace commands); the rest observe. */
export function isApply(argv: string[]): boolean {
  const a = argv.join(' ');
  return (
    /\biptables-restore\b|\bsysctl -q -w\b|\bip netns (add|del)\b|\bdnsmasq\b/.test(a) ||
    ((argv[0]?.endsWith('ip') || argv[0]?.endsWith('bridge')) && argv.includes('-batch') && !argv.includes('-j'))
  );
}

/** `strace -f -ttt -e trace=execve` output → one entry per process that ran a command (its last execve wins: nsenter execs its target). */
export function parseStrace(text: string): Cmd[] {
  const byPid = new Map<number, Cmd>();
  for (const line of text.split('\n')) {
    const m = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    const t = Number(m[2]) * 1000;
    const rest = m[3];
    const exec = /^execve\("[^"]*", \[(.*?)\](?:, 0x[0-9a-f]+| \/\*)/.exec(rest);
    if (exec && / = 0$/.test(rest)) {
      const argv = [...exec[1].matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((x) => x[1]);
      const prev = byPid.get(pid);
      byPid.set(pid, { pid, start: prev?.start ?? t, end: NaN, argv });
    } else if (/^\+\+\+ (exited|killed)/.test(rest)) {
      const c = byPid.get(pid);
      if (c) c.end = t;
    }
  }
  return [...byPid.values()].sort((a, b) => a.start - b.start);
}

export interface PassPhases {
  /** the pass's first command, relative to the request returning */
  start_ms: number;
  observe_ms: number;
  apply_ms: number;
  reobserve_ms: number;
  /** its last command's end, relative to the request returning */
  end_ms: number;
  commands: { observe: number; apply: number; reobserve: number };
  /** the apply commands: start relative to the request returning, duration */
  applied: Array<{ at_ms: number; ms: number; cmd: string }>;
  slowest_observe: { cmd: string; ms: number } | null;
}

const r1 = (x: number) => +x.toFixed(1);
const short = (argv: string[]) =>
  argv
    .filter((a) => !a.startsWith('--net='))
    .slice(0, 6)
    .join(' ');
/** A pass begins with `ip -o link show` (the taps present on the node, agent/pass.ts). */
const begins = (c: Cmd) => c.argv.includes('-o') && c.argv.join(' ').includes('link show');

/** The passes that applied something, among the commands started after `origin` (the request returning). */
export function passPhases(cmds: Cmd[], origin: number): PassPhases[] {
  const after = cmds.filter((c) => c.start >= origin && Number.isFinite(c.end));
  const out: PassPhases[] = [];
  let i = after.findIndex(begins);
  while (i >= 0 && i < after.length) {
    let next = after.findIndex((c, k) => k > i && begins(c));
    if (next < 0) next = after.length;
    const pass = after.slice(i, next);
    const a0 = pass.findIndex((c) => isApply(c.argv));
    if (a0 > 0) {
      let a1 = a0;
      while (a1 + 1 < pass.length && isApply(pass[a1 + 1].argv)) a1++;
      const obs = pass.slice(0, a0);
      const app = pass.slice(a0, a1 + 1);
      const re = pass.slice(a1 + 1);
      const endOf = (xs: Cmd[]) => Math.max(...xs.map((c) => c.end));
      const slow = obs.reduce<Cmd | null>((m, c) => (!m || c.end - c.start > m.end - m.start ? c : m), null);
      out.push({
        start_ms: r1(pass[0].start - origin),
        observe_ms: r1(app[0].start - pass[0].start),
        apply_ms: r1(endOf(app) - app[0].start),
        reobserve_ms: re.length ? r1(endOf(re) - endOf(app)) : 0,
        end_ms: r1(endOf(pass) - origin),
        commands: { observe: obs.length, apply: app.length, reobserve: re.length },
        applied: app.map((c) => ({ at_ms: r1(c.start - origin), ms: r1(c.end - c.start), cmd: short(c.argv) })),
        slowest_observe: slow ? { cmd: short(slow.argv), ms: r1(slow.end - slow.start) } : null,
      });
    }
    i = next;
  }
  return out;
}

/** strace attached to `pid` and its future children, writing to `file`; stop() detaches. */
export class Tracer {
  private readonly child: ChildProcess;
  private readonly file: string;

  constructor(pid: number, file: string) {
    this.file = file;
    this.child = spawn('strace', ['-f', '-ttt', '-e', 'trace=execve', '-e', 'signal=none', '-s', '200', '-o', file, '-p', String(pid)], {
      stdio: 'ignore',
    });
  }

  async stop(): Promise<Cmd[]> {
    const gone = new Promise((r) => this.child.once('exit', r));
    if (this.child.pid) process.kill(this.child.pid, 'SIGINT');
    await gone;
    return parseStrace(readFileSync(this.file, 'utf8'));
  }
}
