// Whether anyone changed a namespace's nftables ruleset since a given moment, without reading it.
// iptables-nft and ip6tables-nft keep their rules in nftables, and every committed change is
// announced on netlink: `nft monitor` prints it (the tables, chains and rules touched, then "# new
// generation N by process P"). A full pass of a big node spends most of its reading on iptables-save
// and ip6tables-save (0.3 s each for 28,000 rules); while nothing has been printed since the last
// read, that read still holds and is taken again. Anything printed (a change by neutrino or by anyone
// else) means the next full pass reads again. IP sets are not in nftables: they are always read.
import { joinsGroups, MonitorWatch } from './monitor-watch.ts';
import type { Runner } from './run.ts';

/** NETLINK_NETFILTER, and the bit of nftables' multicast group (NFNLGRP_NFTABLES = 7) in /proc/net/netlink's Groups. */
const NETLINK_NETFILTER = 12;
const NFTABLES_GROUP_BIT = 1 << 6;

/**
 * True when one of `inodes` (a process's sockets) is a netfilter netlink socket that has joined
 * nftables' group, from the text of /proc/PID/net/netlink.
 */
export const joinsNftablesGroup = (netlinkTable: string, inodes: ReadonlySet<number>): boolean =>
  joinsGroups(netlinkTable, inodes, NETLINK_NETFILTER, NFTABLES_GROUP_BIT);

/** True when `iptables -V` names the nf_tables backend (iptables-legacy's rules never show in nftables). */
export const isNftBackend = (version: string): boolean => /\(nf_tables\)/.test(version);

/** `nft monitor` in a namespace: any line it prints is a committed change. */
export class RulesetWatch extends MonitorWatch {
  /** `netns`: a name under /run/netns, or undefined for this process's own namespace. */
  constructor(netns: string | undefined, restartGapMs?: number) {
    super({ argv: ['nft', 'monitor'], joined: joinsNftablesGroup }, netns, restartGapMs);
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
