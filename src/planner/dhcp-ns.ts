// The DHCP role's namespace for one network: qdhcp-<net> with the ns- end of the DHCP port's veth,
// its addresses and default route, and dnsmasq. The tap end joins the bridge in HOST. Pure.
import { bridgeName, dhcpNamespace, nsName, tapName } from '../kernel/names.js';
import { emptyDesiredNamespace, HOST, type DesiredNamespace, type LinkSpec } from '../kernel/types.js';
import { parsePrefix } from '../model/ip.js';
import type { HostView } from '../model/hostview.js';
import { planDnsmasq } from './dhcp.js';

export interface DhcpNamespacePlan {
  namespace: string;
  spec: DesiredNamespace;
  /** the host end of the DHCP port's veth, for HOST */
  hostLink: LinkSpec;
  portId: string;
}

export function planDhcpNamespace(view: HostView, networkId: string, statePath: string): DhcpNamespacePlan | null {
  const net = view.networks.find((n) => n.id === networkId);
  if (!net) return null;
  const plan = planDnsmasq(view, networkId, statePath, net.mtu);
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
  const gateway = view.subnets.find((s) => s.network_id === networkId && s.enable_dhcp && s.gateway_ip)?.gateway_ip;
  if (gateway) spec.routes.push({ dst: 'default', via: gateway, dev: ns });
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
