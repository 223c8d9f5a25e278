// Subnet requests: pure checks of what a create or update asks for (limits, CIDR, gateway).
import { invalidInput, NeutronError } from '../model/errors.ts';
import { canonicalIpOrNull, formatCidr, parsePrefix, type Cidr } from '../model/ip.ts';
import { validateGateway } from '../model/ipam.ts';
import type { Item } from './common.ts';

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

/** SLAAC and DHCPv6-stateless: the subnet's ports take EUI-64 addresses (ipv6_utils.is_auto_address_subnet). */
export const AUTO_ADDRESS_MODES = ['slaac', 'dhcpv6-stateless'];

export function isAutoAddressSubnet(s: { ipv6_ra_mode?: unknown; ipv6_address_mode?: unknown }): boolean {
  return AUTO_ADDRESS_MODES.includes(s.ipv6_address_mode as string) || AUTO_ADDRESS_MODES.includes(s.ipv6_ra_mode as string);
}

const isSet = (v: unknown) => v !== undefined && v !== null;

/** _validate_ip_version: an address or prefix of the subnet's family. */
function checkFamily(version: number, text: unknown, name: string): void {
  if (parsePrefix(text)?.version !== version) {
    throw invalidInput(`${name} '${String(text)}' does not match the ip_version '${version}'`);
  }
}

/** The CIDR a create asks for, checked against ip_version, DHCP and the IPv6-only attributes (_validate_subnet). */
export function requestedCidr(a: Item): Cidr {
  const cidr = parsePrefix(a.cidr)!;
  checkFamily(a.ip_version as number, a.cidr, 'cidr');
  checkSubnetRequest(a, cidr);
  return cidr;
}

/**
 * _validate_subnet: what a create asks for besides its CIDR, and with the CIDR when the request names
 * one (a pool's allocation is not checked against DHCP or EUI-64 needs, as in Neutron).
 */
export function checkSubnetRequest(a: Item, cidr: Cidr | null): void {
  const version = (cidr?.version ?? a.ip_version) as number;
  if (cidr) checkCidr(a, cidr);
  checkAddressFamilies(version, a);
  if (version === 4) {
    for (const key of ['ipv6_ra_mode', 'ipv6_address_mode'] as const) {
      if (isSet(a[key])) throw invalidInput(`${key} is not valid when ip_version is 4`);
    }
  } else {
    checkIpv6Modes(cidr, a);
  }
}

function checkCidr(a: Item, cidr: Cidr): void {
  if (cidr.prefixLength === 0) throw invalidInput('0 is not allowed as CIDR prefix length');
  if (cidr.version === 6 && cidr.network === 0n) throw invalidInput("IPv6 subnet '::' is not supported");
  if (a.enable_dhcp) checkDhcpServable(cidr);
}

/** Whether the whole prefix lies inside `range` (netaddr's `IPNetwork in IPNetwork`). */
const within = (cidr: Cidr, range: Cidr) => cidr.version === range.version && cidr.network >= range.network && cidr.last <= range.last;

const IPV4_MULTICAST = parsePrefix('224.0.0.0/4')!;
const IPV6_MULTICAST = parsePrefix('ff00::/8')!;
const IPV4_LOOPBACK = parsePrefix('127.0.0.0/8')!;

/**
 * _validate_subnet's checks of a CIDR that DHCP is to serve: on create with enable_dhcp, and on an
 * update that turns DHCP on (a subnet that already had it is not checked again, as in Neutron).
 */
export function checkDhcpServable(cidr: Cidr): void {
  if (cidr.prefixLength > (cidr.version === 4 ? 30 : 126)) {
    throw invalidInput('Subnet has a prefix length that is incompatible with DHCP service enabled');
  }
  if (within(cidr, cidr.version === 4 ? IPV4_MULTICAST : IPV6_MULTICAST)) {
    throw invalidInput('Multicast IP subnet is not supported if enable_dhcp is True');
  }
  // IPv6's loopback is ::1/128, already refused by the prefix length.
  if (within(cidr, IPV4_LOOPBACK)) throw invalidInput('Loopback IP subnet is not supported if enable_dhcp is True');
  // Neutron's message ends in a full stop of its own (so its reply has two).
  if (cidr.version === 4 && cidr.network === 0n) {
    throw invalidInput("First IP '0.0.0.0' of network is not supported if enable_dhcp is True.");
  }
}

/** dns_nameservers and host routes of the subnet's family (_validate_subnet, _validate_host_route). */
export function checkAddressFamilies(version: number, a: Item): void {
  if (a.gateway_ip !== undefined && a.gateway_ip !== null) checkFamily(version, a.gateway_ip, 'gateway_ip');
  for (const dns of (a.dns_nameservers as unknown[] | undefined) ?? []) checkFamily(version, dns, 'dns_nameserver');
  for (const r of (a.host_routes as Array<{ destination: unknown; nexthop: unknown }> | undefined) ?? []) {
    checkFamily(version, r.nexthop, 'nexthop');
    checkFamily(version, r.destination, 'destination');
  }
}

/** _validate_ipv6_attributes on create: modes need DHCP, must agree, and auto-addressing needs a /64. */
function checkIpv6Modes(cidr: Cidr | null, a: Item): void {
  const ra = a.ipv6_ra_mode;
  const addr = a.ipv6_address_mode;
  if ((isSet(ra) || isSet(addr)) && !a.enable_dhcp) {
    throw invalidInput('ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False');
  }
  if (isSet(ra) && isSet(addr) && ra !== addr) {
    throw invalidInput(
      `ipv6_ra_mode set to '${String(ra)}' with ipv6_address_mode set to '${String(addr)}' is not valid. If both attributes are set, they must be the same value`,
    );
  }
  if (cidr && isAutoAddressSubnet(a) && cidr.prefixLength !== 64) {
    throw invalidInput(
      `Invalid CIDR ${formatCidr(cidr)} for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64`,
    );
  }
}

/** _validate_ipv6_update_dhcp: DHCP stays on while an IPv6 mode is set. */
export function checkIpv6DhcpUpdate(subnet: { ipv6_ra_mode: string | null; ipv6_address_mode: string | null }, a: Item): void {
  if ('enable_dhcp' in a && !a.enable_dhcp && (isSet(subnet.ipv6_ra_mode) || isSet(subnet.ipv6_address_mode))) {
    throw invalidInput('Cannot disable enable_dhcp with ipv6 attributes set');
  }
}

/** A requested gateway (null: none), validated against the CIDR and in canonical form. */
export function checkedGateway(cidr: Cidr, gateway: string | null): string | null {
  if (gateway === null) return null;
  validateGateway(cidr, gateway);
  return canonicalIpOrNull(gateway)!;
}
