// Parsers of `bridge -j fdb show` and `bridge -j -d link show`.
import type { BridgePortState, ObservedFdb } from '../kernel/types.ts';
import { canonicalIpOrThrow, canonicalMac } from '../kernel/values.ts';
import { num, optNum, optStr, parseArray, str, strList } from './json.ts';
import { portOf } from './link.ts';

export function parseFdb(text: string): ObservedFdb[] {
  const src = 'bridge -j fdb show';
  return parseArray(text, src).map((e) => {
    const entry: ObservedFdb = {
      mac: canonicalMac(str(e, 'mac', src)),
      dev: str(e, 'ifname', src),
      flags: strList(e, 'flags'),
      // Learned entries print state "" (not permanent, not static).
      state: optStr(e, 'state') ?? '',
    };
    const dst = optStr(e, 'dst');
    if (dst !== undefined) entry.dst = canonicalIpOrThrow(dst);
    const master = optStr(e, 'master');
    if (master !== undefined) entry.master = master;
    const vlan = optNum(e, 'vlan');
    if (vlan !== undefined) entry.vlan = vlan;
    return entry;
  });
}

export interface BridgePort extends BridgePortState {
  ifindex: number;
  name: string;
  master: string;
}

/**
 * Ports as `bridge link` sees them. Its "link" field is not used: for a veth whose peer is in
 * another namespace, bridge(8) 6.1 looks the peer's ifindex up in the wrong namespace and prints
 * an unrelated device (seen here: eth1 for a peer that is ns-… in an instance namespace).
 */
export function parseBridgePorts(text: string): BridgePort[] {
  const src = 'bridge -j -d link show';
  return parseArray(text, src).map((p) => ({
    ifindex: num(p, 'ifindex', src),
    name: str(p, 'ifname', src),
    master: str(p, 'master', src),
    ...portOf(p),
  }));
}
