// Domains (read-only: there is the default one) and projects.
import { IdParams, ProjectCreate, ProjectUpdate } from '../../identity/schemas.ts';
import { listBody } from '../../identity/views.ts';
import { byId, flag, param, type IdentityRouteContext, type IdentityRouter } from './request.ts';

export function domainRoutes(r: IdentityRouter, { identity, view, v3, caller, self }: IdentityRouteContext): void {
  r.get(`${v3}/domains`, async (req) => {
    const rows = await identity.listDomains(await caller(req), { name: param(req, 'name'), enabled: flag(req, 'enabled') });
    return listBody(
      'domains',
      rows.map((d) => view.domain(d)),
      self(req),
    );
  });
  r.get(`${v3}/domains/:id`, byId, async (req) => ({
    domain: view.domain(await identity.getDomain(await caller(req), req.params.id)),
  }));
}

export function projectRoutes(r: IdentityRouter, { identity, view, v3, caller, self }: IdentityRouteContext): void {
  r.post(`${v3}/projects`, { schema: { body: ProjectCreate } }, async (req, reply) => {
    const row = await identity.createProject(await caller(req), req.body.project);
    return reply.status(201).send({ project: view.project(row) });
  });
  r.get(`${v3}/projects`, async (req) => {
    const filters = { name: param(req, 'name'), domain_id: param(req, 'domain_id'), enabled: flag(req, 'enabled') };
    const rows = await identity.listProjects(await caller(req), filters);
    return listBody(
      'projects',
      rows.map((p) => view.project(p)),
      self(req),
    );
  });
  r.get(`${v3}/projects/:id`, byId, async (req) => ({
    project: view.project(await identity.getProject(await caller(req), req.params.id)),
  }));
  r.patch(`${v3}/projects/:id`, { schema: { params: IdParams, body: ProjectUpdate } }, async (req) => ({
    project: view.project(await identity.updateProject(await caller(req), req.params.id, req.body.project)),
  }));
  r.delete(`${v3}/projects/:id`, byId, async (req, reply) => {
    await identity.deleteProject(await caller(req), req.params.id);
    return reply.status(204).send();
  });
}
