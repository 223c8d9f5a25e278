// The hops only an IPv6 path has (Neutron's L3 agent and IptablesFirewallDriver): radvd for the
// router's subnet, the ICMPv6 rules a port's ingress chain must keep for neighbour discovery, and
// the SLAAC address the instance forms against the one Neutron assigned. Pure.
import { qrName, routerNamespace, sgChains, tapName } from '../../kernel/names.ts';
import { HOST } from '../../kernel/types.ts';
import { eui64Address, parseIp } from '../../model/ip.ts';
import { AGENT_L2, AGENT_L3, DHCPV6_STATELESS, IPV6_SLAAC } from '../../model/neutron.ts';
import { ICMPV6_ALLOWED_INGRESS_TYPES } from '../../planner/firewall6.ts';
import { METADATA_V6_CIDR, METADATA_V6_IP } from '../../planner/metadata.ts';
import { radvdProcessId } from '../../planner/radvd.ts';
import { agentNote, str, type TraceContext } from '../context.ts';
import { isRadvd, radvdConfigOf } from '../read/collect-dhcp.ts';
import type { Hop } from '../report.ts';
import type { ApiObject } from '../snapshot.ts';
import { apiHop, isDraft, namespaceOr, observeCommand, processesCommand, result, routerProcessesOr, type HopDraft } from './checks.ts';
import { findRule } from './compare.ts';
import { portRef } from './l2.ts';
import { routerRef } from './router.ts';

const ICMPV6_TYPE_NAMES: Record<number, string> = {
  130: 'multicast listener query',
  135: 'neighbour solicitation',
  136: 'neighbour advertisement',
};

/**
 * The interface block of `dev` in a radvd configuration ('' when it has none). Neutron's ra.py
 * renders one block per interface and concatenates them, so a block may start right after the
 * previous one's `};`.
 */
function interfaceBlock(conf: string, dev: string): string {
  const starts = [...conf.matchAll(/(?<=^|[\n;])[ \t]*interface[ \t]+(\S+)\s*\{/g)].map((m) => ({ name: m[1]!, at: m.index }));
  const i = starts.findIndex((b) => b.name === dev);
  if (i < 0) return '';
  return conf.slice(starts[i]!.at, starts[i + 1]?.at ?? conf.length);
}

/** The DHCPv6 flags of an interface block (ra.py: stateful → Managed, stateless → Other). */
const RA_FLAGS = {
  AdvManagedFlag: 'instances ask DHCPv6 for their address (dhcpv6-stateful)',
  AdvOtherConfigFlag: 'instances ask DHCPv6 for their options (dhcpv6-stateless)',
} as const;
const flagsIn = (block: string) =>
  (Object.keys(RA_FLAGS) as Array<keyof typeof RA_FLAGS>).filter((f) => new RegExp(`^\\s*${f}\\s+on;`, 'm').test(block));

/** The prefixes a radvd interface block advertises. */
const prefixesIn = (block: string): string[] => [...block.matchAll(/^\s*prefix\s+(\S+)/gm)].map((m) => m[1]!);
/** The routes (route information options) a radvd interface block announces. */
const routesIn = (block: string): string[] => [...block.matchAll(/^\s*route\s+(\S+)/gm)].map((m) => m[1]!);

/**
 * radvd for `router`'s IPv6 subnet on interface port `intf`: running in the router's namespace
 * (its command line names the configuration file), the configuration has the interface's block and
 * advertises the subnet's prefix where Neutron's would (ipv6_ra_mode slaac, dhcpv6-stateless,
 * dhcpv6-stateful). null when the planner runs no radvd for the router (no IPv6 subnet). With
 * `metadataRoute`, the block must also announce the route to fe80::a9fe:a9fe (ra.py), by which
 * instances send their IPv6 metadata requests to the router.
 */
export function radvdHop(
  ctx: TraceContext,
  host: string,
  router: ApiObject,
  intf: ApiObject,
  subnet: ApiObject,
  leg: Hop['leg'],
  metadataRoute = false,
): HopDraft | null {
  const node = ctx.nodes[host];
  const ns = routerNamespace(router.id);
  const dev = qrName(intf.id);
  const planned = node?.desired?.namespaces[ns]?.processes.find((p) => p.id === radvdProcessId(router.id));
  if (node?.desired && !planned) return null;
  const cidr = str(subnet, 'cidr');
  const plannedConf = planned?.files[0]?.content ?? '';
  const plannedBlock = interfaceBlock(plannedConf, dev);
  const wantPrefix = prefixesIn(plannedBlock).includes(cidr);
  const wantFlags = flagsIn(plannedBlock);
  const base = {
    leg,
    node: host,
    namespace: ns,
    device: dev,
    resource: routerRef(router),
    check: metadataRoute ? 'metadata route' : 'radvd',
  };
  const expected = {
    process: 'radvd',
    interface: dev,
    ...(wantPrefix ? { prefix: cidr } : {}),
    ...(wantFlags.length ? { flags: wantFlags } : {}),
    ...(metadataRoute ? { route: METADATA_V6_CIDR } : {}),
  };
  const owner = `the ${AGENT_L3} on ${host} runs it for router ${router['name'] || router.id} (neutron/agent/linux/ra.py); ${agentNote(ctx, host, AGENT_L3)}`;
  const o = namespaceOr(node, base, expected, owner);
  if (isDraft(o)) return o;
  const procs = routerProcessesOr(node!, base, expected, `radvd runs for router ${router['name'] || router.id}`);
  if (isDraft(procs)) return procs;
  const command = processesCommand(ns);
  const running = Object.entries(procs.cmdlines).filter((e): e is [string, string[]] => isRadvd(e[1]));
  if (!running.length)
    return result(base, expected, { process: null }, [{ command }], {
      status: 'missing',
      reason: 'RADVD_NOT_RUNNING',
      cause: `radvd is not running for router ${router['name'] || router.id} in ${ns} on ${host}: no router advertisements on ${dev}, so instances on subnet ${cidr} get no SLAAC address and no IPv6 default route; ${owner}`,
    });
  const [pid, argv] = running[0]!;
  const path = radvdConfigOf(argv) ?? null;
  const conf = path === null ? null : (procs.files[path] ?? null);
  const evidence = [{ command, line: `${pid} ${argv.join(' ')}` }, ...(path ? [{ command: `cat ${path}` }] : [])];
  if (conf === null)
    return result(base, expected, { process: 'radvd', pid: Number(pid), config: path }, evidence, {
      status: 'unknown',
      reason: 'NODE_UNREADABLE',
      cause: `radvd runs in ${ns} on ${host} but its configuration ${path ?? '(no -C)'} could not be read`,
    });
  const block = interfaceBlock(conf, dev);
  const prefixes = prefixesIn(block);
  const flags = flagsIn(block);
  const observed = {
    process: 'radvd',
    pid: Number(pid),
    config: path,
    interface: block ? dev : null,
    prefixes,
    ...(wantFlags.length || flags.length ? { flags } : {}),
    ...(metadataRoute ? { routes: routesIn(block) } : {}),
  };
  const missingFlag = wantFlags.find((f) => !flags.includes(f));
  if (!block || (wantPrefix && !prefixes.includes(cidr)))
    return result(base, expected, observed, evidence, {
      status: 'mismatch',
      reason: 'RADVD_CONFIG_MISMATCH',
      cause: `radvd's configuration ${path} in ${ns} on ${host} ${block ? `does not advertise prefix ${cidr} on ${dev}` : `has no interface ${dev}`}: instances on subnet ${cidr} get no ${wantPrefix ? 'prefix' : 'advertisements'} from router ${router['name'] || router.id}; ${owner}`,
    });
  if (missingFlag)
    return result(base, expected, observed, evidence, {
      status: 'mismatch',
      reason: 'RADVD_CONFIG_MISMATCH',
      cause: `radvd's configuration ${path} in ${ns} on ${host} does not set ${missingFlag} on ${dev}, by which ${RA_FLAGS[missingFlag]}: instances on subnet ${cidr} are never told to ask; ${owner}`,
    });
  if (metadataRoute && !routesIn(block).includes(METADATA_V6_CIDR))
    return result(base, expected, observed, evidence, {
      status: 'missing',
      reason: 'METADATA_ROUTE_MISSING',
      cause: `radvd's configuration ${path} in ${ns} on ${host} announces no route ${METADATA_V6_CIDR} on ${dev}: instances on subnet ${cidr} send their requests to ${METADATA_V6_IP} nowhere (it is on no link); ${owner}`,
    });
  return result(base, expected, observed, evidence);
}

const icmp6Rule = (type: number) => `-p ipv6-icmp -m icmp6 --icmpv6-type ${type} -j RETURN`;

/**
 * The ICMPv6 rules Neutron puts first in every filtered port's ingress chain
 * (firewall.ICMPV6_ALLOWED_INGRESS_TYPES): without neighbour solicitations and advertisements the
 * port's neighbours cannot resolve each other, and no IPv6 traffic reaches the instance.
 */
export function ndHop(ctx: TraceContext, host: string, port: ApiObject, leg: Hop['leg']): HopDraft {
  const node = ctx.nodes[host];
  const chain = sgChains(port.id).ingress;
  const groupIds = (port['security_groups'] as string[] | undefined) ?? [];
  const base = {
    leg,
    node: host,
    namespace: HOST,
    device: tapName(port.id),
    resource: { type: 'security_group' as const, id: groupIds.join(','), name: groupIds.join(',') },
    check: 'ICMPv6 neighbour discovery',
  };
  const wanted = ICMPV6_ALLOWED_INGRESS_TYPES.map((t) => `-A ${chain} ${icmp6Rule(t)}`);
  const expected = { table: 'filter', chain, rules: wanted };
  if (port['port_security_enabled'] === false) return result(base, { filtering: false }, { filtering: false }, [], undefined);
  const owner = `the ${AGENT_L2} on ${host} writes them first in every port's chain; ${agentNote(ctx, host, AGENT_L2)}`;
  const ns = namespaceOr(node, base, expected, owner);
  if (isDraft(ns)) return ns;
  const command = observeCommand(HOST, 'ip6tables', 'filter');
  if (ns.ip6tables === undefined)
    return result(base, expected, null, [{ command }], {
      status: 'unknown',
      reason: 'NODE_UNREADABLE',
      cause: `ip6tables-save was not read on ${host}`,
    });
  const c = ns.ip6tables.filter?.find((x) => x.name === chain);
  if (!c)
    return result(base, expected, { chain: null }, [{ command }], {
      status: 'missing',
      reason: 'SG_CHAIN_MISSING',
      cause: `chain ${chain} for port ${port.id} does not exist in ip6tables on ${host}: IPv6 traffic to ${tapName(port.id)} is dropped; ${owner}`,
    });
  const found = ICMPV6_ALLOWED_INGRESS_TYPES.map((t) => ({ t, rule: findRule(c.rules, icmp6Rule(t)) }));
  const missing = found.filter((f) => f.rule === undefined).map((f) => f.t);
  const observed = { chain, rules: found.filter((f) => f.rule !== undefined).map((f) => `-A ${chain} ${f.rule}`) };
  const evidence = [{ command, ...(observed.rules[0] ? { line: observed.rules[0] } : {}) }];
  if (missing.length)
    return result(base, expected, { ...observed, missing: missing.map((t) => `-A ${chain} ${icmp6Rule(t)}`) }, evidence, {
      status: 'dropped',
      reason: 'SG_ICMPV6_BLOCKED',
      cause: `chain ${chain} on ${host} lacks Neutron's ICMPv6 rule for ${missing.map((t) => `type ${t} (${ICMPV6_TYPE_NAMES[t]})`).join(', ')} (ICMPV6_ALLOWED_INGRESS_TYPES): ${missing.some((t) => t === 135 || t === 136) ? `neighbour discovery with port ${port.id} fails, so no IPv6 traffic reaches it` : 'multicast listener queries to the port are dropped'}; ${owner}`,
    });
  return result(base, expected, observed, evidence);
}

/**
 * The port's IPv6 address on a SLAAC (or DHCPv6-stateless) subnet: the instance forms it from the
 * router's prefix and its MAC (EUI-64), so Neutron's fixed IP must be that address, or the
 * anti-spoofing chain drops what the instance sends. null when the address is not autoconfigured.
 */
export function slaacAddressHop(ctx: TraceContext, port: ApiObject, host: string, ip: string, subnetId: string): HopDraft | null {
  const subnet = ctx.api.subnets.find((s) => s.id === subnetId);
  const mode = subnet ? str(subnet, 'ipv6_address_mode') : '';
  if (!subnet || (mode !== IPV6_SLAAC && mode !== DHCPV6_STATELESS) || parseIp(ip)?.version !== 6) return null;
  const mac = str(port, 'mac_address').toLowerCase();
  const formed = eui64Address(str(subnet, 'cidr'), mac);
  const base = { ...apiHop('IPv6 address', portRef(port), host), device: tapName(port.id) };
  const expected = { address: formed, ipv6_address_mode: mode, mac };
  const evidence = [{ command: `GET /v2.0/ports/${port.id}`, line: `fixed_ips: ${ip} (subnet ${str(subnet, 'cidr')})` }];
  if (formed !== ip)
    return result(base, expected, { fixed_ip: ip }, evidence, {
      status: 'mismatch',
      reason: 'ADDRESS_MISSING',
      cause: `port ${port.id} has fixed IP ${ip}, but on ${mode} subnet ${str(subnet, 'cidr')} the instance forms ${formed ?? '(none)'} from MAC ${mac}: the anti-spoofing chain drops what it sends`,
    });
  return result(base, expected, { fixed_ip: ip }, evidence);
}
