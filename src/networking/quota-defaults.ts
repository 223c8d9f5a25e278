// Neutron's default quota per resource, apart from enforcement (quotas.ts) so that reading the
// server's configuration does not load the store.
export const QUOTA_DEFAULTS = {
  network: 100,
  subnet: 100,
  port: 500,
  router: 10,
  floatingip: 50,
  security_group: 10,
  security_group_rule: 100,
  // Registered by the subnet pool extensions, unlimited by default (quota default_quota = -1).
  subnetpool: -1,
  rbac_policy: 10,
} as const;

export type QuotaResource = keyof typeof QUOTA_DEFAULTS;
export const QUOTA_RESOURCES = Object.keys(QUOTA_DEFAULTS) as QuotaResource[];
