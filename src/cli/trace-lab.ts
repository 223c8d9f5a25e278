// The lab as the tracer sees it (trace/labs.ts): its admin API client, its node namespaces with
// their agent configs and instance directories, its instances and its external host, read from the
// lab's state under a state root.
import type { ApiClient } from '../trace/read/cloud.ts';
import type { LabSource, NodeTarget } from '../trace/read/gather.ts';
import type { TraceLabs } from '../trace/labs.ts';
import type { Snapshot } from '../trace/snapshot.ts';
import { adminClient, loadLab, type LabRef } from '../lab/context.ts';
import { listInstances } from '../lab/instance-state.ts';
import { DEFAULT_LAB, labPaths, stateRoot as stateRootOf } from '../lab/paths.ts';
import { UPSTREAM_CLIENT } from '../lab/topology.ts';
import { nodeNetnsDir } from '../lab/agents.ts';

export function labApiClient(ref: LabRef): { client: ApiClient; source: Snapshot['source'] } {
  const { state } = loadLab(ref);
  const admin = adminClient(state);
  return {
    client: { endpoint: admin.endpoint.url, get: (path) => admin.call('GET', path) },
    source: { endpoint: admin.endpoint.url, lab: state.lab },
  };
}

export function labTargets(ref: LabRef): NodeTarget[] {
  const { state, paths } = loadLab(ref);
  const instances = listInstances(paths);
  return state.nodes.map((n) => ({
    host: n.name,
    // A node with a /run/netns of its own (an extra network node) is read through its agent's mount namespace.
    access: `netns:${n.namespace}${nodeNetnsDir(paths, n) && n.agentPid ? `@${n.agentPid}` : ''}`,
    agentConfig: paths.agentIni(n.name),
    instancesPath: paths.instancesDir,
    // The lab's instances are namespaces under the same /run/netns: their route tables can be read.
    instanceNamespaces: Object.fromEntries(instances.filter((i) => i.host === n.name).map((i) => [i.id, i.namespace])),
  }));
}

/** What the tracer reads of a running lab. */
export function labSource(ref: LabRef): LabSource {
  return { ...labApiClient(ref), targets: labTargets(ref) };
}

/** The labs under `stateRoot` (default: the lab commands' own). */
export function traceLabs(stateRoot?: string): TraceLabs {
  return {
    defaultLab: DEFAULT_LAB,
    upstreamClient: UPSTREAM_CLIENT,
    source: (lab) => labSource({ lab, stateRoot }),
    externalNamespace: (lab) => loadLab({ lab, stateRoot }).state.topology.external.namespace,
    instances: (lab) => listInstances(labPaths(stateRootOf(stateRoot), lab)),
  };
}
