// What the DHCP role runs for one network: dnsmasq's argv and its host/opts/addn_hosts files,
// as Neutron's DHCP agent writes them (neutron/agent/linux/dhcp.py). Pure.
import { DHCP_NS_PREFIX } from '../kernel/names.js';
import { ipv4Netmask, parsePrefix } from '../model/ip.js';
import type { HostView, PortView, SubnetView } from '../model/hostview.js';
import { DHCP_OWNER, NO_DHCP_OWNERS } from '../model/neutron.js';

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

function dhcpSubnets(view: HostView, networkId: string): SubnetView[] {
  return view.subnets.filter((s) => s.network_id === networkId && s.enable_dhcp && s.ip_version === 4);
}

function hostsFile(ports: PortView[], subnets: SubnetView[]): { host: string; addn: string } {
  const ids = new Set(subnets.map((s) => s.id));
  const host: string[] = [];
  const addn: string[] = [];
  for (const p of ports) {
    if (NO_DHCP_OWNERS.includes(p.device_owner)) continue;
    for (const f of p.fixed_ips) {
      if (!ids.has(f.subnet_id)) continue;
      const name = hostname(f.ip_address);
      host.push(`${p.mac_address},${name}.${DNS_DOMAIN}.,${f.ip_address}`);
      addn.push(`${f.ip_address}\t${name}.${DNS_DOMAIN}. ${name}`);
    }
  }
  return { host: host.join('\n') + (host.length ? '\n' : ''), addn: addn.join('\n') + (addn.length ? '\n' : '') };
}

function optsFile(subnets: SubnetView[], all: SubnetView[]): string {
  const lines: string[] = [];
  for (const s of subnets) {
    const tag = `tag:subnet-${s.id}`;
    if (s.dns_nameservers.length) lines.push(`${tag},option:dns-server,${s.dns_nameservers.join(',')}`);
    const routes = s.host_routes.map((r) => `${r.destination},${r.nexthop}`);
    // Other IPv4 subnets of the same network are on-link.
    for (const other of all) if (other.id !== s.id && other.ip_version === 4) routes.push(`${other.cidr},0.0.0.0`);
    if (routes.length) {
      if (s.gateway_ip) routes.push(`0.0.0.0/0,${s.gateway_ip}`);
      lines.push(`${tag},option:classless-static-route,${routes.join(',')}`);
      lines.push(`${tag},249,${routes.join(',')}`);
    }
    lines.push(s.gateway_ip ? `${tag},option:router,${s.gateway_ip}` : `${tag},option:router`);
  }
  return lines.join('\n') + '\n';
}

/** The dnsmasq for `networkId` on this host, or null when this host has no DHCP port there yet. */
export function planDnsmasq(view: HostView, networkId: string, statePath: string, mtu: number): DnsmasqPlan | null {
  const port = view.ports.find((p) => p.network_id === networkId && p.device_owner === DHCP_OWNER);
  const subnets = dhcpSubnets(view, networkId);
  if (!port || !subnets.length) return null;
  const dir = `${statePath}/dhcp/${networkId}`;
  const { host, addn } = hostsFile(
    view.dhcp_ports.filter((p) => p.network_id === networkId),
    subnets,
  );
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
    ...subnets.map((s) => {
      const c = parsePrefix(s.cidr)!;
      return `--dhcp-range=set:subnet-${s.id},${s.cidr.split('/')[0]},static,${ipv4Netmask(c.prefixLength)},${LEASE_SECONDS}s`;
    }),
    ...(mtu > 0 ? [`--dhcp-option-force=option:mtu,${mtu}`] : []),
    `--dhcp-lease-max=${Math.min(
      subnets.reduce((n, s) => n + 2 ** (32 - parsePrefix(s.cidr)!.prefixLength), 0),
      2 ** 24,
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
      opts: optsFile(
        subnets,
        view.subnets.filter((s) => s.network_id === networkId),
      ),
    },
  };
}

/** dnsmasq restarts when these change; other changes only need its files rewritten and a SIGHUP. */
export function restartKey(plan: DnsmasqPlan): string {
  return plan.argv.join(' ') + '|' + plan.port.fixed_ips.map((f) => f.ip_address).join(',');
}
