// Parser of `ip -j -d link show` into ObservedLink (veth peers still unresolved: ifindex + netnsid only).
import type { BridgePortState, ObservedLink } from '../kernel/types.ts';
import { VXLAN_UDP_PORT } from '../model/neutron.ts';
import { num, optNum, optObj, optStr, parseArray, str, strList, type Obj } from './json.ts';

const SRC = 'ip -j -d link show';

export function parseLinks(text: string): ObservedLink[] {
  return parseArray(text, SRC).map(parseLink);
}

export function parseLink(o: Obj): ObservedLink {
  const info = optObj(o, 'linkinfo');
  const data = info ? optObj(info, 'info_data') : undefined;
  const kind = kindOf(optStr(info ?? {}, 'info_kind'), data);
  const link: ObservedLink = {
    ifindex: num(o, 'ifindex', SRC),
    name: str(o, 'ifname', SRC),
    kind,
    mtu: num(o, 'mtu', SRC),
    up: strList(o, 'flags').includes('UP'),
    operstate: optStr(o, 'operstate') ?? 'UNKNOWN',
    master: optStr(o, 'master') ?? null,
    mac: optStr(o, 'address') ?? '',
    alias: optStr(o, 'ifalias') ?? null,
  };
  const peerIndex = optNum(o, 'link_index');
  if (kind === 'veth' && peerIndex !== undefined) {
    // link_netnsid is present only when the peer lives in another namespace; it is an id local to
    // this namespace (see `ip netns list-id`), resolved to a name by observe/node.ts.
    const netnsid = optNum(o, 'link_netnsid');
    link.peer = netnsid === undefined ? { ifindex: peerIndex } : { ifindex: peerIndex, netnsid };
  }
  if (kind === 'vxlan' && data) link.vxlan = vxlanOf(data);
  if (kind === 'vlan' && data) {
    // `link` names the parent when it lives in the same namespace.
    const parent = optStr(o, 'link');
    link.vlan = parent === undefined ? { id: num(data, 'id', SRC) } : { id: num(data, 'id', SRC), dev: parent };
  }
  if (kind === 'bridge' && data) {
    link.bridge = { forwardDelay: optNum(data, 'forward_delay') ?? 0, stp: (optNum(data, 'stp_state') ?? 0) !== 0 };
  }
  const slave = info ? optObj(info, 'info_slave_data') : undefined;
  if (info?.['info_slave_kind'] === 'bridge' && slave) link.port = portOf(slave);
  return link;
}

export function portOf(d: Obj): BridgePortState {
  return { state: optStr(d, 'state') ?? 'unknown', learning: d['learning'] === true, flood: d['flood'] === true };
}

/** No info_kind: a physical NIC or lo. tun devices say in info_data whether they are tap or tun. */
function kindOf(infoKind: string | undefined, data: Obj | undefined): string {
  if (infoKind === undefined) return 'device';
  if (infoKind === 'tun') return optStr(data ?? {}, 'type') === 'tap' ? 'tap' : 'tun';
  return infoKind;
}

function vxlanOf(d: Obj): NonNullable<ObservedLink['vxlan']> {
  const v: NonNullable<ObservedLink['vxlan']> = {
    vni: num(d, 'id', SRC),
    // The kernel's default port when none was given is 8472 (Linux's historic VXLAN port).
    dstport: optNum(d, 'port') ?? VXLAN_UDP_PORT,
    learning: d['learning'] === true,
    proxy: d['proxy'] === true,
  };
  const local = optStr(d, 'local') ?? optStr(d, 'local6');
  if (local !== undefined) v.local = local;
  const dev = optStr(d, 'link');
  if (dev !== undefined) v.dev = dev;
  const group = optStr(d, 'group') ?? optStr(d, 'group6');
  if (group !== undefined) v.group = group;
  // 0 (auto/inherit) is the kernel's default and left out, as a spec without ttl/tos says it.
  const ttl = optNum(d, 'ttl');
  if (ttl) v.ttl = ttl;
  const tos = typeof d['tos'] === 'string' && /^0x[0-9a-f]+$/i.test(d['tos']) ? parseInt(d['tos'], 16) : optNum(d, 'tos');
  if (tos) v.tos = tos;
  return v;
}
