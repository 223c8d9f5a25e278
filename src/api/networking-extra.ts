// Networking routes outside the generic resource pattern: quotas, agents, router and subnet pool
// actions.
import { unitOfWork } from '../store/unit-of-work.js';
import type { FastifyInstance } from 'fastify';
import type { ServerConfig } from '../server-config.js';
import type { Db } from '../store/db.js';
import { defaultQuota, listQuotas, quotaDetails, resetQuota, showQuota, updateQuota } from '../networking/quotas.js';
import { listAgents, networkDhcpAgents, routerL3Agents, showAgent } from '../networking/agents.js';
import { registerRouterActions } from './router-actions.js';
import { registerSubnetPoolActions } from './subnetpool-actions.js';

export interface ExtraDeps {
  db: Db;
  config: ServerConfig;
}

export async function registerExtraRoutes(v2: FastifyInstance, { db, config }: ExtraDeps): Promise<void> {
  type P = { Params: { project: string } };
  v2.get('/quotas', async (req) => ({ quotas: await unitOfWork(db, (tx) => listQuotas(tx, req.ctx)) }));
  v2.get<P>('/quotas/:project/default', async (req) => ({ quota: defaultQuota(req.ctx, req.params.project) }));
  v2.get<P>('/quotas/:project/details', async (req) => ({
    quota: await unitOfWork(db, (tx) => quotaDetails(tx, req.ctx, req.params.project)),
  }));
  v2.get<P>('/quotas/:project', async (req) => ({ quota: await unitOfWork(db, (tx) => showQuota(tx, req.ctx, req.params.project)) }));
  v2.put<P>('/quotas/:project', async (req) => ({
    quota: await unitOfWork(db, (tx) => updateQuota(tx, req.ctx, req.params.project, req.body)),
  }));
  v2.delete<P>('/quotas/:project', async (req, reply) => {
    await unitOfWork(db, (tx) => resetQuota(tx, req.ctx, req.params.project));
    return reply.status(204).send();
  });

  v2.get('/agents', async (req) => ({ agents: await unitOfWork(db, (tx) => listAgents(tx, req.ctx, config)) }));
  type Id = { Params: { id: string } };
  v2.get<Id>('/agents/:id', async (req) => ({ agent: await unitOfWork(db, (tx) => showAgent(tx, req.ctx, config, req.params.id)) }));
  v2.get<Id>('/networks/:id/dhcp-agents', async (req) => ({
    agents: await unitOfWork(db, (tx) => networkDhcpAgents(tx, req.ctx, config, req.params.id)),
  }));
  v2.get<Id>('/routers/:id/l3-agents', async (req) => ({
    agents: await unitOfWork(db, (tx) => routerL3Agents(tx, req.ctx, config, req.params.id)),
  }));
  registerRouterActions(v2, { db, config });
  registerSubnetPoolActions(v2, db);
}
