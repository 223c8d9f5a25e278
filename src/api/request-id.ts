// Every answer carries X-OpenStack-Request-Id: req-<uuid>, made fresh per request as oslo.middleware's
// RequestId does (a client's own id is never adopted), and every log line of the request names it.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

export const REQUEST_ID_HEADER = 'X-OpenStack-Request-Id';
/** The field naming the request in its log lines. */
export const REQUEST_ID_LOG_LABEL = 'request_id';

/** Fastify's genReqId: ignores the incoming request entirely. */
export const newRequestId = (): string => `req-${randomUUID()}`;

/** Set on arrival, so error answers, 404s and refused bodies carry it too. */
export function registerRequestIdHeader(http: FastifyInstance): void {
  http.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
}
