// Subnet service types (subnet-service-types): a subnet may be reserved for ports of given device
// owners. IP allocation then considers only the subnets whose service types name the port's owner
// or that have none (neutron/objects/subnet.py::SubnetServiceType._query_entity_service_subnets).
import { NeutronError, badRequest } from '../model/errors.ts';
import { DHCP_OWNER } from '../model/neutron.ts';
import type { SubnetRow } from '../store/schema/index.ts';
import { parseJson } from './common.ts';

/**
 * The prefixes a service type may start with, as neutron-lib builds them: DEVICE_OWNER_PREFIXES
 * ('network:', 'neutron:') extended by the string 'compute:', which Python adds character by
 * character, so any type starting with one of `compute:`'s letters passes as well.
 */
const SERVICE_TYPE_PREFIXES = ['network:', 'neutron:', ...'compute:'];

/** How Python's str() shows a JSON value in a message. */
function pythonStr(v: unknown): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * validate_subnet_service_types: a list of device-owner-like strings. Falsy values (null, [], "")
 * pass unchecked, as in Python, and mean no service types; the converted value is always a list.
 */
export function toServiceTypes(v: unknown): string[] {
  if (!v) return [];
  if (!Array.isArray(v)) throw badRequest('Subnet service types must be a list.');
  for (const t of v) {
    if (typeof t !== 'string') {
      throw new NeutronError(400, 'InvalidInputSubnetServiceType', `Subnet service type ${pythonStr(t)} is not a string.`);
    }
    if (!SERVICE_TYPE_PREFIXES.some((p) => t.startsWith(p))) {
      throw new NeutronError(400, 'InvalidSubnetServiceType', `Subnet service type ${t} does not correspond to a valid device owner.`);
    }
  }
  return v as string[];
}

export const serviceTypesOf = (subnet: Pick<SubnetRow, 'service_types'>) => parseJson<string[]>(subnet.service_types);

/** Whether a port owned by `deviceOwner` may take an address on the subnet (DHCP ports: on any subnet that serves DHCP). */
export function servesOwner(subnet: SubnetRow, deviceOwner: string): boolean {
  const types = serviceTypesOf(subnet);
  return !types.length || types.includes(deviceOwner) || (deviceOwner === DHCP_OWNER && Boolean(subnet.enable_dhcp));
}

/**
 * _ipam_get_subnets: the subnets a port of `deviceOwner` may use, those reserved for a service first;
 * none though the network has subnets is Neutron's IpAddressGenerationFailureNoMatchingSubnet.
 */
export function candidateSubnets(subnets: SubnetRow[], networkId: string, deviceOwner: string): SubnetRow[] {
  const candidates = subnets.filter((s) => servesOwner(s, deviceOwner));
  if (subnets.length && !candidates.length) {
    throw new NeutronError(
      409,
      'IpAddressGenerationFailureNoMatchingSubnet',
      `No valid service subnet for the given device owner, network ${networkId}, service type ${deviceOwner}.`,
    );
  }
  const typed = candidates.filter((s) => serviceTypesOf(s).length);
  return [...typed, ...candidates.filter((s) => !serviceTypesOf(s).length)];
}
