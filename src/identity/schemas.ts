// TypeBox schemas of the Keystone v3 request bodies and path parameters neutrino accepts; the
// services take their static types. The routes (src/api/identity) validate with them through
// @fastify/type-provider-typebox.
import { Type, type Static, type TSchema } from '@sinclair/typebox';

const Id = Type.String({ minLength: 1, maxLength: 64 });
const Name = Type.String({ minLength: 1, maxLength: 255 });
const Text = Type.String({ maxLength: 65535 });
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Secret = Type.String({ maxLength: 4096 });
/** Resource options: none exist here, so only the empty set clients send by default (refused, not ignored, otherwise). */
const NoOptions = Type.Optional(Type.Object({}, { additionalProperties: false }));
/** Keystone keeps unknown properties as "extra"; neutrino does not, so it refuses them instead of dropping them. */
const Closed = { additionalProperties: false };

const DomainRef = Type.Object({ id: Type.Optional(Id), name: Type.Optional(Name) });
const ProjectRef = Type.Object({ id: Type.Optional(Id), name: Type.Optional(Name), domain: Type.Optional(DomainRef) });

export const AuthRequest = Type.Object({
  auth: Type.Object({
    identity: Type.Object({
      methods: Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 8 }),
      password: Type.Optional(
        Type.Object({
          user: Type.Object({
            id: Type.Optional(Id),
            name: Type.Optional(Name),
            password: Secret,
            domain: Type.Optional(DomainRef),
          }),
        }),
      ),
      token: Type.Optional(Type.Object({ id: Type.String({ minLength: 1, maxLength: 1024 }) })),
      application_credential: Type.Optional(
        Type.Object({
          id: Type.Optional(Id),
          name: Type.Optional(Name),
          secret: Secret,
          user: Type.Optional(Type.Object({ id: Type.Optional(Id), name: Type.Optional(Name), domain: Type.Optional(DomainRef) })),
        }),
      ),
    }),
    scope: Type.Optional(
      Type.Union([
        Type.Object({
          project: Type.Optional(ProjectRef),
          domain: Type.Optional(DomainRef),
          system: Type.Optional(Type.Unknown()),
        }),
        Type.Literal('unscoped'),
      ]),
    ),
  }),
});
export type AuthRequest = Static<typeof AuthRequest>;

export const ProjectCreate = Type.Object({
  project: Type.Object(
    {
      name: Name,
      domain_id: Type.Optional(Nullable(Id)),
      description: Type.Optional(Nullable(Text)),
      enabled: Type.Optional(Type.Boolean()),
      is_domain: Type.Optional(Type.Boolean()),
      parent_id: Type.Optional(Nullable(Id)),
      tags: Type.Optional(Type.Array(Type.String({ maxLength: 255 }))),
      options: NoOptions,
    },
    Closed,
  ),
});
export type ProjectCreate = Static<typeof ProjectCreate>['project'];

export const ProjectUpdate = Type.Object({
  project: Type.Object(
    {
      name: Type.Optional(Name),
      domain_id: Type.Optional(Id),
      description: Type.Optional(Nullable(Text)),
      enabled: Type.Optional(Type.Boolean()),
      tags: Type.Optional(Type.Array(Type.String({ maxLength: 255 }))),
      options: NoOptions,
    },
    Closed,
  ),
});
export type ProjectUpdate = Static<typeof ProjectUpdate>['project'];

export const UserCreate = Type.Object({
  user: Type.Object(
    {
      name: Name,
      domain_id: Type.Optional(Nullable(Id)),
      password: Type.Optional(Nullable(Secret)),
      enabled: Type.Optional(Type.Boolean()),
      default_project_id: Type.Optional(Nullable(Id)),
      description: Type.Optional(Nullable(Text)),
      email: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
      options: NoOptions,
    },
    Closed,
  ),
});
export type UserCreate = Static<typeof UserCreate>['user'];

export const UserUpdate = Type.Object({
  user: Type.Object(
    {
      name: Type.Optional(Name),
      domain_id: Type.Optional(Id),
      password: Type.Optional(Nullable(Secret)),
      enabled: Type.Optional(Type.Boolean()),
      default_project_id: Type.Optional(Nullable(Id)),
      description: Type.Optional(Nullable(Text)),
      email: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
      options: NoOptions,
    },
    Closed,
  ),
});
export type UserUpdate = Static<typeof UserUpdate>['user'];

export const PasswordChange = Type.Object({
  user: Type.Object({ password: Secret, original_password: Secret }, Closed),
});

export const RoleCreate = Type.Object({
  role: Type.Object(
    {
      name: Name,
      description: Type.Optional(Nullable(Text)),
      domain_id: Type.Optional(Nullable(Id)),
      options: NoOptions,
    },
    Closed,
  ),
});
export type RoleCreate = Static<typeof RoleCreate>['role'];

export const GroupCreate = Type.Object({
  group: Type.Object({ name: Name, domain_id: Type.Optional(Id), description: Type.Optional(Nullable(Text)) }, Closed),
});
export type GroupCreate = Static<typeof GroupCreate>['group'];

export const GroupUpdate = Type.Object({
  group: Type.Object(
    { name: Type.Optional(Name), domain_id: Type.Optional(Id), description: Type.Optional(Nullable(Text)) },
    { ...Closed, minProperties: 1 },
  ),
});
export type GroupUpdate = Static<typeof GroupUpdate>['group'];

export type AppCredAuth = NonNullable<AuthRequest['auth']['identity']['application_credential']>;

const RoleRef = Type.Object({ id: Type.Optional(Id), name: Type.Optional(Name) }, Closed);

export const AppCredCreate = Type.Object({
  application_credential: Type.Object(
    {
      name: Name,
      description: Type.Optional(Nullable(Text)),
      secret: Type.Optional(Nullable(Secret)),
      expires_at: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
      roles: Type.Optional(Type.Array(RoleRef, { maxItems: 64 })),
      unrestricted: Type.Optional(Nullable(Type.Boolean())),
      access_rules: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 64 })),
    },
    Closed,
  ),
});
export type AppCredCreate = Static<typeof AppCredCreate>['application_credential'];

/** An id in a request path. */
const PathId = Type.String({ minLength: 1, maxLength: 255 });
export const IdParams = Type.Object({ id: PathId });
export const UserCredParams = Type.Object({ id: PathId, credId: PathId });
export const GrantParams = Type.Object({
  projectId: PathId,
  userId: PathId,
  roleId: PathId,
});
export const ProjectUserParams = Type.Object({
  projectId: PathId,
  userId: PathId,
});
export const GroupUserParams = Type.Object({
  groupId: PathId,
  userId: PathId,
});
export const GroupGrantParams = Type.Object({
  projectId: PathId,
  groupId: PathId,
  roleId: PathId,
});
export const ProjectGroupParams = Type.Object({
  projectId: PathId,
  groupId: PathId,
});
