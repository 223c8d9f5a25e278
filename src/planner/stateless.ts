// Stateless security groups (`stateful: false`): the ports in them bypass connection tracking, as
// Neutron's iptables firewall makes them (IptablesFirewallDriver._get_jump_rules: `-j CT --notrack`
// in the raw table's PREROUTING). Their filter chains stay the same; with no conntrack state the
// RELATED,ESTABLISHED and INVALID rules match none of their packets, so a reply passes only by a rule
// of its own. Stateful ports are untouched: neutrino sets no conntrack zones for them. Pure.
//
// Neutron matches the port's traffic by `--physdev-in tap…` (from the port) and by `-i brq…` (all
// bridged traffic of the network, which would also untrack the stateful ports there); here the
// traffic to the port is matched on that bridge by the port's own addresses instead, so each port
// gets exactly its own traffic untracked.
import { bridgeName, tapName, wrapChain } from '../kernel/names.ts';
import type { ChainSpec, IptablesSpec } from '../kernel/types.ts';
import type { HostView, PortView } from '../model/hostview.ts';
import { comment, iptablesPrefix, isTrustedPort, type Ethertype } from './firewall.ts';

const PREROUTING = wrapChain('linuxbridge', 'PREROUTING');

/** Whether the port is filtered by stateless groups (one group says it: a port never mixes both). */
export function isStatelessPort(port: PortView, view: HostView): boolean {
  if (isTrustedPort(port) || !port.port_security_enabled) return false;
  return port.security_groups.some((id) => view.security_groups.find((g) => g.id === id)?.stateful === false);
}

/** The port's raw rules of one family: its traffic from its tap, and to its addresses (fixed IPs, address pairs) on its bridge. */
function notrackRules(port: PortView, ethertype: Ethertype): string[] {
  const tap = tapName(port.id);
  const why = comment(`Make ${tap.slice(3)} stateless`);
  const rules = [`-m physdev --physdev-in ${tap} ${why} -j CT --notrack`];
  const prefixes = [...port.fixed_ips.map((f) => f.ip_address), ...port.allowed_address_pairs.map((a) => a.ip_address)]
    .map((ip) => iptablesPrefix(ip, ethertype))
    .filter((p): p is string => p !== null);
  for (const p of [...new Set(prefixes)]) rules.push(`${p ? `-d ${p} ` : ''}-i ${bridgeName(port.network_id)} ${why} -j CT --notrack`);
  return rules;
}

/** The raw table of HOST for one family: nothing unless a port bound here is stateless. */
export function planStateless(view: HostView, ethertype: Ethertype): IptablesSpec {
  const ports = view.ports.filter((p) => isStatelessPort(p, view)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (!ports.length) return {};
  const raw: ChainSpec[] = [
    { name: 'PREROUTING', rules: [`-j ${PREROUTING}`] },
    { name: PREROUTING, rules: ports.flatMap((p) => notrackRules(p, ethertype)) },
  ];
  return { raw };
}
