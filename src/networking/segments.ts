// Network segments (ML2 type drivers flat, vlan and vxlan): validation of provider attributes,
// tenant segment allocation in the order of tenant_network_types, the MTU Neutron computes for
// each type, and the network_segments rows that hold a network's segments in order.
import { randomInt } from 'node:crypto';
import { isRetry } from '../store/unit-of-work.ts';
import { MAX_VLAN_TAG, MIN_VLAN_TAG, type ServerConfig } from '../server-config.ts';
import { conflict, invalidInput, unavailable, type NeutronError } from '../model/errors.ts';
import type { NetworkSegmentRow } from '../store/schema/index.ts';
import { newId, timestamp, type Tx } from './common.ts';

export interface Segment {
  network_type: string;
  physical_network: string | null;
  segmentation_id: number | null;
}

export const VXLAN_MAX_VNI = 2 ** 24 - 1;
/** VXLAN over IPv4: 8 (VXLAN) + 8 (UDP) + 14 (inner Ethernet) + 20 (outer IPv4). */
export const VXLAN_OVERHEAD = 50;

export function segmentKey(s: Segment): string {
  if (s.network_type === 'flat') return `flat:${s.physical_network}`;
  if (s.network_type === 'vlan') return `vlan:${s.physical_network}:${s.segmentation_id}`;
  return `${s.network_type}:${s.segmentation_id}`;
}

/**
 * The largest MTU of a segment: a tunnel's is the underlay's less its overhead; a physical network's
 * is the underlay's, or its own from physical_network_mtus when that is smaller (Neutron's get_mtu).
 */
export function maxMtu(config: ServerConfig, networkType: string, physicalNetwork: string | null = null): number {
  if (networkType === 'vxlan') return config.physicalMtu - VXLAN_OVERHEAD;
  const own = physicalNetwork === null ? undefined : config.physicalNetworkMtus[physicalNetwork];
  return own === undefined ? config.physicalMtu : Math.min(config.physicalMtu, own);
}

const noNetworkAvailable = (): NeutronError =>
  unavailable('NoNetworkAvailable', 'Unable to create the network. No tenant network is available for allocation.');

const given = <T>(v: T | null | undefined): v is T => v !== undefined && v !== null;

function validateFlat(config: ServerConfig, s: Partial<Segment>): Segment {
  if (given(s.segmentation_id)) throw invalidInput('segmentation_id prohibited for flat provider network');
  if (!s.physical_network) throw invalidInput('physical_network required for flat provider network');
  if (!config.flatNetworks.includes('*') && !config.flatNetworks.includes(s.physical_network)) {
    throw invalidInput(`physical_network '${s.physical_network}' unknown for flat provider network`);
  }
  return { network_type: 'flat', physical_network: s.physical_network, segmentation_id: null };
}

/** Neutron's VlanTypeDriver.validate_provider_segment. */
function validateVlan(config: ServerConfig, s: Partial<Segment>): Segment {
  const physnet = s.physical_network || null;
  const vid = s.segmentation_id;
  if (physnet) {
    if (!config.networkVlanRanges.some((r) => r.physicalNetwork === physnet)) {
      throw invalidInput(`physical_network '${physnet}' unknown for VLAN provider network`);
    }
    if (given(vid) && (vid < MIN_VLAN_TAG || vid > MAX_VLAN_TAG)) {
      throw invalidInput(`segmentation_id out of range (${MIN_VLAN_TAG} through ${MAX_VLAN_TAG})`);
    }
  } else if (given(vid)) {
    throw invalidInput('segmentation_id requires physical_network for VLAN provider network');
  }
  return { network_type: 'vlan', physical_network: physnet, segmentation_id: vid ?? null };
}

function validateVxlan(s: Partial<Segment>): Segment {
  if (s.physical_network) throw invalidInput('physical_network prohibited for vxlan provider network');
  const vni = s.segmentation_id;
  if (given(vni) && (vni < 1 || vni > VXLAN_MAX_VNI)) {
    throw invalidInput(`segmentation_id out of range (1 through ${VXLAN_MAX_VNI})`);
  }
  return { network_type: 'vxlan', physical_network: null, segmentation_id: vni ?? null };
}

/** Checks provider attributes given on create (admin only, enforced by the attribute map). */
export function validateProviderSegment(config: ServerConfig, s: Partial<Segment>): Segment {
  if (s.network_type === 'flat') return validateFlat(config, s);
  if (s.network_type === 'vlan') return validateVlan(config, s);
  if (s.network_type === 'vxlan') return validateVxlan(s);
  throw invalidInput(`network_type value '${String(s.network_type)}' not supported`);
}

/** How many of the lowest free ids a retried allocation chooses among (Neutron's IDPOOL_SELECT_SIZE). */
const ID_SELECT_SIZE = 100;

/**
 * A free id of the ranges: the lowest — or, when the unit of work lost that id to a concurrent one and
 * runs again, one at random among the lowest free (see isRetry); null when the ranges are full.
 */
function chooseFree(tx: Tx, ranges: Array<[number, number]>, used: Set<number>): number | null {
  const free: number[] = [];
  const wanted = isRetry(tx) ? ID_SELECT_SIZE : 1;
  for (const [lo, hi] of ranges) {
    for (let id = lo; id <= hi && free.length < wanted; id++) if (!used.has(id)) free.push(id);
  }
  return free.length ? free[randomInt(free.length)] : null;
}

/** The ids of the request's own segments (not yet written) of a type and physical network. */
const pendingIds = (pending: readonly Segment[], type: string, physnet: string | null) =>
  pending.filter((p) => p.network_type === type && p.physical_network === physnet).map((p) => p.segmentation_id!);

async function freeVni(tx: Tx, config: ServerConfig, pending: readonly Segment[]): Promise<number | null> {
  const rows = await tx.selectFrom('network_segments').select('segmentation_id').where('network_type', '=', 'vxlan').execute();
  return chooseFree(tx, config.vniRanges, new Set([...rows.map((r) => r.segmentation_id!), ...pendingIds(pending, 'vxlan', null)]));
}

/** A free VLAN of the physical network's ranges, or null. */
async function freeVlan(tx: Tx, ranges: Array<[number, number]>, physnet: string, pending: readonly Segment[]): Promise<number | null> {
  const rows = await tx.selectFrom('ml2_vlan_allocations').select('vlan_id').where('physical_network', '=', physnet).execute();
  return chooseFree(tx, ranges, new Set([...rows.map((r) => r.vlan_id), ...pendingIds(pending, 'vlan', physnet)]));
}

/** A free VLAN of the first physical network (in network_vlan_ranges' order, or the one named) that has one. */
async function allocateVlan(tx: Tx, config: ServerConfig, physnet: string | null, pending: readonly Segment[]): Promise<Segment | null> {
  for (const { physicalNetwork, ranges } of config.networkVlanRanges) {
    if (physnet !== null && physicalNetwork !== physnet) continue;
    const vid = await freeVlan(tx, ranges, physicalNetwork, pending);
    if (vid !== null) return { network_type: 'vlan', physical_network: physicalNetwork, segmentation_id: vid };
  }
  return null;
}

/** The segment of a type a network gets without provider attributes, or null when its ranges are full. */
async function allocateTenantSegment(tx: Tx, config: ServerConfig, type: string, pending: readonly Segment[]): Promise<Segment | null> {
  if (type === 'vlan') return allocateVlan(tx, config, null, pending);
  const vni = await freeVni(tx, config, pending);
  return vni === null ? null : { network_type: 'vxlan', physical_network: null, segmentation_id: vni };
}

/** Refuses a fully specified segment another network holds (the unique segment key is the last word). */
async function rejectTakenSegment(tx: Tx, s: Segment): Promise<void> {
  const taken = await tx.selectFrom('network_segments').select('id').where('segment_key', '=', segmentKey(s)).executeTakeFirst();
  if (!taken) return;
  if (s.network_type === 'flat') {
    throw conflict('FlatNetworkInUse', `Unable to create the flat network. Physical network ${s.physical_network} is in use.`);
  }
  if (s.network_type === 'vlan') {
    throw conflict(
      'VlanIdInUse',
      `Unable to create the network. The VLAN ${s.segmentation_id} on physical network ${s.physical_network} is in use.`,
    );
  }
  throw conflict('TunnelIdInUse', `Unable to create the network. The tunnel ID ${s.segmentation_id} is in use.`);
}

/**
 * Completes a segment: a tenant segment (null: no provider attributes) is allocated from the first of
 * tenant_network_types with a free id; a provider segment without an id gets a free one of its type's
 * ranges; a fully specified one must be free. `pending`: the segments this request completed before,
 * not yet written, whose ids are taken too.
 */
export async function allocateSegment(tx: Tx, config: ServerConfig, s: Segment | null, pending: readonly Segment[] = []): Promise<Segment> {
  if (s === null) {
    for (const type of config.tenantNetworkTypes) {
      const allocated = await allocateTenantSegment(tx, config, type, pending);
      if (allocated) return allocated;
    }
    throw noNetworkAvailable();
  }
  if (s.segmentation_id === null && s.network_type !== 'flat') {
    const allocated =
      s.network_type === 'vlan'
        ? await allocateVlan(tx, config, s.physical_network, pending)
        : await allocateTenantSegment(tx, config, 'vxlan', pending);
    if (allocated) return allocated;
    throw noNetworkAvailable();
  }
  await rejectTakenSegment(tx, s);
  return s;
}

/** Completes the segments of one request in order (each id taken by the ones before it). */
export async function allocateSegments(tx: Tx, config: ServerConfig, requested: ReadonlyArray<Segment | null>): Promise<Segment[]> {
  const out: Segment[] = [];
  for (const s of requested) out.push(await allocateSegment(tx, config, s, out));
  return out;
}

/** The largest MTU of a network: its segments' smallest, without segments the underlay's (Neutron's _get_network_mtu). */
export const networkMaxMtu = (config: ServerConfig, segments: readonly Segment[]): number =>
  segments.length ? Math.min(...segments.map((s) => maxMtu(config, s.network_type, s.physical_network))) : config.physicalMtu;

/** Writes the network's segments in order (after the network's row), each VLAN recorded as allocated. */
export async function insertSegments(tx: Tx, networkId: string, segments: readonly Segment[]): Promise<void> {
  const now = timestamp();
  for (const [index, s] of segments.entries()) {
    await tx
      .insertInto('network_segments')
      .values({
        id: newId(),
        network_id: networkId,
        network_type: s.network_type,
        physical_network: s.physical_network,
        segmentation_id: s.segmentation_id,
        segment_key: segmentKey(s),
        segment_index: index,
        name: null,
        description: '',
        revision_number: 0,
        created_at: now,
        updated_at: now,
      })
      .execute();
    if (s.network_type !== 'vlan') continue;
    await tx
      .insertInto('ml2_vlan_allocations')
      .values({ physical_network: s.physical_network!, vlan_id: s.segmentation_id!, network_id: networkId })
      .execute();
  }
}

/** Each network's segments, in order. */
export async function segmentsByNetwork(tx: Tx, networkIds: readonly string[]): Promise<Map<string, NetworkSegmentRow[]>> {
  const out = new Map<string, NetworkSegmentRow[]>(networkIds.map((id) => [id, []]));
  if (!networkIds.length) return out;
  const rows = await tx
    .selectFrom('network_segments')
    .selectAll()
    .where('network_id', 'in', [...networkIds])
    .orderBy('network_id')
    .orderBy('segment_index')
    .execute();
  for (const r of rows) out.get(r.network_id)?.push(r);
  return out;
}
