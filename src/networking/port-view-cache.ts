// Port views kept across revisions of the change feed, so that rebuilding a host view after one
// change converts the ports that change touched, not the thousand others of the host.
//
// Sound because every write to a port's rows (the port, its addresses, groups, pairs, options,
// binding) appends a `port` change naming it, in the same transaction: before a build at revision
// H reads anything, the cache applies the changes up to H — a `port` change drops that port's view,
// any other kind of change (which might, through some path, reach a port's rows without naming it)
// drops them all. A view read at revision r is lent to a build at H only when r <= H (a build never
// sees a port newer than its own snapshot), and is kept only if no change after r has been applied
// yet (else one of them may concern it and have been applied before it came in).
import type { PortView } from '../model/hostview.ts';
import type { Tx } from './common.ts';

/** Changes that cannot touch a port's rows (each such write that does also names the port). */
const LEAVES_PORTS = new Set(['floatingip', 'metering_label', 'metering_label_rule', 'agent', 'security_group_rule', 'subnetpool']);

/** More changes than this between two builds: forgetting everything is cheaper than reading them. */
const MAX_CHANGES = 5000;

export class PortViewCache {
  private readonly views = new Map<string, { view: PortView; readAt: number }>();
  /** Every change up to this revision has been applied. */
  private syncedTo = 0;

  /** Applies the changes up to `head`, read in `tx` (the build's own transaction). */
  async sync(tx: Tx, head: number): Promise<void> {
    const from = this.syncedTo;
    if (head <= from) return;
    if (from === 0) return this.clear(head);
    const oldest = await tx
      .selectFrom('changes')
      .select((eb) => eb.fn.min('revision').as('r'))
      .executeTakeFirst();
    // Some of the changes since were compacted away (or revisions were skipped): they cannot be read.
    if (oldest?.r == null || Number(oldest.r) > from + 1) return this.clear(head);
    const changes = await tx
      .selectFrom('changes')
      .select(['resource', 'resource_id'])
      .where('revision', '>', from)
      .where('revision', '<=', head)
      .orderBy('revision')
      .limit(MAX_CHANGES + 1)
      .execute();
    if (changes.length > MAX_CHANGES) return this.clear(head);
    for (const c of changes) {
      if (c.resource === 'port') this.views.delete(c.resource_id);
      else if (!LEAVES_PORTS.has(c.resource)) return this.clear(head);
    }
    this.syncedTo = Math.max(this.syncedTo, head);
  }

  private clear(head: number): void {
    this.views.clear();
    this.syncedTo = Math.max(this.syncedTo, head);
  }

  /** The port's view as a build at revision `at` may use it, if kept. */
  get(id: string, at: number): PortView | undefined {
    const e = this.views.get(id);
    return e && e.readAt <= at ? e.view : undefined;
  }

  /** Keeps a view read at revision `readAt`, unless changes after that revision were applied meanwhile. */
  put(id: string, view: PortView, readAt: number): void {
    if (readAt < this.syncedTo) return;
    this.views.set(id, { view, readAt });
  }

  get size(): number {
    return this.views.size;
  }
}
