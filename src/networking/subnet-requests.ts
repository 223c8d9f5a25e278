// Subnet requests: pure checks of what a create or update asks for (limits, CIDR, gateway).
import { invalidInput, NeutronError, notFound } from '../model/errors.js';
import { canonicalIpOrNull, formatCidr, parsePrefix, type Cidr } from '../model/ip.js';
import { validateGateway } from '../model/ipam.js';
import type { Item } from './common.js';

export const MAX_DNS_NAMESERVERS = 5;
export const MAX_HOST_ROUTES = 20;

export function checkLimits(id: string, a: Item) {
  if (Array.isArray(a.dns_nameservers) && a.dns_nameservers.length > MAX_DNS_NAMESERVERS) {
    throw new NeutronError(
      400,
      'DNSNameServersExhausted',
      `Unable to complete operation for ${id}. The number of DNS nameservers exceeds the limit ${MAX_DNS_NAMESERVERS}.`,
    );
  }
  if (Array.isArray(a.host_routes) && a.host_routes.length > MAX_HOST_ROUTES) {
    throw new NeutronError(
      400,
      'HostRoutesExhausted',
      `Unable to complete operation for ${id}. The number of host routes exceeds the limit ${MAX_HOST_ROUTES}.`,
    );
  }
}

/** There are no subnet pools (yet): any pool named is one that does not exist. */
export function rejectSubnetPool(a: Item): void {
  if (a.subnetpool_id !== undefined && a.subnetpool_id !== null) {
    throw notFound('SubnetPoolNotFound', `Subnet pool ${a.subnetpool_id} could not be found.`);
  }
}

/** The CIDR a create asks for, checked against ip_version, DHCP and the IPv6-only attributes. */
export function requestedCidr(a: Item): Cidr {
  if (a.ip_version === 6) {
    throw invalidInput('IPv6 subnets are not supported yet by this server; create an IPv4 subnet (ip_version 4)');
  }
  if (a.cidr === undefined) throw invalidInput('A cidr must be specified in the absence of a subnet pool');
  const cidr = parsePrefix(a.cidr)!;
  if (cidr.version !== a.ip_version) throw invalidInput('Cidr and ip_version are inconsistent');
  if (cidr.prefixLength === 0) throw invalidInput('0 is not allowed as CIDR prefix length');
  if (a.enable_dhcp && cidr.version === 4 && cidr.prefixLength > 30) {
    throw invalidInput(`Invalid CIDR ${formatCidr(cidr)} for IPv4 DHCP: prefix length must be 30 or less`);
  }
  for (const key of ['ipv6_ra_mode', 'ipv6_address_mode'] as const) {
    if (a[key] !== undefined && a[key] !== null) throw invalidInput(`${key} is not valid when ip_version is 4`);
  }
  return cidr;
}

/** A requested gateway (null: none), validated against the CIDR and in canonical form. */
export function checkedGateway(cidr: Cidr, gateway: string | null): string | null {
  if (gateway === null) return null;
  validateGateway(cidr, gateway);
  return canonicalIpOrNull(gateway)!;
}
