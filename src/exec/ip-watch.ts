// Whether anyone changed a namespace's links, addresses, routes, namespace ids or neighbour entries
// that matter since a given moment, without reading them. The kernel announces each such change on
// rtnetlink and `ip -o monitor label` prints it, one line each: while nothing that counts has been
// printed since a full pass's `ip` read (links, addresses, neighbours, routes of both families), the
// next full pass takes that output again instead of reading ~2,000 links on a big node.
//
// What does not count: neighbour lines the kernel makes by itself (entries learnt, aged and collected
// on the uplink or an instance's tap, fdb entries, read apart anyway). A neighbour line counts only on
// one of the devices given (neutrino's: the only ones whose entries the plan adds or removes).
// With `allNamespaces` (a node with qrouter-/qdhcp- namespaces) the monitor also listens in every
// namespace that has an id in the watched one (`all-nsid`; a veth between two namespaces gives each
// an id for the other): a line of another namespace starts with `[nsid N]` and is tallied for N
// alone (markOf), so a named namespace's read can be kept as HOST's is (ns-ip-keep.ts). Device names
// in such lines are resolved in the watched namespace and are wrong: they are counted, never read,
// and every neighbour line there counts.
// What the monitor does not print: a few attributes of a device that is down (its alias, a bridge
// port's flags) change without an announcement; RealKernel reads again after IP_KEPT_AT_MOST_MS
// whatever the monitor said, so such drift is repaired within that time.
import { joinsGroups, MonitorWatch } from './monitor-watch.ts';

const NETLINK_ROUTE = 0;
/** RTNLGRP_LINK (1) and RTNLGRP_NSID (28) as bits of /proc/net/netlink's Groups. */
const LINK_AND_NSID_GROUP_BITS = (1 << 0) | (1 << 27);

/** A kept `ip` read is taken again for at most this long (see above). */
export const IP_KEPT_AT_MOST_MS = 30_000;

/**
 * True when one of `inodes` is a route netlink socket that has joined the link and the namespace id
 * groups (ip monitor binds the others with the link group and adds the nsid group last).
 */
export const joinsIpMonitorGroups = (netlinkTable: string, inodes: ReadonlySet<number>): boolean =>
  joinsGroups(netlinkTable, inodes, NETLINK_ROUTE, LINK_AND_NSID_GROUP_BITS);

const NEIGH_LABEL = '[NEIGH]';

/**
 * Whether one line of `ip -o monitor label` is a change that matters: any line but a neighbour
 * entry's on a device outside `neighDevices`, and a bridge fdb entry's: "dev X lladdr …" (no
 * address), or a VXLAN device's static entry "VTEP dev X lladdr … NOARP PERMANENT" (its remote end
 * printed first, like a neighbour's address; neutrino's neighbour entries are `nud permanent`, which
 * prints PERMANENT alone).
 */
export function ipLineCounts(line: string, neighDevices: ReadonlySet<string>): boolean {
  if (!line.startsWith(NEIGH_LABEL)) return line.trim() !== '';
  const body = line.slice(NEIGH_LABEL.length).replace(/^(?:Deleted|miss) /i, '');
  if (body.startsWith('dev ') || / NOARP PERMANENT\s*$/.test(body)) return false;
  const dev = / dev (\S+)/.exec(body)?.[1];
  return dev === undefined || neighDevices.has(dev);
}

/**
 * The namespace a line of `ip -o monitor all-nsid label` comes from: null for the watched one
 * (`[nsid current]`, or no prefix), else its id there; and the line without that prefix.
 */
export function lineNamespace(line: string): { nsid: number | null; body: string } {
  const m = /^\[nsid (current|\d+)\]/.exec(line);
  if (!m) return { nsid: null, body: line };
  return { nsid: m[1] === 'current' ? null : Number(m[1]), body: line.slice(m[0].length) };
}

/** The id a `[NSID]` line of the watched namespace gives or takes ("nsid 3 (…)", "Deleted nsid 3 (…)"). */
const nsidNamed = (body: string): number | undefined => {
  const m = /^\[NSID\](?:Deleted )?nsid (\d+)/.exec(body);
  return m ? Number(m[1]) : undefined;
};

/**
 * `ip -o monitor label link address route neigh nsid` in a namespace; with `allNamespaces`, also
 * `all-nsid` (the namespaces that have an id in it are heard too, tallied by id).
 */
export class IpWatch extends MonitorWatch {
  /** The devices whose neighbour entries count (from when it is set). */
  neighDevices: ReadonlySet<string> = new Set();
  /** Lines of each other namespace (by its id in the watched one), and of the id's own coming and going. */
  private readonly byNsid = new Map<number, number>();

  /** `netns`: a name under /run/netns, or undefined for this process's own namespace. */
  constructor(netns: string | undefined, opts: { allNamespaces?: boolean; restartGapMs?: number } = {}) {
    const { allNamespaces = false, restartGapMs } = opts;
    super(
      {
        argv: ['ip', '-o', 'monitor', ...(allNamespaces ? ['all-nsid'] : []), 'label', 'link', 'address', 'route', 'neigh', 'nsid'],
        joined: joinsIpMonitorGroups,
      },
      netns,
      restartGapMs,
    );
  }

  /**
   * A mark of the namespace whose id in the watched one is `nsid`: equal marks mean no line of it,
   * and its id neither given nor taken, in between. Null while the monitor is not listening.
   */
  markOf(nsid: number): string | null {
    return this.mark() === null ? null : `${this.starts}/${this.byNsid.get(nsid) ?? 0}`;
  }

  private tally(nsid: number): void {
    this.byNsid.set(nsid, (this.byNsid.get(nsid) ?? 0) + 1);
  }

  protected override counts(line: string): boolean {
    const { nsid, body } = lineNamespace(line);
    if (nsid !== null) {
      this.tally(nsid);
      return false;
    }
    const named = nsidNamed(body);
    if (named !== undefined) this.tally(named);
    return ipLineCounts(body, this.neighDevices);
  }
}
