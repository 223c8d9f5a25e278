// Security group rules as Neutron checks and normalizes them (neutron/extensions/securitygroup.py
// converters, neutron/db/securitygroups_db.py validation and duplicate detection). Pure.
import { NeutronError, conflict } from './errors.ts';
import { addressBits, formatCidr, formatIp, ipv4NetmaskLength, parseIp, prefixOf, type IpVersion } from './ip.ts';
import { IP_PROTOCOL_MAP } from './neutron.ts';
import { show } from './validators.ts';

/** IP_PROTOCOL_NUM_TO_NAME_MAP: number text → name; '58' → 'ipv6-icmp', '0' → 'ip' (last one wins). */
export const IP_PROTOCOL_NUM_TO_NAME: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(IP_PROTOCOL_MAP)
    .filter(([name]) => name !== 'icmpv6')
    .map(([name, num]) => [String(num), name]),
);

/** Values meaning "any protocol" (stored as null). */
const PROTO_ANY = ['any'];

/** Protocols whose rules may carry a port range (SG_PORT_PROTO_NUMS / _NAMES). */
const PORT_PROTOCOL_NUMS = [33, 132, 6, 17, 136];
const PORT_PROTOCOL_NAMES = ['dccp', 'sctp', 'tcp', 'udp', 'udplite'];
const ICMP_NUMS = [1, 58];

/** Protocols that only exist for IPv6 (_validate_ethertype_and_protocol). */
const IPV6_ONLY_PROTOCOLS = [
  'ipv6-encap',
  'ipv6-frag',
  'ipv6-icmp',
  'icmpv6',
  'ipv6-nonxt',
  'ipv6-opts',
  'ipv6-route',
  '41',
  '44',
  '58',
  '59',
  '60',
  '43',
];

export const ETHERTYPES = ['IPv4', 'IPv6'] as const;
export type Ethertype = (typeof ETHERTYPES)[number];

const pyStr = (v: unknown): string => {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  return show(v);
};
const pyRepr = (v: string | null) => (v === null ? 'None' : `'${v}'`);

/** sg_supported_protocols as Python prints the tuple in SecurityGroupRuleInvalidProtocol. */
const SUPPORTED_PROTOCOLS_TEXT = `(${[null, ...PROTO_ANY, ...Object.keys(IP_PROTOCOL_MAP)].map(pyRepr).join(', ')})`;

const bad = (type: string, message: string) => new NeutronError(400, type, message);

export const invalidProtocol = (value: unknown) =>
  bad(
    'SecurityGroupRuleInvalidProtocol',
    `Security group rule protocol ${pyStr(value)} not supported. Only protocol values ${SUPPORTED_PROTOCOLS_TEXT} and integer representations [0 to 255] are supported.`,
  );

/**
 * convert_protocol: null/'any' → null; a name from IP_PROTOCOL_MAP (any case) → lower-case name;
 * a number 0–255 (JSON number or numeric text) → its decimal text. Anything else → 400.
 */
export function convertProtocol(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0 && value <= 255) return String(value);
    throw invalidProtocol(value);
  }
  if (typeof value !== 'string') throw invalidProtocol(value);
  const text = value.trim();
  if (/^[+-]?\d+$/.test(text)) {
    const n = Number(text);
    if (n >= 0 && n <= 255) return String(n);
    throw invalidProtocol(value);
  }
  const lower = value.toLowerCase();
  if (PROTO_ANY.includes(lower)) return null;
  if (lower in IP_PROTOCOL_MAP) return lower;
  throw invalidProtocol(value);
}

/** convert_ethertype_to_case_insensitive */
export function convertEthertype(value: unknown): Ethertype {
  if (typeof value === 'string') {
    const hit = ETHERTYPES.find((e) => e.toLowerCase() === value.toLowerCase());
    if (hit) return hit;
  }
  throw bad(
    'SecurityGroupRuleInvalidEtherType',
    `Security group rule for ethertype '${pyStr(value)}' not supported. Allowed values are ['IPv4', 'IPv6'].`,
  );
}

export const invalidPortValue = (port: unknown) => bad('SecurityGroupInvalidPortValue', `Invalid value for port ${pyStr(port)}`);

/** convert_validate_port_value: null, or an integer 0–65535 (numeric text accepted). */
export function convertPort(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  let n: number | undefined;
  if (typeof value === 'number' && Number.isInteger(value)) n = value;
  else if (typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value)) n = Number(value);
  if (n === undefined || n < 0 || n > 65535) throw invalidPortValue(value);
  return n;
}

export interface Prefix {
  version: IpVersion;
  /** the address as given (host bits kept), canonical text */
  address: string;
  prefixLength: number;
  /** the prefix with host bits zeroed, e.g. 10.0.0.0/24 for 10.0.0.5/24 */
  normalized: string;
}

/** Parses "addr", "addr/len" or "v4addr/netmask"; null when it is none of them. */
export function parsePrefixText(text: unknown): Prefix | null {
  if (typeof text !== 'string') return null;
  const parts = text.trim().split('/');
  if (parts.length > 2) return null;
  const ip = parseIp(parts[0]);
  if (!ip) return null;
  const max = addressBits(ip.version);
  let len = max;
  if (parts.length === 2) {
    if (/^\d{1,3}$/.test(parts[1])) len = Number(parts[1]);
    else if (ip.version === 4) len = ipv4NetmaskLength(parts[1]) ?? NaN;
    else len = NaN;
  }
  if (!(len >= 0 && len <= max)) return null;
  return { version: ip.version, address: formatIp(ip), prefixLength: len, normalized: formatCidr(prefixOf(ip, len)) };
}

/**
 * convert_ip_prefix_to_cidr: empty → null; otherwise str(netaddr.IPNetwork(x)) — the address in
 * canonical text with its prefix length always present (host bits are kept; see normalizedCidr).
 */
export function convertRemoteIpPrefix(value: unknown): string | null {
  if (value === null || value === undefined || value === '') return null;
  const p = parsePrefixText(value);
  if (!p) throw bad('InvalidCIDR', `Invalid CIDR ${pyStr(value)} given as IP prefix.`);
  return `${p.address}/${p.prefixLength}`;
}

/** normalized_cidr (security-groups-normalized-cidr): the network the backend actually matches. */
export function normalizedCidr(prefix: string | null): string | null {
  if (!prefix) return null;
  return parsePrefixText(prefix)?.normalized ?? null;
}

export interface RuleFields {
  security_group_id: string;
  direction: string;
  ethertype: string;
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
  remote_address_group_id: string | null;
}

/** _get_ip_proto_number: the protocol as a number (names and the icmpv6 alias resolved). */
export function protocolNumber(protocol: string): number {
  if (protocol in IP_PROTOCOL_MAP) return IP_PROTOCOL_MAP[protocol];
  return Number(protocol);
}

/**
 * Neutron's normalization and semantic checks of one rule, in its order
 * (_make_canonical_ipv6_icmp_protocol, _make_canonical_port_range, _validate_port_range,
 * _validate_ip_prefix, _validate_ethertype_and_protocol, remote entities). Returns the rule as stored.
 */
export function validateRule<T extends RuleFields>(input: T): T {
  const rule = { ...input };
  // IPv6 rules given as icmp/icmpv6/1 mean ICMPv6.
  if (rule.ethertype === 'IPv6') {
    if (rule.protocol === 'icmp' || rule.protocol === 'icmpv6') rule.protocol = 'ipv6-icmp';
    else if (rule.protocol === '1') rule.protocol = '58';
  }
  // The whole port range is no range at all (bug 1848213).
  if (rule.port_range_min === 1 && rule.port_range_max === 65535) {
    rule.port_range_min = null;
    rule.port_range_max = null;
  }
  checkPortRange(rule);
  if (rule.remote_ip_prefix) {
    const p = parsePrefixText(rule.remote_ip_prefix);
    if (p && rule.ethertype !== `IPv${p.version}`) {
      throw bad('SecurityGroupRuleParameterConflict', `Conflicting value ethertype ${rule.ethertype} for CIDR ${rule.remote_ip_prefix}`);
    }
  }
  if (rule.ethertype === 'IPv4' && rule.protocol !== null && IPV6_ONLY_PROTOCOLS.includes(rule.protocol)) {
    throw bad('SecurityGroupEthertypeConflictWithProtocol', `Invalid ethertype ${rule.ethertype} for protocol ${rule.protocol}.`);
  }
  const remotes = [rule.remote_ip_prefix, rule.remote_group_id, rule.remote_address_group_id].filter((x) => x);
  if (remotes.length > 1) {
    throw bad(
      'SecurityGroupMultipleRemoteEntites',
      'Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.',
    );
  }
  return rule;
}

/** _validate_port_range */
function checkPortRange(rule: RuleFields): void {
  const { port_range_min: min, port_range_max: max } = rule;
  if (min === null && max === null) return;
  if (!rule.protocol) {
    throw bad('SecurityGroupProtocolRequiredWithPorts', 'Must also specify protocol if port range is given.');
  }
  const proto = protocolNumber(rule.protocol);
  if (PORT_PROTOCOL_NUMS.includes(proto)) {
    if (min === 0 || max === 0) throw invalidPortValue(0);
    if (min !== null && max !== null && min <= max) return;
    throw bad('SecurityGroupInvalidPortRange', 'For TCP/UDP protocols, port_range_min must be <= port_range_max');
  }
  if (ICMP_NUMS.includes(proto)) {
    for (const [attr, field, v] of [
      ['port_range_min', 'type', min],
      ['port_range_max', 'code', max],
    ] as const) {
      if (v !== null && !(v >= 0 && v <= 255)) {
        throw bad('SecurityGroupInvalidIcmpValue', `Invalid value for ICMP ${field} (${attr}) ${v}. It must be 0 to 255.`);
      }
    }
    if (min === null && max !== null) {
      throw bad('SecurityGroupMissingIcmpType', `ICMP code (port-range-max) ${max} is provided but ICMP type (port-range-min) is missing.`);
    }
    return;
  }
  throw bad(
    'SecurityGroupInvalidProtocolForPort',
    `Ports cannot be specified for protocol ${proto}. Ports are only supported for ${PORT_PROTOCOL_NAMES.map((n) => n.toUpperCase()).join(', ')}.`,
  );
}

/** _get_ip_proto_name_and_num, rendered as Python prints the list. */
function protocolKey(protocol: string, ethertype: string): string {
  let p = protocol;
  if (ethertype === 'IPv6') {
    if (p === 'icmp' || p === 'icmpv6') p = 'ipv6-icmp';
    else if (p === '1') p = '58';
  }
  let pair: [string, string];
  if (p in IP_PROTOCOL_MAP) pair = [p, String(IP_PROTOCOL_MAP[p])];
  else if (p in IP_PROTOCOL_NUM_TO_NAME) pair = [IP_PROTOCOL_NUM_TO_NAME[p], p];
  else pair = [p, p];
  return `['${pair[0]}', '${pair[1]}']`;
}

/**
 * _rule_to_key: two rules with the same key are duplicates. Protocol names and numbers compare
 * equal ('tcp' = '6'), and a remote prefix of 0.0.0.0/0 or ::/0 equals no prefix.
 */
export function ruleKey(rule: RuleFields): string {
  const none = '+';
  const norm = (key: keyof RuleFields): string => {
    const value = rule[key];
    if (key === 'remote_ip_prefix') {
      if (value === null || value === '0.0.0.0/0' || value === '::/0') return none;
      return String(value);
    }
    if (value === null || value === undefined) return none;
    if (key === 'protocol') return protocolKey(String(value), rule.ethertype);
    return String(value);
  };
  const keys: Array<keyof RuleFields> = [
    'direction',
    'ethertype',
    'port_range_max',
    'port_range_min',
    'protocol',
    'remote_group_id',
    'remote_address_group_id',
    'remote_ip_prefix',
    'security_group_id',
  ];
  return keys.map(norm).join('_');
}

export const ruleExists = (id: string) => conflict('SecurityGroupRuleExists', `Security group rule already exists. Rule id is ${id}.`);
export const duplicateInPost = () => conflict('DuplicateSecurityGroupRuleInPost', 'Duplicate Security Group Rule in POST.');
