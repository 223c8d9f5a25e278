// The agents' side of the API (neutrino's replacement for Neutron's RPC): state reports, the change
// feed, each host's view, and port status. Admin (service) tokens only.
import { unitOfWork } from '../store/unit-of-work.ts';
import type { FastifyInstance } from 'fastify';
import type { ServerConfig } from '../server-config.ts';
import type { Db } from '../store/db.ts';
import { badRequest, policyDenied } from '../model/errors.ts';
import { show } from '../model/validators.ts';
import { agentToApi, reportState } from '../networking/agents.ts';
import { autoScheduleDhcp } from '../networking/dhcp-scheduler.ts';
import { autoScheduleL3, reportFloatingIpStatus } from '../networking/l3-scheduler.ts';
import type { ChangeFeed } from '../networking/feed.ts';
import { HostViewCache } from '../networking/hostview-cache.ts';
import { HostViewUpdates } from '../networking/hostview-updates.ts';
import { checkHaStates, updateHaStates } from '../networking/l3-ha.ts';
import { setPortStatus } from '../networking/port-status.ts';
import { meteringCounters, recordMeteringCounters } from '../networking/metering.ts';

const MAX_WAIT_S = 60;

/** A long-poll's `wait` (seconds, at most a minute), in ms. */
function waitMs(wait: string | undefined): number {
  const s = Number(wait ?? 0);
  if (!(s >= 0 && s <= MAX_WAIT_S)) throw badRequest(`Invalid input for wait. Reason: must be between 0 and ${MAX_WAIT_S} seconds.`);
  return s * 1000;
}

export async function registerAgentRoutes(v2: FastifyInstance, deps: { db: Db; config: ServerConfig; feed: ChangeFeed }) {
  await v2.register((scope) => agentRoutes(scope, deps), { prefix: '/neutrino' });
}

async function agentRoutes(v2: FastifyInstance, { db, config, feed }: { db: Db; config: ServerConfig; feed: ChangeFeed }) {
  v2.addHook('preHandler', async (req) => {
    if (!req.ctx.isAdmin) throw policyDenied('rule:context_is_admin');
  });

  v2.post('/agents/report', async (req) => {
    const agent = await unitOfWork(db, async (tx) => {
      const { row, resync } = await reportState(tx, req.ctx, config, req.body);
      if (resync) {
        await autoScheduleDhcp(tx, config, row);
        await autoScheduleL3(tx, config, row);
      }
      return row;
    });
    return { agent: agentToApi(agent, config) };
  });

  v2.get<{ Querystring: { since?: string; wait?: string } }>('/changes', async (req) => {
    const since = Number(req.query.since ?? 0);
    if (!Number.isInteger(since) || since < 0)
      throw badRequest(`Invalid input for since. Reason: '${show(req.query.since)}' is not a non-negative integer.`);
    return feed.watch(since, waitMs(req.query.wait));
  });

  // The whole view; or, given the revision and tag of a view this process sent, a long-poll like
  // /changes answered with what changed in that view (a delta), or the whole view when no delta can be made.
  const views = new HostViewUpdates(db, feed, new HostViewCache());
  v2.get<{ Params: { host: string }; Querystring: { since?: string; tag?: string; wait?: string } }>('/hosts/:host/view', async (req) => {
    const { since, tag } = req.query;
    if (since === undefined) return views.full(req.params.host);
    const from = Number(since);
    if (!Number.isInteger(from) || from < 0)
      throw badRequest(`Invalid input for since. Reason: '${show(since)}' is not a non-negative integer.`);
    return views.since(req.params.host, from, tag ?? '', waitMs(req.query.wait));
  });

  v2.post<{ Params: { host: string } }>('/hosts/:host/port-status', async (req) => {
    const updated = await unitOfWork(db, (tx) => setPortStatus(tx, req.params.host, req.body));
    return { updated };
  });

  v2.post<{ Params: { host: string } }>('/hosts/:host/floatingip-status', async (req) => {
    const updated = await unitOfWork(db, (tx) => reportFloatingIpStatus(tx, req.params.host, req.body));
    return { updated };
  });

  // The metering counters the L3 agents report, and their reading (neutrino metering).
  v2.post<{ Params: { host: string } }>('/hosts/:host/metering-counters', async (req) => {
    const recorded = await unitOfWork(db, (tx) => recordMeteringCounters(tx, req.params.host, req.body));
    return { recorded };
  });

  v2.get<{ Querystring: { label_id?: string } }>('/metering-counters', async (req) => {
    const counters = await unitOfWork(db, (tx) => meteringCounters(tx, req.query.label_id));
    return { counters };
  });

  // update_ha_routers_states: what keepalived made of each HA router on that host.
  v2.post<{ Params: { host: string } }>('/hosts/:host/ha-router-states', async (req) => {
    const states = checkHaStates(req.body);
    const updated = await unitOfWork(db, (tx) => updateHaStates(tx, req.params.host, states));
    return { updated };
  });
}
