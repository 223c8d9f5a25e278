// The service catalog, read-only: services, endpoints and the one region (`openstack endpoint list`,
// `service list`, `region list`).
import { notFoundError } from '../../identity/errors.ts';
import { REGION } from '../../identity/service.ts';
import { listBody } from '../../identity/views.ts';
import { byId, param, type IdentityRouteContext, type IdentityRouter } from './request.ts';

export function serviceRoutes(r: IdentityRouter, { identity, baseUrl, view, v3, caller, self }: IdentityRouteContext): void {
  r.get(`${v3}/services`, async (req) => {
    const [type, name] = [param(req, 'type'), param(req, 'name')];
    const rows = identity
      .listServices(await caller(req), baseUrl)
      .filter((s) => (type === undefined || s.type === type) && (name === undefined || s.name === name));
    return listBody(
      'services',
      rows.map((s) => view.service(s)),
      self(req),
    );
  });
  r.get(`${v3}/services/:id`, byId, async (req) => {
    const found = identity.listServices(await caller(req), baseUrl).find((s) => s.id === req.params.id);
    if (!found) throw notFoundError('service', req.params.id);
    return { service: view.service(found) };
  });
}

export function endpointRoutes(r: IdentityRouter, { identity, baseUrl, view, v3, caller, self }: IdentityRouteContext): void {
  r.get(`${v3}/endpoints`, async (req) => {
    const want = { service_id: param(req, 'service_id'), interface: param(req, 'interface'), region_id: param(req, 'region_id') };
    const rows = identity
      .listEndpoints(await caller(req), baseUrl)
      .filter((e) => Object.entries(want).every(([k, v]) => v === undefined || e[k as keyof typeof want] === v));
    return listBody(
      'endpoints',
      rows.map((e) => view.endpoint(e)),
      self(req),
    );
  });
  r.get(`${v3}/endpoints/:id`, byId, async (req) => {
    const found = identity.listEndpoints(await caller(req), baseUrl).find((e) => e.id === req.params.id);
    if (!found) throw notFoundError('endpoint', req.params.id);
    return { endpoint: view.endpoint(found) };
  });
}

export function regionRoutes(r: IdentityRouter, { view, v3, caller, self }: IdentityRouteContext): void {
  r.get(`${v3}/regions`, async (req) => {
    await caller(req);
    return listBody('regions', [view.region(REGION)], self(req));
  });
  r.get(`${v3}/regions/:id`, byId, async (req) => {
    await caller(req);
    if (req.params.id !== REGION) throw notFoundError('region', req.params.id);
    return { region: view.region(REGION) };
  });
}
