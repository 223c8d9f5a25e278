// GET /v2.0/network-ip-availabilities[/{network_id}] (network-ip-availability): filters and `fields`
// as other lists take them. The body is written by hand so that totals beyond 2^53 (IPv6) stay exact.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { unitOfWork } from '../store/unit-of-work.js';
import type { Db } from '../store/db.js';
import { parseListQuery, selectFields, type RawQuery } from '../model/query.js';
import { ipAvailabilities, ipAvailability, ipAvailabilitySpec } from '../networking/ip-availability.js';

/** JSON with bigints as plain numbers: each is first written as a string marked by a random token no request can know. */
function sendExact(reply: FastifyReply, body: unknown) {
  const token = randomUUID();
  const text = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? `${token}:${v}` : v)).replace(
    new RegExp(`"${token}:(\\d+)"`, 'g'),
    '$1',
  );
  return reply.type('application/json; charset=utf-8').send(text);
}

export function registerIpAvailabilityRoutes(v2: FastifyInstance, db: Db): void {
  v2.get('/network-ip-availabilities', async (req, reply) => {
    const q = parseListQuery(ipAvailabilitySpec, req.query as RawQuery);
    const items = await unitOfWork(db, (tx) => ipAvailabilities(tx, req.ctx, q.filters));
    return sendExact(reply, { network_ip_availabilities: items.map((it) => selectFields({ ...it }, q.fields)) });
  });
  v2.get<{ Params: { id: string } }>('/network-ip-availabilities/:id', async (req, reply) => {
    const q = parseListQuery(ipAvailabilitySpec, { fields: (req.query as RawQuery).fields });
    const item = await unitOfWork(db, (tx) => ipAvailability(tx, req.ctx, req.params.id));
    return sendExact(reply, { network_ip_availability: selectFields({ ...item }, q.fields) });
  });
}
