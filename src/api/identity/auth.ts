// Version discovery and the auth routes: issuing, validating and revoking tokens, and what a token
// gives its holder (projects, catalog).
import { AuthRequest } from '../../identity/schemas.ts';
import { listBody, versionV3 } from '../../identity/views.ts';
import { header, type IdentityRouteContext, type IdentityRouter } from './request.ts';

/** keystoneauth asks the unversioned root for a multiple-choice document. */
export function discoveryRoutes(r: IdentityRouter, { baseUrl, v3 }: IdentityRouteContext): void {
  r.get('/identity', (_req, reply) => reply.status(300).send({ versions: { values: [versionV3(baseUrl)] } }));
  r.get(v3, async () => ({ version: versionV3(baseUrl) }));
}

export function tokenRoutes(r: IdentityRouter, { identity, baseUrl, v3, caller }: IdentityRouteContext): void {
  r.post(`${v3}/auth/tokens`, { schema: { body: AuthRequest } }, async (req, reply) => {
    const { token, body } = await identity.issueToken(req.body.auth, baseUrl);
    return reply.status(201).header('X-Subject-Token', token).send(body);
  });
  // Fastify answers HEAD from this GET (200, no body).
  r.get(`${v3}/auth/tokens`, async (req, reply) => {
    const subject = header(req, 'x-subject-token');
    const body = await identity.validateToken(await caller(req), subject, baseUrl);
    return reply.header('X-Subject-Token', subject).send(body);
  });
  r.delete(`${v3}/auth/tokens`, async (req, reply) => {
    await identity.revokeToken(await caller(req), header(req, 'x-subject-token'));
    return reply.status(204).send();
  });
}

/** What the caller's token gives access to: the projects it may be scoped to and the catalog. */
export function authScopeRoutes(r: IdentityRouter, { identity, baseUrl, view, v3, caller, self }: IdentityRouteContext): void {
  r.get(`${v3}/auth/projects`, async (req) => {
    const ctx = await caller(req);
    return listBody(
      'projects',
      (await identity.listUserProjects(ctx, ctx.userId)).map((p) => view.project(p)),
      self(req),
    );
  });
  r.get(`${v3}/auth/catalog`, async (req) => {
    await caller(req);
    return { catalog: identity.catalog(baseUrl), links: { self: self(req), next: null, previous: null } };
  });
}
