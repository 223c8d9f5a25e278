// Whether anyone changed a namespace's nftables ruleset since a given moment, without reading it.
// iptables-nft and ip6tables-nft keep their rules in nftables, and every committed change is
// announced on netlink: `nft monitor` prints it (the tables, chains and rules touched, then "# new
// generation N by process P"). A full pass of a big node spends most of its reading on iptables-save
// and ip6tables-save (0.3 s each for 28,000 rules); while nothing has been printed since the last
// read, that read still holds and is taken again. Anything printed (a change by neutrino or by anyone
// else) means the next full pass reads again. IP sets are not in nftables: they are always read.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { inNetns, type Runner } from './run.ts';

/** NETLINK_NETFILTER, and the bit of nftables' multicast group (NFNLGRP_NFTABLES = 7) in /proc/net/netlink's Groups. */
const NETLINK_NETFILTER = 12;
const NFTABLES_GROUP_BIT = 1 << 6;
/** How long a started monitor may take to join the group before it is given up. */
const SUBSCRIBE_TIMEOUT_MS = 5000;
/** A monitor that ended is started again at most this often. */
const RESTART_GAP_MS = 10_000;

/**
 * True when one of `inodes` (a process's sockets) is a netfilter netlink socket that has joined
 * nftables' group, from the text of /proc/PID/net/netlink.
 */
export function joinsNftablesGroup(netlinkTable: string, inodes: ReadonlySet<number>): boolean {
  return netlinkTable
    .split('\n')
    .slice(1)
    .some((line) => {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) return false;
      return Number(f[1]) === NETLINK_NETFILTER && (parseInt(f[3]!, 16) & NFTABLES_GROUP_BIT) !== 0 && inodes.has(Number(f[9]));
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

function subscribed(pid: number): boolean {
  try {
    return joinsNftablesGroup(readFileSync(`/proc/${pid}/net/netlink`, 'utf8'), socketInodes(pid));
  } catch {
    return false;
  }
}

/** True when `iptables -V` names the nf_tables backend (iptables-legacy's rules never show in nftables). */
export const isNftBackend = (version: string): boolean => /\(nf_tables\)/.test(version);

export class RulesetWatch {
  private child: ChildProcess | undefined;
  private ready = false;
  private changes = 0;
  private startedAt = -Infinity;
  private closed = false;

  private readonly netns: string | undefined;
  private readonly restartGapMs: number;

  /** `netns`: a name under /run/netns, or undefined for this process's own namespace. */
  constructor(netns: string | undefined, restartGapMs = RESTART_GAP_MS) {
    this.netns = netns;
    this.restartGapMs = restartGapMs;
  }

  /** The running monitor's PID, if any. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * A mark to compare with a later one: equal marks mean nothing was committed to the ruleset in
   * between. Null while the monitor is not known to be listening (starting, ended, not installed).
   */
  mark(): number | null {
    if (!this.child && !this.closed && Date.now() - this.startedAt >= this.restartGapMs) this.start();
    return this.ready ? this.changes : null;
  }

  private start(): void {
    this.startedAt = Date.now();
    // setpriv (util-linux) has the kernel end the monitor when the agent dies, even by SIGKILL: left
    // alone it would wait for a ruleset event for ever, and keep a deleted namespace alive meanwhile.
    const [cmd, ...args] = inNetns(['setpriv', '--pdeathsig', 'TERM', '--', 'nft', 'monitor'], this.netns);
    const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    this.child = child;
    child.unref();
    (child.stdout as NodeJS.ReadableStream & { unref?: () => void }).unref?.();
    child.stdout!.on('data', () => this.changes++);
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
      if (child.pid !== undefined && subscribed(child.pid)) {
        // Anything committed before this moment is in the reads that follow.
        this.ready = true;
        return;
      }
      if (Date.now() > deadline) child.kill();
      else setTimeout(check, 10).unref();
    };
    check();
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

/** A watch for `netns` when its iptables use the nf_tables backend; null otherwise (legacy, no iptables). */
export async function rulesetWatchFor(run: Runner, netns: string | undefined): Promise<RulesetWatch | null> {
  try {
    // ip6tables may be absent (its rules are then not read at all): only iptables' backend decides then.
    const [v4, v6] = await Promise.all([run(['iptables', '-V'], { netns }), run(['ip6tables', '-V'], { netns }).catch(() => null)]);
    return isNftBackend(v4.stdout) && (v6 === null || isNftBackend(v6.stdout)) ? new RulesetWatch(netns) : null;
  } catch {
    return null;
  }
}
