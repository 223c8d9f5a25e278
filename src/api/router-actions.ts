// Router actions outside the generic resource routes: PUT /v2.0/routers/{id}/add_router_interface and
// /remove_router_interface. The body is the bare interface info ({"subnet_id": …} or {"port_id": …})
// and so is the answer (200).
import type { FastifyInstance } from 'fastify';
import type { Db } from '../store/db.js';
import { addRouterInterface, removeRouterInterface } from '../networking/routers.js';

export function registerRouterActions(v2: FastifyInstance, deps: { db: Db }): void {
  const { db } = deps;
  type P = { Params: { id: string } };
  v2.put<P>('/routers/:id/add_router_interface', async (req) =>
    db.transaction().execute((tx) => addRouterInterface(tx, req.ctx, req.params.id, req.body)),
  );
  v2.put<P>('/routers/:id/remove_router_interface', async (req) =>
    db.transaction().execute((tx) => removeRouterInterface(tx, req.ctx, req.params.id, req.body)),
  );
}
