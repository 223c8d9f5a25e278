// Keystone v3 over HTTP under /identity: version discovery, auth/tokens and the administration API,
// one function per resource group. The services behind them are in src/identity.
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifySchemaValidationError } from 'fastify';
import { authScopeRoutes, discoveryRoutes, tokenRoutes } from './auth.ts';
import { endpointRoutes, regionRoutes, serviceRoutes } from './catalog.ts';
import { groupRoutes } from './groups.ts';
import { domainRoutes, projectRoutes } from './projects.ts';
import { identityRouteContext, type IdentityRouteDeps } from './request.ts';
import { grantRoutes, groupGrantRoutes, roleAssignmentRoutes, roleRoutes } from './roles.ts';
import { userRoutes } from './users.ts';

export async function registerIdentityRoutes(http: FastifyInstance, deps: IdentityRouteDeps): Promise<void> {
  // An encapsulated plugin: the TypeBox validator and its error wording apply to these routes only.
  await http.register(async (scope) => {
    // TypeBox's compiled checker is strict like Keystone's jsonschema: bodies are never coerced.
    scope.setValidatorCompiler(TypeBoxValidatorCompiler);
    scope.setSchemaErrorFormatter(schemaErrorMessage);
    const r = scope.withTypeProvider<TypeBoxTypeProvider>();
    const context = identityRouteContext(deps);
    discoveryRoutes(r, context);
    tokenRoutes(r, context);
    authScopeRoutes(r, context);
    serviceRoutes(r, context);
    endpointRoutes(r, context);
    regionRoutes(r, context);
    domainRoutes(r, context);
    projectRoutes(r, context);
    userRoutes(r, context);
    groupRoutes(r, context);
    roleRoutes(r, context);
    grantRoutes(r, context);
    groupGrantRoutes(r, context);
    roleAssignmentRoutes(r, context);
  });
}

/**
 * A schema failure in one line: its first three problems, each as "body/path message" with TypeBox's
 * message in lower case (e.g. "body/project/name expected string"). The result is a Fastify
 * validation error, which the shared error handler renders as Keystone's 400.
 */
function schemaErrorMessage(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const lines = errors.slice(0, 3).map((e) => `${dataVar}${e.instancePath} ${lowerFirst(e.message ?? '')}`);
  return new Error(lines.join(', '));
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);
