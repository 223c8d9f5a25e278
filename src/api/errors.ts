// The one place errors become HTTP answers: Neutron's NeutronError body on the networking API,
// Keystone's error body on the identity API.
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { IdentityError, NeutronError } from '../model/errors.ts';

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

/** webob's exception class and explanation for the statuses the framework itself may answer with. */
const frameworkFaults: Record<number, [type: string, message: string]> = {
  400: ['HTTPBadRequest', 'The server could not comply with the request since it is either malformed or otherwise incorrect.'],
  404: ['HTTPNotFound', 'The resource could not be found.'],
  405: ['HTTPMethodNotAllowed', 'The method is not allowed for this resource.'],
  408: ['HTTPRequestTimeout', 'The server has waited too long for the request to be sent by the client.'],
  413: ['HTTPRequestEntityTooLarge', 'Request is too large.'],
  414: ['HTTPRequestURITooLong', 'The request URI was too long for this server.'],
  415: ['HTTPUnsupportedMediaType', 'The request media type is not supported by this server.'],
  431: ['HTTPRequestHeaderFieldsTooLarge', 'The request header fields were too large.'],
  503: ['HTTPServiceUnavailable', 'The server is currently unavailable. Please try again at a later time.'],
};

function frameworkFault(status: number): NeutronError {
  const [type, message] = frameworkFaults[status] ?? frameworkFaults[400];
  return new NeutronError(status in frameworkFaults ? status : 400, type, message);
}

/** The answer to any request that arrives while the server shuts down. */
export const serviceUnavailable = () => frameworkFault(503);

/** Translate framework errors (bad JSON, oversized body, schema failures) into Neutron's types. */
function fromFramework(err: FastifyError): NeutronError {
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return frameworkFault(413);
  if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) {
    return new NeutronError(400, 'HTTPBadRequest', 'Malformed request body');
  }
  if (err.validation) {
    return new NeutronError(400, 'HTTPBadRequest', `Invalid input: ${err.message}`);
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return frameworkFault(err.statusCode);
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
    const title = identityTitles[ne.status] ?? STATUS_CODES[ne.status] ?? 'Internal Server Error';
    return reply.status(ne.status).send(identityBody(ne.status, title, ne.message));
  }
  return reply.status(ne.status).send(neutronBody(ne));
}

/**
 * Errors on the socket before a request exists (header timeout, oversized or unparsable headers): answer
 * with a NeutronError body (the path is unknown here, so not Keystone's) and close the connection.
 */
export function handleClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const body = JSON.stringify(neutronBody(frameworkFault(status)));
  if (!socket.writable) return void socket.destroy();
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
