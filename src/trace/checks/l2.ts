// The L2 hops of a path on one node (Neutron's Linux bridge agent): the network's bridge, its
// uplink (the mapped NIC of a flat network, its subinterface <nic>.<vid> of a VLAN one, vxlan-N of a
// VXLAN one), a port's tap, and the l2population entries toward another node's VTEP. Pure.
import { AGENT_L2 } from '../../model/neutron.ts';
import { bridgeName, tapName, vlanSubinterfaceName, vxlanName } from '../../kernel/names.ts';
import { HOST } from '../../kernel/types.ts';
import { FLOOD_MAC } from '../../planner/l2.ts';
import { agentNote, agentsUnreadable, type TraceContext } from '../context.ts';
import {
  apiHop,
  checkLink,
  desiredLink,
  isDraft,
  namespaceOr,
  observeCommand,
  result,
  wantOf,
  type HopBase,
  type HopDraft,
  unreadable,
} from './checks.ts';
import type { Hop, ResourceRef } from '../report.ts';
import type { ApiObject } from '../snapshot.ts';

export const netRef = (net: ApiObject): ResourceRef => ({ type: 'network', id: net.id, name: String(net['name'] ?? '') });
export const portRef = (port: ApiObject): ResourceRef => ({ type: 'port', id: port.id, name: String(port['name'] ?? '') });

/** The API shows `port` bound to no host: no node plugs it, so no hop past this one can be located. */
export const portUnboundHop = (port: ApiObject, cause: string): HopDraft =>
  result(apiHop('port bound', portRef(port)), { 'binding:host_id': 'a host' }, { 'binding:host_id': '' }, [], {
    status: 'missing',
    reason: 'PORT_NOT_BOUND',
    cause,
  });
/** The network's segment: its provider:* attributes, or (several segments) the first of `segments`. */
export function segmentOf(net: ApiObject) {
  const several = Array.isArray(net['segments']) ? (net['segments'] as Array<Record<string, unknown>>) : [];
  const src: Record<string, unknown> = net['provider:network_type'] === undefined && several.length ? several[0]! : net;
  return {
    type: String(src['provider:network_type'] ?? ''),
    physnet: (src['provider:physical_network'] as string | null) ?? null,
    vni: (src['provider:segmentation_id'] as number | null) ?? null,
    mtu: Number(net['mtu'] ?? 1500),
  };
}

const l2Owner = (ctx: TraceContext, host: string, what: string) =>
  `the ${AGENT_L2} on ${host} makes it for ${what}; ${agentNote(ctx, host, AGENT_L2)}`;

/** The L2 agent's liveness on a node the path crosses. */
export function agentHop(ctx: TraceContext, host: string, type: string, leg: Hop['leg']): HopDraft {
  const a = ctx.api.agents.find((x) => x['host'] === host && x['agent_type'] === type);
  const base = {
    leg,
    node: host,
    namespace: HOST,
    device: null,
    resource: { type: 'agent' as const, id: a?.id ?? '', name: `${type} on ${host}` },
    check: 'agent alive',
  };
  const evidence = [
    {
      command: 'GET /v2.0/agents',
      ...(a
        ? { line: JSON.stringify({ id: a.id, host, agent_type: type, alive: a['alive'], heartbeat_timestamp: a['heartbeat_timestamp'] }) }
        : {}),
    },
  ];
  const refused = a ? null : agentsUnreadable(ctx);
  if (refused)
    return result(base, { agent_type: type, alive: true }, null, evidence, unreadable(`whether the ${type} on ${host} runs`, refused));
  if (!a)
    return result(base, { agent_type: type, alive: true }, null, evidence, {
      status: 'missing',
      reason: 'AGENT_DOWN',
      cause: `no ${type} is registered on ${host}: nothing configures this node's part of the path`,
    });
  const observed = { alive: a['alive'], heartbeat_timestamp: a['heartbeat_timestamp'], admin_state_up: a['admin_state_up'] };
  if (a['alive'] === false) {
    return result(base, { agent_type: type, alive: true }, observed, evidence, {
      status: 'down',
      reason: 'AGENT_DOWN',
      cause: `${agentNote(ctx, host, type)}: changes to this node's part of the path are not applied and drift is not repaired (start the agent; see its log)`,
    });
  }
  return result(base, { agent_type: type, alive: true }, observed, evidence);
}

/** A flat network's existing bridge from the node's bridge_mappings, with the setting it comes from. */
function mappedBridgeOf(ctx: TraceContext, host: string, net: ApiObject): { bridge: string; setting: string } | null {
  const seg = segmentOf(net);
  const mappings = ctx.nodes[host]?.settings['bridge_mappings'];
  const bridge = seg.type === 'flat' && seg.physnet && mappings ? mappingOf(mappings.value, seg.physnet) : undefined;
  return bridge ? { bridge, setting: `[linux_bridge] bridge_mappings = ${mappings!.value} (${mappings!.source})` } : null;
}

/** The network's bridge and its uplink on a node. `peerHost` is the other end of a VXLAN leg, for the cause. */
export function segmentHops(ctx: TraceContext, host: string, net: ApiObject, leg: Hop['leg']): HopDraft[] {
  const node = ctx.nodes[host];
  const seg = segmentOf(net);
  const mapped = mappedBridgeOf(ctx, host, net);
  if (mapped) {
    // bridge_mappings: the node's own bridge is the network's bridge and its way out; the agent only brings it up.
    const owner = `it is not made by the ${AGENT_L2}: bridge_mappings names it for physical network ${seg.physnet}`;
    const base = { leg, node: host, namespace: HOST, device: mapped.bridge, resource: netRef(net), setting: mapped.setting };
    return [
      checkLink(node, { ...base, check: 'bridge' }, { name: mapped.bridge, up: true }, owner),
      checkLink(node, { ...base, check: 'uplink' }, { name: mapped.bridge, up: true }, owner),
    ];
  }
  const bridge = bridgeName(net.id);
  const ref = netRef(net);
  const hops: HopDraft[] = [];
  const bridgeHop = checkLink(
    node,
    { leg, node: host, namespace: HOST, device: bridge, resource: ref, check: 'bridge' },
    wantOf(desiredLink(node, HOST, bridge), { name: bridge, up: true }),
    l2Owner(ctx, host, `network ${net['name'] || net.id}`),
  );
  const uplink = (): HopDraft => {
    if (seg.type === 'vxlan' && seg.vni !== null) {
      const name = vxlanName(seg.vni);
      const local = node?.settings['local_ip'];
      const base = {
        leg,
        node: host,
        namespace: HOST,
        device: name,
        resource: ref,
        check: 'vxlan',
        setting: local ? `[vxlan] local_ip = ${local.value} (${local.source})` : undefined,
      };
      if (!local)
        return result(base, { name, vni: seg.vni }, null, [], {
          status: 'unknown',
          reason: 'CONFIG_MISSING',
          cause: `[vxlan] local_ip of ${host} is unknown (agent config not read and no tunneling_ip reported): cannot tell where vxlan-${seg.vni} should sit`,
        });
      const spec = desiredLink(node, HOST, name);
      return checkLink(
        node,
        base,
        wantOf(spec, { name, up: true, master: bridge, mtu: seg.mtu, vxlan: { vni: seg.vni, local: local.value } }),
        l2Owner(ctx, host, `VXLAN network ${net['name'] || net.id} (VNI ${seg.vni})`),
      );
    }
    const mappings = node?.settings['physical_interface_mappings'];
    const nic = mappings && seg.physnet ? mappingOf(mappings.value, seg.physnet) : undefined;
    const setting = mappings ? `[linux_bridge] physical_interface_mappings = ${mappings.value} (${mappings.source})` : undefined;
    const base = { leg, node: host, namespace: HOST, device: nic ?? null, resource: ref, check: 'uplink', setting };
    if (!nic) {
      return result(base, { physical_network: seg.physnet }, null, [], {
        status: 'missing',
        reason: 'UPLINK_MISSING',
        cause: `${host} has no interface for physical network '${seg.physnet}': [linux_bridge] physical_interface_mappings ${mappings ? `is '${mappings.value}'` : 'was not read'}; add ${seg.physnet}:<NIC>`,
      });
    }
    if (seg.type === 'vlan' && seg.vni !== null) return vlanUplinkHop(ctx, host, net, nic, { ...base, device: nic });
    const hop = checkLink(
      node,
      base,
      { name: nic, up: true, master: bridge },
      `the ${AGENT_L2} on ${host} enslaves it (physical_interface_mappings ${seg.physnet}:${nic}); ${agentNote(ctx, host, AGENT_L2)}`,
    );
    if (hop.reason === 'DEVICE_MISSING') hop.reason = 'UPLINK_MISSING';
    return hop;
  };
  // Toward the bridge from outside, the uplink comes first; from a port, the bridge first.
  hops.push(bridgeHop, uplink());
  return hops;
}

/**
 * A VLAN network's uplink on a node: the subinterface `<nic>.<vid>` in the bridge with the network's
 * VLAN id on the mapped NIC, and that NIC up (a subinterface of a down NIC carries nothing).
 */
function vlanUplinkHop(ctx: TraceContext, host: string, net: ApiObject, nic: string, base: HopBase): HopDraft {
  const node = ctx.nodes[host];
  const seg = segmentOf(net);
  const vid = seg.vni!;
  const name = vlanSubinterfaceName(nic, vid);
  const bridge = bridgeName(net.id);
  const owner = `the ${AGENT_L2} on ${host} creates it on ${nic} for VLAN network ${net['name'] || net.id} (VLAN ${vid} of physical network ${seg.physnet}); ${agentNote(ctx, host, AGENT_L2)}`;
  const want = wantOf(desiredLink(node, HOST, name), { name, up: true, master: bridge, vlan: { id: vid, dev: nic } });
  const hop = checkLink(node, { ...base, device: name, check: 'vlan' }, want, owner);
  if (hop.reason === 'DEVICE_MISSING') hop.reason = 'VLAN_SUBINTERFACE_MISSING';
  if (hop.status !== 'ok') return hop;
  const parentOwner = `it carries ${name}'s tagged frames to the physical network; the ${AGENT_L2} on ${host} sets it up`;
  const parent = checkLink(node, { ...base, device: nic, check: 'vlan parent' }, { name: nic, up: true }, parentOwner);
  if (parent.reason === 'DEVICE_DOWN') parent.reason = 'VLAN_PARENT_DOWN';
  else if (parent.reason === 'DEVICE_MISSING') parent.reason = 'UPLINK_MISSING';
  return parent.status === 'ok' ? hop : parent;
}

export function mappingOf(mappings: string, physnet: string): string | undefined {
  for (const pair of mappings.split(',')) {
    const [k, v] = pair.split(':').map((s) => s.trim());
    if (k === physnet && v) return v;
  }
  return undefined;
}

/** A port's tap in its network's bridge (instances; the router's own taps are checked with their veth). */
export function tapHop(ctx: TraceContext, host: string, port: ApiObject, net: ApiObject, leg: Hop['leg']): HopDraft {
  const node = ctx.nodes[host];
  const name = tapName(port.id);
  const base = { leg, node: host, namespace: HOST, device: name, resource: portRef(port), check: 'tap in bridge' };
  const spec = desiredLink(node, HOST, name);
  const want = wantOf(spec, { name, up: port['admin_state_up'] !== false, master: bridgeName(net.id), mtu: segmentOf(net).mtu });
  delete want.peer; // an instance tap's other side is the hypervisor's, not neutrino's
  const owner = `the hypervisor creates it for port ${port.id} and the ${AGENT_L2} on ${host} puts it in ${bridgeName(net.id)}; port status is ${port['status']}; ${agentNote(ctx, host, AGENT_L2)}`;
  return checkLink(node, base, want, owner);
}

/**
 * l2population on `host`'s vxlan-N toward the node holding `mac`: the unicast fdb entry (and the
 * flooding one), and the ARP proxy entry for `ip`.
 */
export function fdbHop(
  ctx: TraceContext,
  host: string,
  net: ApiObject,
  target: { mac: string; ip: string | null; host: string; vtep: string | null; what: string },
  leg: Hop['leg'],
): HopDraft {
  const node = ctx.nodes[host];
  const seg = segmentOf(net);
  const dev = vxlanName(seg.vni ?? 0);
  const spec = desiredLink(node, HOST, dev);
  if (spec?.kind === 'vxlan' && spec.vxlan.group !== undefined) return multicastHop(ctx, host, net, spec.vxlan.group, target, leg);
  const base = { leg, node: host, namespace: HOST, device: dev, resource: netRef(net), check: 'l2population' };
  const expected: Record<string, unknown> = {
    fdb: `${target.mac} dst ${target.vtep ?? '?'} self permanent`,
    flood: `${FLOOD_MAC} dst ${target.vtep ?? '?'} self permanent`,
  };
  if (target.ip && node?.desired?.namespaces[HOST]?.neigh.some((n) => n.dev === dev && n.ip === target.ip))
    expected.neigh = `${target.ip} lladdr ${target.mac} PERMANENT`;
  const owner = `the ${AGENT_L2} on ${host} adds it (l2population) for ${target.what} on ${target.host}; ${agentNote(ctx, host, AGENT_L2)}`;
  if (!target.vtep) {
    return result(base, expected, null, [], {
      status: 'unknown',
      reason: 'CONFIG_MISSING',
      cause: `${target.host}'s VTEP address is unknown: its ${AGENT_L2} reports no tunneling_ip`,
    });
  }
  const ns = namespaceOr(node, base, expected, owner);
  if (isDraft(ns)) return ns;
  const entries = ns.fdb.filter((f) => f.dev === dev && f.dst !== undefined);
  const unicast = entries.find((f) => f.mac === target.mac && f.dst === target.vtep);
  const flood = entries.find((f) => f.mac === FLOOD_MAC && f.dst === target.vtep);
  // The ARP proxy entry is expected only where the planner wants one ([vxlan] arp_responder).
  const wantNeigh = !!target.ip && !!node?.desired?.namespaces[HOST]?.neigh.some((n) => n.dev === dev && n.ip === target.ip);
  const neigh = target.ip ? ns.neigh.find((n) => n.dev === dev && n.ip === target.ip) : undefined;
  // IPv6 has no ARP: the VXLAN device answers neighbour solicitations from the same proxy entries.
  const v6 = !!target.ip?.includes(':');
  const observed = {
    fdb: entries
      .filter((f) => f.mac === target.mac || f.mac === FLOOD_MAC)
      .map((f) => `${f.mac} dst ${f.dst} ${f.flags.join(' ')} ${f.state}`.trim()),
    neigh: target.ip ? (neigh ? `${neigh.ip} lladdr ${neigh.lladdr ?? '-'} ${neigh.state.join(',')}` : null) : undefined,
  };
  const evidence = [
    {
      command: observeCommand(HOST, 'fdb', dev),
      ...(unicast ? { line: `${unicast.mac} dev ${dev} dst ${unicast.dst} self permanent` } : {}),
    },
    ...(target.ip
      ? [
          {
            command: observeCommand(HOST, v6 ? 'neigh6' : 'neigh', dev),
            ...(neigh ? { line: `${neigh.ip} lladdr ${neigh.lladdr} ${neigh.state.join(',')}` } : {}),
          },
        ]
      : []),
  ];
  if (!ns.links.some((l) => l.name === dev))
    return result(base, expected, observed, evidence, {
      status: 'missing',
      reason: 'DEVICE_MISSING',
      cause: `${dev} does not exist on ${host}, so it has no forwarding entries; ${owner}`,
    });
  if (!unicast && !flood) {
    return result(base, expected, observed, evidence, {
      status: 'missing',
      reason: 'NO_FDB_ENTRY',
      cause: `${dev} on ${host} has no fdb entry for ${target.mac} (nor a flooding entry) toward ${target.vtep}, ${target.host}'s VTEP: frames for ${target.what} go nowhere; ${owner}`,
    });
  }
  if (wantNeigh && (!neigh || (neigh.lladdr ?? '') !== target.mac)) {
    return result(base, expected, observed, evidence, {
      status: 'missing',
      reason: 'NO_ARP_ENTRY',
      cause: v6
        ? `${dev} on ${host} has no neighbour proxy entry ${target.ip} → ${target.mac}${neigh ? ` (it has ${neigh.lladdr})` : ''}: neighbour solicitations for ${target.what} are not answered (the VXLAN device proxies them and does not learn); ${owner}`
        : `${dev} on ${host} has no ARP proxy entry ${target.ip} → ${target.mac}${neigh ? ` (it has ${neigh.lladdr})` : ''}: ARP for ${target.what} is not answered (the VXLAN device proxies ARP and does not learn); ${owner}`,
    });
  }
  return result(base, expected, observed, evidence);
}

/** Each host's VTEP: its L2 agent's reported tunneling_ip, else local_ip from its config. */
export function vtepOf(ctx: TraceContext, host: string): string | null {
  const a = ctx.api.agents.find((x) => x['host'] === host && x['agent_type'] === AGENT_L2);
  const ip = (a?.['configurations'] as { tunneling_ip?: string } | undefined)?.tunneling_ip;
  return ip ?? ctx.nodes[host]?.settings['local_ip']?.value ?? null;
}

/**
 * Without l2population (Neutron's VXLAN MCAST mode) no fdb entries are written: the VXLAN device
 * floods to its multicast group, where the other nodes' devices listen, and learns where MACs are.
 */
function multicastHop(
  ctx: TraceContext,
  host: string,
  net: ApiObject,
  group: string,
  target: { host: string; what: string },
  leg: Hop['leg'],
): HopDraft {
  const node = ctx.nodes[host];
  const dev = vxlanName(segmentOf(net).vni ?? 0);
  const base = { leg, node: host, namespace: HOST, device: dev, resource: netRef(net), check: 'multicast flooding' };
  const expected = { group };
  const owner = `the ${AGENT_L2} on ${host} creates it with the group of [vxlan] vxlan_group (l2_population = false), toward ${target.what} on ${target.host}; ${agentNote(ctx, host, AGENT_L2)}`;
  const ns = namespaceOr(node, base, expected, owner);
  if (isDraft(ns)) return ns;
  const link = ns.links.find((l) => l.name === dev);
  const observed = { group: link?.vxlan?.group ?? null };
  const evidence = [{ command: observeCommand(HOST, 'link', dev) }];
  if (!link)
    return result(base, expected, observed, evidence, {
      status: 'missing',
      reason: 'DEVICE_MISSING',
      cause: `${dev} does not exist on ${host}; ${owner}`,
    });
  if (observed.group !== group)
    return result(base, expected, observed, evidence, {
      status: 'mismatch',
      reason: 'VXLAN_MISCONFIGURED',
      cause: `${dev} on ${host} floods to ${observed.group ?? 'no multicast group'}, not ${group}: broadcasts for ${target.what} do not reach ${target.host}; ${owner}`,
    });
  return result(base, expected, observed, evidence);
}
