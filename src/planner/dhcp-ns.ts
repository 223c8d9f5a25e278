// The DHCP role's namespace for one network: qdhcp-<net> with the ns- end of the DHCP port's veth,
// its addresses and default route, and dnsmasq. The tap end joins the bridge in HOST. Pure.
import { bridgeName, dhcpNamespace, nsName, tapName } from '../kernel/names.ts';
import { emptyDesiredNamespace, HOST, type DesiredNamespace, type LinkSpec, type RouteSpec } from '../kernel/types.ts';
import { parsePrefix } from '../model/ip.ts';
import { defaultRouteVia } from './gateway-route.ts';
import type { HostView, SubnetView } from '../model/hostview.ts';
import { DHCPV6_STATELESS, IPV6_SLAAC } from '../model/neutron.ts';
import { planDnsmasq } from './dhcp.ts';
import {
  haproxyProcess,
  METADATA_CIDR,
  METADATA_HTTP_PORT,
  METADATA_IP,
  METADATA_V6_CIDR,
  METADATA_V6_IP,
  shouldEnableMetadata,
  type MetadataFacts,
} from './metadata.ts';

export interface DhcpNamespacePlan {
  namespace: string;
  spec: DesiredNamespace;
  /** the host end of the DHCP port's veth, for HOST */
  hostLink: LinkSpec;
  portId: string;
}

/**
 * _set_default_route: per family, the default route via the gateway of the first DHCP-enabled
 * subnet that has one (IPv6: not /0 nor longer than /126; SLAAC and DHCPv6-stateless ones only
 * as /64), a gateway outside its subnet reached on-link first.
 */
function defaultRoutes(subnets: readonly SubnetView[], dev: string): RouteSpec[] {
  const routes: RouteSpec[] = [];
  for (const family of [4, 6] as const) {
    const s = subnets.find((x) => {
      if (x.ip_version !== family || !x.enable_dhcp || !x.gateway_ip) return false;
      if (family === 4) return true;
      const len = parsePrefix(x.cidr)?.prefixLength ?? 0;
      const auto = [IPV6_SLAAC, DHCPV6_STATELESS];
      const autoconf = auto.includes(x.ipv6_address_mode ?? '') || auto.includes(x.ipv6_ra_mode ?? '');
      return len > 0 && len <= 126 && !(len !== 64 && autoconf);
    });
    if (s) routes.push(...defaultRouteVia(s.cidr, s.gateway_ip!, dev));
  }
  return routes;
}

export function planDhcpNamespace(
  view: HostView,
  networkId: string,
  statePath: string,
  metadata: MetadataFacts | null = null,
  ipv6 = true,
): DhcpNamespacePlan | null {
  const net = view.networks.find((n) => n.id === networkId);
  if (!net) return null;
  const plan = planDnsmasq(view, networkId, statePath, net.mtu, metadata);
  if (!plan) return null;
  const namespace = dhcpNamespace(networkId);
  const spec = emptyDesiredNamespace();
  const ns = nsName(plan.port.id);
  spec.links.push(
    { kind: 'device', name: 'lo', up: true },
    { kind: 'veth', name: ns, mac: plan.port.mac_address, mtu: net.mtu, up: true, peer: { name: tapName(plan.port.id), netns: HOST } },
  );
  for (const f of plan.port.fixed_ips) {
    const subnet = view.subnets.find((s) => s.id === f.subnet_id);
    if (subnet) spec.addresses.push({ dev: ns, address: `${f.ip_address}/${parsePrefix(subnet.cidr)!.prefixLength}` });
  }
  const networkSubnets = view.subnets.filter((s) => s.network_id === networkId);
  // DeviceManager.setup: 169.254.169.254 on the port whenever either option is on, and
  // fe80::a9fe:a9fe too when a DHCP-enabled subnet is IPv6 (the agent sees those only) and IPv6 is on.
  const metadataOn = !!metadata && (metadata.enableIsolatedMetadata || metadata.forceMetadata);
  const metadataV6 = metadataOn && ipv6 && networkSubnets.some((s) => s.enable_dhcp && s.ip_version === 6);
  if (metadataOn) spec.addresses.push({ dev: ns, address: METADATA_CIDR });
  if (metadataV6) spec.addresses.push({ dev: ns, address: METADATA_V6_CIDR });
  // Neutron disables router advertisements in the namespace before plugging (DeviceManager.setup):
  // the port's addresses are configured, not autoconfigured. The device may exist before the
  // namespace default is written here, so it gets the setting too.
  spec.sysctls.push({ key: 'net.ipv6.conf.default.accept_ra', value: '0' }, { key: `net.ipv6.conf.${ns}.accept_ra`, value: '0' });
  spec.routes.push(...defaultRoutes(networkSubnets, ns));
  spec.processes.push({
    id: `dnsmasq-${networkId}`,
    argv: plan.argv,
    pidFile: `${plan.dir}/pid`,
    files: [
      { path: `${plan.dir}/host`, content: plan.files.host },
      { path: `${plan.dir}/addn_hosts`, content: plan.files.addn_hosts },
      { path: `${plan.dir}/opts`, content: plan.files.opts },
      { path: `${plan.dir}/interface`, content: `${ns}\n` },
    ],
  });
  const networkPorts = view.dhcp_ports.filter((p) => p.network_id === networkId);
  if (metadata && shouldEnableMetadata(metadata, networkSubnets, networkPorts)) {
    // enable_isolated_metadata_proxy: the proxy also binds fe80::a9fe:a9fe on the DHCP port's device.
    const v6 = metadataV6 ? { host: METADATA_V6_IP, dev: ns } : null;
    const bind = { host: METADATA_IP, port: METADATA_HTTP_PORT, v6 };
    spec.processes.push(haproxyProcess(statePath, { kind: 'Network', id: networkId }, bind, metadata));
  }
  const hostLink: LinkSpec = {
    kind: 'veth',
    name: tapName(plan.port.id),
    mtu: net.mtu,
    up: true,
    master: bridgeName(networkId),
    peer: { name: ns, netns: namespace },
  };
  return { namespace, spec, hostLink, portId: plan.port.id };
}
