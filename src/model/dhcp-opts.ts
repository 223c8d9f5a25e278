// Ports' extra DHCP options (neutron-lib api/definitions/extra_dhcp_opt.py, neutron/db/extradhcpopt_db.py):
// the request check, and how a create or an update turns a request into the stored list. Pure.
import { invalidInput } from './errors.ts';
import { isString, show, toInt } from './validators.ts';

export interface DhcpOpt {
  opt_name: string;
  opt_value: string;
  ip_version: number;
}

/** A requested option: a null value on update removes the option of that name and IP version. */
export interface DhcpOptRequest {
  opt_name: string;
  opt_value: string | null;
  ip_version: number;
}

/** Options that may be sent with an empty value (they tell the client "none"). */
const BLANK_ALLOWED = ['router', 'classless-static-route'];
const NAME_MAX = 64;
const VALUE_MAX = 255;
const KEYS = ['opt_name', 'opt_value', 'ip_version'];

/** Python's len(str.splitlines()): a trailing line break ends the last line, it starts none. */
function lineCount(s: string): number {
  const lines = s.split(/\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/);
  return lines[lines.length - 1] === '' ? lines.length - 1 : lines.length;
}

/** validate_oneline_not_empty_string: a string within `max`, not blank, on one line. */
function onelineNotEmpty(v: unknown, max: number): string | undefined {
  const reason = isString(max)(v);
  if (reason) return reason;
  const s = v as string;
  if (!s.trim()) return `'${show(s)}' Blank strings are not permitted`;
  if (lineCount(s) > 1) return `Multi-line string is not allowed: '${show(s)}'`;
  return undefined;
}

/** One option against the two key specs (blank-able names, then any one-line name). */
function checkOne(item: unknown): DhcpOptRequest {
  const noMatch = () => invalidInput(`No valid key specs matched for: ${show(item)}`);
  if (item === null || typeof item !== 'object' || Array.isArray(item)) throw noMatch();
  const o = item as Record<string, unknown>;
  if (!Object.hasOwn(o, 'opt_name') || !Object.hasOwn(o, 'opt_value')) throw noMatch();
  if (Object.keys(o).some((k) => !KEYS.includes(k))) throw noMatch();
  let ipVersion = 4;
  if (Object.hasOwn(o, 'ip_version')) {
    try {
      ipVersion = toInt(o.ip_version) as number;
    } catch (e) {
      throw invalidInput((e as Error).message);
    }
    if (ipVersion !== 4 && ipVersion !== 6) throw noMatch();
  }
  const name = o.opt_name;
  const value = o.opt_value;
  const blankable = typeof name === 'string' && BLANK_ALLOWED.includes(name);
  const valueOk = value === null || (blankable ? !isString(VALUE_MAX)(value) : !onelineNotEmpty(value, VALUE_MAX));
  if (onelineNotEmpty(name, NAME_MAX) || !valueOk) throw noMatch();
  return { opt_name: name as string, opt_value: value as string | null, ip_version: ipVersion };
}

/** The request's extra_dhcp_opts checked and normalised; null (not given) is an empty list. */
export function parseDhcpOpts(v: unknown): DhcpOptRequest[] {
  if (v === null) return [];
  if (!Array.isArray(v)) throw invalidInput(`'${show(v)}' is not a list`);
  const seen = new Set<string>();
  for (const item of v) {
    const key = JSON.stringify(item);
    if (seen.has(key)) throw invalidInput(`Duplicate items in the list: '${show(item)}'`);
    seen.add(key);
  }
  return v.map(checkOne);
}

/** Whether the value is stored at all: an empty value only for blank-able options, never null. */
function storable(o: DhcpOptRequest): o is DhcpOpt {
  if (o.opt_value === null) return false;
  return BLANK_ALLOWED.includes(o.opt_name) || o.opt_value !== '';
}

/** The options a new port stores. */
export function dhcpOptsOnCreate(requested: DhcpOptRequest[]): DhcpOpt[] {
  return requested.filter(storable).map(({ opt_name, opt_value, ip_version }) => ({ opt_name, opt_value: opt_value!, ip_version }));
}

/** An update merges by (name, IP version): a null value removes, another value replaces, a new name is added. */
export function dhcpOptsOnUpdate(current: DhcpOpt[], requested: DhcpOptRequest[]): DhcpOpt[] {
  const out = current.map((o) => ({ ...o }));
  for (const r of requested) {
    const at = out.findIndex((o) => o.opt_name === r.opt_name && o.ip_version === r.ip_version);
    if (at >= 0) {
      if (r.opt_value === null) out.splice(at, 1);
      else if (storable(r)) out[at].opt_value = r.opt_value;
    } else if (storable(r)) {
      out.push({ opt_name: r.opt_name, opt_value: r.opt_value, ip_version: r.ip_version });
    }
  }
  return out;
}
