// Reads one Neutron host as a NodeDump: raw kernel output per namespace (the agent's own observe
// commands), conntrack and IP sets where asked, the agent's configuration and instance XML. Only reads; what
// cannot be read is recorded in words and the rest goes on.
import { isExecError } from '../../exec/errors.ts';
import { mapLimit } from '../../exec/real.ts';
import { rawNamespaceCommands, readRawNamespace } from '../../exec/read-namespace.ts';
import { HOST, type NsKey } from '../../kernel/types.ts';
import { parseNetnsList } from '../../observe/netns.ts';
import type { RawNamespace } from '../../observe/node.ts';
import type { NodeAccess } from './access.ts';
import { collectDhcpNamespace, collectRouterNamespace, netnsPidsArgv } from './collect-dhcp.ts';
import { redactIni } from './redact.ts';
import type { CommandLine, NodeDump } from '../snapshot.ts';

export const DEFAULT_AGENT_CONFIG = '/etc/neutron/plugins/ml2/linuxbridge_agent.ini';
/** Reads at once on one node (a namespace read is itself four or five processes). */
export const COLLECT_PARALLEL = 4;

export const NETNS_LIST_ARGV = ['ip', '-j', 'netns', 'list'];
export const CONNTRACK_ARGV = ['conntrack', '-L'];
export const IPSET_ARGV = ['ipset', 'save'];
/** An instance's IPv4 routes, as JSON (what its metadata route is checked against). */
export const INSTANCE_ROUTES_ARGV = ['ip', '-4', '-j', 'route', 'show', 'table', 'main'];

export interface CollectRequest {
  /** Neutron host name */
  host: string;
  /** namespaces to read besides the node's own ('' is always read); absent ones come back null */
  namespaces: NsKey[];
  /** sysctl keys to read per namespace */
  sysctls?: Record<NsKey, string[]>;
  /** namespaces to read `conntrack -L` in (router namespaces) */
  conntrack?: NsKey[];
  /** namespaces to read `ipset save` in (where security-group chains match remote groups: the node's own) */
  ipsets?: NsKey[];
  agentConfigPath?: string;
  /** qdhcp- namespaces whose processes and dnsmasq files to read */
  dhcp?: NsKey[];
  /** qrouter- namespaces whose processes (radvd) and radvd configuration to read */
  radvd?: NsKey[];
  /** instance id → path of its domain XML on the node */
  instances?: Record<string, string>;
  /** instance id → its namespace (a lab's instances), whose route table to read */
  instanceNamespaces?: Record<string, string>;
  parallel?: number;
}

/** The first line the failing tool printed, else the error's message. */
function reason(e: unknown): string {
  if (isExecError(e)) return e.stderr.trim().split('\n')[0] || e.message;
  return e instanceof Error ? e.message : String(e);
}

const nsLabel = (ns: NsKey) => (ns === HOST ? "the node's own namespace" : `namespace ${ns}`);

export async function collectNode(access: NodeAccess, req: CollectRequest): Promise<NodeDump> {
  const dump: NodeDump = {
    host: req.host,
    access: access.label,
    collectedAt: new Date().toISOString(),
    agentConfig: { path: req.agentConfigPath ?? DEFAULT_AGENT_CONFIG, text: null },
    namespaces: {},
    conntrack: {},
    instances: {},
    errors: [],
    commands: {},
  };
  const commands = dump.commands!;
  const record = (ns: NsKey, what: string, cmd: CommandLine) => ((commands[ns] ??= {})[what] = cmd);

  // Which namespaces the node has: one that is not listed is absent (null), not an error.
  let existing: Set<string> | null = null;
  record(HOST, 'netns', { argv: NETNS_LIST_ARGV });
  try {
    existing = new Set(parseNetnsList((await access.run(NETNS_LIST_ARGV)).stdout));
  } catch (e) {
    dump.errors.push(`cannot run commands on ${req.host} (${access.label}): ${reason(e)}`);
  }

  const keys = [HOST, ...new Set(req.namespaces.filter((n) => n !== HOST))];
  const raws = new Map<NsKey, RawNamespace>();
  const readNs = async (ns: NsKey) => {
    const sysctls = req.sysctls?.[ns] ?? [];
    for (const c of rawNamespaceCommands(sysctls))
      record(ns, c.field, c.stdin === undefined ? { argv: c.argv } : { argv: c.argv, stdin: c.stdin });
    try {
      raws.set(ns, await readRawNamespace(access.run, ns === HOST ? undefined : ns, sysctls));
    } catch (e) {
      dump.errors.push(`cannot read ${nsLabel(ns)}: ${reason(e)}`);
    }
  };
  const readFile = async (path: string, what: string): Promise<string | null> => {
    try {
      return await access.readFile(path);
    } catch (e) {
      dump.errors.push(`cannot read ${what} ${path}: ${reason(e)}`);
      return null;
    }
  };

  const instanceIds = Object.keys(req.instances ?? {});
  const xml = new Map<string, string | null>();
  const routes = new Map<string, string | null>();
  const readRoutes = async (id: string, ns: string) => {
    record(ns, 'routes', { argv: INSTANCE_ROUTES_ARGV });
    try {
      routes.set(id, (await access.run(INSTANCE_ROUTES_ARGV, { netns: ns })).stdout);
    } catch (e) {
      dump.errors.push(`cannot read the routes of instance ${id} in namespace ${ns}: ${reason(e)}`);
      routes.set(id, null);
    }
  };
  const tasks: Array<() => Promise<void>> = [
    ...(existing ? keys.filter((ns) => ns === HOST || existing!.has(ns)).map((ns) => () => readNs(ns)) : []),
    async () => {
      const text = await readFile(dump.agentConfig.path, 'the agent configuration');
      dump.agentConfig.text = text === null ? null : redactIni(text);
    },
    ...instanceIds.map((id) => async () => void xml.set(id, await readFile(req.instances![id]!, `the XML of instance ${id}`))),
    ...Object.entries(req.instanceNamespaces ?? {}).map(
      ([id, ns]) =>
        () =>
          readRoutes(id, ns),
    ),
  ];
  const parallel = req.parallel ?? COLLECT_PARALLEL;
  await mapLimit(tasks, parallel, (t) => t());

  // conntrack and IP sets only where the namespace could be read (an absent one is already null);
  // a node without the tool says so in errors.
  const conntrack = new Map<NsKey, string>();
  const extra = (list: NsKey[] | undefined, what: string, argv: string[], put: (ns: NsKey, out: string) => void) =>
    [...new Set(list ?? [])]
      .filter((ns) => raws.has(ns))
      .map((ns) => async () => {
        record(ns, what, { argv });
        try {
          put(ns, (await access.run(argv, { netns: ns === HOST ? undefined : ns })).stdout);
        } catch (e) {
          dump.errors.push(`cannot read ${argv.join(' ')} in ${nsLabel(ns)}: ${reason(e)}`);
        }
      });
  type Processes = Awaited<ReturnType<typeof collectDhcpNamespace>>;
  const processes = (list: NsKey[] | undefined, what: string, read: typeof collectDhcpNamespace, into: Map<NsKey, Processes>) =>
    [...new Set(list ?? [])]
      .filter((ns) => raws.has(ns))
      .map((ns) => async () => {
        record(ns, what, { argv: netnsPidsArgv(ns) });
        into.set(ns, await read(access, ns, dump.errors));
      });
  const dhcp = new Map<NsKey, Processes>();
  const radvd = new Map<NsKey, Processes>();
  await mapLimit(
    [
      ...processes(req.dhcp, 'dhcp', collectDhcpNamespace, dhcp),
      ...processes(req.radvd, 'radvd', collectRouterNamespace, radvd),
      ...extra(req.conntrack, 'conntrack', CONNTRACK_ARGV, (ns, out) => conntrack.set(ns, out)),
      ...extra(req.ipsets, 'ipset', IPSET_ARGV, (ns, out) => (raws.get(ns)!.ipset = out)),
    ],
    parallel,
    (t) => t(),
  );

  // Assembled in request order, so dumps of the same node compare and diff cleanly.
  if (existing)
    for (const ns of keys) {
      if (raws.has(ns)) dump.namespaces[ns] = raws.get(ns)!;
      else if (ns !== HOST && !existing.has(ns)) dump.namespaces[ns] = null;
    }
  for (const ns of req.conntrack ?? []) if (conntrack.has(ns)) dump.conntrack[ns] = conntrack.get(ns)!;
  if (req.dhcp?.length) {
    dump.dhcp = {};
    for (const ns of req.dhcp) if (dhcp.has(ns)) dump.dhcp[ns] = dhcp.get(ns)!;
  }
  if (req.radvd?.length) {
    dump.radvd = {};
    for (const ns of req.radvd) if (radvd.has(ns)) dump.radvd[ns] = radvd.get(ns)!;
  }
  for (const id of instanceIds) dump.instances[id] = { path: req.instances![id]!, xml: xml.get(id) ?? null };
  const instanceNs = Object.entries(req.instanceNamespaces ?? {});
  if (instanceNs.length)
    dump.instanceRoutes = Object.fromEntries(instanceNs.map(([id, namespace]) => [id, { namespace, routes: routes.get(id) ?? null }]));
  return dump;
}
