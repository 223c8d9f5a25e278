// Gathers a Snapshot from a live system: the API (a lab's server, or any cloud from clouds.yaml)
// and every node it can reach (a lab's node namespaces, or --node HOST=ACCESS), reading on each
// node only the namespaces, sysctls, conntrack tables and instance XML the trace can use.
import { COMPUTE_OWNER_PREFIX } from '../../model/neutron.ts';
import { join } from 'node:path';
import { nodeAccess, parseAccess } from './access.ts';
import { cloudApiClient, fetchApi, resolveCloud, type ApiClient } from './cloud.ts';
import { collectNode, DEFAULT_AGENT_CONFIG } from './collect.ts';
import { namespacesToRead } from '../expect/expect.ts';
import { HOST } from '../../kernel/types.ts';
import { DHCP_NS_PREFIX } from '../../kernel/names.ts';
import type { ApiResources, NodeDump, Snapshot } from '../snapshot.ts';

/** Where nova keeps instance directories (instances_path). */
export const DEFAULT_INSTANCES_PATH = '/var/lib/nova/instances';

export interface NodeTarget {
  host: string;
  access: string;
  agentConfig: string;
  instancesPath: string;
  /** instance id → namespace, for instances the node can enter (a lab's): their route tables are read */
  instanceNamespaces?: Record<string, string>;
}

/** A lab's API and nodes (given by the CLI: trace/labs.ts). */
export interface LabSource {
  client: ApiClient;
  source: Snapshot['source'];
  targets: NodeTarget[];
}

export interface GatherOptions {
  /** trace a lab: its server and its nodes */
  lab?: LabSource;
  /** HOST → ACCESS (outside a lab) */
  nodes?: Record<string, string>;
  agentConfigs?: Record<string, string>;
  instancesPaths?: Record<string, string>;
  /** openstacksdk cloud name (default OS_CLOUD) */
  cloud?: string;
  progress?: (line: string) => void;
}

export function cliTargets(o: GatherOptions): NodeTarget[] {
  return Object.entries(o.nodes ?? {}).map(([host, access]) => {
    parseAccess(access); // a bad ACCESS fails before anything is read
    return {
      host,
      access,
      agentConfig: o.agentConfigs?.[host] ?? DEFAULT_AGENT_CONFIG,
      instancesPath: o.instancesPaths?.[host] ?? DEFAULT_INSTANCES_PATH,
    };
  });
}

/** What to read on one node, from the resources alone. */
export function collectRequest(api: ApiResources, t: NodeTarget) {
  const { namespaces, sysctls, conntrack, radvd } = namespacesToRead(api, t.host);
  const instances: Record<string, string> = {};
  for (const p of api.ports) {
    if (p['binding:host_id'] !== t.host || !String(p['device_owner'] ?? '').startsWith(COMPUTE_OWNER_PREFIX) || !p['device_id']) continue;
    instances[String(p['device_id'])] = join(t.instancesPath, String(p['device_id']), 'libvirt.xml');
  }
  const dhcp = namespaces.filter((ns) => ns.startsWith(DHCP_NS_PREFIX));
  return {
    host: t.host,
    namespaces,
    sysctls,
    conntrack,
    dhcp,
    ...(radvd?.length ? { radvd } : {}),
    ...(readsIpsets(api, t.host) ? { ipsets: [HOST] } : {}),
    agentConfigPath: t.agentConfig,
    instances,
    ...(t.instanceNamespaces && Object.keys(t.instanceNamespaces).length ? { instanceNamespaces: t.instanceNamespaces } : {}),
  };
}

/** A port bound to `host` has a remote-group rule: its chains match IP sets, which are read too. */
export function readsIpsets(api: ApiResources, host: string): boolean {
  const groups = new Set(
    api.ports.filter((p) => p['binding:host_id'] === host).flatMap((p) => (p['security_groups'] as string[] | undefined) ?? []),
  );
  return api.security_groups.some(
    (g) =>
      groups.has(g.id) &&
      ((g['security_group_rules'] as Array<{ remote_group_id?: string | null }> | undefined) ?? []).some((r) => !!r.remote_group_id),
  );
}

export async function gatherSnapshot(o: GatherOptions): Promise<Snapshot> {
  const say = o.progress ?? (() => undefined);
  let client: ApiClient;
  let source: Snapshot['source'];
  let targets: NodeTarget[];
  if (o.lab) {
    ({ client, source, targets } = o.lab);
  } else {
    ({ client, source } = await cloudApiClient(resolveCloud(o.cloud ? { cloud: o.cloud } : {})));
    targets = cliTargets(o);
  }
  const createdAt = new Date().toISOString();
  say(`reading the API at ${source.endpoint}`);
  const api = await fetchApi(client);
  say(`reading ${targets.length} node(s): ${targets.map((t) => `${t.host} (${t.access})`).join(', ') || 'none'}`);
  const dumps = await Promise.all(targets.map((t) => collectNode(nodeAccess(parseAccess(t.access)), collectRequest(api, t))));
  const nodes: Record<string, NodeDump> = {};
  for (const d of dumps) nodes[d.host] = d;
  return { version: 1, createdAt, source, api, nodes };
}
