// Port ranges of floating IP port forwardings (floating-ip-port-forwarding-port-ranges): the API's
// `a:b` strings (neutron_lib's validate_port_range_or_none), the N:N or N:1 relation the plugin
// requires (_validate_ranges), and its overlap test (_range_collides). Pure.
import { show, type Validator } from '../model/validators.ts';

export interface PortRange {
  start: number;
  end: number;
}

const TWO_INTEGERS = 'Port range must be two integers separated by a colon';

/** oslo's netutils.is_valid_port: an integer 0..65535 (int() of the text). */
const isValidPort = (p: string) => /^\s*[+-]?\d+\s*$/.test(p) && Number(p) >= 0 && Number(p) <= 65535;

/** validate_port_range_or_none with (1, 65535): a port or `first:last`, first ≤ last; null passes. */
export const isPortRangeOrNull: Validator = (v) => {
  if (v === null) return undefined;
  const ports = show(v).split(':');
  if (ports.length > 2) return TWO_INTEGERS;
  for (const p of ports) {
    if (!p.length) return TWO_INTEGERS;
    if (!isValidPort(p)) return `Invalid port: ${p}`;
    if (Number(p) < 1) return `Invalid port: ${p}, the port must be in the range [1, 65535]`;
  }
  if (ports.length > 1 && Number(ports[0]) > Number(ports[1])) return 'First port in a port range must be lower than the second port';
  return undefined;
};

/** A validated range string (or a port) as a range. */
export function parsePortRange(v: string | number): PortRange {
  const [a, b] = String(v).split(':').map(Number);
  return { start: a!, end: b ?? a! };
}

/** As Neutron shows a range: `start:end`, a single port too. */
export const formatPortRange = (r: PortRange) => `${r.start}:${r.end}`;

/** _validate_ranges: an internal range needs an external range of the same size (N:N); a single internal port takes any (N:1). */
export const rangesRelate = (internal: PortRange, external: PortRange) =>
  internal.end === internal.start || internal.end - internal.start === external.end - external.start;

/** _range_collides: the two ranges share a port. */
export const rangesCollide = (a: PortRange, b: PortRange) => Math.max(a.start, b.start) <= Math.min(a.end, b.end);
