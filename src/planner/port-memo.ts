// Per-port reuse of planned security group chains across passes. A port's chains depend only on the
// port itself and on the rules of its groups (not on their members: remote groups are IP sets), so
// on a node with a thousand ports one change re-plans the few ports it concerns. Entries are keyed
// by that content, not by who changed, so a reused entry is always the one planning anew would give;
// the chains handed out are shared between passes and must not be mutated.
import type { ChainSpec } from '../kernel/types.ts';
import type { HostView, PortView, SecurityGroupView } from '../model/hostview.ts';
import type { FirewallOptions } from './firewall.ts';

/**
 * A port's chains in one family's tables (firewall.ts portChains, firewall6.ts portChains6). The
 * options are the agent's own settings, the same on every pass, so they are no part of the key.
 */
export type ChainsOfPort = (port: PortView, view: HostView, options: FirewallOptions) => ChainSpec[];

interface Entry {
  key: string;
  chains: ChainSpec[];
  /** The port and group objects it was last asked for: the same objects again need no key (a host view keeps unchanged entries). */
  port: PortView;
  groups: Array<SecurityGroupView | undefined>;
  /** the last pass that asked for it */
  pass: number;
}

const sameObjects = <T>(a: readonly T[], b: readonly T[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Two views with the same section objects (the revision aside): the same content, as a host view
 * after an empty delta keeps every section of the one before.
 */
function sameSections(a: HostView, b: HostView): boolean {
  if (a === b) return true;
  const keys = Object.keys(a) as Array<keyof HostView>;
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => k === 'revision' || a[k] === b[k]);
}

/**
 * What a port's chains are made of, as text: the port and, per group it names, that group's rules
 * and statefulness (absent: 'none').
 */
export function portChainKey(port: PortView, groupKey: (id: string) => string): string {
  return `${JSON.stringify(port)}\n${port.security_groups.map(groupKey).join('\n')}`;
}

export class PortChainMemo {
  /** The last whole firewall plan, with the view object and key it was made from (see wholeFirewall). */
  private whole: { view: HostView; key: string; plan: unknown } | null = null;
  /** Whether the pass under way took the whole plan as it was (endPass then keeps every entry). */
  private wholeReused = false;
  /** family → port id → the last chains planned for it */
  private entries = new Map<string, Map<string, Entry>>();
  /** The pass under way, and the pass each entry was last asked for in (endPass drops the others). */
  private pass = 0;
  /** Group objects of the views seen: each group's key is printed once per view. */
  private groupKeys = new WeakMap<SecurityGroupView, string>();
  /** Ports planned anew and reused, and whole firewall plans reused (for tests and the log). */
  readonly stats = { planned: 0, reused: 0, wholeReused: 0 };

  /** `chainsOf` with reuse, for one family ('4', '6'). */
  wrap(family: string, chainsOf: ChainsOfPort): ChainsOfPort {
    let entries = this.entries.get(family);
    if (!entries) this.entries.set(family, (entries = new Map()));
    const slots = entries;
    return (port, view, options) => {
      const byId = this.groupsOf(view);
      const groups = port.security_groups.map((id) => byId.get(id));
      const hit = slots.get(port.id);
      if (hit && hit.port === port && sameObjects(hit.groups, groups)) {
        hit.pass = this.pass;
        this.stats.reused++;
        return hit.chains;
      }
      const key = portChainKey(port, (id) => this.groupKey(byId.get(id)));
      const reuse = hit?.key === key;
      const chains = reuse ? hit.chains : chainsOf(port, view, options);
      slots.set(port.id, { key, chains, port, groups, pass: this.pass });
      if (reuse) this.stats.reused++;
      else this.stats.planned++;
      return chains;
    };
  }

  private views = new WeakMap<HostView, Map<string, SecurityGroupView>>();

  private groupsOf(view: HostView): Map<string, SecurityGroupView> {
    let byId = this.views.get(view);
    if (!byId) {
      byId = new Map(view.security_groups.map((g) => [g.id, g]));
      this.views.set(view, byId);
    }
    return byId;
  }

  private groupKey(group: SecurityGroupView | undefined): string {
    if (!group) return 'none';
    let key = this.groupKeys.get(group);
    if (key === undefined) {
      key = JSON.stringify([group.id, group.stateful, group.rules]);
      this.groupKeys.set(group, key);
    }
    return key;
  }

  /**
   * The node's firewall plan: the last one again when it was made from a view with the same section
   * objects and the same `key` (what else it depends on), else `plan()`. A pass woken by a plugged
   * or removed tap plans from the view the last pass had, and the rules do not depend on which taps
   * are present: on a big node this skips most of the planning. The value handed back is shared and
   * must not be mutated.
   */
  wholeFirewall<T>(view: HostView, key: string, plan: () => T): T {
    if (this.whole && this.whole.key === key && sameSections(this.whole.view, view)) {
      this.wholeReused = true;
      this.stats.wholeReused++;
      return this.whole.plan as T;
    }
    const planned = plan();
    this.whole = { view, key, plan: planned };
    return planned;
  }

  /** Forgets the ports the pass just planned did not ask for (unbound, deleted, no longer filtered). */
  endPass(): void {
    // A pass that took the whole plan as it was asked for no port, and still uses every entry's chains.
    if (this.wholeReused) {
      this.wholeReused = false;
      return;
    }
    for (const entries of this.entries.values()) for (const [id, entry] of entries) if (entry.pass !== this.pass) entries.delete(id);
    this.pass++;
  }

  get size(): number {
    let n = 0;
    for (const entries of this.entries.values()) n += entries.size;
    return n;
  }
}
