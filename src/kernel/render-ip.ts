// Pure renderers of link/address/route/neighbour/fdb operations into `ip -batch` and `bridge -batch` lines.
import { assertInterfaceName, assertNamespaceName, InvalidName } from './names.ts';
import { isNeutrinoMark, ROUTE_PROTO } from './mark.ts';
import type { LinkChanges, Op } from './ops.ts';
import { HOST, type LinkSpec, type NsKey, type RouteSpec } from './types.ts';
import { canonicalCidr, canonicalDst, canonicalIpOrThrow, canonicalMac, ZERO_MAC } from './values.ts';

/** A batch line is split on blanks by iproute2: every token must be a plain word. */
const TOKEN = /^[A-Za-z0-9_.:/+@-]+$/;

function line(...tokens: (string | number)[]): string {
  for (const t of tokens) if (!TOKEN.test(String(t))) throw new InvalidName('command token', t);
  return tokens.join(' ');
}

const dev = (name: string) => assertInterfaceName(name);

export function linkAddLine(ns: NsKey, link: Exclude<LinkSpec, { kind: 'device' }>): string {
  switch (link.kind) {
    case 'bridge':
      // Neutron's ensure_bridge: no forwarding delay, no STP.
      return line('link', 'add', dev(link.name), 'type', 'bridge', 'forward_delay', 0, 'stp_state', 0);
    case 'tap':
      // `ip link add … type tuntap` is refused ("Garbage instead of arguments"); tuntap has its own verb.
      return line('tuntap', 'add', 'dev', dev(link.name), 'mode', 'tap');
    case 'veth':
      return line('link', 'add', dev(link.name), 'type', 'veth', 'peer', 'name', dev(link.peer.name), ...peerNetns(ns, link.peer.netns));
    case 'vlan':
      return line('link', 'add', 'link', dev(link.vlan.dev), 'name', dev(link.name), 'type', 'vlan', 'id', link.vlan.id);
    case 'vxlan': {
      const v = link.vxlan;
      const local = v.local !== undefined ? ['local', canonicalIpOrThrow(v.local)] : [];
      const under = v.dev !== undefined ? ['dev', dev(v.dev)] : [];
      const group = v.group !== undefined ? ['group', canonicalIpOrThrow(v.group)] : [];
      const ip = [...(v.ttl !== undefined ? ['ttl', v.ttl] : []), ...(v.tos !== undefined ? ['tos', tosHex(v.tos)] : [])];
      const flags = [v.learning ? 'learning' : 'nolearning', v.proxy ? 'proxy' : 'noproxy'];
      return line(
        'link',
        'add',
        dev(link.name),
        'type',
        'vxlan',
        'id',
        v.vni,
        ...local,
        ...group,
        ...under,
        'dstport',
        v.dstport,
        ...ip,
        ...flags,
      );
    }
  }
}

function peerNetns(ns: NsKey, peer: NsKey): string[] {
  if (peer === ns) return [];
  // The node's own namespace has no name to give; diff() creates such pairs from the HOST side.
  if (peer === HOST) throw new InvalidName('veth peer namespace (HOST seen from another namespace)', peer);
  return ['netns', assertNamespaceName(peer)];
}

/** One `link set` line; bridge parameters need their own line (`type bridge …`). */
export function linkSetLines(name: string, set: LinkChanges): string[] {
  const t: (string | number)[] = ['link', 'set', 'dev', dev(name)];
  if (set.mac !== undefined) t.push('address', canonicalMac(set.mac));
  if (set.mtu !== undefined) t.push('mtu', set.mtu);
  if (set.alias !== undefined) t.push('alias', isNeutrinoMark(set.alias) ? set.alias : badAlias(set.alias));
  if (set.master !== undefined) t.push(...(set.master === null ? ['nomaster'] : ['master', dev(set.master)]));
  if (set.up !== undefined) t.push(set.up ? 'up' : 'down');
  const lines = t.length > 4 ? [line(...t)] : [];
  if (set.bridgeDefaults) lines.push(line('link', 'set', 'dev', dev(name), 'type', 'bridge', 'forward_delay', 0, 'stp_state', 0));
  return lines;
}

function badAlias(alias: string): never {
  throw new InvalidName('alias (only the mark is ever written)', alias);
}

function routeDst(r: RouteSpec): string {
  const dst = canonicalDst(r.dst);
  // "default" is ambiguous in a batch line (no -6 per line): spell out the family's zero prefix.
  if (dst === 'default') return r.family === 6 ? '::/0' : '0.0.0.0/0';
  return dst;
}

function routeTokens(r: RouteSpec, withScope: boolean): (string | number)[] {
  const t: (string | number)[] = [routeDst(r)];
  if (r.via !== undefined) t.push('via', canonicalIpOrThrow(r.via));
  if (r.dev !== undefined) t.push('dev', dev(r.dev));
  if (withScope && r.scope !== undefined) t.push('scope', r.scope);
  if (withScope && r.src !== undefined) t.push('src', canonicalIpOrThrow(r.src));
  t.push('proto', ROUTE_PROTO, 'metric', r.metric ?? (r.family === 6 ? 1024 : 0));
  // A multipath route's paths come last (a deletion names the route by destination and metric alone).
  if (withScope) for (const h of r.nexthops ?? []) t.push('nexthop', 'via', canonicalIpOrThrow(h.via), 'dev', dev(h.dev));
  return t;
}

/** The `ip -batch` line of an ip-level op; undefined for ops rendered elsewhere. */
export function ipLines(op: Op): string[] | undefined {
  switch (op.op) {
    case 'link-add':
      return [linkAddLine(op.ns, op.link)];
    case 'link-del':
      return [line('link', 'del', 'dev', dev(op.name))];
    case 'link-set':
      return linkSetLines(op.name, op.set);
    case 'addr-add': {
      const cidr = canonicalCidr(op.addr.address);
      // IPv4 gets its broadcast address, as Neutron's add_ip does.
      const brd = cidr.includes(':') ? [] : ['brd', '+'];
      return [line('addr', 'add', cidr, ...brd, 'dev', dev(op.addr.dev))];
    }
    case 'addr-del':
      return [line('addr', 'del', canonicalCidr(op.addr.address), 'dev', dev(op.addr.dev))];
    case 'route-replace':
      return [line('route', 'replace', ...routeTokens(op.route, true))];
    case 'route-del':
      return [line('route', 'del', ...routeTokens(op.route, false))];
    case 'neigh-replace':
      return [
        line(
          'neigh',
          'replace',
          canonicalIpOrThrow(op.neigh.ip),
          'lladdr',
          canonicalMac(op.neigh.lladdr),
          'dev',
          dev(op.neigh.dev),
          'nud',
          'permanent',
        ),
      ];
    case 'neigh-del':
      return [line('neigh', 'del', canonicalIpOrThrow(op.neigh.ip), 'dev', dev(op.neigh.dev))];
    default:
      return undefined;
  }
}

/** The `bridge -batch` line of an fdb op; undefined for other ops. */
export function bridgeLines(op: Op): string[] | undefined {
  if (op.op !== 'fdb-add' && op.op !== 'fdb-del') return undefined;
  const mac = canonicalMac(op.fdb.mac);
  const where = ['dev', dev(op.fdb.dev), 'dst', canonicalIpOrThrow(op.fdb.dst)];
  if (op.op === 'fdb-del') return [line('fdb', 'del', mac, ...where, 'self')];
  // The all-zero entry is a list (one per remote VTEP, head-end replication): append to it.
  // A unicast MAC has one entry: replace moves it to the new VTEP.
  return [line('fdb', mac === ZERO_MAC ? 'append' : 'replace', mac, ...where, 'self', 'permanent')];
}

/** ip(8) reads a TOS value as hexadecimal (rtnl_dsfield_a2n): 16 would be 0x16. */
const tosHex = (tos: number): string => `0x${tos.toString(16)}`;
