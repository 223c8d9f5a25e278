// The hops of an instance's metadata path (neutron/agent/metadata/driver.py, neutron/agent/linux/dhcp.py):
// the router's REDIRECT of 169.254.169.254:80 to the proxy and INPUT's accept of marked packets, the
// haproxy the agent runs in the router's or the DHCP namespace, the metadata agent it forwards to
// (registered and alive), and the instance's route to 169.254.169.254: read from its own route table
// when the snapshot has it (a lab's instances), else, on an isolated network, from the
// 169.254.169.254/32 route DHCP gives it (option 121). Pure.
import { dhcpNamespace, routerNamespace, wrapChain } from '../../kernel/names.ts';
import type { NsKey } from '../../kernel/types.ts';
import { AGENT_DHCP, AGENT_L3, AGENT_METADATA } from '../../model/neutron.ts';
import {
  haproxyProcessId,
  METADATA_CIDR,
  METADATA_IP,
  METADATA_V6_CIDR,
  metadataFilterRules,
  metadataNatRule,
  metadataNatRule6,
} from '../../planner/metadata.ts';
import { cidrContains, parseIp, parsePrefix } from '../../model/ip.ts';
import { agentNote, agentOf, agentsUnreadable, ago, heartbeatAge, str, type TraceContext } from '../context.ts';
import { argValue, parseOptsFile } from '../read/dnsmasq.ts';
import type { Hop, ResourceRef } from '../report.ts';
import type { ApiObject, DhcpNamespaceDump } from '../snapshot.ts';
import { apiHop, checkAddress, checkRule, isDraft, namespaceOr, result, unreadable, type HopBase, type HopDraft } from './checks.ts';
import { routerRef } from './router.ts';

const leg: Hop['leg'] = 'request';

const l3Owner = (ctx: TraceContext, host: string, router: ApiObject) =>
  `the ${AGENT_L3} on ${host} writes it for router ${str(router, 'name') || router.id} (metadata/driver.py); ${agentNote(ctx, host, AGENT_L3)}`;

/**
 * The REDIRECT of 169.254.169.254:80 (IPv6: fe80::a9fe:a9fe:80, in ip6tables) from qr-+ to the
 * proxy's port, and INPUT's accept of what it marked.
 */
export function metadataRedirectHops(ctx: TraceContext, host: string, router: ApiObject, family: 4 | 6 = 4): HopDraft[] {
  const node = ctx.nodes[host];
  const ns = routerNamespace(router.id);
  const suffix = family === 6 ? ' (IPv6)' : '';
  const tool = family === 6 ? 'ip6tables' : 'iptables';
  const cidr = family === 6 ? METADATA_V6_CIDR : METADATA_CIDR;
  const base: HopBase = {
    leg,
    node: host,
    namespace: ns,
    device: 'qr-+',
    resource: routerRef(router),
    check: `metadata redirect${suffix}`,
  };
  const owner = l3Owner(ctx, host, router);
  const rename = (h: HopDraft): HopDraft => (h.reason === 'NAT_RULE_MISSING' ? { ...h, reason: 'METADATA_REDIRECT_MISSING' } : h);
  const redirect = checkRule(
    node,
    base,
    'nat',
    wrapChain('l3', 'PREROUTING'),
    family === 6 ? metadataNatRule6 : metadataNatRule,
    owner,
    `no REDIRECT of ${cidr}:80 to the metadata proxy in router ${str(router, 'name') || router.id}: instances' metadata requests are routed on instead of answered`,
    tool,
  );
  const accept = checkRule(
    node,
    { ...base, device: null, check: `metadata accept${suffix}` },
    'filter',
    wrapChain('l3', 'INPUT'),
    metadataFilterRules[0]!,
    owner,
    `the router does not accept the redirected (marked) metadata requests: its INPUT drops them before the proxy`,
    tool,
  );
  return [rename(redirect), rename(accept)];
}

/** fe80::a9fe:a9fe on the DHCP port's device of an isolated network, where its proxy's second bind listens. */
export function metadataAddressHop(ctx: TraceContext, host: string, network: ApiObject, dev: string): HopDraft {
  const base: HopBase = {
    leg,
    node: host,
    namespace: dhcpNamespace(network.id),
    device: dev,
    resource: { type: 'network', id: network.id, name: str(network, 'name') || undefined },
    check: 'metadata address',
  };
  const owner = `the ${AGENT_DHCP} on ${host} adds it with [DEFAULT] enable_isolated_metadata or force_metadata on a network with an IPv6 subnet (dhcp.py DeviceManager.setup); ${agentNote(ctx, host, AGENT_DHCP)}`;
  return checkAddress(ctx.nodes[host], base, dev, METADATA_V6_CIDR, owner);
}

/**
 * haproxy's pid and argv in a namespace's process dump, when it runs with the resource's
 * configuration: ns-metadata-proxy/<id>.conf under whatever state_path the agent has (a real
 * Neutron's is in neutron.conf, which the tracer does not read).
 */
function runningProxy(procs: DhcpNamespaceDump, id: string): [string, string[]] | undefined {
  const conf = `/ns-metadata-proxy/${id}.conf`;
  return Object.entries(procs.cmdlines).find(
    (e): e is [string, string[]] => !!e[1] && /(^|\/)haproxy$/.test(e[1][0] ?? '') && !!argValue(e[1], '-f')?.endsWith(conf),
  );
}

/**
 * The metadata proxy (haproxy) of a router or of an isolated network, running in its namespace
 * with the configuration the agent writes for it; `resource` is the router or the network.
 */
export function metadataProxyHop(
  ctx: TraceContext,
  host: string,
  where: { kind: 'router'; router: ApiObject } | { kind: 'network'; network: ApiObject },
): HopDraft {
  const node = ctx.nodes[host];
  const id = where.kind === 'router' ? where.router.id : where.network.id;
  const ns: NsKey = where.kind === 'router' ? routerNamespace(id) : dhcpNamespace(id);
  const resource: ResourceRef =
    where.kind === 'router' ? routerRef(where.router) : { type: 'network', id, name: str(where.network, 'name') || undefined };
  const planned = node?.desired?.namespaces[ns]?.processes.find((p) => p.id === haproxyProcessId(id));
  const conf = planned ? (argValue(planned.argv, '-f') ?? null) : null;
  const listen = where.kind === 'router' ? 'port 9697' : `${METADATA_CIDR.split('/')[0]}:80`;
  const base: HopBase = { leg, node: host, namespace: ns, device: null, resource, check: 'metadata proxy' };
  const expected = { process: 'haproxy', listening: listen, ...(conf ? { config: conf } : {}) };
  const agent = where.kind === 'router' ? AGENT_L3 : AGENT_DHCP;
  const owner = `the ${agent} on ${host} runs it (metadata/driver.py${where.kind === 'router' ? ', [DEFAULT] enable_metadata_proxy' : ', [DEFAULT] enable_isolated_metadata / force_metadata'}); ${agentNote(ctx, host, agent)}`;
  const o = namespaceOr(node, base, expected, owner);
  if (isDraft(o)) return o;
  const procs = where.kind === 'router' ? node!.dump!.radvd?.[ns] : node!.dump!.dhcp?.[ns];
  const command = `ip netns pids ${ns}; cat /proc/PID/cmdline`;
  if (!procs || procs.pids === null)
    return result(base, expected, null, [{ command }], {
      status: 'unknown',
      reason: 'NODE_UNREADABLE',
      cause: `the processes in ${ns} on ${host} were not read: whether the metadata proxy runs cannot be told`,
    });
  const found = runningProxy(procs, id);
  if (!found)
    return result(base, expected, { process: null }, [{ command }], {
      status: 'missing',
      reason: 'METADATA_PROXY_NOT_RUNNING',
      cause: `no metadata proxy (haproxy${conf ? ` -f ${conf}` : ''}) runs in ${ns} on ${host}: nothing listens on ${listen} and instances' requests to ${METADATA_CIDR.split('/')[0]} get no answer; ${owner}`,
    });
  const [pid, argv] = found;
  return result(base, expected, { process: 'haproxy', pid: Number(pid), config: argValue(argv, '-f') ?? null }, [
    { command, line: `${pid} ${argv.join(' ')}` },
  ]);
}

/** The metadata agent on the proxy's node: registered and alive (it answers the proxy's UNIX socket). */
export function metadataAgentHop(ctx: TraceContext, host: string): HopDraft {
  const agent = agentOf(ctx, host, AGENT_METADATA);
  const base = apiHop('metadata agent', { type: 'agent', id: agent?.id ?? '', name: `${AGENT_METADATA} on ${host}` }, host);
  const expected = { agent: AGENT_METADATA, host, alive: true };
  const refused = agent ? null : agentsUnreadable(ctx);
  if (refused)
    return result(
      base,
      expected,
      null,
      [{ command: `openstack network agent list --host ${host}` }],
      unreadable(`whether the ${AGENT_METADATA} on ${host} runs`, refused),
    );
  if (!agent)
    return result(base, expected, { agent: null }, [{ command: `openstack network agent list --host ${host}` }], {
      status: 'missing',
      reason: 'METADATA_AGENT_DOWN',
      cause: `no ${AGENT_METADATA} is registered on ${host}: the metadata proxies there forward to a socket nobody answers`,
    });
  const age = heartbeatAge(ctx, agent);
  const observed = { agent: AGENT_METADATA, host, alive: agent['alive'] !== false, last_heartbeat: ago(age) };
  if (agent['alive'] === false)
    return result(base, expected, observed, [{ command: `openstack network agent list --host ${host}` }], {
      status: 'down',
      reason: 'METADATA_AGENT_DOWN',
      cause: `the ${AGENT_METADATA} on ${host} is down (it last reported ${ago(age)}): the metadata proxies there get no answer from its socket`,
    });
  return result(base, expected, observed, [{ command: `openstack network agent list --host ${host}` }]);
}

/**
 * The route to 169.254.169.254 the instance gets by DHCP (option 121) on an isolated network: via
 * the DHCP port, where the proxy listens. From the options file dnsmasq runs with.
 */
export function metadataRouteHop(ctx: TraceContext, host: string, network: ApiObject, subnet: ApiObject, nextHop: string): HopDraft {
  const ns = dhcpNamespace(network.id);
  const base: HopBase = {
    leg,
    node: host,
    namespace: ns,
    device: null,
    resource: { type: 'subnet', id: subnet.id, name: str(subnet, 'name') || undefined },
    check: 'metadata route',
  };
  const want = `${METADATA_CIDR},${nextHop}`;
  const expected = { option: 'classless-static-route (121)', route: want };
  const owner = `the ${AGENT_DHCP} on ${host} writes it (dhcp.py _generate_opts_per_subnet); ${agentNote(ctx, host, AGENT_DHCP)}`;
  const node = ctx.nodes[host];
  const o = namespaceOr(node, base, expected, owner);
  if (isDraft(o)) return o;
  const procs = node!.dump!.dhcp?.[ns];
  const argv = procs ? Object.values(procs.cmdlines).find((a) => a?.[0] === 'dnsmasq') : undefined;
  const path = argv ? argValue(argv, '--dhcp-optsfile') : undefined;
  const text = path ? (procs!.files[path] ?? null) : null;
  const command = path ? `cat ${path}` : `ip netns pids ${ns}; cat /proc/PID/cmdline`;
  if (text === null)
    return result(base, expected, null, [{ command }], {
      status: 'unknown',
      reason: 'NODE_UNREADABLE',
      cause: `dnsmasq's options file in ${ns} on ${host} could not be read: the route DHCP gives cannot be told`,
    });
  const line = parseOptsFile(text).find(
    (x) => x.tags.includes(`subnet-${subnet.id}`) && x.option === 'classless-static-route' && x.values.join(',').includes(want),
  );
  if (!line)
    return result(base, expected, { route: null }, [{ command }], {
      status: 'missing',
      reason: 'METADATA_ROUTE_MISSING',
      cause: `DHCP gives instances on subnet ${str(subnet, 'cidr')} no route ${METADATA_CIDR} via ${nextHop} (option 121): on this isolated network their requests to ${METADATA_CIDR.split('/')[0]} go to the default gateway, not to the proxy; ${owner}`,
    });
  return result(base, expected, { route: want }, [{ command, line: line.line }]);
}

/** One route of `ip -j route` as the hop needs it. */
interface JsonRoute {
  dst: string;
  gateway?: string;
  dev?: string;
}

/** The route the kernel picks for 169.254.169.254 (longest prefix) in `ip -4 -j route` output; undefined when none fits. */
export function metadataRouteOf(routes: readonly JsonRoute[]): JsonRoute | undefined {
  const target = parseIp(METADATA_IP)!;
  let best: { route: JsonRoute; length: number } | undefined;
  for (const r of routes) {
    const prefix = parsePrefix(r.dst === 'default' ? '0.0.0.0/0' : r.dst);
    if (prefix && cidrContains(prefix, target) && (!best || prefix.prefixLength > best.length))
      best = { route: r, length: prefix.prefixLength };
  }
  return best?.route;
}

const routeLine = (r: JsonRoute) => `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}${r.dev ? ` dev ${r.dev}` : ''}`;

/** The instance's route table, when its node's dump has it (the instance's port is bound there). */
export function instanceRouteTable(
  ctx: TraceContext,
  port: ApiObject,
): { host: string; namespace: string; routes: string | null } | undefined {
  const host = str(port, 'binding:host_id');
  const t = ctx.nodes[host]?.dump?.instanceRoutes?.[str(port, 'device_id')];
  return t ? { host, ...t } : undefined;
}

/**
 * The route the instance itself takes to 169.254.169.254, from its route table: it must lead to
 * `nextHop` (the router's gateway address, or the DHCP port where the isolated network's proxy listens).
 */
export function instanceMetadataRouteHop(ctx: TraceContext, port: ApiObject, subnet: ApiObject, nextHop: string): HopDraft | null {
  const table = instanceRouteTable(ctx, port);
  if (!table) return null;
  const base: HopBase = {
    leg,
    node: table.host,
    namespace: table.namespace,
    device: null,
    resource: { type: 'port', id: port.id },
    check: 'metadata route',
  };
  const expected = { route: `${METADATA_IP} via ${nextHop}` };
  const command = `ip netns exec ${table.namespace} ip -4 route show table main`;
  let routes: JsonRoute[] | null = null;
  try {
    routes = table.routes === null ? null : (JSON.parse(table.routes) as JsonRoute[]);
  } catch {
    routes = null;
  }
  if (!Array.isArray(routes))
    return result(base, expected, null, [{ command }], {
      status: 'unknown',
      reason: 'NODE_UNREADABLE',
      cause: `the route table of the instance (namespace ${table.namespace}) could not be read: its route to ${METADATA_IP} cannot be told`,
    });
  const chosen = metadataRouteOf(routes);
  if (!chosen || chosen.gateway !== nextHop)
    return result(
      base,
      expected,
      { route: chosen ? routeLine(chosen) : null },
      [{ command, ...(chosen ? { line: routeLine(chosen) } : {}) }],
      {
        status: 'missing',
        reason: 'METADATA_ROUTE_MISSING',
        cause: chosen
          ? `the instance sends its requests to ${METADATA_IP} by its route ${routeLine(chosen)}, not via ${nextHop}, where the proxy for subnet ${str(subnet, 'cidr')} is reached: it never gets an answer; DHCP gives the route (option 121: renew the lease)`
          : `the instance has no route to ${METADATA_IP} (neither one of its own nor a default route): its requests never leave it; DHCP gives the route via ${nextHop} (option 121: renew the lease)`,
      },
    );
  return result(base, expected, { route: routeLine(chosen) }, [{ command, line: routeLine(chosen) }]);
}
