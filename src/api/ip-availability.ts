// GET /v2.0/network-ip-availabilities[/{network_id}] (network-ip-availability): filters, `fields`,
// and sorting and paging emulated over the computed list, keyed by network_id as Neutron pages it.
// The body is written by hand so that totals beyond 2^53 (IPv6) stay exact.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { unitOfWork } from '../store/unit-of-work.ts';
import type { Db } from '../store/db.ts';
import { applyListQuery, parseListQuery, selectFields, type RawQuery } from '../model/query.ts';
import { ipAvailabilities, ipAvailability, ipAvailabilitySpec } from '../networking/ip-availability.ts';

/** JSON with bigints as plain numbers: each is first written as a string marked by a random token no request can know. */
function sendExact(reply: FastifyReply, body: unknown) {
  const token = randomUUID();
  const text = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? `${token}:${v}` : v)).replace(
    new RegExp(`"${token}:(\\d+)"`, 'g'),
    '$1',
  );
  return reply.type('application/json; charset=utf-8').send(text);
}

export function registerIpAvailabilityRoutes(v2: FastifyInstance, db: Db, baseUrl: string): void {
  v2.get('/network-ip-availabilities', async (req, reply) => {
    const raw = req.query as RawQuery;
    const q = parseListQuery(ipAvailabilitySpec, raw);
    const items = await unitOfWork(db, (tx) => ipAvailabilities(tx, req.ctx, q.filters));
    // The network id is the primary key the order ends in and the marker names.
    const keyed = items.map((it) => ({ ...it, id: it.network_id }));
    const page = applyListQuery(ipAvailabilitySpec, keyed, { ...q, filters: new Map() }, `${baseUrl}/v2.0/network-ip-availabilities`, raw);
    const body: Record<string, unknown> = {
      network_ip_availabilities: page.items.map(({ id: _id, ...it }) => selectFields(it, q.fields)),
    };
    if (page.links.length) body.network_ip_availabilities_links = page.links;
    return sendExact(reply, body);
  });
  v2.get<{ Params: { id: string } }>('/network-ip-availabilities/:id', async (req, reply) => {
    const q = parseListQuery(ipAvailabilitySpec, { fields: (req.query as RawQuery).fields });
    const item = await unitOfWork(db, (tx) => ipAvailability(tx, req.ctx, req.params.id));
    return sendExact(reply, { network_ip_availability: selectFields({ ...item }, q.fields) });
  });
}
