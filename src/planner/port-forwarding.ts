// Floating IP port forwardings in a router's nat table, as Neutron's L3 agent extension writes them
// (neutron/agent/l3/extensions/port_forwarding.py): the wrapped PREROUTING jumps to `fip-pf`, which
// jumps to one `pf-<id>` chain per forwarding holding its DNAT rule, port ranges included. Only IPv4
// forwards.
import { wrapChain } from '../kernel/names.ts';
import { parseIp } from '../model/ip.ts';
import type { PortForwardingView } from '../model/hostview.ts';
import type { ChainSpec } from '../kernel/types.ts';

export const FIP_PF_CHAIN = 'fip-pf';

/** _get_port_forwarding_chain_name: `pf-` + the forwarding's id, cut to the wrap's 11 characters. */
export const portForwardingChain = (id: string) => wrapChain('l3', `pf-${id}`);

/**
 * extract_ports: the external ports as `--dport` takes them (`40:50`), the internal ones as DNAT
 * takes them (`60-70`); an internal range behind an external range is offset from the external
 * start (`/40`: 40 → 60, 41 → 61, …), a single internal port takes the whole external range (N:1).
 */
export function forwardedPorts(f: PortForwardingView): { external: string; internal: string } {
  const externalRange = f.external_port !== f.external_port_end;
  const external = externalRange ? `${f.external_port}:${f.external_port_end}` : String(f.external_port);
  if (f.internal_port === f.internal_port_end) return { external, internal: String(f.internal_port) };
  return { external, internal: `${f.internal_port}-${f.internal_port_end}${externalRange ? `/${f.external_port}` : ''}` };
}

/** _get_fip_rules: the DNAT of (floating IP, protocol, external ports) to the internal socket(s). */
export function portForwardingRule(f: PortForwardingView): string {
  const { external, internal } = forwardedPorts(f);
  return `-d ${f.floating_ip_address}/32 -p ${f.protocol} -m ${f.protocol} --dport ${external} -j DNAT --to-destination ${f.internal_ip_address}:${internal}`;
}

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
