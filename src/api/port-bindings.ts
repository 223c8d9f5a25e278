// Port bindings over HTTP (binding-extended): /ports/{id}/bindings, …/{host}, …/{host}/activate.
import type { FastifyInstance } from 'fastify';
import type { Db } from '../store/db.ts';
import { unitOfWork } from '../store/unit-of-work.ts';
import { prepareCreate } from '../model/attributes.ts';
import { fieldsOf, parseListQuery, selectFields, type RawQuery } from '../model/query.ts';
import {
  activatePortBinding,
  createPortBinding,
  deletePortBinding,
  listPortBindings,
  portBindingSpec,
  showPortBinding,
} from '../networking/port-bindings.ts';

export function registerPortBindingRoutes(v2: FastifyInstance, db: Db): void {
  type Port = { Params: { id: string } };
  type Binding = { Params: { id: string; host: string } };
  v2.get<Port>('/ports/:id/bindings', async (req) => {
    const q = parseListQuery(portBindingSpec, req.query as RawQuery);
    const bindings = await unitOfWork(db, (tx) => listPortBindings(tx, req.ctx, req.params.id, q.filters));
    return { bindings: bindings.map((b) => selectFields(b, q.fields)) };
  });
  v2.get<Binding>('/ports/:id/bindings/:host', async (req) => {
    const found = await unitOfWork(db, (tx) => showPortBinding(tx, req.ctx, req.params.id, req.params.host));
    return { binding: selectFields(found, fieldsOf(req.query as RawQuery)) };
  });
  v2.post<Port>('/ports/:id/bindings', async (req, reply) => {
    const attrs = prepareCreate(portBindingSpec, req.body, req.ctx);
    const created = await unitOfWork(db, (tx) => createPortBinding(tx, req.ctx, req.params.id, attrs));
    return reply.status(201).send({ binding: created });
  });
  v2.put<Binding>('/ports/:id/bindings/:host/activate', async (req) => ({
    binding: await unitOfWork(db, (tx) => activatePortBinding(tx, req.ctx, req.params.id, req.params.host)),
  }));
  v2.delete<Binding>('/ports/:id/bindings/:host', async (req, reply) => {
    await unitOfWork(db, (tx) => deletePortBinding(tx, req.ctx, req.params.id, req.params.host));
    return reply.status(204).send();
  });
}
