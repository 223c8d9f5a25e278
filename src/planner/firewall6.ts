// Security groups of one node in ip6tables: Neutron's IptablesFirewallDriver writes the same
// skeleton and the same per-port chains (same names) into both families' filter tables; a port's
// IPv6 addresses and its groups' IPv6 rules go to ip6tables only, with the fixed ICMPv6 and
// DHCPv6 rules of iptables_firewall.py and the provider rules of securitygroups_rpc_base.py.
// Pure. Everything else (rule conversion, skeleton, no-window drop) is firewall.ts's.
import { sgChains } from '../kernel/names.ts';
import type { ChainSpec, IptablesSpec } from '../kernel/types.ts';
import type { HostView, PortView } from '../model/hostview.ts';
import { eui64Address } from '../model/ip.ts';
import {
  addressesOf,
  comment,
  COMMENT,
  ESTABLISHED,
  FALLBACK,
  groupRules,
  type FirewallOptions,
  INVALID,
  ip6tablesPrefix,
  pairAllow,
  planFirewall,
  unique,
} from './firewall.ts';

/** firewall.ICMPV6_ALLOWED_INGRESS_TYPES: MLD query, neighbour solicitation, neighbour advertisement. */
export const ICMPV6_ALLOWED_INGRESS_TYPES = [130, 135, 136] as const;
/** neutron-lib ICMPV6_ALLOWED_UNSPEC_ADDR_TYPES: MLD report, neighbour solicitation, MLDv2 report (DAD from ::). */
export const ICMPV6_ALLOWED_UNSPEC_ADDR_TYPES = [131, 135, 143] as const;
export const ICMPV6_TYPE_RA = 134;
/** neutron-lib IPv6_LLA_PREFIX: the link-local prefix a port's EUI-64 address is taken in. */
const IPV6_LLA_PREFIX = 'fe80::/64';

/**
 * The (MAC, address) pairs of the IPv6 anti-spoofing chain, in Neutron's order
 * (_spoofing_rule / _build_ipv4v6_mac_ip_list): allowed address pairs first, then fixed IPs; after
 * each pair's first IPv6 address the EUI-64 link-local address of its MAC, once per MAC; a port
 * without any fixed IP (of either family) also gets its MAC alone, last. IPv4 entries are left
 * out. null address = the MAC alone.
 */
function spoofPairs(port: PortView): Array<{ mac: string; ip: string | null }> {
  const pairs: Array<{ mac: string; ip: string | null }> = [];
  const add = (mac: string, ip: string) => {
    if (ip6tablesPrefix(ip) === null) return;
    pairs.push({ mac, ip });
    const lla = eui64Address(IPV6_LLA_PREFIX, mac);
    if (lla !== null && !pairs.some((p) => p.mac.toLowerCase() === mac.toLowerCase() && p.ip === lla)) pairs.push({ mac, ip: lla });
  };
  for (const a of port.allowed_address_pairs) add(a.mac_address || port.mac_address, a.ip_address);
  for (const f of port.fixed_ips) add(port.mac_address, f.ip_address);
  if (port.fixed_ips.length === 0) pairs.push({ mac: port.mac_address, ip: null });
  return pairs;
}

/**
 * The chains of a filtered port in ip6tables. As in Neutron, the spoof chain (and the egress jump
 * to it) only exists when the port has an IPv6 pair: a port with only IPv4 addresses has none.
 */
export function portChains6(port: PortView, view: HostView, options: FirewallOptions = {}): ChainSpec[] {
  const { ingress, egress, spoof } = sgChains(port.id);
  const v6 = addressesOf(port, 'IPv6');
  const icmp6 = (type: number) => `-p ipv6-icmp -m icmp6 --icmpv6-type ${type}`;
  // Provider rules, in _apply_provider_rule's order: RA from the router when the port has IPv6,
  // then DHCPv6 replies to each IPv6 address and to the link-local prefix (always).
  const provider = [
    ...(v6.length ? [`${icmp6(ICMPV6_TYPE_RA)} -j RETURN`] : []),
    ...[...v6, IPV6_LLA_PREFIX].map((d) => `-d ${d} -p udp -m udp --sport 547 --dport 546 -j RETURN`),
  ];
  const pairs = spoofPairs(port);
  const spoofRules = unique(
    pairs.map(({ mac, ip }) => {
      if (ip === null) return pairAllow(null, mac);
      return pairAllow(ip6tablesPrefix(ip), mac);
    }),
  );
  const icmpAllow = comment(COMMENT.IPV6_ICMP_ALLOW);
  const chains: ChainSpec[] = [
    {
      name: ingress,
      rules: unique([
        ...ICMPV6_ALLOWED_INGRESS_TYPES.map((t) => `${icmp6(t)} -j RETURN`),
        ESTABLISHED,
        ...provider,
        ...groupRules(port, view, 'ingress', 'IPv6', options),
        INVALID,
        FALLBACK,
      ]),
    },
    {
      name: egress,
      rules: unique([
        ...ICMPV6_ALLOWED_UNSPEC_ADDR_TYPES.map((t) => `-s ::/128 -d ff02::/16 ${icmp6(t)} ${icmpAllow} -j RETURN`),
        ...(spoofRules.length ? [`-j ${spoof}`] : []),
        `${icmp6(ICMPV6_TYPE_RA)} ${comment(COMMENT.IPV6_RA_DROP)} -j DROP`,
        `-p ipv6-icmp ${icmpAllow} -j RETURN`,
        `-p udp -m udp --sport 546 --dport 547 ${comment(COMMENT.DHCP_CLIENT)} -j RETURN`,
        `-p udp -m udp --sport 547 --dport 546 ${comment(COMMENT.DHCP_SPOOF)} -j DROP`,
        ESTABLISHED,
        ...groupRules(port, view, 'egress', 'IPv6', options),
        INVALID,
        FALLBACK,
      ]),
    },
  ];
  if (spoofRules.length) chains.push({ name: spoof, rules: [...spoofRules, `${comment(COMMENT.PAIR_DROP)} -j DROP`] });
  return chains;
}

/**
 * The HOST ip6tables filter table of an L2 node: planFirewall's skeleton, trusted and
 * port-security-disabled ACCEPTs and no-window drop (Neutron writes them to both families), with
 * the IPv6 per-port chains.
 */
export function planFirewall6(
  view: HostView,
  servicePortIds: Iterable<string> = [],
  options: FirewallOptions = {},
  chainsOfPort: (port: PortView, view: HostView, options: FirewallOptions) => ChainSpec[] = portChains6,
): IptablesSpec {
  return planFirewall(view, servicePortIds, options, chainsOfPort);
}
