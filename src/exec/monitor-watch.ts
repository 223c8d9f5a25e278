// Whether anything changed in a namespace since a given moment, told by a long-lived netlink monitor
// (`nft monitor`, `ip monitor`) that prints each change the kernel announces, whoever makes it. A
// full pass of a big node spends most of its reading on state that has not changed since the last
// one; while the monitor has printed nothing that counts since a read, that read still holds.
// ruleset-watch.ts and ip-watch.ts say which monitor runs; ip-watch.ts also which lines count.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { inNetns } from './run.ts';

/** How long a started monitor may take to join its groups before it is given up. */
const SUBSCRIBE_TIMEOUT_MS = 5000;
/** A monitor that ended is started again at most this often. */
const RESTART_GAP_MS = 10_000;

/**
 * True when one of `inodes` (a process's sockets) is a netlink socket of `protocol` that has joined
 * every group whose bit is set in `groupBits` (of the first 32, as /proc/PID/net/netlink's Groups
 * shows them).
 */
export function joinsGroups(netlinkTable: string, inodes: ReadonlySet<number>, protocol: number, groupBits: number): boolean {
  return netlinkTable
    .split('\n')
    .slice(1)
    .some((line) => {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) return false;
      return Number(f[1]) === protocol && (parseInt(f[3]!, 16) & groupBits) === groupBits && inodes.has(Number(f[9]));
    });
}

/** The socket inodes a process holds open. */
function socketInodes(pid: number): Set<number> {
  const out = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(Number(m[1]));
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

/** What a watch runs and how it reads the monitor. */
export interface MonitorSpec {
  /** The monitor command, run in the watched namespace. */
  argv: readonly string[];
  /** Whether the monitor's sockets (from /proc/PID/net/netlink and their inodes) listen yet. */
  joined: (netlinkTable: string, inodes: ReadonlySet<number>) => boolean;
}

export class MonitorWatch {
  private child: ChildProcess | undefined;
  private ready = false;
  private changes = 0;
  private startedAt = -Infinity;
  /** How many monitors were started: a mark made of a watch's own tallies carries it (see ip-watch.ts). */
  protected starts = 0;
  private closed = false;

  private readonly spec: MonitorSpec;
  private readonly netns: string | undefined;
  private readonly restartGapMs: number;

  /** `netns`: a name under /run/netns, or undefined for this process's own namespace. */
  constructor(spec: MonitorSpec, netns: string | undefined, restartGapMs = RESTART_GAP_MS) {
    this.spec = spec;
    this.netns = netns;
    this.restartGapMs = restartGapMs;
  }

  /** Whether a line the monitor printed is a change: any line is, unless a watch says otherwise. */
  protected counts(line: string): boolean {
    return line !== '';
  }

  /** The running monitor's PID, if any. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * A mark to compare with a later one: equal marks mean nothing that counts changed in between.
   * Null while the monitor is not known to be listening (starting, ended, not installed).
   */
  mark(): number | null {
    if (!this.child && !this.closed && Date.now() - this.startedAt >= this.restartGapMs) this.start();
    return this.ready ? this.changes : null;
  }

  private start(): void {
    this.startedAt = Date.now();
    this.starts++;
    // setpriv (util-linux) has the kernel end the monitor when the agent dies, even by SIGKILL: left
    // alone it would wait for an event for ever, and keep a deleted namespace alive meanwhile.
    const [cmd, ...args] = inNetns(['setpriv', '--pdeathsig', 'TERM', '--', ...this.spec.argv], this.netns);
    const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    this.child = child;
    child.unref();
    (child.stdout as NodeJS.ReadableStream & { unref?: () => void }).unref?.();
    let partial = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      // Every line is shown to counts(): a watch may keep tallies of its own (ip-watch.ts, per namespace).
      let changed = false;
      for (const line of lines) if (this.counts(line)) changed = true;
      if (changed) this.changes++;
    });
    const ended = () => {
      if (this.child !== child) return;
      this.child = undefined;
      this.ready = false;
      // Nobody listened from here until the next monitor joins: no mark from before may match one after.
      this.changes++;
    };
    child.on('error', ended);
    child.on('exit', ended);
    const deadline = Date.now() + SUBSCRIBE_TIMEOUT_MS;
    const check = () => {
      if (this.child !== child) return;
      if (child.pid !== undefined && this.subscribed(child.pid)) {
        // Anything changed before this moment is in the reads that follow.
        this.ready = true;
        return;
      }
      if (Date.now() > deadline) child.kill();
      else setTimeout(check, 10).unref();
    };
    check();
  }

  private subscribed(pid: number): boolean {
    try {
      return this.spec.joined(readFileSync(`/proc/${pid}/net/netlink`, 'utf8'), socketInodes(pid));
    } catch {
      return false;
    }
  }

  /** Ends the monitor (by its PID); marks are null from then on. */
  close(): void {
    this.closed = true;
    this.ready = false;
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) child.kill();
  }
}
