// The multicast group of a VXLAN network in Neutron's VXLAN MCAST mode (l2_population off): the
// [vxlan] vxlan_group address, or with a prefix one address of it chosen by the VNI, so different
// VNIs can use different groups (Neutron's get_vxlan_group). Pure.
import { ipAt, parseIp, parsePrefix, type IpVersion } from '../model/ip.ts';

const MULTICAST: Record<IpVersion, string> = { 4: '224.0.0.0/4', 6: 'ff00::/8' };

/** Why `group` cannot be the vxlan_group next to local_ip `localIp`, or null when it can. */
export function vxlanGroupProblem(group: string, localIp: string): string | null {
  const net = parsePrefix(group);
  const local = parseIp(localIp);
  if (!net || !local) return `'${group}' is not an address or a network in CIDR notation`;
  const range = parsePrefix(MULTICAST[net.version])!;
  if (net.version !== local.version || net.network < range.network || net.last > range.last)
    return `'${group}' must be a multicast address or network of the same address family as local_ip ${localIp}`;
  return null;
}

/** The group address of VNI `vni`: the network's address plus the VNI's bits that fit in its host part. */
export function vxlanGroupOf(group: string, vni: number): string {
  const net = parsePrefix(group)!;
  return ipAt(net, net.network + (BigInt(vni) & (net.last - net.network)));
}
