// The state of this node's HA routers, as Neutron's keepalived-state-change monitor reads it: a
// router is active here while its primary VIP (169.254.0.<vr_id>/24) is on its `ha-` device, which
// keepalived adds on becoming MASTER and removes otherwise. Changes are reported to the server
// (update_ha_routers_states), which moves the router's ports to the active host, and to the agent,
// which plans a primary router unlike a standby one (IPv6 forwarding, radvd). Each router's state is
// also written where Neutron's L3 agent keeps it (ha_confs/<router>/state: 'primary' or 'backup').
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { NeutrinoClient } from '../client/neutrino.ts';
import { run as defaultRun, type Runner } from '../exec/run.ts';
import { haName, routerNamespace } from '../kernel/names.ts';
import type { HostView } from '../model/hostview.ts';
import { haConfDir, primaryVip } from '../planner/keepalived.ts';

export interface HaWatch {
  routerId: string;
  namespace: string;
  dev: string;
  /** the primary VIP, address/prefix */
  vip: string;
}

/** The HA routers of a host view this node watches (pure). */
export function haWatches(view: HostView | null): HaWatch[] {
  return (view?.routers ?? [])
    .filter((r) => r.ha && r.admin_state_up)
    .map((r) => ({
      routerId: r.id,
      namespace: routerNamespace(r.id),
      dev: haName(r.ha!.port.id),
      vip: primaryVip(r.ha!.cidr, r.ha!.vr_id),
    }));
}

/** `ip -o -4 addr show dev <ha>` output → active when the primary VIP is there (pure). */
export function stateFromAddresses(output: string, vip: string): 'active' | 'standby' {
  return output.split('\n').some((l) => l.split(/\s+/).includes(vip)) ? 'active' : 'standby';
}

/** The state file's word for a state (Neutron's keepalived-state-change: primary, backup). */
export const stateFileText = (state: 'active' | 'standby') => (state === 'active' ? 'primary' : 'backup');

export class HaStateReporter {
  /** router id → the state last reported */
  private reported = new Map<string, string>();
  /** router id → the state last written to its state file */
  private written = new Map<string, string>();
  /** the routers last read as active here */
  private primary = new Set<string>();
  private inFlight: Promise<void> | null = null;

  private readonly host: string;
  private readonly client: NeutrinoClient;
  private readonly log: Logger;
  private readonly run: Runner;
  private readonly onPrimaryChange: () => void;
  private readonly statePath?: string;

  /** `onPrimaryChange` is called when the set of routers active here changed. */
  constructor(
    host: string,
    client: NeutrinoClient,
    log: Logger,
    run: Runner = defaultRun,
    onPrimaryChange: () => void = () => undefined,
    /** the agent's state_path: where each router's state file is written; none when undefined */
    statePath?: string,
  ) {
    this.host = host;
    this.client = client;
    this.log = log;
    this.run = run;
    this.onPrimaryChange = onPrimaryChange;
    this.statePath = statePath;
  }

  /** The routers active on this node as last read. */
  primaryRouters(): ReadonlySet<string> {
    return this.primary;
  }

  /** Reads each watched router's state and reports those that changed (one check at a time: a second caller waits for it). */
  check(watches: HaWatch[]): Promise<void> {
    this.inFlight ??= this.readAndReport(watches).finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async readAndReport(watches: HaWatch[]): Promise<void> {
    const states = new Map<string, 'active' | 'standby'>();
    for (const w of watches) {
      try {
        states.set(
          w.routerId,
          stateFromAddresses((await this.run(['ip', '-n', w.namespace, '-o', '-4', 'addr', 'show', 'dev', w.dev])).stdout, w.vip),
        );
      } catch {
        // the namespace or device is not there yet: the pass makes it
      }
    }
    await this.writeStateFiles(states);
    const primary = new Set([...states].filter(([, s]) => s === 'active').map(([id]) => id));
    if (primary.size !== this.primary.size || [...primary].some((id) => !this.primary.has(id))) {
      this.primary = primary;
      this.onPrimaryChange();
    }
    try {
      const changed: Record<string, string> = {};
      for (const [id, state] of states) if (this.reported.get(id) !== state) changed[id] = state;
      for (const id of this.reported.keys()) if (!watches.some((w) => w.routerId === id)) this.reported.delete(id);
      if (!Object.keys(changed).length) return;
      this.log.info({ states: changed }, 'HA router state changed');
      await this.client.setHaRouterStates(this.host, changed);
      for (const [id, s] of Object.entries(changed)) this.reported.set(id, s);
    } catch (e) {
      this.log.warn({ err: e }, 'HA router state report failed; retried on the next check');
    }
  }

  private async writeStateFiles(states: ReadonlyMap<string, 'active' | 'standby'>): Promise<void> {
    if (this.statePath === undefined) return;
    for (const [id, state] of states) {
      if (this.written.get(id) === state) continue;
      try {
        await writeFile(join(haConfDir(this.statePath, id), 'state'), stateFileText(state));
        this.written.set(id, state);
      } catch (e) {
        this.log.warn({ err: e, router: id }, 'HA state file not written; retried on the next check');
      }
    }
    for (const id of this.written.keys()) if (!states.has(id)) this.written.delete(id);
  }
}
