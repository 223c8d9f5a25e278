// /v2.0/floatingips/{id}/port_forwardings[/{pf}]: the floating-ip-port-forwarding sub-resource, with
// Neutron's list query (filters, fields, sorting, paging) over one floating IP's forwardings.
import type { FastifyInstance } from 'fastify';
import { prepareCreate, prepareUpdate } from '../model/attributes.ts';
import { badRequest } from '../model/errors.ts';
import { applyListQuery, parseListQuery, selectFields, type RawQuery } from '../model/query.ts';
import {
  createPortForwarding,
  deletePortForwarding,
  listPortForwardings,
  portForwardingSpec,
  showPortForwarding,
  updatePortForwarding,
} from '../networking/port-forwardings.ts';
import type { Db } from '../store/db.ts';
import { unitOfWork } from '../store/unit-of-work.ts';

/** pf.FIELDS_NOT_SUPPORT_FILTER. */
const NOT_FILTERABLE = ['internal_ip_address', 'internal_port'];

export function registerPortForwardingRoutes(v2: FastifyInstance, db: Db, baseUrl: string): void {
  type Fip = { Params: { fip: string } };
  type One = { Params: { fip: string; id: string } };
  const collection = '/floatingips/:fip/port_forwardings';
  const member = `${collection}/:id`;
  const { singular, plural } = portForwardingSpec;

  v2.get<Fip>(collection, async (req) => {
    const raw = req.query as RawQuery;
    const unsupported = NOT_FILTERABLE.find((k) => k in raw);
    if (unsupported) throw badRequest(`Port Forwarding filter ${unsupported} is not supported.`, 'PortForwardingNotSupportFilterField');
    const q = parseListQuery(portForwardingSpec, raw);
    const all = await unitOfWork(db, (tx) => listPortForwardings(tx, req.ctx, req.params.fip));
    const page = applyListQuery(portForwardingSpec, all, q, `${baseUrl}/v2.0/floatingips/${req.params.fip}/port_forwardings`, raw);
    const body: Record<string, unknown> = { [plural]: page.items.map((it) => selectFields(it, q.fields)) };
    if (page.links.length) body[`${plural}_links`] = page.links;
    return body;
  });
  v2.get<One>(member, async (req) => {
    const item = await unitOfWork(db, (tx) => showPortForwarding(tx, req.ctx, req.params.fip, req.params.id));
    const f = (req.query as RawQuery).fields;
    return { [singular]: selectFields(item, f === undefined ? null : Array.isArray(f) ? f : [f]) };
  });
  v2.post<Fip>(collection, async (req, reply) => {
    const attrs = prepareCreate(portForwardingSpec, req.body, req.ctx);
    const item = await unitOfWork(db, (tx) => createPortForwarding(tx, req.ctx, req.params.fip, attrs));
    return reply.status(201).send({ [singular]: item });
  });
  v2.put<One>(member, async (req) => {
    const attrs = prepareUpdate(portForwardingSpec, req.body, req.ctx);
    return { [singular]: await unitOfWork(db, (tx) => updatePortForwarding(tx, req.ctx, req.params.fip, req.params.id, attrs)) };
  });
  v2.delete<One>(member, async (req, reply) => {
    await unitOfWork(db, (tx) => deletePortForwarding(tx, req.ctx, req.params.fip, req.params.id));
    return reply.status(204).send();
  });
}
