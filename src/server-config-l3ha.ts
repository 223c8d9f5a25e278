// The server's HA-router settings (Neutron's neutron.conf [DEFAULT] l3_ha, max_l3_agents_per_router,
// l3_ha_net_cidr; neutron/conf/db/l3_hamode_db.py), parsed and checked as Neutron checks them.
import { parsePrefix } from './model/ip.ts';

export interface L3HaConfig {
  /** Routers created without `ha` are HA routers (l3_ha). */
  l3Ha: boolean;
  /** How many L3 agents an HA router is scheduled on; 0: every live agent (max_l3_agents_per_router). */
  maxL3AgentsPerRouter: number;
  /** The subnet of every project's HA network (l3_ha_net_cidr). */
  l3HaNetCidr: string;
}

export const DEFAULT_L3_HA: L3HaConfig = { l3Ha: false, maxL3AgentsPerRouter: 3, l3HaNetCidr: '169.254.192.0/18' };

export class L3HaConfigError extends Error {}

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off'];

function boolOption(name: string, v: string): boolean {
  const s = v.trim().toLowerCase();
  if (TRUE.includes(s)) return true;
  if (FALSE.includes(s)) return false;
  throw new L3HaConfigError(`${name} must be true or false, not '${v}'`);
}

/** _verify_configuration: a network address with its prefix length (HANetworkCIDRNotValid otherwise). */
export function checkHaCidr(v: string): string {
  const p = parsePrefix(v.trim());
  if (!v.includes('/') || !p || p.network !== p.address)
    throw new L3HaConfigError(`l3_ha_net_cidr: The HA Network CIDR specified in the configuration file isn't valid; ${v}.`);
  return v.trim();
}

/** The three options from [DEFAULT]; absent ones keep Neutron's defaults. */
export function parseL3HaOptions(d: Record<string, string>): L3HaConfig {
  const out = { ...DEFAULT_L3_HA };
  if (d.l3_ha !== undefined) out.l3Ha = boolOption('l3_ha', String(d.l3_ha));
  if (d.max_l3_agents_per_router !== undefined) {
    const v = String(d.max_l3_agents_per_router).trim();
    if (!/^\d+$/.test(v)) throw new L3HaConfigError(`max_l3_agents_per_router must be an integer of 0 or more, not '${v}'`);
    out.maxL3AgentsPerRouter = Number(v);
  }
  if (d.l3_ha_net_cidr !== undefined) out.l3HaNetCidr = checkHaCidr(String(d.l3_ha_net_cidr));
  return out;
}
