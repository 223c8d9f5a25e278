// Users: administration, a user's projects, and the user's own password change.
import { AppCredCreate, IdParams, PasswordChange, UserCreate, UserCredParams, UserUpdate } from '../../identity/schemas.ts';
import { listBody } from '../../identity/views.ts';
import { byId, flag, param, type IdentityRouteContext, type IdentityRouter } from './request.ts';

export function userRoutes(r: IdentityRouter, { identity, view, v3, caller, self }: IdentityRouteContext): void {
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
  r.post(`${v3}/users/:id/application_credentials`, { schema: { params: IdParams, body: AppCredCreate } }, async (req, reply) => {
    const made = await identity.createApplicationCredential(await caller(req), req.params.id, req.body.application_credential);
    return reply.status(201).send({ application_credential: view.applicationCredential(made, made.secret) });
  });
  r.get(`${v3}/users/:id/application_credentials`, byId, async (req) => {
    const creds = await identity.listApplicationCredentials(await caller(req), req.params.id, param(req, 'name'));
    return listBody(
      'application_credentials',
      creds.map((c) => view.applicationCredential(c)),
      self(req),
    );
  });
  r.get(`${v3}/users/:id/application_credentials/:credId`, { schema: { params: UserCredParams } }, async (req) => ({
    application_credential: view.applicationCredential(
      await identity.getApplicationCredential(await caller(req), req.params.id, req.params.credId),
    ),
  }));
  r.delete(`${v3}/users/:id/application_credentials/:credId`, { schema: { params: UserCredParams } }, async (req, reply) => {
    await identity.deleteApplicationCredential(await caller(req), req.params.id, req.params.credId);
    return reply.status(204).send();
  });
  r.post(`${v3}/users/:id/password`, { schema: { params: IdParams, body: PasswordChange } }, async (req, reply) => {
    const { password, original_password } = req.body.user;
    await identity.changePassword(await caller(req), req.params.id, original_password, password);
    return reply.status(204).send();
  });
}
