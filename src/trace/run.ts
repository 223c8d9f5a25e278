// One trace from the command line: gather (live) or load (snapshot), optionally record, build the
// context, trace, render. Returns the exit status of the verdict: 0 healthy, 1 broken, 3 inconclusive.
import { COMPUTE_OWNER_PREFIX, ROUTER_GW_OWNER, ROUTER_INTERFACE_OWNERS } from '../model/neutron.ts';
import { parseIp } from '../model/ip.ts';
import { HOST } from '../kernel/types.ts';
import { PortChainMemo } from '../planner/port-memo.ts';
import type { IpFamily, TraceContext } from './context.ts';
import { expectedNode } from './expect/expect.ts';
import { exitStatusOf } from './finish.ts';
import { traceFip, type FipOptions } from './walk/fip.ts';
import { tracePort } from './walk/port.ts';
import { fixedIpOf, fixedIps } from './context.ts';
import { gatherSnapshot, type GatherOptions } from './read/gather.ts';
import type { TraceLabs } from './labs.ts';
import { agentsOn, parseDump, type TraceNode } from './read/nodes.ts';
import { renderDot, renderMermaid } from './render/render-graph.ts';
import { renderText } from './render/render-text.ts';
import type { TraceReport } from './report.ts';
import type { ApiObject, Snapshot } from './snapshot.ts';
import { loadSnapshot, saveSnapshot } from './read/snapshot-io.ts';
import { nodeAccess, parseAccess } from './read/access.ts';
import { probeFip, probePort, type ProbeOptions } from './probe/probe.ts';
import { dhcpClientArgv, probeDhcp, probeDhcpPassive } from './probe/probe-dhcp.ts';
import { probeDhcp6, probeDhcp6Passive } from './probe/probe-dhcp6.ts';
import { dhcpClientPort, DhcpTraceError, DHCPV6_SERVER_PORT, traceDhcp, withDhcpLeg } from './walk/dhcp.ts';
import { traceMetadata } from './walk/metadata.ts';

export class TraceUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceUsageError';
  }
}

export interface TraceCliOptions {
  kind: 'fip' | 'port' | 'instance' | 'dhcp';
  target: string;
  /** port and instance traces: the destination (a port id, a port's fixed IP, or an address) */
  to?: string;
  /**
   * trace instance without --to: its way out over IPv6 (to the external subnet's IPv6 gateway);
   * trace dhcp: the DHCPv6 exchange. Without it both follow IPv4 unless the port has only IPv6.
   */
  ipv6?: boolean;
  /** trace instance: its metadata path (169.254.169.254) instead of its connectivity */
  metadata?: boolean;
  lab?: string;
  /** the labs this machine runs (the CLI reads them from their state root) */
  labs: TraceLabs;
  cloud?: string;
  nodes: Record<string, string>;
  agentConfigs: Record<string, string>;
  instancesPaths: Record<string, string>;
  protocol: 'icmp' | 'tcp' | 'udp';
  port?: string;
  source?: string;
  format: 'text' | 'json' | 'dot' | 'mermaid';
  detail: boolean;
  record?: string;
  snapshot?: string;
  /** send real traffic and capture on every hop's device */
  probe?: boolean;
  /** where the probe's traffic starts (ACCESS); default in a lab: its external host */
  from?: string;
  count?: string;
  /** trace dhcp --probe: start no client, capture this many seconds (a renewal, or a client the operator starts) */
  wait?: string;
  captureDir?: string;
  color?: boolean;
  write: (s: string) => void;
  progress: (s: string) => void;
}

/**
 * The tracer's view of every node in a snapshot: parsed kernel state and the planner's expectation.
 * `memos` (by node and its agent's configuration) reuse ports' planned chains from an earlier
 * snapshot of the same cloud.
 */
export function contextFrom(snapshot: Snapshot, source: string, memos?: Map<string, PortChainMemo>): TraceContext {
  const nodes: Record<string, TraceNode> = {};
  for (const [host, dump] of Object.entries(snapshot.nodes)) {
    const parsed = parseDump(dump);
    // One memo per node and configuration: the chains depend on the agent's settings too (enable_ipset).
    const key = `${host}\n${dump.agentConfig.text ?? ''}`;
    let memo = memos?.get(key);
    if (memos && !memo) memos.set(key, (memo = new PortChainMemo()));
    const e = expectedNode(snapshot.api, dump, { allBoundTaps: true, parsedHost: parsed.observed.namespaces[HOST], memo });
    nodes[host] = { host, dump, ...parsed, desired: e.desired, settings: e.settings, agents: agentsOn(snapshot.api, host) };
  }
  return { api: snapshot.api, nodes, now: new Date(snapshot.createdAt), source };
}

export function checkOptions(o: TraceCliOptions): void {
  if (o.kind === 'dhcp' && (o.to !== undefined || o.port !== undefined || o.source !== undefined || o.protocol !== 'icmp')) {
    throw new TraceUsageError(
      "trace dhcp follows the DHCP exchange (udp 68 → 67 to the network's DHCP servers): it takes no --to, --protocol, --port or --source",
    );
  }
  if (o.kind === 'dhcp' && o.count !== undefined)
    throw new TraceUsageError('trace dhcp --probe runs one DHCP client exchange: it takes no --count');
  if (o.wait !== undefined) {
    if (o.kind !== 'dhcp' || !o.probe) throw new TraceUsageError('--wait goes with trace dhcp --probe');
    if (!/^\d+$/.test(o.wait) || Number(o.wait) < 1 || Number(o.wait) > 600)
      throw new TraceUsageError(`--wait must be 1-600 seconds, got '${o.wait}'`);
    if (o.from !== undefined) throw new TraceUsageError('--wait starts no client: it takes no --from');
  }
  if (o.kind === 'fip' && parseIp(o.target)?.version !== 4) throw new TraceUsageError(`'${o.target}' is not an IPv4 address`);
  if (o.kind === 'port' && !o.to) throw new TraceUsageError('trace port needs --to ADDRESS|PORT');
  if (o.metadata && (o.to !== undefined || o.ipv6 || o.probe))
    throw new TraceUsageError('--metadata checks the path to 169.254.169.254: it takes no --to, --ipv6 or --probe');
  if (o.to !== undefined && !parseIp(o.to) && !/^[0-9a-f-]{8,36}$/.test(o.to))
    throw new TraceUsageError(`--to '${o.to}' is neither an IPv4 address nor a port id`);
  if (o.port !== undefined && (!/^\d+$/.test(o.port) || Number(o.port) < 1 || Number(o.port) > 65535))
    throw new TraceUsageError(`--port must be 1-65535, got '${o.port}'`);
  if (o.port !== undefined && o.protocol === 'icmp') throw new TraceUsageError('--port needs --protocol tcp or udp');
  if (o.source !== undefined && parseIp(o.source)?.version !== 4)
    throw new TraceUsageError(`--source '${o.source}' is not an IPv4 address`);
  const live = o.lab !== undefined || o.cloud !== undefined || Object.keys(o.nodes).length > 0;
  if (o.snapshot && live) throw new TraceUsageError('--snapshot traces a recording: it takes no --lab, --cloud or --node');
  if (o.snapshot && o.record) throw new TraceUsageError('--snapshot and --record do not go together');
  if (o.probe && o.snapshot) throw new TraceUsageError('--probe sends real traffic: it cannot run on a --snapshot');
  if (o.count !== undefined && (!/^\d+$/.test(o.count) || Number(o.count) < 1 || Number(o.count) > 100))
    throw new TraceUsageError(`--count must be 1-100, got '${o.count}'`);
  if (o.from !== undefined) parseAccess(o.from);
  if (o.lab !== undefined && (o.cloud !== undefined || Object.keys(o.nodes).length > 0))
    throw new TraceUsageError('--lab reads the lab itself: it takes no --cloud or --node');
}

/** The options that say where a live read comes from (shared with `neutrino web`). */
export type AccessOptions = Pick<TraceCliOptions, 'lab' | 'labs' | 'cloud' | 'nodes' | 'agentConfigs' | 'instancesPaths'>;

/** The lab read: --lab, else the default lab unless a cloud is named (--cloud, --node, OS_CLOUD, OS_AUTH_URL). */
export function labOf(o: AccessOptions): string | undefined {
  const cloudMode =
    o.cloud !== undefined || Object.keys(o.nodes).length > 0 || (!o.lab && !!(process.env.OS_CLOUD || process.env.OS_AUTH_URL));
  return cloudMode ? undefined : (o.lab ?? o.labs.defaultLab);
}

export function gatherOptions(o: AccessOptions, lab: string | undefined, progress?: (s: string) => void): GatherOptions {
  return {
    lab: lab === undefined ? undefined : o.labs.source(lab),
    nodes: o.nodes,
    agentConfigs: o.agentConfigs,
    instancesPaths: o.instancesPaths,
    cloud: o.cloud,
    progress,
  };
}

export async function runTrace(o: TraceCliOptions): Promise<number> {
  checkOptions(o);
  const started = Date.now();
  let snapshot: Snapshot;
  let source: string;
  if (o.snapshot) {
    snapshot = await loadSnapshot(o.snapshot);
    source = `snapshot ${o.snapshot}`;
  } else {
    const lab = labOf(o);
    snapshot = await gatherSnapshot(gatherOptions(o, lab, o.format === 'text' ? o.progress : undefined));
    source = lab ? `live, lab ${lab}` : `live, ${snapshot.source.endpoint}`;
    if (o.record) {
      await saveSnapshot(o.record, snapshot);
      o.progress(`snapshot recorded in ${o.record} (trace it again with --snapshot ${o.record})`);
    }
  }
  const ctx = contextFrom(snapshot, source);
  const flow =
    o.protocol === 'icmp' ? { protocol: 'icmp' as const } : { protocol: o.protocol, ...(o.port ? { port: Number(o.port) } : {}) };
  // In a lab the traffic comes from the external host's client beyond the upstream router.
  const from = o.source ?? (snapshot.source.lab ? o.labs.upstreamClient : undefined);
  let report: TraceReport = traceOf(ctx, o, snapshot, { flow, ...(from ? { source: from } : {}) }, started);
  if (o.probe && o.wait !== undefined) report = await waitForDhcp(report, o, snapshot);
  else if (o.probe)
    report =
      report.target.kind === 'floatingip'
        ? await probe(report, o, snapshot)
        : await probeFromPort(report, o, snapshot, report.target.kind === 'dhcp' ? dhcpProbeOf(report) : probePort);
  // An instance gets its address first: its DHCP leg leads.
  if (o.kind === 'instance') report = withDhcpLeg(await instanceDhcpLeg(ctx, o, snapshot, report, started), report);
  o.write(render(report, o));
  return exitStatusOf(report.verdict);
}

/** The trace the command asks for: a floating IP in, a port to a destination, or an instance. */
function traceOf(ctx: TraceContext, o: TraceCliOptions, snapshot: Snapshot, fipOptions: FipOptions, started: number): TraceReport {
  if (o.kind === 'fip') return traceFip(ctx, o.target, fipOptions, started);
  if (o.kind === 'port') return tracePort(ctx, o.target, o.to!, { flow: fipOptions.flow }, started);
  if (o.kind === 'dhcp') return dhcpTrace(ctx, o.target, started, o.ipv6 ? 6 : undefined);
  const port = instancePort(ctx, o, snapshot);
  if (o.metadata) return traceMetadata(ctx, port, o.target, started);
  if (o.to) return tracePort(ctx, port.id, o.to, { flow: fipOptions.flow }, started);
  const fip = ctx.api.floatingips.find((f) => f['port_id'] === port.id);
  // Floating IPs are IPv4 only: over IPv6 the instance is reached by its own address, routed as it
  // is. IPv6 when asked, or when the instance has no floating IP and no IPv4 address.
  if (o.ipv6 || (!fip && !fixedIpOf(port, 4) && fixedIpOf(port, 6)))
    return tracePort(ctx, port.id, externalGateway(ctx, port, 6) ?? '::', { flow: fipOptions.flow }, started);
  if (fip) return traceFip(ctx, String(fip['floating_ip_address']), fipOptions, started);
  return tracePort(ctx, port.id, externalGateway(ctx, port) ?? '0.0.0.0', { flow: fipOptions.flow }, started);
}

/** The instance's port on the Networking API (its compute: port). */
function instancePort(ctx: TraceContext, o: TraceCliOptions, snapshot: Snapshot): ApiObject {
  const id = instanceId(o.target, snapshot, o.labs);
  const port = ctx.api.ports.find((p) => p['device_id'] === id && String(p['device_owner'] ?? '').startsWith(COMPUTE_OWNER_PREFIX));
  if (!port) throw new TraceUsageError(`no port has device_id ${id}: no instance '${o.target}' is known to the Networking API`);
  return port;
}

function dhcpTrace(ctx: TraceContext, target: string, started: number, family?: IpFamily): TraceReport {
  try {
    dhcpClientPort(ctx, target);
  } catch (e) {
    if (e instanceof DhcpTraceError) throw new TraceUsageError(e.message);
    throw e;
  }
  return traceDhcp(ctx, target, started, family);
}

/** An instance id from an id, or from a lab instance's name. */
function instanceId(query: string, snapshot: Snapshot, labs: TraceLabs): string {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(query)) return query;
  const lab = snapshot.source.lab;
  if (!lab)
    throw new TraceUsageError(`'${query}' is not an instance id; outside a lab instances are known by id only (the ports' device_id)`);
  const found = labs.instances(lab).find((i) => i.name === query || i.id === query);
  if (!found) throw new TraceUsageError(`lab '${lab}' has no instance '${query}'`);
  return found.id;
}

/** The external subnet's gateway of the router on the port's subnet: "the outside" for an instance. */
function externalGateway(ctx: TraceContext, port: ApiObject, family?: IpFamily): string | null {
  const own = family ? [fixedIpOf(port, family)].filter((f) => !!f) : fixedIps(port);
  const subnetIds = new Set(own.map((f) => f!.subnet_id));
  const intf = ctx.api.ports.find(
    (p) => ROUTER_INTERFACE_OWNERS.includes(String(p['device_owner'] ?? '')) && fixedIps(p).some((f) => subnetIds.has(f.subnet_id)),
  );
  const gw = intf && ctx.api.ports.find((p) => p['device_id'] === intf['device_id'] && p['device_owner'] === ROUTER_GW_OWNER);
  const subnet = gw && ctx.api.subnets.find((s) => s.id === (family ? fixedIpOf(gw, family) : fixedIps(gw)[0])?.subnet_id);
  return (subnet?.['gateway_ip'] as string | null | undefined) ?? null;
}

/** --probe: real traffic from the upstream side, captured on every hop's device on every node. */
async function probe(report: TraceReport, o: TraceCliOptions, snapshot: Snapshot): Promise<TraceReport> {
  const options = fipProbeOptions(snapshot, o);
  if (o.format === 'text')
    o.progress(
      `probing: ${report.target.flow.protocol} to ${o.target} from ${options.from.label}${options.source ? ` (source ${options.source})` : ''}, capturing on every hop`,
    );
  return probeFip(report, options);
}

/**
 * How a floating IP's probe runs: each node of the snapshot reached as it was read, the traffic sent
 * from --from (in a lab without it: its external host, from the client beyond the upstream router).
 */
export function fipProbeOptions(
  snapshot: Snapshot,
  o: Pick<TraceCliOptions, 'from' | 'source' | 'labs' | 'count' | 'captureDir'>,
): ProbeOptions {
  const lab = snapshot.source.lab;
  const fromAccess = o.from ?? (lab ? `netns:${o.labs.externalNamespace(lab)}` : undefined);
  if (!fromAccess)
    throw new TraceUsageError(
      '--probe needs --from ACCESS: where to send the traffic from (local, netns:NAME or ssh:USER@ADDRESS), on the provider network side',
    );
  const access = Object.fromEntries(Object.values(snapshot.nodes).map((d) => [d.host, nodeAccess(parseAccess(d.access))]));
  const source = o.source ?? (lab && !o.from ? o.labs.upstreamClient : undefined);
  return {
    access,
    from: { access: nodeAccess(parseAccess(fromAccess)), label: fromAccess },
    ...(source ? { source } : {}),
    ...(o.count ? { count: Number(o.count) } : {}),
    ...(o.captureDir ? { captureDir: o.captureDir } : {}),
  };
}

/**
 * The instance's DHCP leg; with --probe, a DHCP exchange from the instance itself: its lab
 * namespace, or --from when that is the instance's side (not the external side of a floating IP).
 */
async function instanceDhcpLeg(
  ctx: TraceContext,
  o: TraceCliOptions,
  snapshot: Snapshot,
  path: TraceReport,
  started: number,
): Promise<TraceReport> {
  // The leg of the path's family: the address the path starts from.
  const family = parseIp(path.target.port?.fixed_ip)?.version;
  const leg = traceDhcp(ctx, instancePort(ctx, o, snapshot).id, started, family);
  if (!o.probe) return leg;
  const fromIsExternal = path.target.kind === 'floatingip' && o.from !== undefined;
  const inLab = !!snapshot.source.lab && !!o.labs.instances(snapshot.source.lab).find((i) => i.port.id === leg.target.port?.id);
  if (fromIsExternal && !inLab) {
    return {
      ...leg,
      warnings: [
        ...leg.warnings,
        `probe: the DHCP leg was not probed: --from is the floating IP's external side; probe it with trace dhcp ${leg.target.port?.id} --probe --from INSTANCE-ACCESS`,
      ],
    };
  }
  return probeFromPort(leg, fromIsExternal ? { ...o, from: undefined } : o, snapshot, dhcpProbeOf(leg));
}

/** A DHCP report's leg follows DHCPv6 when its flow goes to the DHCPv6 servers' port. */
const isDhcp6 = (report: TraceReport) => report.target.flow.port === DHCPV6_SERVER_PORT;
const dhcpProbeOf = (report: TraceReport) => (isDhcp6(report) ? probeDhcp6 : probeDhcp);

/** trace dhcp --probe --wait: capture the DHCP leg while the port's own client renews (or the operator starts one). */
async function waitForDhcp(report: TraceReport, o: TraceCliOptions, snapshot: Snapshot): Promise<TraceReport> {
  const access = Object.fromEntries(Object.values(snapshot.nodes).map((d) => [d.host, nodeAccess(parseAccess(d.access))]));
  if (o.format === 'text')
    o.progress(`probing: capturing DHCP on every hop for ${o.wait} s: renew the lease or start the DHCP client in the instance now`);
  const passive = isDhcp6(report) ? probeDhcp6Passive : probeDhcpPassive;
  return passive(report, { access, ...(o.captureDir ? { captureDir: o.captureDir } : {}) }, Number(o.wait) * 1000);
}

/**
 * --probe on a port's path: real traffic from where the port's traffic starts (in a lab, its
 * instance's namespace), captured on every hop's device.
 */
async function probeFromPort(
  report: TraceReport,
  o: TraceCliOptions,
  snapshot: Snapshot,
  probeWith: typeof probePort,
): Promise<TraceReport> {
  const lab = snapshot.source.lab;
  const portId = report.target.port?.id;
  const instance = lab && portId ? o.labs.instances(lab).find((i) => i.port.id === portId) : undefined;
  const fromAccess = o.from ?? (instance ? `netns:${instance.namespace}` : undefined);
  if (!fromAccess)
    throw new TraceUsageError(
      `--probe needs --from ACCESS: where port ${portId ?? report.target.query}'s traffic starts (its instance: local, netns:NAME or ssh:USER@ADDRESS)`,
    );
  const access = Object.fromEntries(Object.values(snapshot.nodes).map((d) => [d.host, nodeAccess(parseAccess(d.access))]));
  const what =
    report.target.kind === 'dhcp'
      ? isDhcp6(report)
        ? 'a DHCPv6 exchange that commits nothing (a Solicit or Information-request, from Node.js)'
        : `a DHCP exchange (${dhcpClientArgv().join(' ')})`
      : `${report.target.flow.protocol} to ${report.target.destination ?? '?'}`;
  if (o.format === 'text') o.progress(`probing: ${what} from ${fromAccess}, capturing on every hop`);
  return probeWith(report, {
    access,
    from: { access: nodeAccess(parseAccess(fromAccess)), label: fromAccess },
    ...(o.source ? { source: o.source } : {}),
    ...(o.count ? { count: Number(o.count) } : {}),
    ...(o.captureDir ? { captureDir: o.captureDir } : {}),
  });
}

export function render(report: TraceReport, o: Pick<TraceCliOptions, 'format' | 'detail' | 'color'>): string {
  switch (o.format) {
    case 'json':
      return JSON.stringify(report, null, 2) + '\n';
    case 'dot':
      return renderDot(report);
    case 'mermaid':
      return renderMermaid(report);
    default:
      return renderText(report, { color: o.color ?? (process.stdout.isTTY === true && !process.env.NO_COLOR), detail: o.detail });
  }
}
