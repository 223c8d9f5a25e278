// Router actions outside the generic resource routes: PUT /v2.0/routers/{id}/add_router_interface and
// /remove_router_interface. The body is the bare interface info ({"subnet_id": …} or {"port_id": …})
// and so is the answer (200).
import { unitOfWork } from '../store/unit-of-work.js';
import type { FastifyInstance } from 'fastify';
import type { Db } from '../store/db.js';
import type { ServerConfig } from '../server-config.js';
import { scheduleRouter } from '../networking/l3-scheduler.js';
import { addRouterInterface, removeRouterInterface } from '../networking/routers.js';

export function registerRouterActions(v2: FastifyInstance, deps: { db: Db; config: ServerConfig }): void {
  const { db, config } = deps;
  type P = { Params: { id: string } };
  v2.put<P>('/routers/:id/add_router_interface', async (req) =>
    unitOfWork(db, async (tx) => {
      const info = await addRouterInterface(tx, req.ctx, req.params.id, req.body);
      await scheduleRouter(tx, config, req.params.id);
      return info;
    }),
  );
  v2.put<P>('/routers/:id/remove_router_interface', async (req) =>
    unitOfWork(db, async (tx) => {
      const info = await removeRouterInterface(tx, req.ctx, req.params.id, req.body);
      await scheduleRouter(tx, config, req.params.id);
      return info;
    }),
  );
}
