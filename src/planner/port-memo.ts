// Per-port reuse of planned security group chains across passes. A port's chains depend only on the
// port itself and on the rules of its groups (not on their members: remote groups are IP sets), so
// on a node with a thousand ports one change re-plans the few ports it concerns. Entries are keyed
// by that content, not by who changed, so a reused entry is always the one planning anew would give;
// the chains handed out are shared between passes and must not be mutated.
import type { ChainSpec } from '../kernel/types.js';
import type { HostView, PortView, SecurityGroupView } from '../model/hostview.js';
import type { FirewallOptions } from './firewall.js';

/**
 * A port's chains in one family's tables (firewall.ts portChains, firewall6.ts portChains6). The
 * options are the agent's own settings, the same on every pass, so they are no part of the key.
 */
export type ChainsOfPort = (port: PortView, view: HostView, options: FirewallOptions) => ChainSpec[];

interface Entry {
  key: string;
  chains: ChainSpec[];
}

/**
 * What a port's chains are made of, as text: the port without its status (which the agent's own
 * reports change) and, per group it names, that group's rules and statefulness (absent: 'none').
 */
export function portChainKey(port: PortView, groupKey: (id: string) => string): string {
  const { status: _status, ...rest } = port;
  return `${JSON.stringify(rest)}\n${port.security_groups.map(groupKey).join('\n')}`;
}

export class PortChainMemo {
  /** `${family}\n${port id}` → the last chains planned for it */
  private entries = new Map<string, Entry>();
  private used = new Set<string>();
  /** Group objects of the views seen: each group's key is printed once per view. */
  private groupKeys = new WeakMap<SecurityGroupView, string>();
  /** Ports planned anew and reused since the last endPass (for tests and the log). */
  readonly stats = { planned: 0, reused: 0 };

  /** `chainsOf` with reuse, for one family ('4', '6'). */
  wrap(family: string, chainsOf: ChainsOfPort): ChainsOfPort {
    return (port, view, options) => {
      const byId = this.groupsOf(view);
      const key = portChainKey(port, (id) => this.groupKey(byId.get(id)));
      const slot = `${family}\n${port.id}`;
      this.used.add(slot);
      const hit = this.entries.get(slot);
      if (hit?.key === key) {
        this.stats.reused++;
        return hit.chains;
      }
      const chains = chainsOf(port, view, options);
      this.entries.set(slot, { key, chains });
      this.stats.planned++;
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

  /** Forgets the ports the pass just planned did not ask for (unbound, deleted, no longer filtered). */
  endPass(): void {
    for (const slot of this.entries.keys()) if (!this.used.has(slot)) this.entries.delete(slot);
    this.used = new Set();
  }

  get size(): number {
    return this.entries.size;
  }
}
