// Floating IP port forwardings in a router's nat table, as Neutron's L3 agent extension writes them
// (neutron/agent/l3/extensions/port_forwarding.py): the wrapped PREROUTING jumps to `fip-pf`, which
// jumps to one `pf-<id>` chain per forwarding holding its DNAT rule. Only IPv4 forwards.
import { wrapChain } from '../kernel/names.js';
import { parseIp } from '../model/ip.js';
import type { PortForwardingView } from '../model/hostview.js';
import type { ChainSpec } from '../kernel/types.js';

export const FIP_PF_CHAIN = 'fip-pf';

/** _get_port_forwarding_chain_name: `pf-` + the forwarding's id, cut to the wrap's 11 characters. */
export const portForwardingChain = (id: string) => wrapChain('l3', `pf-${id}`);

/** _get_fip_rules: the DNAT of (floating IP, protocol, external port) to the internal socket. */
export const portForwardingRule = (f: PortForwardingView) =>
  `-d ${f.floating_ip_address}/32 -p ${f.protocol} -m ${f.protocol} --dport ${f.external_port} -j DNAT --to-destination ${f.internal_ip_address}:${f.internal_port}`;

/** The protocols with ports: the API accepts icmp too, whose `--dport` iptables would refuse with the whole table. */
const PORTED = new Set(['tcp', 'udp', 'sctp', 'dccp']);

const realizable = (f: PortForwardingView) =>
  PORTED.has(f.protocol) && parseIp(f.floating_ip_address)?.version === 4 && parseIp(f.internal_ip_address)?.version === 4;

/** The `fip-pf` chain and one chain per forwarding; none without forwardings. */
export function portForwardingChains(forwardings: readonly PortForwardingView[]): ChainSpec[] {
  const v4 = forwardings.filter(realizable);
  if (!v4.length) return [];
  return [
    { name: wrapChain('l3', FIP_PF_CHAIN), rules: v4.map((f) => `-j ${portForwardingChain(f.id)}`) },
    ...v4.map((f) => ({ name: portForwardingChain(f.id), rules: [portForwardingRule(f)] })),
  ];
}
