// The one place errors become HTTP answers: Neutron's NeutronError body on the networking API,
// Keystone's error body on the identity API.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { IdentityError, NeutronError } from '../model/errors.js';

export function neutronBody(e: NeutronError) {
  return { NeutronError: { type: e.type, message: e.message, detail: e.detail } };
}

export function identityBody(status: number, title: string, message: string) {
  return { error: { code: status, title, message } };
}

const identityTitles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Request Entity Too Large',
};

/** Translate framework errors (bad JSON, oversized body, schema failures) into Neutron's types. */
function fromFramework(err: FastifyError): NeutronError {
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new NeutronError(413, 'HTTPRequestEntityTooLarge', 'Request is too large.');
  }
  if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) {
    return new NeutronError(400, 'HTTPBadRequest', 'Malformed request body');
  }
  if (err.validation) {
    return new NeutronError(400, 'HTTPBadRequest', `Invalid input: ${err.message}`);
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return new NeutronError(err.statusCode, 'HTTPBadRequest', err.message);
  }
  return new NeutronError(500, 'HTTPInternalServerError', 'Request Failed: internal server error while processing your request.');
}

export function handleError(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
  const onIdentity = request.url.startsWith('/identity');
  if (err instanceof IdentityError) {
    if (err.status === 401) reply.header('WWW-Authenticate', `Keystone uri="${request.server.identityUrl}"`);
    return reply.status(err.status).send(identityBody(err.status, err.title, err.message));
  }
  const ne = err instanceof NeutronError ? err : fromFramework(err as FastifyError);
  if (ne.status >= 500) request.log.error({ err }, 'request failed');
  if (onIdentity) {
    const title = identityTitles[ne.status] ?? 'Internal Server Error';
    return reply.status(ne.status).send(identityBody(ne.status, title, ne.message));
  }
  return reply.status(ne.status).send(neutronBody(ne));
}
