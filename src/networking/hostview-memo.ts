// Reads that several host views built at one revision share (other hosts' ports as views, security
// groups, networks and their subnets, VXLAN endpoints), kept while the feed's head stays at that
// revision: when one change wakes many agents, each view costs the reads of its own host only.
// Sound because every write that can alter a host view appends to the change feed: two reads at one
// head revision see the same resources.
import type { PortView } from '../model/hostview.ts';
import type { PortViewCache } from './port-view-cache.ts';

export class SnapshotMemo {
  private readonly values = new Map<string, unknown>();
  /** Port views by port id. */
  readonly ports = new Map<string, PortView>();

  readonly revision: number;
  readonly lender: PortViewCache | null;

  /**
   * For reads at `revision` only: a build at another revision takes another memo. `lender`: port
   * views kept across revisions (brought to `revision` before the build), lent and kept through this memo.
   */
  constructor(revision: number, lender: PortViewCache | null = null) {
    this.revision = revision;
    this.lender = lender;
  }

  /** The value kept under `key`, read once (a failed read keeps nothing). */
  async once<T>(key: string, read: () => Promise<T>): Promise<T> {
    if (this.values.has(key)) return this.values.get(key) as T;
    const value = await read();
    this.values.set(key, value);
    return value;
  }
}
