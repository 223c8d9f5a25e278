// What the identity routes share: the typed router, the caller's token check, the list `self` link
// and Keystone's way of reading query parameters and headers.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyRequest,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { AuthContext } from '../../model/context.ts';
import { unauthorized } from '../../identity/errors.ts';
import { IdParams } from '../../identity/schemas.ts';
import type { IdentityService } from '../../identity/service.ts';
import { IdentityViews } from '../../identity/views.ts';

/** A Fastify instance that infers `request.body`/`params` from the TypeBox schema given to a route. */
export type IdentityRouter = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface IdentityRouteDeps {
  identity: IdentityService;
  baseUrl: string;
}

/** Everything a group of identity routes needs besides the router. */
export interface IdentityRouteContext extends IdentityRouteDeps {
  view: IdentityViews;
  /** The path prefix of the v3 API. */
  v3: string;
  /** The authenticated caller of the request (401 without a valid X-Auth-Token). */
  caller(req: FastifyRequest): Promise<AuthContext>;
  /** The `self` link of a list answer. */
  self(req: FastifyRequest): string;
}

export function identityRouteContext({ identity, baseUrl }: IdentityRouteDeps): IdentityRouteContext {
  const view = new IdentityViews(baseUrl);
  return {
    identity,
    baseUrl,
    view,
    v3: '/identity/v3',
    async caller(req) {
      const ctx = await identity.authenticateToken(header(req, 'x-auth-token'));
      if (!ctx) throw unauthorized();
      req.ctx = ctx; // for the access log
      return ctx;
    },
    self: (req) => view.requestUrl(req.url),
  };
}

/** The route options of `/<resource>/:id`. */
export const byId = { schema: { params: IdParams } };

export type Query = Record<string, string | string[] | undefined>;

/** One value of a query parameter (the first, if repeated). */
export function param(req: FastifyRequest, key: string): string | undefined {
  const v = (req.query as Query)[key];
  return Array.isArray(v) ? v[0] : v;
}

/** Keystone's boolean query filters: present means true unless spelled 0/false/no/off. */
export function flag(req: FastifyRequest, key: string): boolean | undefined {
  const v = param(req, key);
  if (v === undefined) return undefined;
  return !['0', 'false', 'no', 'off'].includes(v.toLowerCase());
}

export function header(req: FastifyRequest, name: string): string {
  const v = req.headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}
