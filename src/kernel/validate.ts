// Checks a desired node before anything is planned from it, and returns it in canonical form (addresses, MACs).
import {
  assertChainName,
  assertInterfaceName,
  assertIpsetName,
  assertNamespaceName,
  MAX_VLAN_ID,
  MAX_VXLAN_VNI,
  MIN_VLAN_ID,
} from './names.ts';
import { isOwnedBuiltinRule, isOwnedChain, isOwnedIpset, ruleIpsets } from './mark.ts';
import { canonicalCidr, canonicalDst, canonicalIpOrThrow, canonicalMac, canonicalNet, cidrFamily } from './values.ts';
import {
  BUILTIN_CHAINS,
  HOST,
  type DesiredNamespace,
  type DesiredNode,
  type IpsetSpec,
  type LinkSpec,
  routeDevices,
  type RouteSpec,
  type TableName,
} from './types.ts';

/** The desired state is not something neutrino can or may build. */
export class InvalidDesired extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`invalid desired state: ${problems.join('; ')}`);
    this.problems = problems;
    this.name = 'InvalidDesired';
  }
}

type Check = (fn: () => void, where: string) => void;

/** Validates every name and value, then returns a copy with canonical addresses and MACs. */
export function normalizeDesired(desired: DesiredNode): DesiredNode {
  const problems: string[] = [];
  const check: Check = (fn, where) => {
    try {
      fn();
    } catch (e) {
      problems.push(`${where}: ${(e as Error).message}`);
    }
  };
  const out: DesiredNode = { namespaces: {} };
  if (desired.owner !== undefined) {
    check(() => /^[A-Za-z0-9_.-]{1,64}$/.test(desired.owner!) || fail(`bad owner ${JSON.stringify(desired.owner)}`), 'owner');
    out.owner = desired.owner;
  }
  for (const [ns, spec] of Object.entries(desired.namespaces)) {
    if (ns !== HOST) check(() => assertNamespaceName(ns), 'namespace');
    check(() => (out.namespaces[ns] = normalizeNamespace(spec)), nsLabel(ns));
  }
  for (const [ns, spec] of Object.entries(out.namespaces)) checkReferences(out, ns, spec, check);
  if (problems.length > 0) throw new InvalidDesired(problems);
  return out;
}

export const nsLabel = (ns: string): string => (ns === HOST ? 'host' : `netns ${ns}`);

function normalizeNamespace(s: DesiredNamespace): DesiredNamespace {
  return {
    links: s.links.map(normalizeLink),
    addresses: s.addresses.map((a) => ({ dev: assertInterfaceName(a.dev), address: canonicalCidr(a.address) })),
    routes: s.routes.map(normalizeRoute),
    fdb: s.fdb.map((f) => ({ dev: assertInterfaceName(f.dev), mac: canonicalMac(f.mac), dst: canonicalIpOrThrow(f.dst) })),
    neigh: s.neigh.map((n) => ({ dev: assertInterfaceName(n.dev), ip: canonicalIpOrThrow(n.ip), lladdr: canonicalMac(n.lladdr) })),
    sysctls: s.sysctls.map((x) => ({ key: sysctlKey(x.key), value: sysctlValue(x.value) })),
    iptables: normalizeIptables(s.iptables),
    ...(s.ip6tables === undefined ? {} : { ip6tables: normalizeIptables(s.ip6tables) }),
    // `?? []`: desired states built by hand before sets were modelled.
    ipsets: normalizeIpsets(s.ipsets ?? []),
    ...(s.daemonAddressDevices === undefined ? {} : { daemonAddressDevices: s.daemonAddressDevices.map(assertInterfaceName) }),
    processes: s.processes.map((p) => {
      if (!/^[A-Za-z0-9_.-]+$/.test(p.id)) throw new Error(`bad process id ${JSON.stringify(p.id)}`);
      if (p.argv.length === 0 || p.argv.some((a) => a.includes('\0'))) throw new Error(`bad argv for ${p.id}`);
      for (const f of [p.pidFile, ...p.files.map((x) => x.path)]) absolutePath(f);
      return { ...p, argv: [...p.argv], files: p.files.map((f) => ({ ...f })) };
    }),
  };
}

function normalizeLink(l: LinkSpec): LinkSpec {
  const base = { ...l, name: assertInterfaceName(l.name) };
  if (l.mtu !== undefined && !(Number.isInteger(l.mtu) && l.mtu >= 68 && l.mtu <= 65535)) throw new Error(`bad mtu ${l.mtu}`);
  if (l.mac !== undefined) base.mac = canonicalMac(l.mac);
  if (l.master != null) assertInterfaceName(l.master);
  if (l.kind === 'veth') {
    const netns = l.peer.netns === HOST ? HOST : assertNamespaceName(l.peer.netns);
    return { ...base, kind: 'veth', peer: { name: assertInterfaceName(l.peer.name), netns } };
  }
  if (l.kind === 'vxlan') {
    const v = l.vxlan;
    if (!Number.isInteger(v.vni) || v.vni < 0 || v.vni > MAX_VXLAN_VNI) throw new Error(`bad VNI ${v.vni}`);
    if (!Number.isInteger(v.dstport) || v.dstport < 1 || v.dstport > 65535) throw new Error(`bad dstport ${v.dstport}`);
    const vxlan = { ...v };
    if (v.local !== undefined) vxlan.local = canonicalIpOrThrow(v.local);
    if (v.dev !== undefined) vxlan.dev = assertInterfaceName(v.dev);
    if (v.group !== undefined) vxlan.group = canonicalIpOrThrow(v.group);
    if (v.ttl !== undefined && !(Number.isInteger(v.ttl) && v.ttl >= 0 && v.ttl <= 255)) throw new Error(`bad VXLAN ttl ${v.ttl}`);
    if (v.tos !== undefined && !(Number.isInteger(v.tos) && v.tos >= 0 && v.tos <= 255)) throw new Error(`bad VXLAN tos ${v.tos}`);
    return { ...base, kind: 'vxlan', vxlan };
  }
  if (l.kind === 'vlan') {
    const { id, dev } = l.vlan;
    if (!Number.isInteger(id) || id < MIN_VLAN_ID || id > MAX_VLAN_ID) throw new Error(`bad VLAN id ${id}`);
    return { ...base, kind: 'vlan', vlan: { id, dev: assertInterfaceName(dev) } };
  }
  return base;
}

function normalizeRoute(r: RouteSpec): RouteSpec {
  const out: RouteSpec = { ...r, dst: canonicalDst(r.dst) };
  if (r.via !== undefined) out.via = canonicalIpOrThrow(r.via);
  if (r.src !== undefined) out.src = canonicalIpOrThrow(r.src);
  if (r.dev !== undefined) out.dev = assertInterfaceName(r.dev);
  if (r.metric !== undefined && !(Number.isInteger(r.metric) && r.metric >= 0)) throw new Error(`bad metric ${r.metric}`);
  if (r.nexthops !== undefined) {
    if (r.nexthops.length < 2 || r.via !== undefined || r.dev !== undefined)
      throw new Error(`route ${r.dst}: nexthops are two or more paths, without via or dev`);
    out.nexthops = r.nexthops.map((h) => ({ via: canonicalIpOrThrow(h.via), dev: assertInterfaceName(h.dev) }));
  } else if (r.via === undefined && r.dev === undefined) throw new Error(`route ${r.dst} needs via or dev`);
  return out;
}

function sysctlKey(key: string): string {
  if (!/^[a-z0-9_]+(\.[A-Za-z0-9_/-]+)+$/.test(key)) throw new Error(`bad sysctl key ${JSON.stringify(key)}`);
  return key;
}

function sysctlValue(v: string): string {
  if (!/^[A-Za-z0-9_.:/ -]*$/.test(v)) throw new Error(`bad sysctl value ${JSON.stringify(v)}`);
  return v;
}

function absolutePath(p: string): string {
  if (!p.startsWith('/') || p.split('/').includes('..') || p.includes('\0')) throw new Error(`bad path ${JSON.stringify(p)}`);
  return p;
}

/**
 * One line of iptables-restore input: no line breaks, balanced double quotes. The empty rule (no
 * match, no target: it counts every packet, as Neutron's metering label chains hold) is one; blank
 * space alone is not.
 */
export function assertRuleText(rule: string): string {
  if (/[\r\n\0]/.test(rule) || (rule.match(/"/g)?.length ?? 0) % 2 !== 0 || (rule !== '' && rule.trim() === '')) {
    throw new Error(`bad iptables rule ${JSON.stringify(rule)}`);
  }
  return rule;
}

function normalizeIptables(t: DesiredNamespace['iptables']): DesiredNamespace['iptables'] {
  const out: DesiredNamespace['iptables'] = {};
  for (const [table, chains] of Object.entries(t) as [TableName, NonNullable<(typeof t)[TableName]>][]) {
    if (!(table in BUILTIN_CHAINS)) throw new Error(`unknown table ${table}`);
    const seen = new Set<string>();
    out[table] = chains.map((c) => {
      assertChainName(c.name);
      if (seen.has(c.name)) throw new Error(`chain ${c.name} listed twice`);
      seen.add(c.name);
      const builtin = BUILTIN_CHAINS[table].includes(c.name);
      if (!builtin && !isOwnedChain(c.name)) throw new Error(`chain ${c.name} is not neutrino's (neutron-…)`);
      for (const r of c.rules) {
        assertRuleText(r);
        if (builtin && !isOwnedBuiltinRule(r)) throw new Error(`rule in ${c.name} must jump to a neutron- chain: ${r}`);
      }
      return { name: c.name, rules: [...c.rules] };
    });
  }
  return out;
}

/** Set types neutrino writes: their members are addresses or networks of the set's family. */
const IPSET_TYPES = new Set(['hash:net', 'hash:ip']);

export function normalizeIpsets(sets: readonly IpsetSpec[]): IpsetSpec[] {
  const seen = new Set<string>();
  return sets.map((set) => {
    assertIpsetName(set.name);
    if (!isOwnedIpset(set.name)) throw new Error(`ipset ${set.name} is not neutrino's (NIPv4…/NIPv6…)`);
    if (seen.has(set.name)) throw new Error(`ipset ${set.name} listed twice`);
    seen.add(set.name);
    if (!IPSET_TYPES.has(set.type)) throw new Error(`ipset ${set.name}: unsupported type ${set.type}`);
    if (set.family !== 'inet' && set.family !== 'inet6') throw new Error(`ipset ${set.name}: bad family ${String(set.family)}`);
    const members = set.members.map((m) => {
      const net = canonicalNet(m);
      if (cidrFamily(net) !== (set.family === 'inet' ? 4 : 6)) throw new Error(`ipset ${set.name}: ${m} is not of family ${set.family}`);
      if (set.type === 'hash:ip' && net.includes('/')) throw new Error(`ipset ${set.name}: ${m} is a network, the set holds addresses`);
      return net;
    });
    return { name: set.name, type: set.type, family: set.family, members: [...new Set(members)].sort() };
  });
}

/** Cross-object checks: unique names, veth ends that mirror each other, references to declared links. */
function checkReferences(node: DesiredNode, ns: string, s: DesiredNamespace, check: Check): void {
  const where = nsLabel(ns);
  const links = new Map<string, LinkSpec>();
  for (const l of s.links) {
    if (links.has(l.name)) check(() => fail(`link ${l.name} listed twice`), where);
    links.set(l.name, l);
  }
  const declared = (dev: string, what: string) => check(() => links.has(dev) || fail(`${what} on undeclared link ${dev}`), where);
  for (const l of s.links) {
    if (l.master != null) {
      const m = links.get(l.master);
      check(
        () => (m && (m.kind === 'bridge' || m.kind === 'device')) || fail(`master ${l.master} of ${l.name} is not a declared bridge`),
        where,
      );
    }
    if (l.kind === 'vxlan' && l.vxlan.dev !== undefined) declared(l.vxlan.dev, `vxlan ${l.name}`);
    if (l.kind === 'vlan') declared(l.vlan.dev, `vlan ${l.name}`);
    if (l.kind === 'veth') check(() => checkVethMirror(node, ns, l), where);
  }
  for (const a of s.addresses) declared(a.dev, `address ${a.address}`);
  for (const r of s.routes) for (const dev of routeDevices(r)) declared(dev, `route ${r.dst}`);
  for (const n of s.neigh) declared(n.dev, `neighbour ${n.ip}`);
  for (const f of s.fdb) {
    check(() => links.get(f.dev)?.kind === 'vxlan' || fail(`fdb entry ${f.mac} on ${f.dev}, which is not a declared vxlan`), where);
  }
  // A rule may only match a set of its own namespace that will exist (iptables-restore refuses the
  // whole input otherwise), of the family its table matches: inet for iptables, inet6 for ip6tables.
  const sets = new Map(s.ipsets.map((x) => [x.name, x]));
  for (const [tool, tables, family] of [
    ['iptables', s.iptables, 'inet'],
    ['ip6tables', s.ip6tables ?? {}, 'inet6'],
  ] as const) {
    for (const chains of Object.values(tables)) {
      for (const r of (chains ?? []).flatMap((c) => c.rules)) {
        for (const name of ruleIpsets(r)) {
          if (!isOwnedIpset(name)) continue;
          const set = sets.get(name);
          check(() => set !== undefined || fail(`${tool} rule matches undeclared ipset ${name}`), where);
          check(
            () => set === undefined || set.family === family || fail(`${tool} rule matches ipset ${name} of family ${set.family}`),
            where,
          );
        }
      }
    }
  }
}

function checkVethMirror(node: DesiredNode, ns: string, l: Extract<LinkSpec, { kind: 'veth' }>): void {
  const other = node.namespaces[l.peer.netns]?.links.find((x) => x.name === l.peer.name);
  if (other?.kind !== 'veth' || other.peer.name !== l.name || other.peer.netns !== ns) {
    fail(`veth ${l.name}: peer ${l.peer.name} in ${nsLabel(l.peer.netns)} is not declared as its mirror`);
  }
}

function fail(msg: string): never {
  throw new Error(msg);
}
