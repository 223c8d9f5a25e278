// The multi-provider extension: a network's `segments` on create (a list of provider segments,
// never together with the single provider:* attributes) and in its dict when it holds more than one.
// Neutron's validators/multiprovidernet.py, ml2 TypeManager's _process_provider_create and
// extend_network_with_provider_segments. Pure.
import type { ServerConfig } from '../server-config.ts';
import { badRequest, invalidAttribute, invalidInput } from '../model/errors.ts';
import { segmentKey, validateProviderSegment, type Segment } from './segments.ts';

export const NETWORK_TYPE = 'provider:network_type';
export const PHYSICAL_NETWORK = 'provider:physical_network';
export const SEGMENTATION_ID = 'provider:segmentation_id';
export const PROVIDER_ATTRIBUTES = [NETWORK_TYPE, PHYSICAL_NETWORK, SEGMENTATION_ID] as const;

/** A segment as the API shows it: the three provider attributes. */
export type ApiSegment = Record<(typeof PROVIDER_ATTRIBUTES)[number], unknown>;

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** An integer as Python's int() takes it from JSON: a number or a string of digits. */
function toSegmentationId(v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v === 'string' && /^\s*[-+]?\d+\s*$/.test(v)) return Number(v);
  throw invalidInput(`'${show(v)}' is not an integer`);
}

/**
 * convert_and_validate_segments: each segment a dict of the provider attributes (those missing
 * unset, a falsy segmentation_id unset too), anything else refused as Neutron refuses it.
 */
export function convertSegments(v: unknown): ApiSegment[] {
  if (!Array.isArray(v)) throw invalidAttribute('segments', `'${show(v)}' is not a list`);
  return v.map((raw: unknown) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw invalidAttribute('segments', `'${show(raw)}' is not a dictionary`);
    }
    const s = raw as Record<string, unknown>;
    const unknown = Object.keys(s).filter((k) => !(PROVIDER_ATTRIBUTES as readonly string[]).includes(k));
    const id = s[SEGMENTATION_ID];
    const segment: ApiSegment = {
      [NETWORK_TYPE]: s[NETWORK_TYPE] ?? null,
      [PHYSICAL_NETWORK]: s[PHYSICAL_NETWORK] ?? null,
      // Python's truthiness: 0, "" and null leave it unset.
      [SEGMENTATION_ID]: id ? toSegmentationId(id) : null,
    };
    if (unknown.length) throw badRequest(`Unrecognized attribute(s) '${unknown.join(', ')}'`);
    return segment;
  });
}

const isSet = (v: unknown) => v !== undefined && v !== null;

/** _process_provider_segment: a segment names its type, then its type driver validates it. */
function providerSegment(config: ServerConfig, s: Record<string, unknown>): Segment {
  if (!isSet(s[NETWORK_TYPE])) throw invalidInput('network_type required');
  return validateProviderSegment(config, {
    network_type: s[NETWORK_TYPE] as string,
    physical_network: (s[PHYSICAL_NETWORK] as string | null) ?? null,
    segmentation_id: (s[SEGMENTATION_ID] as number | null) ?? null,
  });
}

/** is_partial_segment: a segment whose type driver still chooses part of it. */
const isPartial = (s: Segment) =>
  (s.network_type === 'vlan' && (s.physical_network === null || s.segmentation_id === null)) ||
  (s.network_type === 'vxlan' && s.segmentation_id === null);

/** check_duplicate_segments over the fully specified segments. */
function rejectDuplicates(segments: readonly Segment[]): void {
  const keys = segments.filter((s) => !isPartial(s)).map(segmentKey);
  if (new Set(keys).size !== keys.length) throw invalidInput('Duplicate segment entry in request');
}

/**
 * _process_provider_create: the segments a create names — the provider attributes' one, or the
 * `segments` list — or null for a tenant segment (null attributes name nothing).
 */
export function requestedSegments(config: ServerConfig, a: Record<string, unknown>): Segment[] | null {
  const segments = a.segments as ApiSegment[] | null | undefined;
  if (PROVIDER_ATTRIBUTES.some((k) => isSet(a[k]))) {
    if (isSet(segments)) throw invalidInput('Segments and provider values cannot both be set');
    return [providerSegment(config, a)];
  }
  if (!segments?.length) return null;
  const out = segments.map((s) => providerSegment(config, s));
  rejectDuplicates(out);
  return out;
}

export const apiSegment = (s: Segment): ApiSegment => ({
  [NETWORK_TYPE]: s.network_type,
  [PHYSICAL_NETWORK]: s.physical_network,
  [SEGMENTATION_ID]: s.segmentation_id,
});

/**
 * A network's segments in its dict: one segment as the provider attributes, several as `segments`
 * (then no provider attributes), none as null provider attributes.
 */
export function providerFields(segments: readonly Segment[]): Record<string, unknown> {
  if (segments.length > 1) return { segments: segments.map(apiSegment) };
  if (segments.length === 1) return apiSegment(segments[0]!);
  return { [NETWORK_TYPE]: null, [PHYSICAL_NETWORK]: null, [SEGMENTATION_ID]: null };
}
