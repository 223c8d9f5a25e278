// Metering in a router's namespace, as Neutron's iptables metering driver writes it
// (services/metering/drivers/iptables/iptables_driver.py): per label, `neutron-meter-r-<label>`
// holds its rules — traffic leaving by the gateway from a prefix (egress: `-s P -o qg-…`) or
// entering by it toward one (ingress: `-d P -i qg-…`) jumps to `neutron-meter-l-<label>`, whose one
// empty rule counts it; excluded prefixes RETURN first — and `neutron-meter-FORWARD` jumps to
// every label's rule chain. Only on a router with a gateway (the driver meters the gateway). The
// counters of the label chains are what the agent reads (agent/metering.ts). Pure.
import { qgName } from '../kernel/names.js';
import type { ChainSpec } from '../kernel/types.js';
import type { RouterView } from '../model/hostview.js';
import { iptablesPrefix } from './firewall.js';

export const METER_TOP = 'neutron-meter-FORWARD';
/** iptables_manager.get_chain_name(wrap=False): chains not wrapped are cut to 28 characters. */
const MAX_CHAIN_LEN_NOWRAP = 28;
export const meterLabelChain = (labelId: string) => `neutron-meter-l-${labelId}`.slice(0, MAX_CHAIN_LEN_NOWRAP);
export const meterRulesChain = (labelId: string) => `neutron-meter-r-${labelId}`.slice(0, MAX_CHAIN_LEN_NOWRAP);

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
      // IPv4 only: the driver writes its rules to the IPv4 table.
      const prefix = iptablesPrefix(rule.remote_ip_prefix, 'IPv4');
      if (prefix === null) continue;
      const match = rule.direction === 'egress' ? `${prefix ? `-s ${prefix} ` : ''}-o ${dev}` : `${prefix ? `-d ${prefix} ` : ''}-i ${dev}`;
      // Excluded rules are inserted at the top (add_rule top=True): the later one first.
      if (rule.excluded) excluded.unshift(`${match} -j RETURN`);
      else counted.push(`${match} -j ${meterLabelChain(label.id)}`);
    }
    chains.push({ name: meterRulesChain(label.id), rules: [...excluded, ...counted] }, { name: meterLabelChain(label.id), rules: [''] });
  }
  return chains;
}
