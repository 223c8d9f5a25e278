// The agent process: reports its roles, then reconciles the node level-triggered — a full pass at
// start (which leaves working traffic alone: apply only changes what differs), a targeted pass
// whenever the change feed or a link event says something moved (only what changed since the last
// converged pass is read and changed), and a full pass a resync interval after the last one (longer
// on a node whose full pass is long) to repair drift.
import { mkdirSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { HOST } from '../kernel/types.ts';
import type { Logger } from 'pino';
import type { NeutrinoClient } from '../client/neutrino.ts';
import { HostWatch } from './host-watch.ts';
import { LinkMonitor, type LinkEvents, type SeenLinks } from './link-monitor.ts';
import { withoutEchoes } from './link-echoes.ts';
import type { Kernel } from '../exec/kernel.ts';
import type { HostView } from '../model/hostview.ts';
import { AGENT_METADATA, AGENT_TYPES } from '../model/neutron.ts';
import { defaultMetadataSocket } from '../planner/metadata.ts';
import { rateLimitingProblem, vxlanSettingsOf, type AgentConfig } from './config.ts';
import { deleteConntrackState } from './conntrack.ts';
import { sendGarps } from './garp.ts';
import { MetadataAgent } from './metadata-agent.ts';
import { metadataFacts } from './metadata-facts.ts';
import { readMeteringDeltas } from './metering.ts';
import { agentPass, type AgentPassResult, type Facts, type PriorPass } from './pass.ts';
import type { AgentMetrics } from './metrics.ts';
import { kernelHasVlan } from './vlan-support.ts';
import { PortChainMemo } from '../planner/port-memo.ts';
import { isFullPass } from './full-pass.ts';
import { keptReports, statusesToReport, type ReportedStatuses } from './status-reports.ts';
import { HaStateReporter, haWatches } from './ha-state.ts';

/** How often the HA routers' keepalived state is read (Neutron's monitor reacts at once; the server learns it in batches). */
const HA_CHECK_MS = 500;

/** A full pass is followed by at least this many times its duration without one (see fullPassDone). */
const FULL_PASS_GAP = 5;

/** The longest long-poll of the change feed the server accepts (seconds). */
const FEED_WAIT_MAX_S = 60;

export class Agent {
  private stopped = false;
  private readonly watch: HostWatch;
  private reported: ReportedStatuses = new Map();
  /** floating IP id → the status last reported (ACTIVE ones only are kept) */
  private fipReported = new Map<string, string>();
  private devices = 0;
  /** The host view's revision the last converged pass realized (reported: the server shows the agent's lag). */
  private convergedRevision: number | null = null;
  /** the metadata agent, on nodes with the DHCP or L3 role */
  private metadata: MetadataAgent | null = null;

  private readonly cfg: AgentConfig;
  private readonly client: NeutrinoClient;
  private readonly kernel: Kernel;
  private readonly log: Logger;
  private readonly metrics?: AgentMetrics;

  constructor(cfg: AgentConfig, client: NeutrinoClient, kernel: Kernel, log: Logger, metrics?: AgentMetrics) {
    this.cfg = cfg;
    this.client = client;
    this.kernel = kernel;
    this.log = log;
    this.metrics = metrics;
    this.watch = new HostWatch(client, cfg.host, log);
  }

  /** Ends run() after the pass under way, if any: the long-poll and any pause end at once. */
  stop(): void {
    this.stopped = true;
    this.kick();
    this.endPause?.();
  }

  private monitor = new LinkMonitor(() => undefined);
  /** The last converged pass (targeted passes start from it); null: the next pass is a full one. */
  private prior: Omit<PriorPass, 'events'> | null = null;
  /** Each port's planned chains, reused while the port and its groups' rules stay as they were. */
  private readonly chainMemo = new PortChainMemo();
  /** Links named by events since the current pass began, and what their last events showed. */
  private events: LinkEvents = new Map();
  private seen: SeenLinks = new Map();
  /** A kick without link events (an HA state change) since the current pass began: the next pass runs whatever the events. */
  private forced = false;
  /** When the next full pass is due (performance.now()), and the gap it keeps; see fullPassDone. */
  private fullDue = -Infinity;
  private fullGapMs = 0;
  /** The host view the last pass planned from: another one means the resources changed. */
  /** The host watch's contentVersion the last pass planned from. */
  private lastContentVersion = -1;
  private kicked = false;
  private firstPass = true;
  private waiting: AbortController | null = null;
  private endPause: (() => void) | null = null;

  /** Waits `ms`, or less if the agent is stopped meanwhile. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const end = () => {
        clearTimeout(timer);
        this.endPause = null;
        resolve();
      };
      const timer = setTimeout(end, ms);
      this.endPause = end;
    });
  }

  /** Something changed on the node itself (a link event): reconcile now, without waiting for the feed. */
  private kick(events?: LinkEvents, seen?: SeenLinks): void {
    if (!events) this.forced = true;
    for (const [name, present] of events ?? []) {
      this.events.set(name, present);
      const state = seen?.get(name);
      if (state) this.seen.set(name, state);
      else this.seen.delete(name);
    }
    this.kicked = true;
    this.waiting?.abort();
  }

  /**
   * Waits for the next reason to reconcile — a change in the feed, a local link event, or the resync
   * interval — and refreshes the host view when the resources changed.
   */
  private async waitAndRefresh(): Promise<void> {
    if (!this.watch.view) {
      await this.watch.fullSync();
      return;
    }
    if (this.kicked) {
      // Link events waiting: the feed is still looked at, without waiting (and not aborted by more
      // events), so that a stream of link events — a pass's own changes to a thousand taps raise
      // more — cannot keep a change of the resources (the ports those taps belong to) from the agent.
      this.kicked = false;
      await this.watch.follow(0);
      return;
    }
    this.waiting = new AbortController();
    try {
      // Until the next full pass is due; the server holds a long-poll for at most a minute.
      const waitS = Math.min(FEED_WAIT_MAX_S, Math.max(0, Math.round(this.fullDueInMs()) / 1000));
      await this.watch.follow(waitS, this.waiting.signal);
    } finally {
      this.waiting = null;
    }
    this.kicked = false;
  }

  private fullDueInMs(): number {
    return this.fullDue - performance.now();
  }

  /**
   * The next full pass comes a resync interval after this one ends, or later on a node whose full
   * pass is long: then at most 1/(FULL_PASS_GAP + 1) of the agent's time goes to full passes, and
   * targeted passes that changes need are not stuck behind one full pass after another.
   */
  private fullPassDone(ms: number): void {
    this.fullGapMs = Math.max(this.cfg.resyncInterval * 1000, FULL_PASS_GAP * ms);
    this.fullDue = performance.now() + this.fullGapMs;
  }

  private get view(): HostView | null {
    return this.watch.view;
  }

  private async reportState(start: boolean): Promise<void> {
    for (const role of this.cfg.roles) {
      const configurations: Record<string, unknown> =
        role === 'l2'
          ? {
              tunneling_ip: this.cfg.localIp,
              tunnel_types: this.cfg.enableVxlan ? ['vxlan'] : [],
              interface_mappings: this.cfg.physicalInterfaceMappings,
              bridge_mappings: this.cfg.bridgeMappings,
              l2_population: this.cfg.l2Population,
              devices: this.devices,
            }
          : role === 'dhcp'
            ? { dhcp_driver: 'dnsmasq', networks: this.view?.dhcp_networks.length ?? 0 }
            : { routers: this.view?.routers?.length ?? 0 };
      if (this.convergedRevision !== null) configurations.converged_revision = this.convergedRevision;
      // Only the DHCP and L3 agents have a zone (the L2 agent reports none, as Neutron's).
      const zone = role === 'l2' ? {} : { availability_zone: this.cfg.availabilityZone };
      await this.client.reportState({
        agent_type: AGENT_TYPES[role].agent_type,
        host: this.cfg.host,
        configurations,
        start_flag: start,
        ...zone,
      });
    }
    if (this.cfg.roles.includes('l3')) await this.reportMeteringCounters();
    if (this.metadata) {
      const md = this.cfg.metadata;
      await this.client.reportState({
        agent_type: AGENT_METADATA,
        host: this.cfg.host,
        configurations: {
          metadata_proxy_socket: this.metadataSocket,
          nova_metadata_host: md.novaMetadataHost,
          nova_metadata_port: md.novaMetadataPort,
        },
        start_flag: start,
      });
    }
  }

  /**
   * The metering agent's report, with each state report: what every label in this node's routers
   * counted since the last report (the server adds them to its totals). Nothing without labels.
   */
  private async reportMeteringCounters(): Promise<void> {
    const deltas = await readMeteringDeltas(this.view?.routers ?? [], this.log);
    if (deltas.length) await this.client.reportMeteringDeltas(this.cfg.host, deltas);
  }

  private get metadataSocket(): string {
    return this.cfg.metadata.socket ?? defaultMetadataSocket(this.cfg.statePath);
  }

  /** Nodes that run metadata proxies (DHCP or L3 role) run the metadata agent they forward to. */
  private get runsMetadataAgent(): boolean {
    return this.cfg.roles.includes('dhcp') || this.cfg.roles.includes('l3');
  }

  /** The bridges of bridge_mappings, which must exist (Neutron's validate_bridge_mappings: the agent does not start without them). */
  private async mappedBridges(): Promise<Record<string, string>> {
    const wanted = Object.entries(this.cfg.bridgeMappings);
    if (!wanted.length) return {};
    const node = await this.kernel.observe({ host: true, namespaces: [], prefixes: [], sysctls: {}, processes: {} });
    const links = node.namespaces[HOST]?.links ?? [];
    for (const [physnet, bridge] of wanted) {
      if (!links.some((l) => l.name === bridge && l.kind === 'bridge'))
        throw new Error(`bridge ${bridge} for physical network ${physnet} does not exist ([linux_bridge] bridge_mappings)`);
    }
    return this.cfg.bridgeMappings;
  }

  /** The NIC that holds local_ip: VXLAN devices sit on it (Neutron's get_local_ip_device). */
  private async localIpDevice(): Promise<string | null> {
    if (!this.cfg.localIp) return null;
    const node = await this.kernel.observe({ host: true, namespaces: [], prefixes: [], sysctls: {}, processes: {} });
    const found = node.namespaces[HOST]?.addresses.find((a) => a.address.split('/')[0] === this.cfg.localIp);
    if (!found) throw new Error(`no device holds local_ip ${this.cfg.localIp} on this node`);
    return found.dev;
  }

  /**
   * Whether this node's kernel has IPv6 (oslo netutils.is_ipv6_enabled, which Neutron's firewall
   * and ip_lib ask): the default interface setting exists and does not disable it.
   */
  /** 802.1Q in the kernel; without it VLAN networks are left unwired here (their ports stay DOWN), said once at start. */
  private vlanSupported(): boolean {
    const has = kernelHasVlan();
    if (!has && Object.keys(this.cfg.physicalInterfaceMappings).length)
      this.log.warn('the kernel has no 802.1Q VLAN support (8021q): VLAN networks are not wired on this node');
    return has;
  }

  private async ipv6Enabled(): Promise<boolean> {
    const key = 'net.ipv6.conf.default.disable_ipv6';
    const node = await this.kernel.observe({ host: true, namespaces: [], prefixes: [], sysctls: { [HOST]: [key] }, processes: {} });
    return node.namespaces[HOST]?.sysctls[key] === '0';
  }

  private async pass(facts: Facts): Promise<void> {
    if (!this.view) return;
    const raw = this.events;
    // The last pass's own changes, seen as link events, are no change.
    const events = withoutEchoes(raw, this.seen, this.prior);
    const forced = this.forced;
    this.events = new Map();
    this.seen = new Map();
    this.forced = false;
    // An empty delta is no change: taking it for one made every due full pass wait a whole gap more,
    // polling the server without waiting all the while.
    const viewChanged = this.watch.contentVersion !== this.lastContentVersion;
    const hasChange = events.size > 0 || viewChanged;
    this.lastContentVersion = this.watch.contentVersion;
    const full = isFullPass(this.prior !== null, { dueInMs: this.fullDueInMs(), gapMs: this.fullGapMs }, hasChange);
    // Woken by echoes alone: nothing to plan.
    if (!full && !forced && !hasChange && raw.size > 0) {
      this.log.debug({ links: raw.size }, "link events of the last pass's own changes: nothing to do");
      return;
    }
    this.prior = full ? null : this.prior;
    const r = await agentPass(this.kernel, this.view, facts, this.prior ? { ...this.prior, events } : undefined, this.chainMemo);
    // Only a converged pass is a base to build on: anything else is looked at again, whole.
    this.prior = r.converged ? { desired: r.desired, presentTaps: r.presentTaps, portStatus: r.portStatus } : null;
    if (full) this.fullPassDone(r.ms);
    this.afterRouterChanges(r);
    this.devices = Object.values(r.portStatus).filter((s) => s === 'ACTIVE').length;
    if (r.converged) this.convergedRevision = this.view.revision;
    this.metrics?.pass({ full, ms: r.ms, ops: r.ops, converged: r.converged, portsWired: this.devices, revision: this.view.revision });
    const cost = {
      ops: r.ops,
      commands: r.commands,
      ms: Math.round(r.ms),
      converged: r.converged,
      scope: scopeLabel(r.scope),
      // view: how long the last whole fetch of the host view took (a delta ends a long-poll: its time is the wait)
      timings: { view: this.watch.stats.lastSyncMs, ...r.timings },
    };
    if (this.firstPass) this.log.info({ ...cost, ports: this.view.ports.length }, 'initial sync');
    else if (r.ops) this.log.info(cost, 'applied changes');
    this.firstPass = false;
    if (!r.converged) this.log.warn({ unresolved: r.unresolved, err: r.error }, 'not converged; retrying on the next pass');
    const ports = this.view.ports;
    const changed = statusesToReport(ports, r.portStatus, this.reported);
    if (Object.keys(changed).length) await this.client.setPortStatus(this.cfg.host, changed);
    this.reported = keptReports(ports, this.reported, changed);
    if (this.cfg.roles.includes('l3') && r.converged) await this.reportFloatingIps(r.portStatus);
  }

  /**
   * What Neutron's L3 agent does once addresses changed on a router: drop the connection tracking
   * state of the addresses removed, announce the ones added with gratuitous ARP. In the background:
   * the pass does not wait, and failures are only logged.
   */
  private afterRouterChanges(r: AgentPassResult): void {
    if (r.released.length) void deleteConntrackState(r.released, this.log);
    if (r.announce.length) {
      this.log.info({ addresses: r.announce.map((a) => `${a.ip} on ${a.dev}`) }, 'sending gratuitous ARP');
      void sendGarps(r.announce, this.log);
    }
  }

  /** Floating IP status (update_floatingip_statuses): ACTIVE once its router's gateway is plugged and the pass converged; DOWN once gone. */
  private async reportFloatingIps(portStatus: Record<string, string>): Promise<void> {
    const want = new Map<string, string>();
    for (const router of this.view?.routers ?? []) {
      if (!router.admin_state_up || !router.gateway || portStatus[router.gateway.port.id] !== 'ACTIVE') continue;
      for (const f of router.floating_ips) want.set(f.id, 'ACTIVE');
      for (const f of router.port_forwardings ?? []) want.set(f.floatingip_id, 'ACTIVE');
    }
    for (const id of this.fipReported.keys()) if (!want.has(id)) want.set(id, 'DOWN');
    const changed: Record<string, string> = {};
    for (const [id, s] of want) if (this.fipReported.get(id) !== s) changed[id] = s;
    if (!Object.keys(changed).length) return;
    await this.client.setFloatingIpStatus(this.cfg.host, changed);
    for (const [id, s] of Object.entries(changed)) {
      if (s === 'DOWN') this.fipReported.delete(id);
      else this.fipReported.set(id, s);
    }
  }

  async run(): Promise<void> {
    mkdirSync(this.cfg.statePath, { recursive: true });
    const facts: Facts = {
      host: this.cfg.host,
      roles: this.cfg.roles,
      localIp: this.cfg.localIp,
      localIpDevice: await this.localIpDevice(),
      physicalInterfaceMappings: this.cfg.physicalInterfaceMappings,
      bridgeMappings: await this.mappedBridges(),
      arpResponder: this.cfg.l2Population && this.cfg.arpResponder,
      vxlan: vxlanSettingsOf(this.cfg),
      enableIpset: this.cfg.enableIpset,
      ipv6: await this.ipv6Enabled(),
      vlan: this.vlanSupported(),
      statePath: this.cfg.statePath,
      // radvd_user unset: Neutron passes radvd the agent's own user.
      radvdUser: userInfo().username,
      // metadata_proxy_user/group unset: the proxies run as the agent's effective user and group.
      metadata: this.runsMetadataAgent ? metadataFacts(this.cfg, { user: userInfo().username, group: groupName(userInfo().gid) }) : null,
      haVrrpAdvertInt: this.cfg.haVrrpAdvertInt,
    };
    if (this.runsMetadataAgent) {
      const problem = rateLimitingProblem(this.cfg.metadata.rateLimiting);
      if (problem) this.log.warn(problem);
      this.metadata = new MetadataAgent(this.cfg.metadata, this.metadataSocket, this.client, this.log.child({ component: 'metadata' }));
      await this.metadata.start();
    }
    await this.reportState(true);
    const heartbeat = setInterval(
      () => void this.reportState(false).catch((e) => this.log.warn({ err: e }, 'state report failed')),
      this.cfg.reportInterval * 1000,
    );
    this.monitor = new LinkMonitor((events, seen) => this.kick(events, seen));
    this.monitor.start();
    const l3 = this.cfg.roles.includes('l3');
    // A router made primary or standby here is planned again (IPv6 forwarding, radvd).
    const ha = new HaStateReporter(
      this.cfg.host,
      this.client,
      this.log.child({ component: 'ha' }),
      undefined,
      () => this.kick(),
      this.cfg.statePath,
    );
    const haTimer = l3 ? setInterval(() => void ha.check(haWatches(this.view)), HA_CHECK_MS) : null;
    try {
      while (!this.stopped) {
        try {
          await this.waitAndRefresh();
          if (this.stopped) break;
          // The first pass knows which routers keepalived holds here already (an agent restarted
          // next to a running keepalived), so that it does not plan a primary as a standby.
          if (l3 && this.firstPass) await ha.check(haWatches(this.view));
          await this.pass({ ...facts, haPrimary: ha.primaryRouters() });
        } catch (e) {
          // Level-triggered: whatever failed, the next pass starts from a fresh view.
          this.log.error({ err: e }, 'reconcile failed; full resync shortly');
          this.metrics?.failed();
          this.watch.reset();
          this.prior = null;
          if (!this.stopped) await this.pause(1000);
        }
      }
    } finally {
      clearInterval(heartbeat);
      if (haTimer) clearInterval(haTimer);
      await this.monitor.stop();
      await this.metadata?.stop();
    }
  }
}

/** The name of group `gid` in /etc/group (haproxy takes names); the number itself when it has none. */
function groupName(gid: number): string {
  try {
    const line = readFileSync('/etc/group', 'utf8')
      .split('\n')
      .find((l) => l.split(':')[2] === String(gid));
    if (line) return line.split(':')[0]!;
  } catch {
    /* no /etc/group: the number */
  }
  return String(gid);
}

/** For the log: how many links and chains a targeted pass looked at, or why the pass was full. */
function scopeLabel(scope: AgentPassResult['scope']): string {
  if (typeof scope === 'string') return scope;
  const chains = Object.values(scope.chains).reduce((n, c) => n + c.size, 0);
  return `slice: ${scope.links.size} links, ${chains} chains, ${scope.ipsets.size} sets, ${scope.namespaces.size} namespaces`;
}
