// The security-group hop of a port: its ingress chain is as the planner renders the port's groups,
// and one of the groups' rules admits the traced flow (or none does: SG_DENIED, naming the groups
// and the rule that would admit it). Pure.
import { remoteGroupIpset, sgChains, tapName } from '../../kernel/names.ts';
import { HOST } from '../../kernel/types.ts';
import { cidrContains, parseIp, parsePrefix } from '../../model/ip.ts';
import { AGENT_L2, IP_PROTOCOL_MAP } from '../../model/neutron.ts';
import type { RuleFields } from '../../model/sgrules.ts';
import { agentNote, fixedIps, type TraceContext } from '../context.ts';
import { isDraft, namespaceOr, observeCommand, result, type HopDraft } from './checks.ts';
import { chainDiffers, compareChain, describeChainDiff } from './compare.ts';
import { remoteSetFinding } from './sg-ipset.ts';
import type { Hop, TraceTarget } from '../report.ts';
import type { ApiObject } from '../snapshot.ts';

type Flow = TraceTarget['flow'];

/** A rule as the API gives it, with its group (RuleFields' names are Neutron's). */
type Rule = Omit<RuleFields, 'remote_address_group_id'> & { id: string; remote_address_group_id?: string | null };

const protoNumber = (p: string | null) => (p === null ? null : /^\d+$/.test(p) ? Number(p) : (IP_PROTOCOL_MAP[p] ?? null));

/**
 * Whether a rule of `direction` admits the flow; `remote` is the other end (the source of ingress
 * traffic, the destination of egress traffic); members: the remote groups' addresses (an address
 * group's: its CIDRs).
 */
export function ruleAdmits(
  rule: Rule,
  flow: Flow,
  remote: string | null,
  members: (groupId: string) => string[],
  direction: 'ingress' | 'egress' = 'ingress',
  ethertype: 'IPv4' | 'IPv6' = 'IPv4',
): boolean {
  const source = remote;
  const v6 = ethertype === 'IPv6';
  if (rule.direction !== direction || rule.ethertype !== ethertype) return false;
  // For IPv6, Neutron takes 'icmp' (and 'icmpv6') to mean ICMPv6.
  const ruleProto = v6 && (rule.protocol === 'icmp' || rule.protocol === 'icmpv6') ? 'ipv6-icmp' : rule.protocol;
  const flowProto = flow.protocol === 'icmp' ? (v6 ? 'ipv6-icmp' : 'icmp') : flow.protocol;
  if (ruleProto !== null && ruleProto !== 'any' && protoNumber(ruleProto) !== protoNumber(flowProto)) return false;
  if (flow.protocol !== 'icmp' && rule.protocol !== null && flow.port !== undefined) {
    if (rule.port_range_min !== null && flow.port < rule.port_range_min) return false;
    if (rule.port_range_max !== null && flow.port > rule.port_range_max) return false;
  }
  if (rule.remote_ip_prefix) {
    const p = parsePrefix(rule.remote_ip_prefix);
    if (!p) return false;
    // No source given means "anywhere": only a rule open to every address admits it.
    if (source === null) return p.prefixLength === 0;
    const ip = parseIp(source);
    if (!ip || !cidrContains(p, ip)) return false;
  }
  if (rule.remote_group_id) return source !== null && members(rule.remote_group_id).includes(source);
  if (rule.remote_address_group_id) {
    const ip = source === null ? null : parseIp(source);
    return (
      ip !== null &&
      members(rule.remote_address_group_id).some((c) => {
        const p = parsePrefix(c);
        return !!p && cidrContains(p, ip);
      })
    );
  }
  return true;
}

const flowText = (f: Flow) => (f.protocol === 'icmp' ? 'icmp' : `${f.protocol}/${f.port ?? 'any'}`);

/**
 * The security-group hop of a port for the traced flow: `ingress` into the port from `source`, or
 * `egress` out of it toward `source` (then the destination).
 */
export function sgHop(
  ctx: TraceContext,
  host: string,
  port: ApiObject,
  flow: Flow,
  source: string | null,
  leg: Hop['leg'],
  direction: 'ingress' | 'egress' = 'ingress',
): HopDraft {
  const node = ctx.nodes[host];
  const all = sgChains(port.id);
  const chains = { ingress: direction === 'ingress' ? all.ingress : all.egress };
  const way = direction === 'ingress' ? 'from' : 'to';
  const groupIds = (port['security_groups'] as string[] | undefined) ?? [];
  const groups = groupIds.map((id) => ctx.api.security_groups.find((g) => g.id === id)).filter((g): g is ApiObject => !!g);
  const names = groups.map((g) => `${g['name'] || g.id}`).join(', ') || '(none)';
  const base = {
    leg,
    node: host,
    namespace: HOST,
    device: tapName(port.id),
    resource: { type: 'security_group' as const, id: groupIds.join(','), name: names },
    check: `security group ${direction === 'ingress' ? '' : 'egress '}${flowText(flow)}`,
  };
  const owner = `the ${AGENT_L2} on ${host} writes it from the port's security groups; ${agentNote(ctx, host, AGENT_L2)}`;
  if (port['port_security_enabled'] === false) return result(base, { filtering: false }, { filtering: false }, [], undefined);
  // The same chains in both families: an IPv6 flow is filtered by ip6tables (Neutron's IptablesFirewallDriver).
  const v6 = !!source?.includes(':');
  const tables = v6 ? 'ip6tables' : 'iptables';
  const desired = node?.desired?.namespaces[HOST]?.[tables]?.filter?.find((c) => c.name === chains.ingress);
  const expected: Record<string, unknown> = { chain: chains.ingress, groups: groupIds, flow: flowText(flow), source };
  const ns = namespaceOr(node, base, expected, owner);
  if (isDraft(ns)) return ns;
  const observedChain = ns[tables]?.filter?.find((c) => c.name === chains.ingress);
  const command = observeCommand(HOST, tables, 'filter');
  if (!observedChain) {
    return result(base, expected, { chain: null }, [{ command }], {
      status: 'missing',
      reason: 'SG_CHAIN_MISSING',
      cause: `chain ${chains.ingress} for port ${port.id} does not exist on ${host}: traffic ${direction === 'ingress' ? 'to' : 'from'} ${tapName(port.id)} is dropped; ${owner}`,
    });
  }
  const rules = groups.flatMap((g) =>
    ((g['security_group_rules'] as Rule[] | undefined) ?? []).map((r) => ({ ...r, security_group_id: g.id })),
  );
  const members = (groupId: string) =>
    ((ctx.api.address_groups ?? []).find((g) => g.id === groupId)?.['addresses'] as string[] | undefined) ??
    ctx.api.ports
      .filter((p) => ((p['security_groups'] as string[] | undefined) ?? []).includes(groupId))
      .flatMap((p) => fixedIps(p).map((f) => f.ip_address));
  const admits = (r: Rule) => ruleAdmits(r, flow, source, members, direction, v6 ? 'IPv6' : 'IPv4');
  // A rule on addresses before one on a remote group: it holds without the group's IP set.
  const admitting = rules.find((r) => admits(r) && !r.remote_group_id && !r.remote_address_group_id) ?? rules.find(admits);
  const protoText = v6 && flow.protocol === 'icmp' ? 'ipv6-icmp' : flow.protocol;
  const protoRules = observedChain.rules.filter((r) => r.includes(`-p ${protoText}`)).map((r) => `-A ${chains.ingress} ${r}`);
  const evidence = [
    { command, ...(protoRules[0] ? { line: protoRules[0] } : {}) },
    { command: 'GET /v2.0/security-groups', ...(admitting ? { line: JSON.stringify(admitting) } : {}) },
  ];
  if (!admitting) {
    const cmd = `${v6 ? '--ethertype IPv6 ' : ''}${flow.protocol === 'icmp' ? `--protocol ${protoText}` : `--protocol ${flow.protocol} --dst-port ${flow.port ?? '1:65535'}`}`;
    return result(
      base,
      expected,
      { chain: chains.ingress, admitting_rule: null, rules: rules.filter((r) => r.direction === direction).map((r) => r.id) },
      evidence,
      {
        status: 'dropped',
        reason: 'SG_DENIED',
        cause: `security group ${names} of port ${port.id} has no ${direction} rule admitting ${flowText(flow)}${source ? ` ${way} ${source}` : ''}: ${chains.ingress} drops it (add one: openstack security group rule create --${direction} ${cmd} ${groups[0]?.['name'] || groups[0]?.id || 'GROUP'})`,
      },
    );
  }
  // By meaning: the agent writes the groups' rules in the order its server hands them over.
  const diff = desired ? compareChain(desired.rules, observedChain.rules) : null;
  if (desired && diff && chainDiffers(diff)) {
    const line = (r: string) => `-A ${chains.ingress} ${r}`;
    return result(
      base,
      { ...expected, rules: desired.rules.map(line) },
      {
        rules: observedChain.rules.map(line),
        missing: diff.missing.map(line),
        unexpected: diff.unexpected.map(line),
        reordered: diff.reordered.map((p) => ({ first: line(p.first), then: line(p.then) })),
      },
      [{ command }],
      {
        status: 'mismatch',
        reason: 'SG_CHAIN_MISSING',
        cause: `chain ${chains.ingress} on ${host} differs from the port's security groups — ${describeChainDiff(diff, line)}; ${owner}`,
      },
    );
  }
  const observed = { chain: chains.ingress, admitting_rule: admitting.id, security_group: admitting.security_group_id };
  if (admitting.remote_group_id && source !== null && node) {
    const group = ctx.api.security_groups.find((g) => g.id === admitting.remote_group_id);
    const f = remoteSetFinding(node, ns, admitting.remote_group_id, String(group?.['name'] || admitting.remote_group_id), source, host);
    const set = remoteGroupIpset(admitting.remote_group_id, v6 ? 'IPv6' : 'IPv4');
    if (!f.held)
      return result(
        base,
        { ...expected, ipset: set, member: source },
        { ...observed, ipset: ns.ipsets.find((x) => x.name === set)?.members ?? null },
        [...evidence, { command: 'ipset save' }],
        { status: f.status, reason: f.reason, cause: `${f.cause}; ${owner}` },
      );
    evidence.push({ command: 'ipset save', line: `add ${f.set} ${f.member}` });
  }
  return result(base, expected, observed, evidence);
}
