// Network segments (ML2 type drivers flat and vxlan): validation of provider attributes,
// tenant VNI allocation, and the MTU Neutron computes for each type.
import { randomInt } from 'node:crypto';
import { isRetry } from '../store/unit-of-work.js';
import type { ServerConfig } from '../server-config.js';
import { conflict, invalidInput, unavailable } from '../model/errors.js';
import type { Tx } from './common.js';

export interface Segment {
  network_type: string;
  physical_network: string | null;
  segmentation_id: number | null;
}

export const VXLAN_MAX_VNI = 2 ** 24 - 1;
/** VXLAN over IPv4: 8 (VXLAN) + 8 (UDP) + 14 (inner Ethernet) + 20 (outer IPv4). */
export const VXLAN_OVERHEAD = 50;

export const segmentKey = (s: Segment) =>
  s.network_type === 'flat' ? `flat:${s.physical_network}` : `${s.network_type}:${s.segmentation_id}`;

export function maxMtu(config: ServerConfig, networkType: string): number {
  return networkType === 'vxlan' ? config.physicalMtu - VXLAN_OVERHEAD : config.physicalMtu;
}

/** Checks provider attributes given on create (admin only, enforced by the attribute map). */
export function validateProviderSegment(config: ServerConfig, s: Partial<Segment>): Segment {
  const type = s.network_type;
  if (type === 'flat') {
    if (s.segmentation_id !== undefined && s.segmentation_id !== null) {
      throw invalidInput('segmentation_id prohibited for flat provider network');
    }
    if (!s.physical_network) throw invalidInput('physical_network required for flat provider network');
    if (!config.flatNetworks.includes('*') && !config.flatNetworks.includes(s.physical_network)) {
      throw invalidInput(`physical_network '${s.physical_network}' unknown for flat provider network`);
    }
    return { network_type: 'flat', physical_network: s.physical_network, segmentation_id: null };
  }
  if (type === 'vxlan') {
    if (s.physical_network) throw invalidInput('physical_network prohibited for vxlan provider network');
    const vni = s.segmentation_id;
    if (vni !== undefined && vni !== null && (vni < 1 || vni > VXLAN_MAX_VNI)) {
      throw invalidInput(`segmentation_id out of range (1 through ${VXLAN_MAX_VNI})`);
    }
    return { network_type: 'vxlan', physical_network: null, segmentation_id: vni ?? null };
  }
  throw invalidInput(`network_type value '${String(type)}' not supported`);
}

/** How many of the lowest free VNIs a retried allocation chooses among (Neutron's IDPOOL_SELECT_SIZE). */
const VNI_SELECT_SIZE = 100;

/**
 * Completes a segment: a VXLAN segment without a VNI gets the lowest free one of the ranges — or, when
 * its unit of work lost that VNI to a concurrent one and runs again, one at random among the lowest
 * free (see isRetry).
 */
export async function allocateSegment(tx: Tx, config: ServerConfig, s: Segment): Promise<Segment> {
  if (s.network_type === 'vxlan' && s.segmentation_id === null) {
    const used = new Set(
      (await tx.selectFrom('networks').select('segmentation_id').where('network_type', '=', 'vxlan').execute()).map(
        (r) => r.segmentation_id,
      ),
    );
    const free: number[] = [];
    const wanted = isRetry(tx) ? VNI_SELECT_SIZE : 1;
    for (const [lo, hi] of config.vniRanges) {
      for (let vni = lo; vni <= hi && free.length < wanted; vni++) if (!used.has(vni)) free.push(vni);
    }
    if (free.length) return { ...s, segmentation_id: free[randomInt(free.length)] };
    throw unavailable('NoNetworkAvailable', 'Unable to create the network. No tenant network is available for allocation.');
  }
  const taken = await tx.selectFrom('networks').select('id').where('segment_key', '=', segmentKey(s)).executeTakeFirst();
  if (taken) {
    if (s.network_type === 'flat') {
      throw conflict('FlatNetworkInUse', `Unable to create the flat network. Physical network ${s.physical_network} is in use.`);
    }
    throw conflict('TunnelIdInUse', `Unable to create the network. The tunnel ID ${s.segmentation_id} is in use.`);
  }
  return s;
}

/** The segment a network gets when created without provider attributes. */
export function tenantSegment(config: ServerConfig): Segment {
  const type = config.tenantNetworkTypes[0] ?? 'vxlan';
  if (type !== 'vxlan')
    throw unavailable('NoNetworkAvailable', 'Unable to create the network. No tenant network is available for allocation.');
  return { network_type: 'vxlan', physical_network: null, segmentation_id: null };
}
