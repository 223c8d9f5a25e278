// Metering in a router's namespace, as Neutron's iptables metering driver writes it
// (services/metering/drivers/iptables/iptables_driver.py): per label, `neutron-meter-r-<label>`
// holds its rules — traffic leaving by the gateway (egress: `-o qg-…`) or entering by it (ingress:
// `-i qg-…`) from a source and/or to a destination prefix (the deprecated remote prefix is the source
// of egress, the destination of ingress) jumps to `neutron-meter-l-<label>`, whose one
// empty rule counts it; excluded prefixes RETURN first — and `neutron-meter-FORWARD` jumps to
// every label's rule chain. Only on a router with a gateway (the driver meters the gateway). The
// counters of the label chains are what the agent reads (agent/metering.ts). Pure.
import { qgName } from '../kernel/names.ts';
import type { ChainSpec } from '../kernel/types.ts';
import type { MeteringRuleView, RouterView } from '../model/hostview.ts';
import { iptablesPrefix } from './firewall.ts';

export const METER_TOP = 'neutron-meter-FORWARD';
/** iptables_manager.get_chain_name(wrap=False): chains not wrapped are cut to 28 characters. */
const MAX_CHAIN_LEN_NOWRAP = 28;
export const meterLabelChain = (labelId: string) => `neutron-meter-l-${labelId}`.slice(0, MAX_CHAIN_LEN_NOWRAP);
export const meterRulesChain = (labelId: string) => `neutron-meter-r-${labelId}`.slice(0, MAX_CHAIN_LEN_NOWRAP);

/**
 * _prepare_rule's match (prepare_source_and_destination_rule[_legacy]); null when a prefix is not
 * IPv4 (the driver writes its rules to the IPv4 table only).
 */
export function meteringMatch(rule: MeteringRuleView, dev: string): string | null {
  const io = rule.direction === 'egress' ? `-o ${dev}` : `-i ${dev}`;
  const prefixes =
    rule.remote_ip_prefix !== null
      ? rule.direction === 'egress'
        ? { s: rule.remote_ip_prefix, d: null }
        : { s: null, d: rule.remote_ip_prefix }
      : { s: rule.source_ip_prefix, d: rule.destination_ip_prefix };
  const words: string[] = [];
  // In iptables-save's order (-s, -d, then the device), as the kernel reads back.
  for (const [flag, text] of [
    ['-s', prefixes.s],
    ['-d', prefixes.d],
  ] as const) {
    if (text === null) continue;
    const p = iptablesPrefix(text, 'IPv4');
    if (p === null) return null;
    if (p) words.push(`${flag} ${p}`);
  }
  return [...words, io].join(' ');
}

/** The filter chains of the router's labels (FORWARD's jump included), or none. */
export function meteringChains(router: RouterView): ChainSpec[] {
  const labels = router.metering_labels ?? [];
  if (!labels.length || !router.gateway) return [];
  const dev = qgName(router.gateway.port.id);
  const chains: ChainSpec[] = [
    { name: 'FORWARD', rules: [`-j ${METER_TOP}`] },
    { name: METER_TOP, rules: labels.map((l) => `-j ${meterRulesChain(l.id)}`) },
  ];
  for (const label of labels) {
    const counted: string[] = [];
    const excluded: string[] = [];
    for (const rule of label.rules) {
      const match = meteringMatch(rule, dev);
      if (match === null) continue;
      // Excluded rules are inserted at the top (add_rule top=True): the later one first.
      if (rule.excluded) excluded.unshift(`${match} -j RETURN`);
      else counted.push(`${match} -j ${meterLabelChain(label.id)}`);
    }
    chains.push({ name: meterRulesChain(label.id), rules: [...excluded, ...counted] }, { name: meterLabelChain(label.id), rules: [''] });
  }
  return chains;
}
