// The server's [quotas] options (neutron/conf/quota.py): each resource's default limit for projects
// without one of their own, quota_<resource> where Neutron has that option and default_quota for the
// others (the subnet pools); a negative value is unlimited.
import { QUOTA_DEFAULTS, type QuotaResource } from './networking/quota-defaults.ts';

export class QuotaConfigError extends Error {}

/** The resources with an option of their own; the rest take default_quota. */
const OWN_OPTION: readonly QuotaResource[] = [
  'network',
  'subnet',
  'port',
  'router',
  'floatingip',
  'security_group',
  'security_group_rule',
  'rbac_policy',
];

function intOption(name: string, v: unknown): number {
  const s = String(v).trim();
  if (!/^[+-]?\d+$/.test(s)) throw new QuotaConfigError(`[quotas] ${name} must be an integer (negative: unlimited), not '${String(v)}'`);
  return Number(s);
}

/** The default limits from a [quotas] section; options not given keep Neutron's defaults. */
export function parseQuotaOptions(section: Record<string, unknown> | undefined): Record<QuotaResource, number> {
  const out = { ...QUOTA_DEFAULTS } as Record<QuotaResource, number>;
  if (!section) return out;
  if (section.default_quota !== undefined) {
    const all = intOption('default_quota', section.default_quota);
    for (const r of Object.keys(out) as QuotaResource[]) if (!OWN_OPTION.includes(r)) out[r] = all;
  }
  for (const r of OWN_OPTION) {
    const v = section[`quota_${r}`];
    if (v !== undefined) out[r] = intOption(`quota_${r}`, v);
  }
  return out;
}
