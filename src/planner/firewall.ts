// Security groups of one node: Neutron's iptables firewall for Linux bridge (IptablesFirewallDriver
// with the linuxbridge wrap prefix and enable_ipset) in the HOST filter table. Pure. This module
// writes iptables (IPv4) and the shared parts; firewall6.ts the IPv6 chains of ip6tables.
//
// Remote-group rules match an IP set of the group's member addresses, as Neutron's with ipset:
// `NIPv4<group id>` (hash:net, family inet), `-m set --match-set NAME src|dst`. One rule per remote
// group whatever its size, and a membership change touches the set alone, not the chains. Unlike
// Neutron, the set of a group without members is created (empty) and its rule written, rather than
// both left out: the rule text then never depends on membership. A rule naming an address group
// (remote_address_group_id) is the same with the address group's id and addresses, as Neutron
// keys both kinds of remote alike (sg_member_ips). With `[securitygroup] enable_ipset = false`
// there are no sets: each such rule becomes one plain rule per member address (but the port's own
// addresses), as Neutron's _expand_sg_rule_with_remote_ips does, and membership rewrites chains.
//
// Every rule is written exactly as `iptables-save` (1.8.9, nf_tables) prints it, each shape checked
// on the kernel: `-m state --state …`, `-p tcp -m tcp --dport 22`, protocol numbers printed as
// their /etc/protocols names, lower-case MACs, host bits of a prefix cleared, `/0` prefixes left out,
// `-m comment` where it was written. Otherwise the second diff would never be empty.
//
// No window at plug: a port is never unfiltered. Neutron lets a new port's traffic through for up
// to seconds because the tap joins the bridge before its chains exist. Here:
// 1. chains are planned for every port bound to this node, whether or not its tap exists yet: the
//    server binds the port before the hypervisor (or the lab) creates the tap, so the chains are
//    normally in the kernel before the tap is;
// 2. the skeleton is planned on every L2 node, even with no port, and `neutron-linuxbri-FORWARD`
//    starts with a default drop (chains `-unknown-in` / `-unknown-out`) for bridged traffic from or
//    to any `tap+` device that is not a port bound here (filtered, trusted or without port
//    security): a tap that joins a bridge before neutrino knows its port — enslaved by a hypervisor
//    — passes nothing, not even to a port whose ingress rules would allow it;
// 3. the diff writes HOST iptables before link attributes (kernel/diff.ts), so a tap this agent
//    enslaves joins its bridge only after its chains are in the kernel, even in the very first pass
//    on a node (when the skeleton is not there yet).
// A generic drop was preferred over a two-pass plan (enslave once the chains are observed): it
// also covers taps the hypervisor enslaves itself, and costs no extra pass at plug.
import { FILTER_TOP, remoteGroupIpset, sgChains, tapName, wrapChain } from '../kernel/names.ts';
import type { ChainSpec, IpsetSpec, IptablesSpec } from '../kernel/types.ts';
import { BUCKET_ABOVE, splitByDigit, type SplitChain, type TapRules } from './firewall-buckets.ts';
import type { HostView, PortView, SecurityGroupRuleView } from '../model/hostview.ts';
import { formatCidr, parsePrefix } from '../model/ip.ts';
import { IP_PROTOCOL_MAP, NETWORK_OWNER_PREFIX } from '../model/neutron.ts';

const lb = (chain: string): string => wrapChain('linuxbridge', chain);

/** Neutron's rule comments (neutron/agent/linux/iptables_comments.py). */
export const COMMENT = {
  VM_INT_SG: 'Direct traffic from the VM interface to the security group chain.',
  INPUT_TO_SG: 'Direct incoming traffic from VM to the security group chain.',
  SG_TO_VM_SG: 'Jump to the VM specific chain.',
  UNMATCHED: 'Send unmatched traffic to the fallback chain.',
  INVALID_DROP: 'Drop packets that appear related to an existing connection (e.g. TCP ACK/FIN) but do not have an entry in conntrack.',
  ALLOW_ASSOC: 'Direct packets associated with a known session to the RETURN chain.',
  PORT_SEC_ACCEPT: 'Accept all packets when port security is disabled.',
  TRUSTED_ACCEPT: 'Accept all packets when port is trusted.',
  DHCP_CLIENT: 'Allow DHCP client traffic.',
  DHCP_SPOOF: 'Prevent DHCP Spoofing by VM.',
  PAIR_ALLOW: 'Allow traffic from defined IP/MAC pairs.',
  PAIR_DROP: 'Drop traffic without an IP/MAC allow rule.',
  FALLBACK: 'Default drop rule for unmatched traffic.',
  IPV6_RA_DROP: 'Drop IPv6 Router Advts from VM Instance.',
  IPV6_ICMP_ALLOW: 'Allow IPv6 ICMP traffic.',
  /** neutrino's own: the no-window default drop (see the header). */
  NO_CHAINS: 'Drop traffic of a tap device that has no security group chains yet.',
} as const;

export const comment = (text: string): string => `-m comment --comment "${text}"`;

/** Protocol numbers as iptables-save prints them (getprotobynumber on Debian 12; 0 = any). */
const PROTO_NAMES: Readonly<Record<number, string>> = {
  1: 'icmp',
  2: 'igmp',
  4: 'ipencap',
  6: 'tcp',
  8: 'egp',
  17: 'udp',
  33: 'dccp',
  41: 'ipv6',
  43: 'ipv6-route',
  44: 'ipv6-frag',
  46: 'rsvp',
  47: 'gre',
  50: 'esp',
  51: 'ah',
  58: 'ipv6-icmp',
  59: 'ipv6-nonxt',
  60: 'ipv6-opts',
  89: 'ospf',
  112: 'vrrp',
  132: 'sctp',
  136: 'udplite',
};
/** Protocols with a port match module of their own; udplite only has multiport (Neutron's IPTABLES_MULTIPORT_ONLY_PROTOCOLS). */
const PORT_MODULES = new Set(['tcp', 'udp', 'sctp', 'dccp']);

/** The protocol as iptables-save prints it; null = any. */
export function iptablesProtocol(protocol: string | null): string | null {
  if (protocol === null || protocol === '' || protocol === 'any') return null;
  const num = /^\d+$/.test(protocol) ? Number(protocol) : IP_PROTOCOL_MAP[protocol.toLowerCase()];
  if (num === undefined) return protocol.toLowerCase();
  if (num === 0) return null;
  return PROTO_NAMES[num] ?? String(num);
}

export type Ethertype = SecurityGroupRuleView['ethertype'];
const VERSION: Readonly<Record<Ethertype, 4 | 6>> = { IPv4: 4, IPv6: 6 };

/**
 * An address or prefix of `ethertype`'s family as iptables-save / ip6tables-save print it
 * ('a.b.c.d/len', '2001:db8::/64', host bits cleared); '' for a /0 (left out); null when it is of
 * the other family: each family's addresses go to its own tables and sets only.
 */
export function iptablesPrefix(text: string, ethertype: Ethertype = 'IPv4'): string | null {
  const c = parsePrefix(text);
  if (c?.version !== VERSION[ethertype]) return null;
  return c.prefixLength === 0 ? '' : formatCidr(c);
}

/** An IPv6 address or prefix as ip6tables-save prints it; '' for ::/0, null for IPv4. */
export const ip6tablesPrefix = (text: string): string | null => iptablesPrefix(text, 'IPv6');

/** `-p … [-m …] [--dport …|--icmp-type …|--icmpv6-type …]` of a security group rule (Neutron's _protocol_arg + _port_arg). */
function protocolArgs(rule: SecurityGroupRuleView): string[] {
  const proto = iptablesProtocol(rule.protocol);
  if (proto === null) return [];
  const out = [`-p ${proto}`];
  const min = rule.port_range_min;
  const max = rule.port_range_max;
  if (proto === 'icmp' || proto === 'ipv6-icmp') {
    // port_range_min/max are the ICMP type and code; iptables' module is icmp6 for ipv6-icmp.
    const [module, flag] = proto === 'icmp' ? ['icmp', '--icmp-type'] : ['icmp6', '--icmpv6-type'];
    if (min !== null) out.push(`-m ${module} ${flag} ${max !== null ? `${min}/${max}` : min}`);
    return out;
  }
  if (min === null) return out;
  const hi = max ?? min;
  if (PORT_MODULES.has(proto)) {
    out.push(`-m ${proto}`);
    // Neutron: 1-65535 is "any port" (no match); one port: --dport; a range: multiport.
    if (min === 1 && hi === 65535) return out;
    out.push(min === hi ? `--dport ${min}` : `-m multiport --dports ${min}:${hi}`);
  } else if (proto === 'udplite') {
    out.push(`-m multiport --dports ${min === hi ? min : `${min}:${hi}`}`);
  }
  return out;
}

/** Neutron's IPSET_DIRECTION: the remote side is the source of ingress traffic, the destination of egress. */
const IPSET_DIRECTION = { ingress: 'src', egress: 'dst' } as const;

/** The agent settings the firewall follows. */
export interface FirewallOptions {
  /** [securitygroup] enable_ipset (Neutron's default: on) */
  enableIpset?: boolean;
  /** More known taps than this and the node-wide chains are split by digit (firewall-buckets.ts; default BUCKET_ABOVE) */
  bucketAbove?: number;
}

/** Neutron's _get_any_remote_group_id_in_rule: the remote group, else the remote address group; null: neither. */
export const remoteOf = (rule: SecurityGroupRuleView): string | null => rule.remote_group_id ?? rule.remote_address_group_id ?? null;

/** The addresses of a remote (a security group's member addresses, or an address group's CIDRs), as the view gives them. */
export function remoteMembers(view: HostView, remoteId: string): string[] {
  const group = view.security_groups.find((g) => g.id === remoteId);
  if (group) return group.member_ips;
  return view.address_groups?.find((g) => g.id === remoteId)?.addresses ?? [];
}

/** A plain rule: `-s`/`-d` the remote prefix ('' = any), protocol and ports (_generate_plain_rule_args). */
function plainRule(rule: SecurityGroupRuleView, remote: string, proto: string[]): string {
  const flag = rule.direction === 'ingress' ? '-s' : '-d';
  return [...(remote ? [`${flag} ${remote}`] : []), ...proto, '-j RETURN'].join(' ');
}

/**
 * One security group rule of `ethertype` → its rules in that family's table for `port` (Neutron's
 * _generate_plain_rule_args, or _generate_ipset_rule_args for a remote group: protocol and ports,
 * then the set match; without ipset, one plain rule per remote member); nothing for a rule of the
 * other ethertype (_split_sgr_by_ethertype).
 */
function convertRule(
  rule: SecurityGroupRuleView,
  ethertype: Ethertype,
  port: PortView,
  view: HostView,
  options: FirewallOptions,
): string[] {
  if (rule.ethertype !== ethertype) return [];
  const proto = protocolArgs(rule);
  const remoteId = remoteOf(rule);
  if (remoteId !== null) {
    if (options.enableIpset === false) {
      const own = new Set(port.fixed_ips.map((f) => f.ip_address));
      return remoteMembers(view, remoteId)
        .filter((ip) => !own.has(ip))
        .map((ip) => iptablesPrefix(ip, ethertype))
        .filter((p): p is string => p !== null)
        .map((p) => plainRule(rule, p, proto));
    }
    const set = remoteGroupIpset(remoteId, ethertype);
    return [[...proto, `-m set --match-set ${set} ${IPSET_DIRECTION[rule.direction]}`, '-j RETURN'].join(' ')];
  }
  let remote = '';
  if (rule.remote_ip_prefix !== null) {
    const p = iptablesPrefix(rule.remote_ip_prefix, ethertype);
    if (p === null) return [];
    remote = p;
  }
  return [plainRule(rule, remote, proto)];
}

export const unique = (rules: string[]): string[] => [...new Set(rules)];

export const addressesOf = (port: PortView, ethertype: Ethertype): string[] =>
  port.fixed_ips.map((f) => iptablesPrefix(f.ip_address, ethertype)).filter((p): p is string => !!p);

/** The converted security group rules of a port's groups, one direction and family, duplicates removed. */
export function groupRules(
  port: PortView,
  view: HostView,
  direction: 'ingress' | 'egress',
  ethertype: Ethertype,
  options: FirewallOptions = {},
): string[] {
  const rules = port.security_groups.flatMap((id) => view.security_groups.find((g) => g.id === id)?.rules ?? []);
  return unique(rules.filter((r) => r.direction === direction).flatMap((r) => convertRule(r, ethertype, port, view, options)));
}

export const ESTABLISHED = `-m state --state RELATED,ESTABLISHED ${comment(COMMENT.ALLOW_ASSOC)} -j RETURN`;
export const INVALID = `-m state --state INVALID ${comment(COMMENT.INVALID_DROP)} -j DROP`;
export const FALLBACK = `${comment(COMMENT.UNMATCHED)} -j ${lb('sg-fallback')}`;

/** The chains of a filtered port in iptables (IPv4): ingress, egress, and anti-spoofing when it has an IPv4 address or pair, or no fixed IP. */
export function portChains(port: PortView, view: HostView, options: FirewallOptions = {}): ChainSpec[] {
  const { ingress, egress, spoof } = sgChains(port.id);
  const sg = (direction: 'ingress' | 'egress') => groupRules(port, view, direction, 'IPv4', options);
  // Provider rules (securitygroups_rpc_base._apply_provider_rule): DHCP replies to the port's addresses and broadcast.
  const dhcpReplies = [...addressesOf(port, 'IPv4'), '255.255.255.255/32'].map(
    (d) => `-d ${d} -p udp -m udp --sport 67 --dport 68 -j RETURN`,
  );
  const pairs: Array<{ ip: string; mac: string }> = [
    ...port.fixed_ips.map((f) => ({ ip: f.ip_address, mac: port.mac_address })),
    ...port.allowed_address_pairs.map((a) => ({ ip: a.ip_address, mac: a.mac_address || port.mac_address })),
  ];
  const spoofRules = unique(
    pairs.flatMap(({ ip, mac }) => {
      const p = iptablesPrefix(ip);
      if (p === null) return [];
      return [pairAllow(p, mac)];
    }),
  );
  // _spoofing_rule: a port without fixed IPs is allowed from its MAC alone; a port whose fixed IPs
  // are all IPv6 has no IPv4 pair, so no IPv4 spoof chain (and no jump to it), as in Neutron.
  if (port.fixed_ips.length === 0) spoofRules.push(pairAllow(null, port.mac_address));
  const chains: ChainSpec[] = [
    { name: ingress, rules: unique([ESTABLISHED, ...dhcpReplies, ...sg('ingress'), INVALID, FALLBACK]) },
    {
      name: egress,
      rules: unique([
        `-s 0.0.0.0/32 -d 255.255.255.255/32 -p udp -m udp --sport 68 --dport 67 ${comment(COMMENT.DHCP_CLIENT)} -j RETURN`,
        ...(spoofRules.length ? [`-j ${spoof}`] : []),
        `-p udp -m udp --sport 68 --dport 67 ${comment(COMMENT.DHCP_CLIENT)} -j RETURN`,
        `-p udp -m udp --sport 67 --dport 68 ${comment(COMMENT.DHCP_SPOOF)} -j DROP`,
        ESTABLISHED,
        ...sg('egress'),
        INVALID,
        FALLBACK,
      ]),
    },
  ];
  if (spoofRules.length) chains.push({ name: spoof, rules: [...spoofRules, `${comment(COMMENT.PAIR_DROP)} -j DROP`] });
  return chains;
}

/** An anti-spoofing RETURN for a source prefix ('' = any, null = none: the MAC alone) from a MAC. */
export const pairAllow = (prefix: string | null, mac: string): string =>
  `${prefix ? `-s ${prefix} ` : ''}-m mac --mac-source ${mac.toLowerCase()} ${comment(COMMENT.PAIR_ALLOW)} -j RETURN`;

/** Ports Neutron's agent trusts (net.is_port_trusted): service ports, never filtered. */
export const isTrustedPort = (p: PortView): boolean => p.device_owner.startsWith(NETWORK_OWNER_PREFIX);

/** Ports whose chains planFirewall writes: bound here, not trusted, port security on. */
const filtered = (view: HostView): PortView[] => view.ports.filter((p) => !isTrustedPort(p) && p.port_security_enabled);

/** What a /0 becomes in a set (ipset refuses a /0): the two halves of the address space. */
const HALVES: Readonly<Record<Ethertype, string[]>> = { IPv4: ['0.0.0.0/1', '128.0.0.0/1'], IPv6: ['::/1', '8000::/1'] };

/**
 * IpsetManager._sanitize_addresses: a /0 becomes the two /1 halves. Other prefixes and addresses
 * go as they are (the kernel model canonicalizes); addresses of the other family are left out.
 */
function ipsetMembers(addresses: readonly string[], ethertype: Ethertype): string[] {
  return addresses.flatMap((a) => {
    const p = iptablesPrefix(a, ethertype);
    if (p === null) return [];
    return p === '' ? HALVES[ethertype] : [p];
  });
}

/**
 * The HOST IP sets of one family: one `NIPv4<id>` (family inet) or `NIPv6<id>` (inet6) per remote
 * group or remote address group a rule of that ethertype of a filtered port's groups names, holding
 * that group's member addresses (or the address group's addresses) of the family, empty when it has
 * none. None at all with enable_ipset off.
 */
export function planIpsets(view: HostView, ethertype: Ethertype = 'IPv4', options: FirewallOptions = {}): IpsetSpec[] {
  if (options.enableIpset === false) return [];
  const remotes = new Set<string>();
  for (const port of filtered(view)) {
    for (const id of port.security_groups) {
      for (const r of view.security_groups.find((g) => g.id === id)?.rules ?? []) {
        const remote = remoteOf(r);
        if (r.ethertype === ethertype && remote !== null) remotes.add(remote);
      }
    }
  }
  return [...remotes].sort().map((id) => ({
    name: remoteGroupIpset(id, ethertype),
    type: 'hash:net',
    family: ethertype === 'IPv4' ? 'inet' : 'inet6',
    members: [...new Set(ipsetMembers(remoteMembers(view, id), ethertype))].sort(),
  }));
}

/** A port's rules in the node-wide chains, and its tap's RETURNs in the no-window chains. */
interface NodeWideRules {
  forward: string[];
  input: string[];
  sgChain: string[];
  tap: string;
  unknownIn: string;
  unknownOut: string;
}

const bridged = (dir: 'in' | 'out', tap: string) => `-m physdev --physdev-${dir} ${tap} --physdev-is-bridged`;

/** The no-window chains' RETURN for a known tap, one direction. */
const knownTap = (dir: 'in' | 'out', tap: string) => `-m physdev --physdev-${dir} ${tap} -j RETURN`;

function nodeWideRulesOf(port: PortView): NodeWideRules {
  const tap = tapName(port.id);
  const out: NodeWideRules = { forward: [], input: [], sgChain: [], tap, unknownIn: knownTap('in', tap), unknownOut: knownTap('out', tap) };
  if (isTrustedPort(port) || !port.port_security_enabled) {
    const why = comment(isTrustedPort(port) ? COMMENT.TRUSTED_ACCEPT : COMMENT.PORT_SEC_ACCEPT);
    out.forward.push(`${bridged('out', tap)} ${why} -j ACCEPT`, `${bridged('in', tap)} ${why} -j ACCEPT`);
    if (!isTrustedPort(port)) out.input.push(`${bridged('in', tap)} ${why} -j ACCEPT`);
    return out;
  }
  const { ingress, egress } = sgChains(port.id);
  out.forward.push(
    `${bridged('out', tap)} ${comment(COMMENT.VM_INT_SG)} -j ${lb('sg-chain')}`,
    `${bridged('in', tap)} ${comment(COMMENT.VM_INT_SG)} -j ${lb('sg-chain')}`,
  );
  out.input.push(`${bridged('in', tap)} ${comment(COMMENT.INPUT_TO_SG)} -j ${egress}`);
  out.sgChain.push(
    `${bridged('out', tap)} ${comment(COMMENT.SG_TO_VM_SG)} -j ${ingress}`,
    `${bridged('in', tap)} ${comment(COMMENT.SG_TO_VM_SG)} -j ${egress}`,
  );
  return out;
}

/**
 * A port's node-wide rules depend on the port alone, and a host view keeps the objects of the
 * ports a change left alone: each port's rules are written once, not on every pass of a big node
 * (the same strings again also compare at once with the last pass's).
 */
const nodeWideMemo = new WeakMap<PortView, NodeWideRules>();
const nodeWideRules = (port: PortView): NodeWideRules => {
  let rules = nodeWideMemo.get(port);
  if (!rules) {
    rules = nodeWideRulesOf(port);
    nodeWideMemo.set(port, rules);
  }
  return rules;
};

/** A view's ports by id, sorted once per list (the same list object is the same ports). */
const sortedMemo = new WeakMap<readonly PortView[], PortView[]>();
function portsById(ports: readonly PortView[]): PortView[] {
  let sorted = sortedMemo.get(ports);
  if (!sorted) {
    sorted = [...ports].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    sortedMemo.set(ports, sorted);
  }
  return sorted;
}

type NodeWide<T> = Record<'forward' | 'input' | 'sgChain' | 'unknownIn' | 'unknownOut', T>;

/** The split chains' stems: a digit's sub-chain is `neutron-linuxbri-<stem>-<digit>`. */
const STEMS = { forward: 'FORWARD', input: 'INPUT', sgChain: 'sg-chain', unknownIn: 'unknown-i', unknownOut: 'unknown-o' } as const;
export type NodeWideStem = (typeof STEMS)[keyof typeof STEMS];

/** The sub-chain of a node-wide chain that holds the rules of taps under `digit` (firewall-buckets.ts). */
export const digitChain = (stem: NodeWideStem, digit: string): string => lb(`${stem}-${digit}`);

/**
 * The per-tap part of the node-wide chains: each long chain's rules as they are, or (`split`) a
 * dispatch per digit and the digits' sub-chains (firewall-buckets.ts). `noChains` ends the no-window sub-chains.
 */
function nodeWideChains(split: boolean, entries: NodeWide<TapRules[]>, noChains: string): NodeWide<SplitChain> {
  // Both sides of a bridged packet, each digit in turn (see firewall-buckets.ts for why the verdicts stay the same).
  const bothSides = (d: string, chain: string) => [`${bridged('out', `tap${d}+`)} -j ${chain}`, `${bridged('in', `tap${d}+`)} -j ${chain}`];
  const inSide = (d: string, chain: string) => [`${bridged('in', `tap${d}+`)} -j ${chain}`];
  const goTo = (dir: 'in' | 'out') => (d: string, chain: string) => [`-m physdev --physdev-${dir} tap${d}+ -g ${chain}`];
  const how: NodeWide<[(d: string, chain: string) => string[], string[]]> = {
    forward: [bothSides, []],
    input: [inSide, []],
    sgChain: [bothSides, []],
    unknownIn: [goTo('in'), [noChains]],
    unknownOut: [goTo('out'), [noChains]],
  };
  const one = (k: keyof NodeWide<unknown>): SplitChain =>
    split ? splitByDigit(entries[k], (d) => digitChain(STEMS[k], d), ...how[k]) : { rules: entries[k].flatMap((t) => t.rules), chains: [] };
  return {
    forward: one('forward'),
    input: one('input'),
    sgChain: one('sgChain'),
    unknownIn: one('unknownIn'),
    unknownOut: one('unknownOut'),
  };
}

/**
 * The HOST filter table of an L2 node: the skeleton with the no-window drop, and per port bound
 * here either its chains (port security on), or ACCEPT rules (trusted, or port security off).
 * `servicePortIds`: ports whose host side another role of this node makes (DHCP, router): trusted
 * even when the view does not list them among the node's ports.
 */
export function planFirewall(
  view: HostView,
  servicePortIds: Iterable<string> = [],
  options: FirewallOptions = {},
  chainsOfPort: (port: PortView, view: HostView, options: FirewallOptions) => ChainSpec[] = portChains,
): IptablesSpec {
  const trusted: string[] = [];
  const forward: TapRules[] = [];
  const input: TapRules[] = [];
  const sgChain: TapRules[] = [];
  const portChainSpecs: ChainSpec[] = [];
  const ports = portsById(view.ports);
  const listed = new Set(ports.map((p) => p.id));
  const extraTrusted = [...new Set(servicePortIds)].filter((id) => !listed.has(id)).sort();
  const trustedAccept = comment(COMMENT.TRUSTED_ACCEPT);
  for (const id of extraTrusted)
    trusted.push(`${bridged('out', tapName(id))} ${trustedAccept} -j ACCEPT`, `${bridged('in', tapName(id))} ${trustedAccept} -j ACCEPT`);
  const known = new Map<string, Pick<NodeWideRules, 'unknownIn' | 'unknownOut'>>();
  for (const id of extraTrusted) {
    const tap = tapName(id);
    known.set(tap, { unknownIn: knownTap('in', tap), unknownOut: knownTap('out', tap) });
  }
  for (const port of ports) {
    const rules = nodeWideRules(port);
    known.set(rules.tap, rules);
    forward.push({ tap: rules.tap, rules: rules.forward });
    input.push({ tap: rules.tap, rules: rules.input });
    sgChain.push({ tap: rules.tap, rules: rules.sgChain });
    if (!isTrustedPort(port) && port.port_security_enabled) portChainSpecs.push(...chainsOfPort(port, view, options));
  }
  // No window: bridged traffic from or to a tap that is none of the above is dropped before Neutron's
  // rules see it (they would let it through when the other side is a known port: sg-chain ends in ACCEPT).
  const taps = [...known.keys()].sort();
  const unknownIn = taps.map((tap) => ({ tap, rules: [known.get(tap)!.unknownIn] }));
  const unknownOut = taps.map((tap) => ({ tap, rules: [known.get(tap)!.unknownOut] }));
  const noChains = `${comment(COMMENT.NO_CHAINS)} -j DROP`;
  const nodeWide = nodeWideChains(
    taps.length > (options.bucketAbove ?? BUCKET_ABOVE),
    { forward, input, sgChain, unknownIn, unknownOut },
    noChains,
  );
  const filter: ChainSpec[] = [
    { name: 'FORWARD', rules: [`-j ${FILTER_TOP}`, `-j ${lb('FORWARD')}`] },
    { name: 'INPUT', rules: [`-j ${lb('INPUT')}`] },
    { name: 'OUTPUT', rules: [`-j ${FILTER_TOP}`, `-j ${lb('OUTPUT')}`] },
    { name: FILTER_TOP, rules: [`-j ${lb('local')}`] },
    { name: lb('local'), rules: [] },
    { name: lb('OUTPUT'), rules: [] },
    {
      name: lb('FORWARD'),
      rules: [
        `${bridged('in', 'tap+')} -j ${lb('unknown-in')}`,
        `${bridged('out', 'tap+')} -j ${lb('unknown-out')}`,
        ...trusted,
        ...nodeWide.forward.rules,
      ],
    },
    { name: lb('INPUT'), rules: nodeWide.input.rules },
    { name: lb('sg-chain'), rules: [...nodeWide.sgChain.rules, '-j ACCEPT'] },
    { name: lb('sg-fallback'), rules: [`${comment(COMMENT.FALLBACK)} -j DROP`] },
    { name: lb('unknown-in'), rules: [...nodeWide.unknownIn.rules, noChains] },
    { name: lb('unknown-out'), rules: [...nodeWide.unknownOut.rules, noChains] },
    ...[nodeWide.forward, nodeWide.input, nodeWide.sgChain, nodeWide.unknownIn, nodeWide.unknownOut].flatMap((c) => c.chains),
    ...portChainSpecs,
  ];
  return { filter };
}
