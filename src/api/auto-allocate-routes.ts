// GET/DELETE /v2.0/auto-allocated-topology/{project_id} (auto-allocated-topology).
import type { FastifyInstance } from 'fastify';
import type { ServerConfig } from '../server-config.ts';
import type { Db } from '../store/db.ts';
import { unitOfWork } from '../store/unit-of-work.ts';
import { fieldsOf, type RawQuery } from '../model/query.ts';
import { autoAllocatedTopologies } from '../networking/auto-allocate.ts';

export function registerAutoAllocateRoutes(v2: FastifyInstance, deps: { db: Db; config: ServerConfig }): void {
  const topologies = autoAllocatedTopologies(deps.config);
  type P = { Params: { project: string } };
  // `fields` goes to the plugin whole: dry-run asks for a check, any other field is refused.
  v2.get<P>('/auto-allocated-topology/:project', async (req) => ({
    auto_allocated_topology: await unitOfWork(deps.db, (tx) =>
      topologies.get(tx, req.ctx, req.params.project, fieldsOf(req.query as RawQuery) ?? []),
    ),
  }));
  v2.delete<P>('/auto-allocated-topology/:project', async (req, reply) => {
    await unitOfWork(deps.db, (tx) => topologies.remove(tx, req.ctx, req.params.project));
    return reply.status(204).send();
  });
}
