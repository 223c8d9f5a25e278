// Router actions outside the generic resource routes: PUT /v2.0/routers/{id}/add_router_interface and
// /remove_router_interface — the body is the bare interface info ({"subnet_id": …} or {"port_id": …})
// and so is the answer (200) — and extraroute-atomic's add_extraroutes / remove_extraroutes, which
// take {"router": {"routes": […]}} and answer the whole router.
import { unitOfWork } from '../store/unit-of-work.ts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db } from '../store/db.ts';
import type { ServerConfig } from '../server-config.ts';
import { scheduleRouter } from '../networking/l3-scheduler.ts';
import { addRouterInterface, removeRouterInterface, routerService, routerSpec } from '../networking/routers.ts';
import { addRoutes, parseRoutes, removeRoutes, routesOf, type ExtraRoute } from '../networking/extra-routes.ts';
import { getVisibleRouter } from '../networking/router-common.ts';
import { unwrapBody, visibleTo } from '../model/attributes.ts';

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

  const routers = routerService(config);
  /** add_extraroutes / remove_extraroutes: the merged list goes through update_router, which checks it whole. */
  const editRoutes = (merge: (old: ExtraRoute[], change: ExtraRoute[]) => ExtraRoute[]) => async (req: FastifyRequest<P>) => {
    const change = parseRoutes(unwrapBody(req.body, 'router').routes);
    return unitOfWork(db, async (tx) => {
      const router = await getVisibleRouter(tx, req.ctx, req.params.id);
      const updated = await routers.update(tx, req.ctx, router.id, { routes: merge(routesOf(router), change) });
      return { router: visibleTo(routerSpec, updated, req.ctx) };
    });
  };
  v2.put<P>('/routers/:id/add_extraroutes', editRoutes(addRoutes));
  v2.put<P>('/routers/:id/remove_extraroutes', editRoutes(removeRoutes));
}
