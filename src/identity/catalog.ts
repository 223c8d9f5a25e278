// The fixed service catalog: neutrino's network and identity endpoints (and other services' set in the
// configuration, such as Nova's), in tokens and as admin objects.
import type { AuthContext } from '../model/context.ts';
import { requireAdmin, sha256 } from './context.ts';

export const REGION = 'RegionOne';

export interface CatalogEndpoint {
  id: string;
  interface: 'public' | 'internal' | 'admin';
  region: string;
  region_id: string;
  url: string;
}
export interface CatalogService {
  id: string;
  type: string;
  name: string;
  endpoints: CatalogEndpoint[];
}

const stableId = (seed: string) => sha256(`neutrino:${seed}`).slice(0, 32);

function catalogService(type: string, name: string, url: string): CatalogService {
  return {
    id: stableId(type),
    type,
    name,
    endpoints: (['public', 'internal', 'admin'] as const).map((iface) => ({
      id: stableId(`${type}:${iface}`),
      interface: iface,
      region: REGION,
      region_id: REGION,
      url,
    })),
  };
}

/** Another service's endpoint listed in the catalog (the same URL on every interface). */
export interface OtherService {
  type: string;
  name: string;
  url: string;
}

export function catalog(baseUrl: string, others: readonly OtherService[] = []): CatalogService[] {
  return [
    catalogService('network', 'neutron', `${baseUrl}/`),
    catalogService('identity', 'keystone', `${baseUrl}/identity/v3`),
    ...others.map((o) => catalogService(o.type, o.name, o.url)),
  ];
}

/** GET /v3/services: the fixed catalog as administration objects (read-only). */
export function listServices(caller: AuthContext, services: CatalogService[]): CatalogService[] {
  requireAdmin(caller, 'list_services');
  return services;
}

/** GET /v3/endpoints. */
export function listEndpoints(caller: AuthContext, services: CatalogService[]): Array<CatalogEndpoint & { service_id: string }> {
  requireAdmin(caller, 'list_endpoints');
  return services.flatMap((s) => s.endpoints.map((e) => ({ ...e, service_id: s.id })));
}
