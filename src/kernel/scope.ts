// What to observe for a desired state: which namespaces, which sysctl keys, where IP sets, which daemons' pid files.
import { HOST, type DesiredNode, type NsKey } from './types.ts';

export interface ProcessHint {
  id: string;
  pidFile: string;
  files: string[];
}

export interface ObserveScope {
  /** Observe HOST (the node's own namespace). */
  host: boolean;
  /** Named namespaces to observe, when they exist. */
  namespaces: string[];
  /** Also every existing namespace whose name starts with one of these (to find marked ones nobody wants). */
  prefixes: string[];
  sysctls: Record<NsKey, string[]>;
  /**
   * Namespaces whose IP sets are read (`ipset save`); elsewhere they are reported empty. Absent:
   * none. scopeFor lists HOST whenever it is observed (so unwanted owned sets are found there
   * after the last rule matching them is gone) and every namespace with desired sets.
   */
  ipsets?: NsKey[];
  processes: Record<NsKey, ProcessHint[]>;
  /**
   * Per namespace, the devices whose fdb entries are read; elsewhere in it none. Absent for a
   * namespace: all of them. The entries neutrino owns are a VXLAN device's (they have a `dst`), so
   * scopeFor names the desired VXLAN devices and the devices of desired entries: the other entries of
   * a node are its bridge ports' (a few thousand on a node with a thousand taps), never changed.
   */
  fdbDevices?: Record<NsKey, string[]>;
}

export interface ScopeOptions {
  /** Default: whether the desired state has a HOST entry. */
  host?: boolean;
  prefixes?: string[];
  /** Daemons that may still run although no longer desired (so they can be stopped). */
  processes?: Record<NsKey, ProcessHint[]>;
}

export function scopeFor(desired: DesiredNode, opts: ScopeOptions = {}): ObserveScope {
  const host = opts.host ?? HOST in desired.namespaces;
  const ipsets: NsKey[] = host ? [HOST] : [];
  const scope: ObserveScope = {
    host,
    namespaces: Object.keys(desired.namespaces).filter((k) => k !== HOST),
    prefixes: opts.prefixes ?? [],
    sysctls: {},
    ipsets,
    processes: structuredClone(opts.processes ?? {}),
    fdbDevices: {},
  };
  for (const [ns, spec] of Object.entries(desired.namespaces)) {
    const vxlans = spec.links.filter((l) => l.kind === 'vxlan').map((l) => l.name);
    scope.fdbDevices![ns] = [...new Set([...vxlans, ...spec.fdb.map((f) => f.dev)])].sort();
    if (spec.sysctls.length > 0) scope.sysctls[ns] = spec.sysctls.map((s) => s.key);
    if ((spec.ipsets?.length ?? 0) > 0 && ns !== HOST) ipsets.push(ns);
    // The desired spec knows the daemon's files: its hint replaces one given for the same id.
    const ids = new Set(spec.processes.map((p) => p.id));
    scope.processes[ns] = [
      ...(scope.processes[ns] ?? []).filter((h) => !ids.has(h.id)),
      ...spec.processes.map((p) => ({ id: p.id, pidFile: p.pidFile, files: p.files.map((f) => f.path) })),
    ];
  }
  return scope;
}

/** Whether a named namespace is in the scope. */
export const inScope = (scope: ObserveScope, name: string): boolean =>
  scope.namespaces.includes(name) || scope.prefixes.some((p) => name.startsWith(p));

/** Whether a namespace's IP sets are read. */
export const ipsetsInScope = (scope: ObserveScope, ns: NsKey): boolean => scope.ipsets?.includes(ns) ?? false;
