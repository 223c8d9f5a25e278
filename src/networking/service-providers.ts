// Service providers (Neutron's service-type extension, neutron/db/servicetype_db.py): the drivers
// each advanced service can dispatch to. Read-only and stored nowhere: the list is what neutrino's
// code realises. Neutron's L3 driver controller adds dvrha, dvr, ha and single_node providers for
// L3_ROUTER_NAT; neutrino builds only the single-node router (one namespace on one host, no VRRP,
// no distributed routing with Linux bridge), so it lists only single_node — listing ha or dvr would
// tell a client it can ask for routers neutrino refuses. It is marked default because every router
// gets it (Neutron's auto-added providers say default false and pick single_node per router).
import type { ResourceSpec } from '../model/attributes.ts';
import type { RawQuery } from '../model/query.ts';
import type { Item } from './common.ts';

export const serviceProviderSpec: ResourceSpec = {
  singular: 'service_provider',
  plural: 'service_providers',
  attributes: {
    service_type: { filter: true },
    name: { filter: true },
    default: { filter: true, filterMatch: (value, wanted) => value === wanted },
  },
};

/** The plugin constant Neutron files routers under (neutron_lib.plugins.constants.L3). */
export const L3_SERVICE_TYPE = 'L3_ROUTER_NAT';

interface ServiceProvider {
  service_type: string;
  name: string;
  default: boolean;
  /** Neutron's driver path: what a service profile's `driver` names; not shown by the API. */
  driver: string;
}

const PROVIDERS: readonly ServiceProvider[] = [
  {
    service_type: L3_SERVICE_TYPE,
    name: 'single_node',
    default: true,
    driver: 'neutron.services.l3_router.service_providers.single_node.SingleNodeDriver',
  },
];

/** The providers as GET /v2.0/service-providers shows them. */
export const SERVICE_PROVIDERS: readonly Item[] = PROVIDERS.map(({ driver: _driver, ...shown }) => shown);

/** The provider whose driver path is `driver`, if any. */
export const providerByDriver = (driver: string): ServiceProvider | undefined => PROVIDERS.find((p) => p.driver === driver);

/**
 * The query Neutron applies: ServiceTypeManager says filter_validation_support = False, so filters on
 * no attribute are dropped rather than refused, and its plugin call takes no sorts or paging; a
 * `default` filter compares the query's text with a boolean (the attribute has no converter), which
 * never matches — as in Neutron.
 */
export function serviceProviderQuery(raw: RawQuery): RawQuery {
  const known = new Set(['fields', ...Object.keys(serviceProviderSpec.attributes)]);
  return Object.fromEntries(Object.entries(raw).filter(([k]) => known.has(k)));
}
