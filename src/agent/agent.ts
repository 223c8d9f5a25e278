// The agent process: reports its roles, then reconciles the node level-triggered — a full pass at
// start (which leaves working traffic alone: apply only changes what differs), a pass whenever the
// change feed says something moved, and a pass every resync interval to repair drift.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { NeutrinoClient } from '../client/neutrino.js';
import { HOST } from '../kernel/types.js';
import type { Kernel } from '../exec/kernel.js';
import type { HostView } from '../model/hostview.js';
import type { AgentConfig } from './config.js';
import { reconcile, type Facts } from './reconcile.js';

const AGENT_TYPES = { l2: 'Linux bridge agent', dhcp: 'DHCP agent', l3: 'L3 agent' } as const;

export class Agent {
  private stopped = false;
  private view: HostView | null = null;
  private reported = new Map<string, string>();
  private namespaces = new Set<string>();
  private devices = 0;

  constructor(
    private readonly cfg: AgentConfig,
    private readonly client: NeutrinoClient,
    private readonly kernel: Kernel,
    private readonly log: Logger,
  ) {}

  stop(): void {
    this.stopped = true;
  }

  private get namespacesFile() {
    return join(this.cfg.statePath, 'namespaces.json');
  }

  private async reportState(start: boolean): Promise<void> {
    for (const role of this.cfg.roles) {
      const configurations: Record<string, unknown> =
        role === 'l2'
          ? { tunneling_ip: this.cfg.localIp, tunnel_types: this.cfg.enableVxlan ? ['vxlan'] : [], interface_mappings: this.cfg.physicalInterfaceMappings, l2_population: this.cfg.l2Population, devices: this.devices }
          : role === 'dhcp'
            ? { dhcp_driver: 'dnsmasq', networks: this.view?.dhcp_networks.length ?? 0 }
            : { routers: 0 };
      await this.client.reportState({ agent_type: AGENT_TYPES[role], host: this.cfg.host, configurations, start_flag: start });
    }
  }

  /** The NIC that holds local_ip: VXLAN devices sit on it (Neutron's get_local_ip_device). */
  private async localIpDevice(): Promise<string | null> {
    if (!this.cfg.localIp) return null;
    const node = await this.kernel.observe({ host: true, namespaces: [], prefixes: [], sysctls: {}, processes: {} });
    const found = node.namespaces[HOST]?.addresses.find((a) => a.address.split('/')[0] === this.cfg.localIp);
    if (!found) throw new Error(`no device holds local_ip ${this.cfg.localIp} on this node`);
    return found.dev;
  }

  private async pass(facts: Facts): Promise<void> {
    if (!this.view) return;
    const r = await reconcile(this.kernel, this.view, facts, this.namespaces);
    const wanted = new Set(Object.keys(r.desired.namespaces).filter((k) => k !== HOST));
    if ([...wanted].some((n) => !this.namespaces.has(n)) || [...this.namespaces].some((n) => !wanted.has(n))) {
      this.namespaces = wanted;
      writeFileSync(this.namespacesFile, JSON.stringify([...wanted]));
    }
    this.devices = Object.values(r.portStatus).filter((s) => s === 'ACTIVE').length;
    if (r.ops) this.log.info({ ops: r.ops, ms: Math.round(r.ms), converged: r.converged }, 'applied changes');
    if (!r.converged) this.log.warn({ unresolved: r.unresolved }, 'not converged; retrying on the next pass');
    const changed: Record<string, string> = {};
    for (const [id, status] of Object.entries(r.portStatus)) {
      const known = this.reported.get(id) ?? this.view.ports.find((p) => p.id === id)?.status;
      if (known !== status) changed[id] = status;
    }
    if (Object.keys(changed).length) {
      await this.client.setPortStatus(this.cfg.host, changed);
      for (const [id, s] of Object.entries(changed)) this.reported.set(id, s);
    }
  }

  async run(): Promise<void> {
    mkdirSync(this.cfg.statePath, { recursive: true });
    try {
      this.namespaces = new Set(JSON.parse(readFileSync(this.namespacesFile, 'utf8')) as string[]);
    } catch {
      /* first start */
    }
    const facts: Facts = {
      host: this.cfg.host,
      roles: this.cfg.roles,
      localIp: this.cfg.localIp,
      localIpDevice: await this.localIpDevice(),
      physicalInterfaceMappings: this.cfg.physicalInterfaceMappings,
      statePath: this.cfg.statePath,
    };
    await this.reportState(true);
    const heartbeat = setInterval(() => void this.reportState(false).catch((e) => this.log.warn({ err: e }, 'state report failed')), this.cfg.reportInterval * 1000);
    let revision = 0;
    try {
      while (!this.stopped) {
        try {
          const page = this.view ? await this.client.changes(revision, this.cfg.resyncInterval) : null;
          // Status-only changes do not alter any kernel object.
          let view = this.view;
          if (!view || !page || page.changes.some((c) => c.op !== 'status') || page.revision < revision) {
            view = this.view = await this.client.hostView(this.cfg.host);
          }
          revision = page ? Math.max(page.revision, view.revision) : view.revision;
          await this.pass(facts);
        } catch (e) {
          // Level-triggered: whatever failed, the next pass starts from a fresh view.
          this.log.error({ err: e }, 'reconcile failed; full resync shortly');
          this.view = null;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    } finally {
      clearInterval(heartbeat);
    }
  }
}
