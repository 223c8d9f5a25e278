// A remote-group rule matches on the kernel's IP set of the group's members (`-m set --match-set
// NIPv4<group> src`), not on the API's member list: the rule admits the traced source only if the
// set on the port's node holds it. Members are looked up, never compared by position, and only the
// source matters (a real Neutron also puts allowed address pairs in the set). Pure.
import { remoteGroupIpset } from '../../kernel/names.ts';
import { HOST, type ObservedNamespace } from '../../kernel/types.ts';
import { cidrContains, parseIp, parsePrefix } from '../../model/ip.ts';
import type { TraceNode } from '../read/nodes.ts';
import type { HopStatus, Reason } from '../report.ts';

export type SetFinding = { held: true; set: string; member: string } | { held: false; status: HopStatus; reason: Reason; cause: string };

/** Whether an `ipset save` member (an address, or a network for hash:net) holds `address`. */
export function memberHolds(member: string, address: string): boolean {
  const ip = parseIp(address);
  if (!ip) return false;
  if (!member.includes('/')) return parseIp(member)?.version === ip.version && member === address;
  const p = parsePrefix(member);
  return !!p && cidrContains(p, ip);
}

/** The set of `groupId` on the node's own namespace, checked for `source`. */
export function remoteSetFinding(
  node: TraceNode,
  ns: ObservedNamespace,
  groupId: string,
  groupName: string,
  source: string,
  host: string,
): SetFinding {
  const set = remoteGroupIpset(groupId, source.includes(':') ? 'IPv6' : 'IPv4');
  if (node.dump?.namespaces[HOST]?.ipset === undefined) {
    return {
      held: false,
      status: 'unknown',
      reason: 'NODE_UNREADABLE',
      cause: `ipset save was not read on ${host}: whether ${source} is in ${set} (the members of remote group ${groupName}) cannot be told`,
    };
  }
  const observed = ns.ipsets.find((s) => s.name === set);
  if (!observed)
    return {
      held: false,
      status: 'missing',
      reason: 'SG_CHAIN_MISSING',
      cause: `IP set ${set} of remote group ${groupName} does not exist on ${host}: the rule matching it admits nothing`,
    };
  const member = observed.members.find((m) => memberHolds(m, source));
  if (!member) {
    return {
      held: false,
      status: 'mismatch',
      reason: 'SG_CHAIN_MISSING',
      cause: `IP set ${set} on ${host} does not hold ${source}, a member of remote group ${groupName}: the rule admitting it matches nothing from it (the set holds ${observed.members.join(', ') || 'nothing'})`,
    };
  }
  return { held: true, set, member };
}
