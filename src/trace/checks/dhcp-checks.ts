// The DHCP leg's checks on the DHCP node and the instance's node: the DHCP agent, the qdhcp-
// namespace and the DHCP port's veth in the bridge, dnsmasq running with the subnet's options and
// the port's host entry, and the security-group rules that let DHCP through. Expected values come
// from the agent's planner (the node's desired qdhcp- namespace and dnsmasq); observed ones from the
// node's dump, with dnsmasq's files found through its own command line. Pure.
import { AGENT_DHCP, AGENT_L2 } from '../../model/neutron.ts';
import { bridgeName, dhcpNamespace, nsName, sgChains, tapName } from '../../kernel/names.ts';
import { HOST, type ProcessSpec } from '../../kernel/types.ts';
import { canonicalIpOrNull, parseIp, parsePrefix } from '../../model/ip.ts';
import { agentNote, type IpFamily, type TraceContext } from '../context.ts';
import {
  checkAddress,
  checkLink,
  desiredLink,
  isDraft,
  namespaceOr,
  observeCommand,
  result,
  wantOf,
  type HopBase,
  type HopDraft,
  unreadable,
} from './checks.ts';
import {
  argValues,
  dnsmasqIn,
  parseHostsFile,
  parseLeases,
  parseLeases6,
  parseOptsFile,
  type DhcpOption,
  type RunningDnsmasq,
} from '../read/dnsmasq.ts';
import { cmdlinePath, netnsPidsArgv } from '../read/collect-dhcp.ts';
import { dhcpHostsRefused } from '../read/host-refusals.ts';
import { agentHop, netRef, portRef, segmentOf } from './l2.ts';
import type { Hop, Reason } from '../report.ts';
import type { ApiObject } from '../snapshot.ts';

const netName = (net: ApiObject) => String(net['name'] || net.id);
const dhcpOwner = (ctx: TraceContext, host: string, net: ApiObject) =>
  `the ${AGENT_DHCP} on ${host} sets it up for network ${netName(net)}; ${agentNote(ctx, host, AGENT_DHCP)}`;

/** A hop's reason in the DHCP leg's own terms. */
function renamed(hop: HopDraft, from: Reason, to: Reason, addCause = ''): HopDraft {
  if (hop.reason === from) {
    hop.reason = to;
    // Said right after what is wrong, before who makes it.
    if (addCause) hop.cause = hop.cause!.includes(';') ? hop.cause!.replace(';', `${addCause};`) : `${hop.cause}${addCause}`;
  }
  return hop;
}

/** The DHCP agent of a network's DHCP node: registered and reporting. */
export function dhcpAgentHop(ctx: TraceContext, host: string, net: ApiObject, leg: Hop['leg']): HopDraft {
  const hop = agentHop(ctx, host, AGENT_DHCP, leg);
  hop.check = 'DHCP agent alive';
  if (hop.reason !== 'AGENT_DOWN') return hop;
  hop.reason = 'DHCP_AGENT_DOWN';
  hop.cause = `${hop.cause}; network ${netName(net)}'s dnsmasq is neither respawned nor given new ports' host entries while it is down`;
  return hop;
}

/** The qdhcp- namespace, the DHCP port's veth (tap in the bridge, ns- inside) and its addresses. */
export function dhcpPortHops(
  ctx: TraceContext,
  host: string,
  net: ApiObject,
  dhcpPort: ApiObject,
  leg: Hop['leg'],
  family: IpFamily = 4,
): HopDraft[] {
  const node = ctx.nodes[host];
  const ns = dhcpNamespace(net.id);
  const nsDev = nsName(dhcpPort.id);
  const tap = tapName(dhcpPort.id);
  const owner = dhcpOwner(ctx, host, net);
  const ref = portRef(dhcpPort);
  const inNs = (device: string | null, check: string): HopBase => ({ leg, node: host, namespace: ns, device, resource: ref, check });
  const nsHop = (() => {
    const base = inNs(null, 'DHCP namespace');
    const found = namespaceOr(node, base, { namespace: ns }, owner);
    return isDraft(found)
      ? found
      : result(base, { namespace: ns }, { namespace: ns, mark: found.mark }, [{ command: 'ip netns list', line: ns }]);
  })();
  const mtu = segmentOf(net).mtu;
  const tapHop = checkLink(
    node,
    { leg, node: host, namespace: HOST, device: tap, resource: ref, check: 'DHCP port in bridge' },
    wantOf(desiredLink(node, HOST, tap), { name: tap, up: true, master: bridgeName(net.id), peer: { name: nsDev, netns: ns }, mtu }),
    owner,
  );
  const nsLink = checkLink(
    node,
    inNs(nsDev, 'DHCP port'),
    wantOf(desiredLink(node, ns, nsDev), { name: nsDev, up: true, peer: { name: tap, netns: HOST }, mtu }),
    owner,
  );
  const prefixOf = (subnetId: string) => {
    const s = ctx.api.subnets.find((x) => x.id === subnetId);
    return s ? parsePrefix(String(s['cidr']))?.prefixLength : undefined;
  };
  const addresses = ((dhcpPort['fixed_ips'] as Array<{ subnet_id: string; ip_address: string }> | undefined) ?? [])
    .filter((f) => prefixOf(f.subnet_id) !== undefined && parseIp(f.ip_address)?.version === family)
    .map((f) => checkAddress(node, inNs(nsDev, 'DHCP port address'), nsDev, `${f.ip_address}/${prefixOf(f.subnet_id)}`, owner));
  return [
    renamed(
      nsHop,
      'NAMESPACE_MISSING',
      'DHCP_NAMESPACE_MISSING',
      `: the ${AGENT_DHCP} has not set network ${netName(net)} up there, or it was deleted`,
    ),
    renamed(tapHop, 'NOT_IN_BRIDGE', 'DHCP_PORT_NOT_IN_BRIDGE', `: DHCP requests on ${bridgeName(net.id)} never reach dnsmasq`),
    renamed(nsLink, 'NAMESPACE_MISSING', 'DHCP_NAMESPACE_MISSING'),
    ...addresses.map((h) => renamed(h, 'NAMESPACE_MISSING', 'DHCP_NAMESPACE_MISSING')),
  ];
}

/** The dnsmasq the planner wants in the network's namespace on this node. */
const plannedDnsmasq = (ctx: TraceContext, host: string, net: ApiObject): ProcessSpec | undefined =>
  ctx.nodes[host]?.desired?.namespaces[dhcpNamespace(net.id)]?.processes.find((p) => p.argv[0] === 'dnsmasq');

const plannedFile = (p: ProcessSpec, arg: string): string | undefined => {
  const path = argValues(p.argv, arg)[0];
  return p.files.find((f) => f.path === path)?.content;
};

export type DnsmasqFound = { hop: HopDraft; running: RunningDnsmasq | null };

/** dnsmasq running in the namespace (found by its PIDs there, not by a pid file). */
export function dnsmasqHop(ctx: TraceContext, host: string, net: ApiObject, leg: Hop['leg']): DnsmasqFound {
  const ns = dhcpNamespace(net.id);
  const planned = plannedDnsmasq(ctx, host, net);
  const base: HopBase = { leg, node: host, namespace: ns, device: null, resource: netRef(net), check: 'dnsmasq' };
  const expected = { process: 'dnsmasq', namespace: ns, ...(planned ? { argv: planned.argv.join(' ') } : {}) };
  const owner = dhcpOwner(ctx, host, net);
  const dump = ctx.nodes[host]?.dump?.dhcp?.[ns];
  const pidsCmd = netnsPidsArgv(ns).join(' ');
  if (!dump) {
    const unread =
      ctx.nodes[host]?.dump?.namespaces[ns] === null
        ? {
            status: 'missing' as const,
            reason: 'DHCP_NAMESPACE_MISSING' as const,
            cause: `namespace ${ns} does not exist on ${host}, so no dnsmasq serves network ${netName(net)}; ${owner}`,
          }
        : {
            status: 'unknown' as const,
            reason: 'NODE_UNREADABLE' as const,
            cause: `the processes in ${ns} on ${host} were not read (a snapshot recorded without them, or the node was not read)`,
          };
    return { hop: result(base, expected, null, [], unread), running: null };
  }
  if (dump.pids === null)
    return {
      hop: result(base, expected, null, [{ command: pidsCmd }], {
        status: 'unknown',
        reason: 'NODE_UNREADABLE',
        cause: `the processes in ${ns} on ${host} could not be listed (see the snapshot's errors)`,
      }),
      running: null,
    };
  const running = dnsmasqIn(dump)[0] ?? null;
  const evidence = [
    { command: pidsCmd, line: dump.pids.join(' ') },
    ...(running ? [{ command: `cat ${cmdlinePath(running.pid)}`, line: running.argv.join(' ') }] : []),
  ];
  if (!running) {
    const others = Object.entries(dump.cmdlines).map(([pid, argv]) => `${pid} ${argv?.[0] ?? '?'}`);
    return {
      hop: result(base, expected, { processes: others }, evidence, {
        status: 'missing',
        reason: 'DNSMASQ_NOT_RUNNING',
        cause: `no dnsmasq runs in ${ns} on ${host}${others.length ? ` (only ${others.join(', ')})` : ''}: nothing answers DHCP on network ${netName(net)}; the ${AGENT_DHCP} starts it and respawns it (check_child_processes_action, every check_child_processes_interval s); ${agentNote(ctx, host, AGENT_DHCP)}`,
      }),
      running: null,
    };
  }
  return { hop: result(base, expected, { pid: running.pid, argv: running.argv.join(' ') }, evidence), running };
}

/** The range's identity without the lease time (dhcp_lease_duration is the cloud's choice). */
const rangeKey = (r: string) => r.split(',').slice(0, 4).join(',');
const ROUTE_OPTIONS = new Set(['classless-static-route', '249', '121']);
const pairsOf = (values: string[]) => values.flatMap((v, i) => (i % 2 === 0 ? [`${v},${values[i + 1] ?? ''}`] : []));

/** Whether `have` carries what `want` asks: the same value (router), the same set (dns-server), or at least its routes. */
function optionHolds(want: DhcpOption, have: DhcpOption[]): boolean {
  const same = have.filter((h) => h.option === want.option && (want.tags.length === 0 || want.tags.some((t) => h.tags.includes(t))));
  return same.some((h) => {
    if (ROUTE_OPTIONS.has(want.option)) return pairsOf(want.values).every((p) => pairsOf(h.values).includes(p));
    return [...want.values].sort().join(',') === [...h.values].sort().join(',');
  });
}

/** dnsmasq's ranges, MTU option and the subnets' options (gateway, DNS servers, host routes) as the planner wants them. */
export function dnsmasqOptionsHop(ctx: TraceContext, host: string, net: ApiObject, running: RunningDnsmasq, leg: Hop['leg']): HopDraft {
  const ns = dhcpNamespace(net.id);
  const base: HopBase = { leg, node: host, namespace: ns, device: null, resource: netRef(net), check: 'dnsmasq options' };
  const planned = plannedDnsmasq(ctx, host, net);
  const evidence = [
    { command: `cat ${cmdlinePath(running.pid)}`, line: running.argv.join(' ') },
    ...(running.files.opts ? [{ command: `cat ${running.files.opts.path}` }] : []),
  ];
  if (!planned)
    return result(base, {}, null, evidence, {
      status: 'unknown',
      reason: 'CONFIG_MISSING',
      cause: `the planner wants no dnsmasq for network ${netName(net)} on ${host} (no ${AGENT_DHCP} registered there, or the network has no DHCP port and DHCP-enabled subnet): nothing to compare with`,
    });
  const wantRanges = argValues(planned.argv, '--dhcp-range');
  const wantForce = argValues(planned.argv, '--dhcp-option-force');
  const wantOpts = parseOptsFile(plannedFile(planned, '--dhcp-optsfile') ?? '');
  const haveRanges = argValues(running.argv, '--dhcp-range');
  const haveForce = argValues(running.argv, '--dhcp-option-force');
  const haveOpts = running.files.opts?.text != null ? parseOptsFile(running.files.opts.text) : null;
  const expected = { ranges: wantRanges, force: wantForce, options: wantOpts.map((o) => o.line) };
  const observed = {
    ranges: haveRanges,
    force: haveForce,
    options: haveOpts?.map((o) => o.line) ?? null,
    opts_file: running.files.opts?.path ?? null,
  };
  const problems: string[] = [];
  for (const r of wantRanges)
    if (!haveRanges.some((h) => rangeKey(h) === rangeKey(r)))
      problems.push(`no --dhcp-range=${rangeKey(r)},… (a DHCP-enabled subnet dnsmasq does not serve)`);
  for (const f of wantForce)
    if (!haveForce.includes(f)) problems.push(`no --dhcp-option-force=${f}${f.startsWith('option:mtu') ? " (the network's MTU)" : ''}`);
  if (wantOpts.length && !running.files.opts) problems.push('it runs without --dhcp-optsfile');
  else if (wantOpts.length && haveOpts === null) problems.push(`its options file ${running.files.opts!.path} does not exist`);
  else for (const o of wantOpts) if (!optionHolds(o, haveOpts ?? [])) problems.push(`no '${o.line}' in ${running.files.opts!.path}`);
  if (problems.length) {
    return result(base, expected, observed, evidence, {
      status: 'mismatch',
      reason: 'DHCP_OPTIONS_MISMATCH',
      cause: `dnsmasq in ${ns} on ${host} does not serve network ${netName(net)}'s subnets as configured: ${problems.join('; ')}; ${dhcpOwner(ctx, host, net)} (it rewrites the files and restarts or SIGHUPs dnsmasq on changes)`,
    });
  }
  return result(base, expected, observed, evidence);
}

/** An IPv4 lease of `mac`: the one for `ip`, else its first. */
function leaseOf(text: string, mac: string, ip: string) {
  const leases = parseLeases(text).filter((l) => l.mac === mac);
  return leases.find((l) => l.ip === ip) ?? leases[0];
}

/** The port's entry (MAC → address) in the hosts file dnsmasq was started with, and its lease if any. */
export function hostEntryHop(
  ctx: TraceContext,
  host: string,
  net: ApiObject,
  port: ApiObject,
  ip: string,
  running: RunningDnsmasq,
  leg: Hop['leg'],
): HopDraft {
  const ns = dhcpNamespace(net.id);
  const mac = String(port['mac_address'] ?? '').toLowerCase();
  const base: HopBase = { leg, node: host, namespace: ns, device: null, resource: portRef(port), check: 'DHCP host entry' };
  const file = running.files.hosts;
  const expected = { mac, ip_address: ip, hosts_file: file?.path ?? '--dhcp-hostsfile' };
  const owner = `the ${AGENT_DHCP} on ${host} writes it when the port is created or updated and sends dnsmasq SIGHUP; ${agentNote(ctx, host, AGENT_DHCP)}`;
  const missing = (
    what: string,
    observed: Record<string, unknown> | null,
    evidence: HopDraft['evidence'],
    status: 'missing' | 'mismatch' = 'missing',
  ) =>
    result(base, expected, observed, evidence, {
      status,
      reason: 'DHCP_HOST_ENTRY_MISSING',
      cause: `${what}: dnsmasq's ranges are static, so it ignores the ${ip.includes(':') ? 'DHCPv6 Solicit' : 'DHCPDISCOVER'} of port ${port.id} (${mac}) and the instance gets no address; ${owner}`,
    });
  if (!file)
    return missing(`dnsmasq in ${ns} on ${host} runs without --dhcp-hostsfile`, null, [
      { command: `cat ${cmdlinePath(running.pid)}`, line: running.argv.join(' ') },
    ]);
  const command = `cat ${file.path}`;
  if (file.text === null)
    return missing(`dnsmasq's hosts file ${file.path} on ${host} does not exist or could not be read`, { hosts_file: null }, [{ command }]);
  const entries = parseHostsFile(file.text).filter((e) => e.mac === mac);
  const exact = entries.find((e) => e.ip !== null && canonicalIpOrNull(e.ip) === canonicalIpOrNull(ip));
  const leaseText = running.files.leases?.text;
  const lease =
    leaseText == null
      ? undefined
      : ip.includes(':')
        ? parseLeases6(leaseText).find((l) => l.ip === canonicalIpOrNull(ip))
        : leaseOf(leaseText, mac, ip);
  const leaseEvidence = running.files.leases
    ? [{ command: `cat ${running.files.leases.path}`, ...(lease ? { line: lease.line } : {}) }]
    : [];
  if (!exact) {
    const observed = { entries: entries.map((e) => e.line) };
    if (entries.length)
      return missing(
        `dnsmasq's hosts file ${file.path} on ${host} gives ${mac} ${entries.map((e) => e.ip).join(', ')}, not ${ip}`,
        observed,
        [{ command, line: entries[0]!.line }],
        'mismatch',
      );
    return missing(`dnsmasq's hosts file ${file.path} on ${host} has no entry for ${mac} → ${ip}`, observed, [{ command }]);
  }
  return result(base, expected, { entry: exact.line, lease: lease ? lease.line : null }, [{ command, line: exact.line }, ...leaseEvidence]);
}

/** The DHCP ports of each family (server, client) and the table their rules are in. */
const DHCP_PORTS = {
  4: { server: 67, client: 68, table: 'iptables' },
  6: { server: 547, client: 546, table: 'ip6tables' },
} as const;

/**
 * The provider rules that let DHCP through a filtered port (Neutron adds them whatever the security
 * groups say): ingress, replies from udp 67 to 68; egress, requests from udp 68 to 67. DHCPv6 in
 * ip6tables: ingress 547 → 546 to each of the port's IPv6 addresses and to fe80::/64, egress 546 → 547.
 */
export function sgDhcpHop(
  ctx: TraceContext,
  host: string,
  port: ApiObject,
  direction: 'ingress' | 'egress',
  leg: Hop['leg'],
  family: IpFamily = 4,
): HopDraft {
  const node = ctx.nodes[host];
  const { server, client, table } = DHCP_PORTS[family];
  const chain = direction === 'ingress' ? sgChains(port.id).ingress : sgChains(port.id).egress;
  const base: HopBase = {
    leg,
    node: host,
    namespace: HOST,
    device: tapName(port.id),
    resource: portRef(port),
    check: `security group ${family === 6 ? 'DHCPv6' : 'DHCP'} ${direction}`,
  };
  if (port['port_security_enabled'] === false) return result(base, { filtering: false }, { filtering: false }, []);
  const owner = `the ${AGENT_L2} on ${host} adds it to every port with port security, whatever its security groups say; ${agentNote(ctx, host, AGENT_L2)}`;
  const [sport, dport] = direction === 'ingress' ? [server, client] : [client, server];
  const dhcpRule = new RegExp(`--sport ${sport} --dport ${dport} .*-j RETURN$`);
  const planned = node?.desired?.namespaces[HOST]?.[table];
  const want = (planned?.filter?.find((c) => c.name === chain)?.rules ?? []).filter((r) => dhcpRule.test(r));
  const expected = { chain, rules: want.map((r) => `-A ${chain} ${r}`) };
  const ns = namespaceOr(node, base, expected, owner);
  if (isDraft(ns)) return ns;
  const command = observeCommand(HOST, table, 'filter');
  const observedTable = ns[table];
  if (observedTable === undefined)
    return result(base, expected, null, [{ command }], {
      status: 'unknown',
      reason: 'NODE_UNREADABLE',
      cause: `${table}-save was not read on ${host}`,
    });
  if (!want.length)
    return result(base, expected, null, [{ command }], {
      status: 'unknown',
      reason: 'CONFIG_MISSING',
      cause: `the planner wants no chain ${chain} for port ${port.id} on ${host}: nothing to compare with`,
    });
  const have = observedTable.filter?.find((c) => c.name === chain);
  if (!have)
    return result(base, expected, { chain: null }, [{ command }], {
      status: 'missing',
      reason: 'SG_CHAIN_MISSING',
      cause: `chain ${chain} for port ${port.id} does not exist in ${table} on ${host}: ${family === 6 ? 'DHCPv6' : 'DHCP'} to and from ${tapName(port.id)} is dropped; ${owner}`,
    });
  const absent = want.filter((r) => !have.rules.includes(r));
  const dhcpPorts = new RegExp(`--sport (${server}|${client}) --dport (${server}|${client})`);
  const observed = { rules: have.rules.filter((r) => dhcpPorts.test(r)).map((r) => `-A ${chain} ${r}`) };
  if (absent.length) {
    const [request, reply] =
      family === 6 ? ['Solicit and Request', 'Advertise and Reply'] : ['DHCPDISCOVER and DHCPREQUEST', 'DHCPOFFER and DHCPACK'];
    const what =
      direction === 'ingress'
        ? `dnsmasq's ${reply} (udp ${server} → ${client}) to port ${port.id} are dropped`
        : `the instance's ${request} (udp ${client} → ${server}) from port ${port.id} are dropped`;
    return result(base, expected, observed, [{ command }], {
      status: 'dropped',
      reason: 'SG_DHCP_BLOCKED',
      cause: `chain ${chain} on ${host} lacks '-A ${chain} ${absent[0]}'${absent.length > 1 ? ` (and ${absent.length - 1} more)` : ''}: ${what}; ${owner}`,
    });
  }
  return result(base, expected, observed, [{ command, line: `-A ${chain} ${want[0]}` }]);
}

/**
 * The verdict on a network no DHCP agent is known to host: `known` (the cloud's fault) — unless the
 * API refused to say where its DHCP servers run (dhcp-agents answered 403, as it does to a member,
 * whose view hides the DHCP ports' binding:host_id too): then unknown.
 */
export function dhcpNotHosted<R extends Reason>(
  ctx: TraceContext,
  net: ApiObject,
  known: { status: 'missing'; reason: R; cause: string },
): { status: 'missing' | 'unknown'; reason: R | 'API_UNREADABLE'; cause: string } {
  const refused = dhcpHostsRefused(ctx.api.errors);
  if (!refused) return known;
  return unreadable(
    `which ${AGENT_DHCP} serves network ${netName(net)}`,
    `${refused}, and its DHCP ports' binding:host_id is hidden`,
    ": trace with an admin's",
  );
}
