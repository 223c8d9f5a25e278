// Keystone v3 HTTP routes under /identity: version discovery, auth/tokens and the administration API.
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyRequest,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { AuthContext } from '../model/context.js';
import { notFoundError, unauthorized } from './errors.js';
import {
  AuthRequest,
  GrantParams,
  IdParams,
  PasswordChange,
  ProjectCreate,
  ProjectUpdate,
  ProjectUserParams,
  RoleCreate,
  UserCreate,
  UserUpdate,
  typeboxValidatorCompiler,
  type TypeBoxProvider,
} from './schemas.js';
import { REGION, type IdentityService } from './service.js';
import { IdentityViews, listBody, versionV3 } from './views.js';

export interface IdentityRouteDeps {
  identity: IdentityService;
  baseUrl: string;
}

type Query = Record<string, string | string[] | undefined>;

/** One value of a query parameter (the first, if repeated). */
function param(req: FastifyRequest, key: string): string | undefined {
  const v = (req.query as Query)[key];
  return Array.isArray(v) ? v[0] : v;
}

/** Keystone's boolean query filters: present means true unless spelled 0/false/no/off. */
function flag(req: FastifyRequest, key: string): boolean | undefined {
  const v = param(req, key);
  if (v === undefined) return undefined;
  return !['0', 'false', 'no', 'off'].includes(v.toLowerCase());
}

function header(req: FastifyRequest, name: string): string {
  const v = req.headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

export async function registerIdentityRoutes(http: FastifyInstance, deps: IdentityRouteDeps): Promise<void> {
  // An encapsulated plugin: the TypeBox validator applies to these routes only.
  await http.register(async (scope) => {
    scope.setValidatorCompiler(typeboxValidatorCompiler);
    identityRoutes(scope.withTypeProvider<TypeBoxProvider>(), deps);
  });
}

type TypedInstance = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxProvider
>;

function identityRoutes(r: TypedInstance, { identity, baseUrl }: IdentityRouteDeps): void {
  const view = new IdentityViews(baseUrl);
  const v3 = '/identity/v3';
  const caller = async (req: FastifyRequest): Promise<AuthContext> => {
    const ctx = await identity.authenticateToken(header(req, 'x-auth-token'));
    if (!ctx) throw unauthorized();
    req.ctx = ctx; // for the access log
    return ctx;
  };
  const self = (req: FastifyRequest) => view.requestUrl(req.url);
  const byId = { schema: { params: IdParams } };

  // ---- discovery (keystoneauth asks the unversioned root for a multiple-choice document) ----
  r.get('/identity', (_req, reply) => reply.status(300).send({ versions: { values: [versionV3(baseUrl)] } }));
  r.get(v3, async () => ({ version: versionV3(baseUrl) }));

  // ---- tokens ----
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

  // ---- the catalog, read-only (`openstack endpoint list`, `service list`, `region list`) ----
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
  r.get(`${v3}/regions`, async (req) => {
    await caller(req);
    return listBody('regions', [view.region(REGION)], self(req));
  });
  r.get(`${v3}/regions/:id`, byId, async (req) => {
    await caller(req);
    if (req.params.id !== REGION) throw notFoundError('region', req.params.id);
    return { region: view.region(REGION) };
  });

  // ---- domains ----
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

  // ---- projects ----
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

  // ---- users ----
  r.post(`${v3}/users`, { schema: { body: UserCreate } }, async (req, reply) => {
    const row = await identity.createUser(await caller(req), req.body.user);
    return reply.status(201).send({ user: view.user(row) });
  });
  r.get(`${v3}/users`, async (req) => {
    const filters = { name: param(req, 'name'), domain_id: param(req, 'domain_id'), enabled: flag(req, 'enabled') };
    const rows = await identity.listUsers(await caller(req), filters);
    return listBody(
      'users',
      rows.map((u) => view.user(u)),
      self(req),
    );
  });
  r.get(`${v3}/users/:id`, byId, async (req) => ({
    user: view.user(await identity.getUser(await caller(req), req.params.id)),
  }));
  r.patch(`${v3}/users/:id`, { schema: { params: IdParams, body: UserUpdate } }, async (req) => ({
    user: view.user(await identity.updateUser(await caller(req), req.params.id, req.body.user)),
  }));
  r.delete(`${v3}/users/:id`, byId, async (req, reply) => {
    await identity.deleteUser(await caller(req), req.params.id);
    return reply.status(204).send();
  });
  r.get(`${v3}/users/:id/projects`, byId, async (req) => {
    const rows = await identity.listUserProjects(await caller(req), req.params.id);
    return listBody(
      'projects',
      rows.map((p) => view.project(p)),
      self(req),
    );
  });
  r.post(`${v3}/users/:id/password`, { schema: { params: IdParams, body: PasswordChange } }, async (req, reply) => {
    const { password, original_password } = req.body.user;
    await identity.changePassword(await caller(req), req.params.id, original_password, password);
    return reply.status(204).send();
  });

  // ---- roles ----
  r.post(`${v3}/roles`, { schema: { body: RoleCreate } }, async (req, reply) => {
    const row = await identity.createRole(await caller(req), req.body.role);
    return reply.status(201).send({ role: view.role(row) });
  });
  r.get(`${v3}/roles`, async (req) => {
    const rows = await identity.listRoles(await caller(req), { name: param(req, 'name') });
    return listBody(
      'roles',
      rows.map((x) => view.role(x)),
      self(req),
    );
  });
  r.get(`${v3}/roles/:id`, byId, async (req) => ({
    role: view.role(await identity.getRole(await caller(req), req.params.id)),
  }));
  r.delete(`${v3}/roles/:id`, byId, async (req, reply) => {
    await identity.deleteRole(await caller(req), req.params.id);
    return reply.status(204).send();
  });

  // ---- role assignments ----
  const grant = `${v3}/projects/:projectId/users/:userId/roles/:roleId`;
  r.put(grant, { schema: { params: GrantParams } }, async (req, reply) => {
    const { projectId, userId, roleId } = req.params;
    await identity.assignRole(await caller(req), projectId, userId, roleId);
    return reply.status(204).send();
  });
  r.head(grant, { schema: { params: GrantParams } }, async (req, reply) => {
    const { projectId, userId, roleId } = req.params;
    await identity.checkRole(await caller(req), projectId, userId, roleId);
    return reply.status(204).send();
  });
  r.delete(grant, { schema: { params: GrantParams } }, async (req, reply) => {
    const { projectId, userId, roleId } = req.params;
    await identity.unassignRole(await caller(req), projectId, userId, roleId);
    return reply.status(204).send();
  });
  r.get(`${v3}/projects/:projectId/users/:userId/roles`, { schema: { params: ProjectUserParams } }, async (req) => {
    const rows = await identity.listGrants(await caller(req), req.params.projectId, req.params.userId);
    return listBody(
      'roles',
      rows.map((x) => view.role(x)),
      self(req),
    );
  });
  r.get(`${v3}/role_assignments`, async (req) => {
    const ctx = await caller(req);
    const q = req.query as Query;
    // Groups, domain/system scopes and inheritance do not exist here: such filters match nothing.
    const unsatisfiable = ['group.id', 'scope.domain.id', 'scope.system', 'scope.OS-INHERIT:inherited_to'].some((k) => q[k] !== undefined);
    const rows = await identity.listRoleAssignments(ctx, {
      userId: param(req, 'user.id'),
      projectId: param(req, 'scope.project.id'),
      roleId: param(req, 'role.id'),
      unsatisfiable,
    });
    const names = flag(req, 'include_names') ?? false;
    return listBody(
      'role_assignments',
      rows.map((a) => view.assignment(a, names)),
      self(req),
    );
  });
}
