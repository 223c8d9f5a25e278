// HA routers (Neutron's L3 agent with keepalived: neutron/agent/l3/ha_router.py, agent/linux/keepalived.py):
// every node hosting the router runs keepalived in its qrouter- namespace, and exactly one of them
// is primary — its `ha-` device holds keepalived's primary VIP and its qr-/qg- devices the router's
// addresses; the others hold none of them. The server's `ha_state` per agent (GET
// /v2.0/routers/{id}/l3-agents) follows what the agents reported. Read from what is there, never
// from how neutrino builds it: a keepalived is any process of that name in the namespace, a primary
// any node whose `ha-` holds an address that is no HA port's. Pure.
import { AGENT_L3, ROUTER_HA_INTF_OWNER } from '../../model/neutron.ts';
import { haName, routerNamespace } from '../../kernel/names.ts';
import { HOST } from '../../kernel/types.ts';
import { agentNote, str, type TraceContext } from '../context.ts';
import { haPortAddresses, holdsPrimaryVip } from '../expect/ha-primary.ts';
import { isKeepalived, keepalivedStateFileOf } from '../read/collect-dhcp.ts';
import { routerHostsRefused } from '../read/host-refusals.ts';
import type { Hop } from '../report.ts';
import type { ApiObject } from '../snapshot.ts';
import { isDraft, namespaceOr, observeCommand, processesCommand, result, routerProcessesOr, unreadable, type HopDraft } from './checks.ts';
import { routerRef, routerSysctlHop } from './router.ts';

export const isHaRouter = (router: ApiObject) => router['ha'] === true;

const routerName = (r: ApiObject) => str(r, 'name') || r.id;
const hostsOf = (ctx: TraceContext, router: ApiObject) => ctx.api.router_hosts[router.id] ?? [];
/** The server's ha_state of the router per host ('active', 'standby'); empty when not read. */
const serverStates = (ctx: TraceContext, router: ApiObject) => ctx.api.router_ha_states?.[router.id] ?? {};
const activeOnServer = (ctx: TraceContext, router: ApiObject) =>
  Object.entries(serverStates(ctx, router))
    .filter(([, s]) => s === 'active')
    .map(([h]) => h);

/** What one node shows of the router's VRRP; null when its namespace was not read. */
interface VrrpOnNode {
  /** its ha- holds keepalived's primary VIP */
  primary: boolean;
  /** the router's addresses on its qr-/qg- devices (link-local ones left out: the kernel may add those itself) */
  vips: string[];
}

function vrrpOn(ctx: TraceContext, router: ApiObject, host: string): VrrpOnNode | null {
  const ns = ctx.nodes[host]?.observed.namespaces[routerNamespace(router.id)];
  if (!ns) return null;
  return {
    primary: holdsPrimaryVip(ns.addresses, haPortAddresses(ctx.api, router.id)),
    vips: ns.addresses.filter((a) => /^q[rg]-/.test(a.dev) && !a.address.startsWith('fe80:')).map((a) => `${a.address} dev ${a.dev}`),
  };
}

/** The hosts where the kernel shows the router primary, in the order the API lists its hosts. */
const kernelPrimaries = (ctx: TraceContext, router: ApiObject) => hostsOf(ctx, router).filter((h) => vrrpOn(ctx, router, h)?.primary);

/**
 * The node a path through the router takes: an HA router's primary as the kernel shows it (of two,
 * the one the server calls active), else the node the server calls active, else its first host; a
 * legacy router's host. Null when no L3 agent hosts it.
 */
export function routerHostOf(ctx: TraceContext, router: ApiObject): string | null {
  const hosts = hostsOf(ctx, router);
  if (!isHaRouter(router)) return hosts[0] ?? null;
  const primaries = kernelPrimaries(ctx, router);
  const active = activeOnServer(ctx, router);
  return primaries.find((h) => active.includes(h)) ?? primaries[0] ?? active.find((h) => hosts.includes(h)) ?? hosts[0] ?? null;
}

/**
 * The verdict on a router whose host is not known: not scheduled (`cause`) — unless the API refused
 * to say where routers run (l3-agents answered 403, as it does to a member, whose view hides its
 * ports' binding:host_id too): then unknown, not a fault of the cloud's.
 */
export function routerNotHosted(
  ctx: TraceContext,
  router: ApiObject,
  cause: string,
): { status: 'missing' | 'unknown'; reason: 'ROUTER_NOT_SCHEDULED' | 'API_UNREADABLE'; cause: string } {
  const refused = routerHostsRefused(ctx.api.errors);
  if (!refused) return { status: 'missing', reason: 'ROUTER_NOT_SCHEDULED', cause };
  const name = str(router, 'name') || router.id;
  return unreadable(`where router ${name} runs`, `${refused}, and its ports' binding:host_id is hidden`, ": trace with an admin's");
}

const keepalivedOwner = (ctx: TraceContext, host: string, router: ApiObject) =>
  `the ${AGENT_L3} on ${host} runs it for router ${routerName(router)} (neutron/agent/linux/keepalived.py; its process monitor restarts it); ${agentNote(ctx, host, AGENT_L3)}`;

/** keepalived of the router on `host`, and no router address held there while it is not primary. */
function keepalivedHop(ctx: TraceContext, router: ApiObject, host: string, leg: Hop['leg']): HopDraft {
  const node = ctx.nodes[host];
  const ns = routerNamespace(router.id);
  const haPort = ctx.api.ports.find(
    (p) => p['device_id'] === router.id && p['device_owner'] === ROUTER_HA_INTF_OWNER && p['binding:host_id'] === host,
  );
  const base = {
    leg,
    node: host,
    namespace: ns,
    device: haPort ? haName(haPort.id) : null,
    resource: routerRef(router),
    check: 'keepalived',
  };
  const expected = { process: 'keepalived' };
  const owner = keepalivedOwner(ctx, host, router);
  const o = namespaceOr(node, base, expected, owner);
  if (isDraft(o)) return o;
  const procs = routerProcessesOr(node!, base, expected, `keepalived runs for router ${routerName(router)}`);
  if (isDraft(procs)) return procs;
  const command = processesCommand(ns);
  const vrrp = vrrpOn(ctx, router, host)!;
  const state = vrrp.primary ? 'primary' : 'backup';
  const running = Object.entries(procs.cmdlines).filter((e): e is [string, string[]] => isKeepalived(e[1]));
  const stateFile = running.length ? keepalivedStateFileOf(running[0]![1]) : undefined;
  const stateText = stateFile ? (procs.files[stateFile] ?? null) : null;
  const observed = {
    process: running.length ? 'keepalived' : null,
    ...(running.length ? { pids: running.map(([pid]) => Number(pid)) } : {}),
    vrrp: state,
    addresses: vrrp.vips,
    ...(stateText !== null ? { state_file: stateText.trim() } : {}),
    ...(serverStates(ctx, router)[host] ? { ha_state: serverStates(ctx, router)[host] } : {}),
  };
  const evidence = [
    { command, ...(running.length ? { line: `${running[0]![0]} ${running[0]![1].join(' ')}` } : {}) },
    { command: observeCommand(ns, 'addr'), line: vrrp.vips.join(', ') || `no address on qr-/qg- (${state})` },
    ...(stateFile && stateText !== null ? [{ command: `cat ${stateFile}`, line: stateText.trim() }] : []),
  ];
  if (!running.length)
    return result(base, expected, observed, evidence, {
      status: 'missing',
      reason: 'HA_KEEPALIVED_NOT_RUNNING',
      cause: `keepalived is not running for router ${routerName(router)} in ${ns} on ${host}: ${
        vrrp.primary || vrrp.vips.length
          ? 'its addresses stay there with no VRRP advertisement defending them, so another node turns primary too'
          : 'this node takes no part in VRRP and cannot take over when the primary fails'
      }; ${owner}`,
    });
  if (!vrrp.primary && vrrp.vips.length)
    return result(base, expected, observed, evidence, {
      status: 'mismatch',
      reason: 'HA_VIPS_ON_STANDBY',
      cause: `${host} holds router ${routerName(router)}'s addresses (${vrrp.vips.join(', ')}) in ${ns} though keepalived there is not primary (${base.device ?? 'ha-'} has no primary VIP): keepalived adds them on the primary only, and the same addresses with the same MACs on two nodes take traffic from the primary`,
    });
  return result(base, expected, observed, evidence);
}

/** Exactly one primary among the router's nodes, and the server's ha_state agreeing with the kernel. */
function vrrpHop(ctx: TraceContext, router: ApiObject, walked: string | null, leg: Hop['leg']): HopDraft {
  const hosts = hostsOf(ctx, router);
  const ns = routerNamespace(router.id);
  const base = { leg, node: walked ?? '', namespace: walked ? ns : HOST, device: null, resource: routerRef(router), check: 'VRRP primary' };
  const expected = { primary: `one of ${hosts.join(', ')}` };
  const read = hosts.filter((h) => vrrpOn(ctx, router, h) !== null);
  const primaries = kernelPrimaries(ctx, router);
  const server = serverStates(ctx, router);
  const observed = { primary: primaries, ...(Object.keys(server).length ? { ha_state: server } : {}) };
  const evidence = [
    ...read.map((h) => ({
      command: `${observeCommand(ns, 'addr')} (on ${h})`,
      line: `${h}: ${vrrpOn(ctx, router, h)!.primary ? 'primary' : 'backup'}`,
    })),
    ...(Object.keys(server).length
      ? [
          {
            command: `GET /v2.0/routers/${router.id}/l3-agents`,
            line: Object.entries(server)
              .map(([h, s]) => `${h} ${s}`)
              .join(', '),
          },
        ]
      : []),
  ];
  const name = routerName(router);
  if (primaries.length === 0 && read.length < hosts.length)
    return result(base, expected, observed, evidence, {
      status: 'unknown',
      reason: 'NODE_UNREADABLE',
      cause: `none of the nodes read holds router ${name} as primary, and ${hosts.filter((h) => !read.includes(h)).join(', ')} was not read`,
    });
  if (primaries.length === 0)
    return result(base, expected, observed, evidence, {
      status: 'missing',
      reason: 'HA_NO_PRIMARY',
      cause: `no node is primary for router ${name}: keepalived holds its VIPs on none of ${hosts.join(', ')}, so nothing answers for the router's addresses (keepalived not running, or its VRRP instance in FAULT: its ha- device down)`,
    });
  if (primaries.length > 1)
    return result(base, expected, observed, evidence, {
      status: 'mismatch',
      reason: 'HA_SPLIT_BRAIN',
      cause: `router ${name} is primary on ${primaries.join(' and ')} at once (split brain: each holds its VIPs): their VRRP advertisements do not reach each other over the HA network, and the provider network's switches send the router's traffic to whichever node spoke last`,
    });
  const disagree = Object.entries(server).filter(
    ([h, s]) => (s === 'active' || s === 'standby') && (s === 'active') !== primaries.includes(h),
  );
  if (disagree.length)
    return result(base, expected, observed, evidence, {
      status: 'mismatch',
      reason: 'HA_STATE_MISMATCH',
      cause: `the server's ha_state for router ${name} (${disagree.map(([h, s]) => `${h} ${s}`).join(', ')}) disagrees with the kernel, where ${primaries[0]} is primary: the ${AGENT_L3} there has not reported the change (the server keeps the router's ports bound to the node it believes active); ${agentNote(ctx, primaries[0]!, AGENT_L3)}`,
    });
  return result(base, expected, observed, evidence);
}

/** HaRouterNamespace.create sets ip_nonlocal_bind = 1 in an HA router's namespace. */
function nonlocalBindHop(ctx: TraceContext, router: ApiObject, host: string, leg: Hop['leg']): HopDraft {
  return routerSysctlHop(
    ctx,
    host,
    router,
    leg,
    { key: 'net.ipv4.ip_nonlocal_bind', check: 'ip_nonlocal_bind', want: '1' },
    (v, ns, owner) => ({
      reason: 'HA_NONLOCAL_BIND_OFF',
      cause: `net.ipv4.ip_nonlocal_bind is ${v} in ${ns} on ${host}: daemons cannot bind the router's addresses while this node is not primary, as Neutron's HA routers let them; ${owner}`,
    }),
  );
}

/**
 * The HA hops of a path through `router`, which walks on `walked`: per node hosting it, keepalived
 * running, no addresses on a standby, ip_nonlocal_bind; then one primary, as the server says. None
 * for a legacy router (or one whose `ha` the caller may not see).
 */
export function haHops(ctx: TraceContext, router: ApiObject, walked: string | null, leg: Hop['leg']): HopDraft[] {
  if (!isHaRouter(router)) return [];
  const perNode = hostsOf(ctx, router).flatMap((h) => [keepalivedHop(ctx, router, h, leg), nonlocalBindHop(ctx, router, h, leg)]);
  return [...perNode, vrrpHop(ctx, router, walked, leg)];
}
