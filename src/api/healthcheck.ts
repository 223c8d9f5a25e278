// GET/HEAD /healthcheck, unauthenticated, as oslo.middleware's healthcheck answers: 200 "OK"
// (HEAD: 204) when the store answers a trivial query, 503 when it does not.
import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import type { Db } from '../store/db.ts';

const TEXT = 'text/plain; charset=UTF-8';
const UNHEALTHY_REASON = 'Store unavailable';

async function storeAnswers(db: Db): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}

export function registerHealthcheck(http: FastifyInstance, db: Db): void {
  http.route({
    method: ['GET', 'HEAD'],
    url: '/healthcheck',
    handler: async (request, reply) => {
      const healthy = await storeAnswers(db);
      if (!healthy) request.log.warn('healthcheck: the store does not answer');
      reply.type(TEXT);
      if (request.method === 'HEAD') return reply.status(healthy ? 204 : 503).send();
      return reply.status(healthy ? 200 : 503).send(healthy ? 'OK' : UNHEALTHY_REASON);
    },
  });
}
