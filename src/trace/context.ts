// What one trace works on: the API resources, every node as parsed and planned, and the clock of
// the snapshot (agent heartbeat ages are measured against it, so a recorded snapshot replays the
// same verdict). Lookups in Neutron's terms. Pure.
import { parseIp } from '../model/ip.ts';
import type { ApiObject, ApiResources } from './snapshot.ts';
import type { TraceNode } from './read/nodes.ts';
import { agentsRefused } from './read/host-refusals.ts';

export interface TraceContext {
  api: ApiResources;
  nodes: Record<string, TraceNode>;
  /** when the data was read */
  now: Date;
  /** 'live' or the snapshot directory */
  source: string;
}

export const byId = (list: ApiObject[], id: unknown): ApiObject | undefined => list.find((o) => o.id === id);
export const str = (o: ApiObject | undefined, key: string): string => (o && typeof o[key] === 'string' ? (o[key] as string) : '');

export type IpFamily = 4 | 6;

/** The port's first fixed IP of `family`. */
export const fixedIpOf = (port: ApiObject, family: IpFamily) => fixedIps(port).find((f) => parseIp(f.ip_address)?.version === family);

export function fixedIps(port: ApiObject): Array<{ subnet_id: string; ip_address: string }> {
  return Array.isArray(port['fixed_ips']) ? (port['fixed_ips'] as Array<{ subnet_id: string; ip_address: string }>) : [];
}

export function agentOf(ctx: TraceContext, host: string, type: string): ApiObject | undefined {
  return ctx.api.agents.find((a) => a['host'] === host && a['agent_type'] === type);
}

/** Seconds since the agent's last heartbeat, at the snapshot's time. */
export function heartbeatAge(ctx: TraceContext, agent: ApiObject): number | null {
  const t = Date.parse(
    `${str(agent, 'heartbeat_timestamp').replace(' ', 'T')}${/Z|[+-]\d\d:?\d\d$/.test(str(agent, 'heartbeat_timestamp')) ? '' : 'Z'}`,
  );
  return Number.isNaN(t) ? null : Math.max(0, Math.round((ctx.now.getTime() - t) / 1000));
}

export function ago(s: number | null): string {
  if (s === null) return 'at an unknown time';
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

/**
 * Why an agent's state is not known: the agent list could not be read (refused to a member, or not
 * served), as its `GET … answered N` and what to do; null when the list was read.
 */
export function agentsUnreadable(ctx: TraceContext): string | null {
  const refused = agentsRefused(ctx.api.errors);
  if (!refused) return null;
  return refused.endsWith(' 403') ? `${refused}: trace with an admin's` : `${refused}: this cloud serves no agent list`;
}

/**
 * "the L2 agent on compute1 last reported 4 s ago" / "… is down: last reported 6 min ago" / "no … on
 * compute1" / "… cannot be read (GET /v2.0/agents answered 403…)".
 */
export function agentNote(ctx: TraceContext, host: string, type: string): string {
  const a = agentOf(ctx, host, type);
  const unreadable = a ? null : agentsUnreadable(ctx);
  if (unreadable) return `the state of the ${type} on ${host} cannot be read (${unreadable})`;
  if (!a) return `no ${type} is registered on ${host}`;
  const age = ago(heartbeatAge(ctx, a));
  return a['alive'] === false ? `the ${type} on ${host} is down: it last reported ${age}` : `the ${type} on ${host} last reported ${age}`;
}

export const short = (id: string) => id.slice(0, 8);
