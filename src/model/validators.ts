// Converters and validators for request attributes, with neutron-lib's messages
// (neutron_lib/api/validators/__init__.py, neutron_lib/api/converters.py).
// A converter returns the converted value or throws Invalid; a validator returns a reason or undefined.
import { badRequest, echo, invalidInput } from './errors.ts';
import { canonicalIpOrNull, formatCidr, parseIp, parsePrefix } from './ip.ts';

export class Invalid extends Error {}

export type Converter = (value: unknown) => unknown;
export type Validator = (value: unknown) => string | undefined;

/** A request value as error messages repeat it: strings as they are, anything else as JSON, capped. */
export function show(v: unknown): string {
  let text: string;
  try {
    text = typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  } catch {
    text = String(v);
  }
  return echo(text);
}

export const toBoolean: Converter = (v) => {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number' && (v === 0 || v === 1)) return v === 1;
  if (typeof v === 'string') {
    const s = v.toLowerCase();
    if (s === 'true' || s === '1') return true;
    if (s === 'false' || s === '0') return false;
  }
  throw new Invalid(`'${show(v)}' cannot be converted to boolean`);
};

export const toInt: Converter = (v) => {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v);
  throw new Invalid(`'${show(v)}' is not an integer`);
};

export const toIntOrNull: Converter = (v) => (v === null ? null : toInt(v));

/** null means an empty list (convert_none_to_empty_list); anything else is left for the validator. */
export const noneToEmptyList: Converter = (v) => (v === null ? [] : v);

export const isString =
  (maxLength?: number): Validator =>
  (v) => {
    if (typeof v !== 'string') return `'${show(v)}' is not a valid string`;
    if (maxLength !== undefined && v.length > maxLength) return `'${show(v)}' exceeds maximum length of ${maxLength}`;
    return undefined;
  };

export const isStringOrNull =
  (maxLength?: number): Validator =>
  (v) =>
    v === null ? undefined : isString(maxLength)(v);

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
export const isUuid: Validator = (v) => (typeof v === 'string' && UUID.test(v) ? undefined : `'${show(v)}' is not a valid UUID`);
export const isUuidOrNull: Validator = (v) => (v === null ? undefined : isUuid(v));
export const isUuidList: Validator = (v) => {
  if (!Array.isArray(v)) return `'${show(v)}' is not a list`;
  for (const item of v) {
    const r = isUuid(item);
    if (r) return r;
  }
  const dup = v.find((x, i) => v.indexOf(x) !== i);
  return dup ? `Duplicate items in the list: '${dup}'` : undefined;
};

/** validate_list_of_unique_strings */
export const isUniqueStringList =
  (maxLength?: number): Validator =>
  (v) => {
    if (!Array.isArray(v)) return `'${show(v)}' is not a list`;
    const dups = v.filter((x, i) => v.indexOf(x) !== i);
    if (dups.length) return `Duplicate items in the list: '${show(dups.map((d) => show(d)).join(', '))}'`;
    for (const item of v) {
      const r = isString(maxLength)(item);
      if (r) return r;
    }
    return undefined;
  };

/** Python's json.dumps of a JSON value (', ' and ': ' separators, non-ASCII escaped): what ml2 measures. */
export function pythonJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(pythonJson).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v)
      .map(([k, x]) => `${pythonJson(k)}: ${pythonJson(x)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(v).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Availability zone hints: unique names whose JSON form (as Python writes it) fits Neutron's 255-character column. */
export const isAvailabilityZoneHints: Validator = (v) => {
  const reason = isUniqueStringList()(v);
  if (reason) return reason;
  if (pythonJson(v).length > 255) throw invalidInput('Too many availability_zone_hints specified');
  return undefined;
};

export const isBooleanValue: Validator = (v) => (typeof v === 'boolean' ? undefined : `'${show(v)}' is not boolean`);

export const isOneOf =
  (values: readonly unknown[]): Validator =>
  (v) =>
    values.includes(v)
      ? undefined
      : `'${show(v)}' is not in [${values.map((x) => (typeof x === 'string' ? `'${x}'` : String(x))).join(', ')}]`;

export const inRange =
  (min: number, max: number): Validator =>
  (v) => {
    if (typeof v !== 'number') return `'${show(v)}' is not an integer`;
    if (v < min) return `'${show(v)}' is too small - must be at least '${min}'`;
    if (v > max) return `'${show(v)}' is too large - must be no larger than '${max}'`;
    return undefined;
  };

export const isIp: Validator = (v) => (parseIp(v) ? undefined : `'${show(v)}' is not a valid IP address`);
export const isIpOrNull: Validator = (v) => (v === null ? undefined : isIp(v));

/** A subnet CIDR: a valid prefix whose host bits are zero (validate_subnet). */
export const isSubnetCidr: Validator = (v) => {
  const p = parsePrefix(v);
  if (!p || typeof v !== 'string' || !v.includes('/')) return `'${show(v)}' is not a valid IP subnet`;
  if (p.address !== p.network) return `'${show(v)}' isn't a recognized IP subnet cidr, '${formatCidr(p)}' is recommended`;
  return undefined;
};

/** An address or a prefix (allowed address pairs, remote_ip_prefix). */
export const isIpOrSubnet: Validator = (v) =>
  parsePrefix(v) ? undefined : `'${show(v)}' is neither a valid IP address, nor is it a valid IP subnet`;

const MAC = /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i;
export const isMac: Validator = (v) => {
  if (typeof v !== 'string' || !MAC.test(v)) return `'${show(v)}' is not a valid MAC address`;
  const norm = v.toLowerCase().replace(/-/g, ':');
  if (norm === '00:00:00:00:00:00' || norm === 'ff:ff:ff:ff:ff:ff') return `'${show(v)}' is not a valid MAC address`;
  return undefined;
};
export const normalizeMac = (v: string) => v.toLowerCase().replace(/-/g, ':');

export const isDict: Validator = (v) =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? undefined : `'${show(v)}' is not a dictionary`;

export const isNameservers =
  (max: number): Validator =>
  (v) => {
    if (!Array.isArray(v)) return `'${show(v)}' is not a list`;
    if (v.length > max) return `'${v.length}' exceeds the maximum of ${max} nameservers`;
    const seen = new Set<string>();
    for (const ns of v) {
      const c = canonicalIpOrNull(ns);
      if (!c) return `'${show(ns)}' is not a valid nameserver`;
      if (seen.has(c)) return `'${show(ns)}' is a duplicate nameserver`;
      seen.add(c);
    }
    return undefined;
  };

export const isHostRoutes: Validator = (v) => {
  if (!Array.isArray(v)) return `'${show(v)}' is not a list`;
  const seen = new Set<string>();
  for (const r of v) {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) return `'${show(r)}' is not a dictionary`;
    const keys = Object.keys(r);
    const extra = keys.filter((k) => k !== 'destination' && k !== 'nexthop');
    if (extra.length || keys.length !== 2)
      return `Validation of dictionary's keys failed. Expected keys: {'destination', 'nexthop'} Provided keys: {${keys.map((k) => `'${show(k)}'`).join(', ')}}`;
    const bad = isSubnetCidr(r.destination) ?? isIp(r.nexthop);
    if (bad) return bad;
    const key = `${r.destination}|${r.nexthop}`;
    if (seen.has(key)) return `Duplicate hostroute '${show(r)}'`;
    seen.add(key);
  }
  return undefined;
};

export const isAllocationPools: Validator = (v) => {
  if (!Array.isArray(v)) return `'${show(v)}' is not a list`;
  for (const p of v) {
    if (p === null || typeof p !== 'object' || Array.isArray(p)) return `'${show(p)}' is not a dictionary`;
    const keys = Object.keys(p).sort();
    if (keys.join(',') !== 'end,start')
      return `Validation of dictionary's keys failed. Expected keys: {'end', 'start'} Provided keys: {${keys.map((k) => `'${show(k)}'`).join(', ')}}`;
    const bad = isIp(p.start) ?? isIp(p.end);
    if (bad) return bad;
  }
  return undefined;
};

/** fixed_ips: [{subnet_id?, ip_address?}] */
export const isFixedIps: Validator = (v) => {
  if (!Array.isArray(v)) return `Invalid data format for fixed IP: '${show(v)}'`;
  const seenIps = new Set<string>();
  for (const f of v) {
    if (f === null || typeof f !== 'object' || Array.isArray(f)) return `Invalid data format for fixed IP: '${show(f)}'`;
    for (const k of Object.keys(f)) {
      if (k !== 'subnet_id' && k !== 'ip_address') return `Invalid data format for fixed IP: '${show(f)}'`;
    }
    if ('ip_address' in f) {
      const c = canonicalIpOrNull(f.ip_address);
      if (!c) return `'${show(f.ip_address)}' is not a valid IP address`;
      if (seenIps.has(c)) return `Duplicate IP address '${show(f.ip_address)}'`;
      seenIps.add(c);
    }
    if ('subnet_id' in f) {
      const bad = isUuid(f.subnet_id);
      if (bad) return bad;
    }
  }
  return undefined;
};

export const isAddressPairs: Validator = (v) => {
  // Neutron raises this one as a bare HTTPBadRequest, not as an attribute validation failure.
  if (!Array.isArray(v)) throw badRequest('Allowed address pairs must be a list.');
  for (const p of v) {
    if (p === null || typeof p !== 'object' || Array.isArray(p)) return `'${show(p)}' is not a dictionary`;
    for (const k of Object.keys(p)) {
      if (k !== 'ip_address' && k !== 'mac_address') return `Unrecognized attribute(s) '${show(k)}'`;
    }
  }
  return undefined;
};

export const isExternalGatewayInfo: Validator = (v) => {
  if (v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) return `'${show(v)}' is not a dictionary`;
  const g = v as Record<string, unknown>;
  for (const k of Object.keys(g)) {
    // qos_policy_id belongs to the qos-gateway-ip extension, which is not offered: refused, not ignored.
    if (!['network_id', 'enable_snat', 'external_fixed_ips'].includes(k)) {
      return `Validation of dictionary's keys failed. Unexpected key '${show(k)}'`;
    }
  }
  if (g.network_id === undefined) return `Validation of dictionary's keys failed. Expected keys: {'network_id'}`;
  const bad = isUuid(g.network_id);
  if (bad) return bad;
  if (g.enable_snat !== undefined && typeof g.enable_snat !== 'boolean') {
    try {
      toBoolean(g.enable_snat);
    } catch (e) {
      return (e as Error).message;
    }
  }
  if (g.external_fixed_ips !== undefined) return isFixedIps(g.external_fixed_ips);
  return undefined;
};
