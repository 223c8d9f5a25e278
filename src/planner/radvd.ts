// radvd for one router, as Neutron's L3 agent runs it (neutron/agent/linux/ra.py): its config
// rendered exactly as Neutron's CONFIG_TEMPLATE renders (the Jinja output, whitespace included),
// one interface block per router port with an IPv6 subnet, and its argv, config and pid file
// where Neutron puts them ($state_path/ra, $state_path/external/pids). Pure.
import type { ProcessSpec } from '../kernel/types.ts';
import type { RouterSubnetView } from '../model/hostview.ts';
import { DHCPV6_STATEFUL, DHCPV6_STATELESS, IPV6_SLAAC } from '../model/neutron.ts';

/** neutron_lib IPV6_MIN_MTU: below it, no AdvLinkMTU. */
const IPV6_MIN_MTU = 1280;
/** ra.py MAX_RDNSS_ENTRIES */
const MAX_RDNSS_ENTRIES = 3;
/** [DEFAULT] min_rtr_adv_interval / max_rtr_adv_interval */
export const RA_INTERVALS = { min: 30, max: 100 };

/** One router port as radvd sees it: its qr- device, its network's MTU, its subnets. */
export interface RadvdPort {
  dev: string;
  mtu: number;
  subnets: readonly RouterSubnetView[];
}

const isV6 = (s: RouterSubnetView) => s.cidr.includes(':');

/** Whether Neutron runs radvd for these ports: any of them has an IPv6 subnet (RouterInfo._port_has_ipv6_subnet). */
export const needsRadvd = (ports: readonly RadvdPort[]): boolean => ports.some((p) => p.subnets.some(isV6));

const prefixBlock = (cidr: string, autonomous: boolean) =>
  `\n   prefix ${cidr}\n   {\n        AdvOnLink on;\n        AdvAutonomous ${autonomous ? 'on' : 'off'};\n   };\n   `;

/** DaemonMonitor._generate_radvd_conf: the interface blocks, concatenated as Neutron writes them. */
export function radvdConfig(ports: readonly RadvdPort[], intervals = RA_INTERVALS): string {
  let out = '';
  for (const p of ports) {
    const v6 = p.subnets.filter(isV6);
    if (!v6.length) continue;
    const modes = new Set(v6.map((s) => s.ipv6_ra_mode));
    const auto = v6.filter((s) => s.ipv6_ra_mode === IPV6_SLAAC || s.ipv6_ra_mode === DHCPV6_STATELESS).map((s) => s.cidr);
    const stateful = v6.filter((s) => s.ipv6_ra_mode === DHCPV6_STATEFUL).map((s) => s.cidr);
    // Only SLAAC subnets' name servers go into RDNSS: DHCPv6 clients get them from dnsmasq.
    const dns = v6
      .filter((s) => s.ipv6_ra_mode === IPV6_SLAAC)
      .flatMap((s) => s.dns_nameservers)
      .slice(0, MAX_RDNSS_ENTRIES);
    out += `interface ${p.dev}\n{\n   AdvSendAdvert on;\n   MinRtrAdvInterval ${intervals.min};\n   MaxRtrAdvInterval ${intervals.max};`;
    if (p.mtu >= IPV6_MIN_MTU) out += `\n   AdvLinkMTU ${p.mtu};\n   `;
    if (modes.has(DHCPV6_STATELESS)) out += '\n   AdvOtherConfigFlag on;\n   ';
    if (modes.has(DHCPV6_STATEFUL)) out += '\n   AdvManagedFlag on;\n   ';
    if (dns.length) out += `\n   RDNSS ${dns.map((d) => ` ${d} `).join('')} {};\n   `;
    for (const c of auto) out += prefixBlock(c, true);
    for (const c of stateful) out += prefixBlock(c, false);
    out += '\n\n   route fe80::a9fe:a9fe/128 {\n   };\n};';
  }
  return out;
}

/** utils.get_conf_file_name($state_path/ra, router, 'radvd.conf') */
export const radvdConfigPath = (statePath: string, routerId: string): string => `${statePath}/ra/${routerId}.radvd.conf`;
/** ProcessManager's pid file for service 'radvd': $state_path/external/pids/<router>.pid.radvd */
export const radvdPidPath = (statePath: string, routerId: string): string => `${statePath}/external/pids/${routerId}.pid.radvd`;
export const radvdProcessId = (routerId: string): string => `radvd-${routerId}`;

/**
 * The radvd daemon of one router. `user` is what `-u` gets: Neutron passes the agent's own user
 * name (radvd_user unset), nothing when radvd_user is 'root'. `-m syslog` makes radvd close
 * stderr and detach, so its launcher returns.
 */
export function radvdProcess(statePath: string, routerId: string, ports: readonly RadvdPort[], user: string | null): ProcessSpec {
  const conf = radvdConfigPath(statePath, routerId);
  const pidFile = radvdPidPath(statePath, routerId);
  return {
    id: radvdProcessId(routerId),
    argv: ['radvd', '-C', conf, '-p', pidFile, '-m', 'syslog', ...(user ? ['-u', user] : [])],
    pidFile,
    files: [{ path: conf, content: radvdConfig(ports) }],
  };
}
