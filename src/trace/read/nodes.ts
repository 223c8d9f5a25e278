// Each node as the tracer sees it: the kernel state parsed from its dump (the same parsers as the
// agent), and what the planner says it should hold. Pure.
import type { DesiredNode, NsKey, ObservedNode } from '../../kernel/types.ts';
import { IP_OBSERVE_BATCH, parseNamespace, resolvePeers } from '../../observe/node.ts';
import { splitBatchJson, type Obj } from '../../observe/json.ts';
import type { ApiObject, ApiResources, NodeDump } from '../snapshot.ts';

export interface TraceNode {
  host: string;
  dump: NodeDump | null;
  observed: ObservedNode;
  /** namespaces whose output could not be parsed, with the reason */
  unreadable: Record<NsKey, string>;
  /** raw `ip -j -d link show` objects by namespace and name, for evidence */
  rawLinks: Map<NsKey, Map<string, Obj>>;
  desired: DesiredNode | null;
  /** configured values and where they came from, e.g. local_ip → '[vxlan] local_ip in /etc/…' */
  settings: Record<string, { value: string; source: string }>;
  agents: ApiObject[];
}

/** The node's own namespace name when reached as netns:NAME (veth peers point at it by that name). */
const hostNetnsOf = (access: string) => (access.startsWith('netns:') ? access.slice('netns:'.length).split('@')[0] : undefined);

export function parseDump(dump: NodeDump): Pick<TraceNode, 'observed' | 'unreadable' | 'rawLinks'> {
  const observed: ObservedNode = { namespaces: {} };
  const unreadable: Record<NsKey, string> = {};
  const rawLinks = new Map<NsKey, Map<string, Obj>>();
  const nsids = new Map<NsKey, Map<number, string>>();
  for (const [ns, raw] of Object.entries(dump.namespaces)) {
    if (!raw) continue;
    try {
      const parsed = parseNamespace(ns, raw);
      observed.namespaces[ns] = parsed.state;
      nsids.set(ns, parsed.nsids);
      const [links] = splitBatchJson(raw.ip, IP_OBSERVE_BATCH.length, 'ip -j -d -batch');
      rawLinks.set(ns, new Map((links ?? []).map((l) => [String(l['ifname']), l])));
    } catch (e) {
      unreadable[ns] = (e as Error).message;
    }
  }
  resolvePeers(observed, nsids, hostNetnsOf(dump.access));
  return { observed, unreadable, rawLinks };
}

export const agentsOn = (api: ApiResources, host: string): ApiObject[] => api.agents.filter((a) => a['host'] === host);
