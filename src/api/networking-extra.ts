// Networking routes outside the generic resource pattern: quotas, agents, floating IP pools, service
// providers, flavor bindings, router, subnet pool and address group actions, port bindings and forwardings.
import { unitOfWork } from '../store/unit-of-work.ts';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ServerConfig } from '../server-config.ts';
import type { Db } from '../store/db.ts';
import { defaultQuota, listQuotas, quotaDetails, resetQuota, showQuota, updateQuota } from '../networking/quotas.ts';
import { listAgents, networkDhcpAgents, routerL3Agents, showAgent } from '../networking/agents.ts';
import { registerRouterActions } from './router-actions.ts';
import { floatingIpPoolSpec, listFloatingIpPools } from '../networking/floatingip-pools.ts';
import { registerSubnetPoolActions } from './subnetpool-actions.ts';
import { listAvailabilityZones } from '../networking/availability-zones.ts';
import {
  addDhcpNetwork,
  addL3Router,
  networksOnDhcpAgent,
  removeDhcpNetwork,
  removeL3Router,
  routersOnL3Agent,
} from '../networking/agent-scheduling.ts';
import { applyListQuery, parseListQuery, selectFields, type RawQuery } from '../model/query.ts';
import type { ResourceSpec } from '../model/attributes.ts';
import { registerPortBindingRoutes } from './port-bindings.ts';
import { registerPortForwardingRoutes } from './port-forwarding-routes.ts';
import { registerAutoAllocateRoutes } from './auto-allocate-routes.ts';
import { addAddresses, removeAddresses } from '../networking/address-groups.ts';
import { bindServiceProfile, showBinding, unbindServiceProfile } from '../networking/flavors.ts';
import { SERVICE_PROVIDERS, serviceProviderQuery, serviceProviderSpec } from '../networking/service-providers.ts';

export interface ExtraDeps {
  db: Db;
  config: ServerConfig;
  baseUrl: string;
}

export async function registerExtraRoutes(v2: FastifyInstance, { db, config, baseUrl }: ExtraDeps): Promise<void> {
  type P = { Params: { project: string } };
  v2.get('/quotas', async (req) => ({ quotas: await unitOfWork(db, (tx) => listQuotas(tx, req.ctx)) }));
  // The caller's own project id (quotasv2's deprecated `tenant` action, which `neutron quota-show` uses).
  v2.get('/quotas/tenant', async (req) => ({ tenant: { tenant_id: req.ctx.projectId } }));
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
  v2.get('/floatingip_pools', async (req) => {
    const raw = req.query as RawQuery;
    const q = parseListQuery(floatingIpPoolSpec, raw);
    const pools = await unitOfWork(db, (tx) => listFloatingIpPools(tx, req.ctx));
    // Paged by subnet id, as Neutron's pager pages the subnets it reads.
    const withIds = pools.map((p) => ({ ...p, id: p.subnet_id }));
    const page = applyListQuery(floatingIpPoolSpec, withIds, q, `${baseUrl}/v2.0/floatingip_pools`, raw);
    const body: Record<string, unknown> = { floatingip_pools: page.items.map(({ id: _id, ...p }) => selectFields(p, q.fields)) };
    if (page.links.length) body.floatingip_pools_links = page.links;
    return body;
  });
  v2.get('/service-providers', async (req) => {
    const raw = serviceProviderQuery(req.query as RawQuery);
    const q = parseListQuery(serviceProviderSpec, raw);
    const page = applyListQuery(serviceProviderSpec, [...SERVICE_PROVIDERS], q, `${baseUrl}/v2.0/service-providers`, raw);
    return { service_providers: page.items.map((p) => selectFields(p, q.fields)) };
  });
  v2.post<Id>('/flavors/:id/service_profiles', async (req, reply) => {
    const flavor = await unitOfWork(db, (tx) => bindServiceProfile(tx, req.ctx, req.params.id, req.body));
    return reply.status(201).send({ service_profile: flavor });
  });
  type Binding = { Params: { id: string; sp: string } };
  v2.get<Binding>('/flavors/:id/service_profiles/:sp', async (req) => ({
    service_profile: await unitOfWork(db, (tx) => showBinding(tx, req.params.id, req.params.sp)),
  }));
  v2.delete<Binding>('/flavors/:id/service_profiles/:sp', async (req, reply) => {
    await unitOfWork(db, (tx) => unbindServiceProfile(tx, req.ctx, req.params.id, req.params.sp));
    return reply.status(204).send();
  });
  v2.put<Id>('/address-groups/:id/add_addresses', async (req) =>
    unitOfWork(db, (tx) => addAddresses(tx, req.ctx, req.params.id, req.body)),
  );
  v2.put<Id>('/address-groups/:id/remove_addresses', async (req) =>
    unitOfWork(db, (tx) => removeAddresses(tx, req.ctx, req.params.id, req.body)),
  );
  registerRouterActions(v2, { db, config });
  registerSubnetPoolActions(v2, db);
  registerAgentScheduling(v2, { db, config });

  // availability_zone with availability_zone_filter: name, resource and state filter the list.
  v2.get('/availability_zones', async (req) => {
    const raw = req.query as RawQuery;
    const q = parseListQuery(availabilityZoneSpec, raw);
    const zones = await unitOfWork(db, (tx) => listAvailabilityZones(tx));
    const { items } = applyListQuery(availabilityZoneSpec, zones, { ...q, limit: null, marker: null }, '', raw);
    return { availability_zones: items.map((z) => selectFields(z, q.fields)) };
  });
  registerPortBindingRoutes(v2, db);
  registerPortForwardingRoutes(v2, db, baseUrl);
  registerAutoAllocateRoutes(v2, { db, config });
}

/** The agent scheduler sub-resources: an add answers 201 with a JSON null (the plugin returns nothing). */
function registerAgentScheduling(v2: FastifyInstance, { db, config }: Omit<ExtraDeps, 'baseUrl'>): void {
  type Id = { Params: { id: string } };
  type Member = { Params: { id: string; member: string } };
  const added = (reply: FastifyReply) => reply.status(201).type('application/json').send('null');
  v2.get<Id>('/agents/:id/dhcp-networks', async (req) => ({
    networks: await unitOfWork(db, (tx) => networksOnDhcpAgent(tx, req.ctx, config, req.params.id)),
  }));
  v2.post<Id>('/agents/:id/dhcp-networks', async (req, reply) => {
    await unitOfWork(db, (tx) => addDhcpNetwork(tx, req.ctx, req.params.id, req.body));
    return added(reply);
  });
  v2.delete<Member>('/agents/:id/dhcp-networks/:member', async (req, reply) => {
    await unitOfWork(db, (tx) => removeDhcpNetwork(tx, req.ctx, req.params.id, req.params.member));
    return reply.status(204).send();
  });
  v2.get<Id>('/agents/:id/l3-routers', async (req) => ({
    routers: await unitOfWork(db, (tx) => routersOnL3Agent(tx, req.ctx, config, req.params.id)),
  }));
  v2.post<Id>('/agents/:id/l3-routers', async (req, reply) => {
    await unitOfWork(db, (tx) => addL3Router(tx, req.ctx, config, req.params.id, req.body));
    return added(reply);
  });
  v2.delete<Member>('/agents/:id/l3-routers/:member', async (req, reply) => {
    await unitOfWork(db, (tx) => removeL3Router(tx, req.ctx, req.params.id, req.params.member));
    return reply.status(204).send();
  });
}

const availabilityZoneSpec: ResourceSpec = {
  singular: 'availability_zone',
  plural: 'availability_zones',
  attributes: { name: { filter: true }, resource: { filter: true }, state: { filter: true } },
};
