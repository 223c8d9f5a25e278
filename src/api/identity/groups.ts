// Groups: administration, membership, and a user's groups.
import { GroupCreate, GroupUpdate, GroupUserParams, IdParams } from '../../identity/schemas.ts';
import { listBody } from '../../identity/views.ts';
import { byId, param, type IdentityRouteContext, type IdentityRouter } from './request.ts';

export function groupRoutes(r: IdentityRouter, { identity, view, v3, caller, self }: IdentityRouteContext): void {
  r.post(`${v3}/groups`, { schema: { body: GroupCreate } }, async (req, reply) => {
    const row = await identity.createGroup(await caller(req), req.body.group);
    return reply.status(201).send({ group: view.group(row) });
  });
  r.get(`${v3}/groups`, async (req) => {
    const rows = await identity.listGroups(await caller(req), { name: param(req, 'name'), domain_id: param(req, 'domain_id') });
    return listBody(
      'groups',
      rows.map((g) => view.group(g)),
      self(req),
    );
  });
  r.get(`${v3}/groups/:id`, byId, async (req) => ({
    group: view.group(await identity.getGroup(await caller(req), req.params.id)),
  }));
  r.patch(`${v3}/groups/:id`, { schema: { params: IdParams, body: GroupUpdate } }, async (req) => ({
    group: view.group(await identity.updateGroup(await caller(req), req.params.id, req.body.group)),
  }));
  r.delete(`${v3}/groups/:id`, byId, async (req, reply) => {
    await identity.deleteGroup(await caller(req), req.params.id);
    return reply.status(204).send();
  });
  r.get(`${v3}/groups/:id/users`, byId, async (req) => {
    const rows = await identity.listUsersInGroup(await caller(req), req.params.id);
    return listBody(
      'users',
      rows.map((u) => view.user(u)),
      self(req),
    );
  });
  const member = `${v3}/groups/:groupId/users/:userId`;
  r.put(member, { schema: { params: GroupUserParams } }, async (req, reply) => {
    await identity.addUserToGroup(await caller(req), req.params.groupId, req.params.userId);
    return reply.status(204).send();
  });
  r.head(member, { schema: { params: GroupUserParams } }, async (req, reply) => {
    await identity.checkUserInGroup(await caller(req), req.params.groupId, req.params.userId);
    return reply.status(204).send();
  });
  r.delete(member, { schema: { params: GroupUserParams } }, async (req, reply) => {
    await identity.removeUserFromGroup(await caller(req), req.params.groupId, req.params.userId);
    return reply.status(204).send();
  });
  r.get(`${v3}/users/:id/groups`, byId, async (req) => {
    const rows = await identity.listGroupsForUser(await caller(req), req.params.id);
    return listBody(
      'groups',
      rows.map((g) => view.group(g)),
      self(req),
    );
  });
}
