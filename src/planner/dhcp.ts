// What the DHCP role runs for one network: dnsmasq's argv and its host/opts/addn_hosts files,
// as Neutron's DHCP agent writes them (neutron/agent/linux/dhcp.py). Pure.
import { DHCP_NS_PREFIX } from '../kernel/names.ts';
import { addressBits, ipv4Netmask, parsePrefix } from '../model/ip.ts';
import type { HostView, PortView, SubnetView } from '../model/hostview.ts';
import { DHCP_OWNER, DHCPV6_STATEFUL, DHCPV6_STATELESS, IPV6_SLAAC, NO_DHCP_OWNERS } from '../model/neutron.ts';
import { isolatedSubnets, METADATA_CIDR, metadataRouteNextHop, type MetadataFacts } from './metadata.ts';

export const LEASE_SECONDS = 86400;
export const DNS_DOMAIN = 'openstacklocal';

export interface DnsmasqPlan {
  networkId: string;
  namespace: string;
  /** $state_path/dhcp/<network id> */
  dir: string;
  /** the DHCP port (its ns- device lives in the namespace) */
  port: PortView;
  argv: string[];
  files: { host: string; addn_hosts: string; opts: string };
}

const hostname = (ip: string) => `host-${ip.replace(/[.:]/g, '-')}`;

/** --dhcp-hostsfile tag of IPv6 entries (HOST_DHCPV6_TAG; dnsmasq ≥ 2.81 takes host tags). */
const HOST_DHCPV6_TAG = 'tag:dhcpv6,';
/** [DEFAULT] dnsmasq_lease_max */
const DNSMASQ_LEASE_MAX = 2 ** 24;

/** IPv6 addresses are bracketed in dnsmasq's files, to tell them from MAC addresses. */
const forDnsmasq = (ip: string) => (ip.includes(':') ? `[${ip}]` : ip);

/** The subnets dnsmasq serves: those with DHCP enabled, of both families (Dnsmasq._get_all_subnets, enable_dhcp). */
function dhcpSubnets(view: HostView, networkId: string): SubnetView[] {
  return view.subnets.filter((s) => s.network_id === networkId && s.enable_dhcp);
}

/**
 * The dhcp-range mode of a subnet (Dnsmasq._build_cmdline_callback): 'static' for IPv4, for
 * DHCPv6 (stateful and stateless) and for IPv6 subnets without modes; none for SLAAC, which
 * dnsmasq leaves to the router's advertisements.
 */
export function rangeMode(s: Pick<SubnetView, 'ip_version' | 'ipv6_address_mode' | 'ipv6_ra_mode'>): 'static' | null {
  if (s.ip_version === 4) return 'static';
  const addr = s.ipv6_address_mode;
  return addr === DHCPV6_STATEFUL || addr === DHCPV6_STATELESS || (!addr && !s.ipv6_ra_mode) ? 'static' : null;
}

function dhcpRange(s: SubnetView): string | null {
  const c = parsePrefix(s.cidr)!;
  const net = s.cidr.split('/')[0];
  if (s.ip_version === 4) return `--dhcp-range=set:subnet-${s.id},${net},static,${ipv4Netmask(c.prefixLength)},${LEASE_SECONDS}s`;
  // dnsmasq cannot serve a DHCPv6 range shorter than /64.
  if (c.prefixLength < 64) return null;
  return `--dhcp-range=set:subnet-${s.id},${net},static,${c.prefixLength},${LEASE_SECONDS}s`;
}

/**
 * Dnsmasq._iter_hosts: a port's fixed IPs with those of DHCPv6-stateless subnets first (dnsmasq
 * reads the hosts file from its end, and a stateless entry must not shadow an IPv4 one).
 */
function sortedFixedIps(port: PortView, v6: Map<string, SubnetView>): PortView['fixed_ips'] {
  const stateless = (id: string) => v6.get(id)?.ipv6_address_mode === DHCPV6_STATELESS;
  return [...port.fixed_ips.filter((f) => stateless(f.subnet_id)), ...port.fixed_ips.filter((f) => !stateless(f.subnet_id))];
}

/** Dnsmasq._PORT_TAG_PREFIX: the tag a port's hosts-file lines set and its options match. */
const portTag = (p: PortView) => `port-${p.id}`;

/** The client-id option (by name or number 61), which goes into the hosts file rather than the opts file. */
const isClientId = (o: PortView['extra_dhcp_opts'][number]) => o.opt_name === 'client-id' || o.opt_name === '61';

/**
 * One hosts-file line of a port's address (_output_hosts_file): `mac,[tag:dhcpv6,]name,ip`; a port
 * with extra options also sets its tag, and with a client-id option is matched by it (`id:<cid>`),
 * setting the tag only if it has other options too.
 */
function hostLine(p: PortView, v6tag: string, name: string, ip: string): string {
  const opts = p.extra_dhcp_opts;
  if (!opts.length) return `${p.mac_address},${v6tag}${name},${ip}`;
  const clientId = opts.find(isClientId)?.opt_value;
  if (clientId && opts.length > 1) return `${p.mac_address},${v6tag}id:${clientId},${name},${ip},set:${portTag(p)}`;
  if (clientId) return `${p.mac_address},${v6tag}id:${clientId},${name},${ip}`;
  return `${p.mac_address},${v6tag}${name},${ip},set:${portTag(p)}`;
}

/**
 * --dhcp-hostsfile and --addn-hosts (_output_hosts_file, _output_addn_hosts_file). Static leases
 * by MAC for IPv4 and DHCPv6-stateful addresses (IPv6 ones tagged and bracketed); SLAAC and
 * DHCPv6-stateless addresses get no lease, only their host name — and on a DHCPv6-stateless subnet
 * a port with extra options a line that sets its tag, so that its options reach it.
 */
function hostsFile(ports: PortView[], subnets: SubnetView[]): { host: string; addn: string } {
  const ids = new Set(subnets.map((s) => s.id));
  const v6 = new Map(subnets.filter((s) => s.ip_version === 6).map((s) => [s.id, s]));
  const host: string[] = [];
  const addn: string[] = [];
  for (const p of ports) {
    if (NO_DHCP_OWNERS.includes(p.device_owner)) continue;
    for (const f of sortedFixedIps(p, v6)) {
      if (!ids.has(f.subnet_id)) continue;
      const name = hostname(f.ip_address);
      const v6subnet = v6.get(f.subnet_id);
      const mode = v6subnet?.ipv6_address_mode;
      const v6tag = v6subnet ? HOST_DHCPV6_TAG : '';
      if (mode === DHCPV6_STATELESS && p.extra_dhcp_opts.length) host.push(`${p.mac_address},${v6tag}set:${portTag(p)}`);
      if (mode !== IPV6_SLAAC && mode !== DHCPV6_STATELESS)
        host.push(hostLine(p, v6tag, `${name}.${DNS_DOMAIN}.`, forDnsmasq(f.ip_address)));
      addn.push(`${f.ip_address}\t${name}.${DNS_DOMAIN}. ${name}`);
    }
  }
  return { host: host.join('\n') + (host.length ? '\n' : ''), addn: addn.join('\n') + (addn.length ? '\n' : '') };
}

/**
 * Dnsmasq._format_option: `tag:<tag>,[<the value's own tag>,]option:<name>,<value>` — `option6:` for
 * DHCPv6 (numbers too), a bare number for DHCPv4; name and value cut at their first line break.
 */
export function formatOption(ipVersion: number, tag: string, option: string, ...values: string[]): string {
  const m = /^(tag:(.*),)?(.*)$/s.exec(option.split('\n', 1)[0]!)!;
  const name = m[3]!;
  const opt = ipVersion === 6 ? `option6:${name}` : /^\d+$/.test(name) ? name : `option:${name}`;
  return [`tag:${tag}`, ...(m[1] ? [m[1].slice(0, -1)] : []), opt, ...values.map((v) => v.split('\n', 1)[0]!)].join(',');
}

/**
 * _generate_opts_per_port: each port's extra options but the client id, under its tag, those of an
 * IP version the port has an address of (another is left out, as the agent logs and skips it).
 */
function portOptions(ports: PortView[]): string[] {
  const lines: string[] = [];
  for (const p of ports) {
    const versions = new Set<number>(p.fixed_ips.map((f) => (f.ip_address.includes(':') ? 6 : 4)));
    for (const o of p.extra_dhcp_opts) {
      if (isClientId(o) || !versions.has(o.ip_version)) continue;
      lines.push(formatOption(o.ip_version, portTag(p), o.opt_name, o.opt_value));
    }
  }
  return lines;
}

/** _generate_opts_per_subnet for a DHCPv6 subnet: name servers (bracketed) and the search domain, nothing for SLAAC. */
function ipv6Options(s: SubnetView): string[] {
  if (s.ipv6_address_mode === IPV6_SLAAC) return [];
  const tag = `tag:subnet-${s.id}`;
  const lines: string[] = [];
  if (s.dns_nameservers.length === 1 && s.dns_nameservers[0] === '::') lines.push(`${tag},option6:dns-server`);
  else if (s.dns_nameservers.length) lines.push(`${tag},option6:dns-server,${s.dns_nameservers.map((d) => `[${d}]`).join(',')}`);
  lines.push(`${tag},option6:domain-search,${DNS_DOMAIN}`);
  return lines;
}

/** What the metadata route of option 121 depends on: the isolated subnets, the DHCP port, the agent's options. */
interface MetadataRouting {
  isolated: Set<string>;
  dhcpPort: PortView;
  facts: MetadataFacts | null;
}

function optsFile(subnets: SubnetView[], all: SubnetView[], ports: PortView[], md: MetadataRouting): string {
  const lines: string[] = [];
  for (const s of subnets) {
    if (s.ip_version === 6) {
      lines.push(...ipv6Options(s));
      continue;
    }
    const tag = `tag:subnet-${s.id}`;
    if (s.dns_nameservers.length) lines.push(`${tag},option:dns-server,${s.dns_nameservers.join(',')}`);
    const routes = s.host_routes.map((r) => `${r.destination},${r.nexthop}`);
    const dhcpIp = md.dhcpPort.fixed_ips.find((f) => f.subnet_id === s.id)?.ip_address ?? null;
    const metadataHop = metadataRouteNextHop(s, { isolated: md.isolated.has(s.id), dhcpIp, facts: md.facts });
    if (metadataHop) routes.push(`${METADATA_CIDR},${metadataHop}`);
    // Other IPv4 subnets of the same network are on-link.
    for (const other of all) if (other.id !== s.id && other.ip_version === 4) routes.push(`${other.cidr},0.0.0.0`);
    if (routes.length) {
      if (s.gateway_ip) routes.push(`0.0.0.0/0,${s.gateway_ip}`);
      lines.push(`${tag},option:classless-static-route,${routes.join(',')}`);
      lines.push(`${tag},249,${routes.join(',')}`);
    }
    lines.push(s.gateway_ip ? `${tag},option:router,${s.gateway_ip}` : `${tag},option:router`);
  }
  lines.push(...portOptions(ports));
  return lines.join('\n') + '\n';
}

/** The dnsmasq for `networkId` on this host, or null when this host has no DHCP port there yet. */
export function planDnsmasq(
  view: HostView,
  networkId: string,
  statePath: string,
  mtu: number,
  metadata: MetadataFacts | null = null,
): DnsmasqPlan | null {
  const port = view.ports.find((p) => p.network_id === networkId && p.device_owner === DHCP_OWNER);
  const subnets = dhcpSubnets(view, networkId);
  if (!port || !subnets.length) return null;
  const dir = `${statePath}/dhcp/${networkId}`;
  const networkPorts = view.dhcp_ports.filter((p) => p.network_id === networkId);
  const networkSubnets = view.subnets.filter((s) => s.network_id === networkId);
  const { host, addn } = hostsFile(networkPorts, subnets);
  const ranges = subnets.flatMap((s) => {
    const arg = rangeMode(s) ? dhcpRange(s) : null;
    return arg ? [{ arg, cidr: parsePrefix(s.cidr)! }] : [];
  });
  const argv = [
    'dnsmasq',
    '--no-hosts',
    '--no-resolv',
    `--pid-file=${dir}/pid`,
    `--dhcp-hostsfile=${dir}/host`,
    `--addn-hosts=${dir}/addn_hosts`,
    `--dhcp-optsfile=${dir}/opts`,
    `--dhcp-leasefile=${dir}/leases`,
    '--dhcp-match=set:ipxe,175',
    '--dhcp-userclass=set:ipxe6,iPXE',
    '--local-service',
    '--bind-dynamic',
    ...ranges.map((r) => r.arg),
    ...(mtu > 0 ? [`--dhcp-option-force=option:mtu,${mtu}`] : []),
    `--dhcp-lease-max=${Math.min(
      ranges.reduce((n, r) => n + 2 ** (addressBits(r.cidr.version) - r.cidr.prefixLength), 0),
      DNSMASQ_LEASE_MAX,
    )}`,
    '--conf-file=/dev/null',
    `--domain=${DNS_DOMAIN}`,
  ];
  return {
    networkId,
    namespace: `${DHCP_NS_PREFIX}${networkId}`,
    dir,
    port,
    argv,
    files: {
      host,
      addn_hosts: addn,
      opts: optsFile(subnets, networkSubnets, networkPorts, {
        isolated: isolatedSubnets(networkSubnets, networkPorts),
        dhcpPort: port,
        facts: metadata,
      }),
    },
  };
}

/** dnsmasq restarts when these change; other changes only need its files rewritten and a SIGHUP. */
export function restartKey(plan: DnsmasqPlan): string {
  return plan.argv.join(' ') + '|' + plan.port.fixed_ips.map((f) => f.ip_address).join(',');
}
