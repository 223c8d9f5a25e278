// Roles and their assignments to users on projects (grants, and the role_assignments query).
import { GrantParams, GroupGrantParams, ProjectGroupParams, ProjectUserParams, RoleCreate } from '../../identity/schemas.ts';
import { listBody } from '../../identity/views.ts';
import { byId, flag, param, type IdentityRouteContext, type IdentityRouter, type Query } from './request.ts';

export function roleRoutes(r: IdentityRouter, { identity, view, v3, caller, self }: IdentityRouteContext): void {
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
}

/** Grants: one role of one user on one project. */
export function grantRoutes(r: IdentityRouter, { identity, view, v3, caller, self }: IdentityRouteContext): void {
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
}

/** Group grants: one role of one group on one project. */
export function groupGrantRoutes(r: IdentityRouter, { identity, view, v3, caller, self }: IdentityRouteContext): void {
  const grant = `${v3}/projects/:projectId/groups/:groupId/roles/:roleId`;
  r.put(grant, { schema: { params: GroupGrantParams } }, async (req, reply) => {
    const { projectId, groupId, roleId } = req.params;
    await identity.assignGroupRole(await caller(req), projectId, groupId, roleId);
    return reply.status(204).send();
  });
  r.head(grant, { schema: { params: GroupGrantParams } }, async (req, reply) => {
    const { projectId, groupId, roleId } = req.params;
    await identity.checkGroupRole(await caller(req), projectId, groupId, roleId);
    return reply.status(204).send();
  });
  r.delete(grant, { schema: { params: GroupGrantParams } }, async (req, reply) => {
    const { projectId, groupId, roleId } = req.params;
    await identity.unassignGroupRole(await caller(req), projectId, groupId, roleId);
    return reply.status(204).send();
  });
  r.get(`${v3}/projects/:projectId/groups/:groupId/roles`, { schema: { params: ProjectGroupParams } }, async (req) => {
    const rows = await identity.listGroupGrants(await caller(req), req.params.projectId, req.params.groupId);
    return listBody(
      'roles',
      rows.map((x) => view.role(x)),
      self(req),
    );
  });
}

/** The role_assignments query (`openstack role assignment list`). */
export function roleAssignmentRoutes(r: IdentityRouter, { identity, view, v3, caller, self }: IdentityRouteContext): void {
  r.get(`${v3}/role_assignments`, async (req) => {
    const ctx = await caller(req);
    const q = req.query as Query;
    // Domain/system scopes and inheritance do not exist here: such filters match nothing.
    const unsatisfiable = ['scope.domain.id', 'scope.system', 'scope.OS-INHERIT:inherited_to'].some((k) => q[k] !== undefined);
    const rows = await identity.listRoleAssignments(ctx, {
      userId: param(req, 'user.id'),
      groupId: param(req, 'group.id'),
      effective: flag(req, 'effective') ?? false,
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
