// The L3 role's namespace for one router (Neutron's L3 agent, legacy routers): qrouter-<id> with the
// qr- (interfaces) and qg- (gateway) ends of the router ports' veths, their addresses and the
// floating IPs' /32s, the default routes via the external subnets' gateways (IPv4 and IPv6), the
// router's extra routes (extra-routes.ts), IP forwarding of both families, the NAT rules of
// neutron/agent/l3/router_info.py in Neutron's chains (IPv4 only: Neutron never NATs IPv6), and
// radvd on the interfaces of IPv6 subnets. The tap ends join the networks' bridges in HOST. Pure.
import { bridgeName, POSTROUTING_BOTTOM, qgName, qrName, ROUTER_NS_PREFIX, routerNamespace, tapName, wrapChain } from '../kernel/names.ts';
import type { Op } from '../kernel/ops.ts';
import {
  emptyDesiredNamespace,
  HOST,
  type ChainSpec,
  type DesiredNamespace,
  type IptablesSpec,
  type LinkSpec,
  type ObservedNode,
  type RouteSpec,
} from '../kernel/types.ts';
import { parseIp, parsePrefix } from '../model/ip.ts';
import { defaultRouteVia } from './gateway-route.ts';
import type { HostView, PortView, RouterPortView, RouterSubnetView, RouterView } from '../model/hostview.ts';
import {
  haproxyProcess,
  METADATA_PORT,
  metadataMangleRule,
  metadataNatRule,
  routerFilterChains,
  routerIptables6,
  type MetadataFacts,
} from './metadata.ts';
import { needsRadvd, radvdProcess, type RadvdPort } from './radvd.ts';
import { extraRoutes, withExtraRoutes, type RouterDevice } from './extra-routes.ts';
import { FIP_PF_CHAIN, portForwardingChains } from './port-forwarding.ts';
import { addressScopeRules, addressScopeRules6, type AddressScopeRules, type ScopedDevice } from './address-scope.ts';
import { meteringChains } from './metering.ts';
import { haName } from '../kernel/names.ts';
import { keepalivedProcess, linkLocalVip, type KeepalivedRoute, type KeepalivedVip } from './keepalived.ts';

/** external_ingress_mark / ROUTER_MARK_MASK (l3 agent defaults). */
export const EXTERNAL_INGRESS_MARK = '0x2/0xffff';
/** Appended to SNAT rules, as Neutron does when iptables supports it (use_random_fully=True). */
const RANDOM_FULLY = ' --random-fully';
const SNAT_COMMENT = '-m comment --comment "Perform source NAT on outgoing traffic."';

export interface RouterPlan {
  namespace: string;
  spec: DesiredNamespace;
  /** the host (tap) ends of the router ports' veths, for HOST */
  hostLinks: LinkSpec[];
  /** the router ports realized here: plugged once applied */
  portIds: string[];
  /** the networks of those ports */
  networkIds: string[];
}

const l3 = (chain: string) => wrapChain('l3', chain);

const v4 = (ip: string) => parseIp(ip)?.version === 4;

/** `ip/prefixlen` of each fixed IP of a router port whose subnet is known (fixed_ip_cidrs). */
function portAddresses(rp: RouterPortView): string[] {
  const out: string[] = [];
  for (const f of rp.port.fixed_ips) {
    const cidr = rp.subnets.find((s) => s.id === f.subnet_id)?.cidr;
    const prefix = cidr ? parsePrefix(cidr) : null;
    if (prefix && prefix.version === parseIp(f.ip_address)?.version) out.push(`${f.ip_address}/${prefix.prefixLength}`);
  }
  return out;
}

/** What planRouter needs to know about the node besides the router. */
export interface RouterFacts {
  /** whether this node can wire a network (has its uplink) */
  canWire: (networkId: string) => boolean;
  statePath: string;
  /** radvd's `-u` (see radvdProcess) */
  radvdUser: string | null;
  /** the metadata proxy's settings; null: no metadata proxy (enable_metadata_proxy = false) */
  metadata: MetadataFacts | null;
  /** IPv6 on in the node's kernel: the metadata proxy then binds '::' (both families), as Neutron's does */
  ipv6: boolean;
  /** keepalived's advertisement interval of HA routers, seconds ([DEFAULT] ha_vrrp_advert_int) */
  haVrrpAdvertInt: number;
  /** keepalived made this HA router primary on this node (false: standby, or not HA) */
  haPrimary: boolean;
}

/** The default route of one family via the first external subnet of that family with a gateway. */
function gatewayRoutes(subnets: readonly RouterSubnetView[], family: 4 | 6, dev: string): RouteSpec[] {
  const s = subnets.find((x) => x.gateway_ip && parseIp(x.gateway_ip)?.version === family);
  return s ? defaultRouteVia(s.cidr, s.gateway_ip!, dev) : [];
}

/**
 * The nat and mangle tables of the router namespace as Neutron's L3 agent writes them (chains
 * wrapped as neutron-l3-agent-*, the external-ingress mark on the gateway), in iptables-save's
 * canonical form. `gw` is the gateway device and its first IPv4 address, when there is a gateway.
 * With `metadata`, the metadata proxy's redirect, mark and filter rules (metadata/driver.py).
 */
export function routerIptables(
  router: Pick<RouterView, 'enable_snat' | 'port_forwardings'>,
  gw: { dev: string; ip: string } | null,
  fips: RouterView['floating_ips'],
  metadata = false,
  scopes: AddressScopeRules | null = null,
): IptablesSpec {
  const pre: string[] = metadata ? [metadataNatRule] : [];
  const out: string[] = [];
  const post: string[] = [];
  const floatSnat: string[] = [];
  const snat: string[] = [`-j ${l3('float-snat')}`, ...(scopes?.natSnat ?? [])];
  const mark: string[] = [];
  if (gw) {
    post.push(`! -o ${gw.dev} -m conntrack ! --ctstate DNAT -j ACCEPT`);
    // Hair-pinning: inside → floating IP comes back through the router.
    snat.push(`-m mark ! --mark ${EXTERNAL_INGRESS_MARK} -m conntrack --ctstate DNAT -j SNAT --to-source ${gw.ip}${RANDOM_FULLY}`);
    if (router.enable_snat) snat.push(`-o ${gw.dev} -j SNAT --to-source ${gw.ip}${RANDOM_FULLY}`);
    mark.push(`-i ${gw.dev} -j MARK --set-xmark ${EXTERNAL_INGRESS_MARK}`);
    for (const f of fips) {
      if (!v4(f.floating_ip_address) || !v4(f.fixed_ip_address)) continue;
      pre.push(`-d ${f.floating_ip_address}/32 -j DNAT --to-destination ${f.fixed_ip_address}`);
      out.push(`-d ${f.floating_ip_address}/32 -j DNAT --to-destination ${f.fixed_ip_address}`);
      floatSnat.push(`-s ${f.fixed_ip_address}/32 -j SNAT --to-source ${f.floating_ip_address}${RANDOM_FULLY}`);
    }
  }
  const forwarding = gw ? portForwardingChains(router.port_forwardings ?? []) : [];
  if (forwarding.length) pre.push(`-j ${l3(FIP_PF_CHAIN)}`);
  const nat: ChainSpec[] = [
    { name: 'PREROUTING', rules: [`-j ${l3('PREROUTING')}`] },
    { name: 'OUTPUT', rules: [`-j ${l3('OUTPUT')}`] },
    { name: 'POSTROUTING', rules: [`-j ${l3('POSTROUTING')}`, `-j ${POSTROUTING_BOTTOM}`] },
    { name: l3('OUTPUT'), rules: out },
    { name: l3('POSTROUTING'), rules: post },
    { name: l3('PREROUTING'), rules: pre },
    { name: l3('float-snat'), rules: floatSnat },
    { name: l3('snat'), rules: snat },
    { name: POSTROUTING_BOTTOM, rules: [`${SNAT_COMMENT} -j ${l3('snat')}`] },
    ...forwarding,
  ];
  const mangle: ChainSpec[] = [
    { name: 'PREROUTING', rules: [`-j ${l3('PREROUTING')}`] },
    { name: l3('PREROUTING'), rules: [`-j ${l3('mark')}`, ...(scopes?.manglePrerouting ?? []), ...(metadata ? [metadataMangleRule] : [])] },
    { name: l3('mark'), rules: mark },
  ];
  if (scopes) {
    mangle.push(
      { name: 'FORWARD', rules: [`-j ${l3('FORWARD')}`] },
      { name: 'POSTROUTING', rules: [`-j ${l3('POSTROUTING')}`] },
      { name: l3('FORWARD'), rules: scopes.mangleForward },
      { name: l3('POSTROUTING'), rules: scopes.manglePostrouting },
      { name: l3('scope'), rules: scopes.mangleScope },
      { name: l3('floatingip'), rules: scopes.mangleFloatingip },
      { name: l3('float-snat'), rules: scopes.mangleFloatSnat },
    );
  }
  if (!metadata && !scopes) return { nat, mangle };
  return { filter: routerFilterChains(metadata, scopes?.filterScope ?? []), nat, mangle };
}

/** `more` added to `chains`: a chain of both gets `more`'s rules after its own (a built-in chain's jumps). */
function joinChains(chains: readonly ChainSpec[], more: readonly ChainSpec[]): ChainSpec[] {
  const out = chains.map((c) => ({ ...c, rules: [...c.rules] }));
  for (const c of more) {
    const same = out.find((x) => x.name === c.name);
    if (same) same.rules.push(...c.rules);
    else out.push({ ...c, rules: [...c.rules] });
  }
  return out;
}

/** The floating IPs the gateway holds: the associated ones' and those serving port forwardings, once each. */
const floatingAddresses = (router: RouterView): string[] =>
  [
    ...new Set([
      ...router.floating_ips.map((f) => f.floating_ip_address),
      ...(router.port_forwardings ?? []).map((f) => f.floating_ip_address),
    ]),
  ].filter(v4);

/**
 * The router's namespace, or null when the router is administratively down or has nothing to
 * realize here. `canWire(networkId)` says whether this node can wire a network (has its uplink):
 * ports on other networks are left out, as the L2 role could not connect them.
 */
export function planRouter(view: HostView, router: RouterView, facts: RouterFacts): RouterPlan | null {
  const { canWire } = facts;
  if (!router.admin_state_up) return null;
  const namespace = routerNamespace(router.id);
  const spec = emptyDesiredNamespace();
  const hostLinks: LinkSpec[] = [];
  const portIds: string[] = [];
  const networkIds = new Set<string>();
  spec.links.push({ kind: 'device', name: 'lo', up: true });
  // A standby HA router must send nothing from its qr-/qg- devices: they have the primary's MACs,
  // and one frame from them makes the switches deliver the router's traffic here. IPv6 forwarding
  // makes a device join the all-routers groups, which the kernel announces in MLD reports from that
  // MAC: HaRouterNamespace.create leaves it off, the state change to primary turns it on
  // (_configure_ipv6_params), and nothing turns it off again, as leaving the groups is announced too.
  const standby = !!router.ha && !facts.haPrimary;
  spec.sysctls.push(
    { key: 'net.ipv4.ip_forward', value: '1' },
    { key: 'net.ipv4.conf.all.arp_ignore', value: '1' },
    { key: 'net.ipv4.conf.all.arp_announce', value: '2' },
    // Namespace.create with IPv6 enabled on the host; new devices inherit it (it sets the default too).
    ...(standby ? [] : [{ key: 'net.ipv6.conf.all.forwarding', value: '1' }]),
    // HaRouterNamespace.create: daemons may bind the router's addresses on every node, primary or
    // not (keepalived, not the agent, sends the gratuitous ARPs, so a standby announces nothing).
    ...(router.ha ? [{ key: 'net.ipv4.ip_nonlocal_bind', value: '1' }] : []),
  );

  /** The veth of one router port: `inner` in the namespace, tap<port> in the network's bridge. */
  const plug = (port: PortView, inner: string): boolean => {
    const net = view.networks.find((n) => n.id === port.network_id);
    if (!net || !port.admin_state_up || !canWire(net.id)) return false;
    spec.links.push({
      kind: 'veth',
      name: inner,
      mac: port.mac_address,
      mtu: net.mtu,
      up: true,
      peer: { name: tapName(port.id), netns: HOST },
    });
    hostLinks.push({
      kind: 'veth',
      name: tapName(port.id),
      mtu: net.mtu,
      up: true,
      master: bridgeName(net.id),
      peer: { name: inner, netns: namespace },
    });
    portIds.push(port.id);
    networkIds.add(net.id);
    return true;
  };

  // An HA router's addresses and routes on qr-/qg- are keepalived's, which sets them on the active node only.
  const vrrp = router.ha ? { vips: [] as KeepalivedVip[], routes: [] as KeepalivedRoute[] } : null;
  const addAddress = (dev: string, address: string) => (vrrp ? vrrp.vips.push({ address, dev }) : spec.addresses.push({ dev, address }));
  /**
   * _disable_ipv6_addressing_on_interface: no kernel link-local address; keepalived holds it, on the
   * active node. A standby accepts no router advertisements (ACCEPT_RA_DISABLED): with forwarding
   * off it would otherwise take the primary's own advertisements and make SLAAC addresses of the
   * prefix on its devices, whose MACs are the primary's.
   */
  const vrrpDevice = (dev: string, mac: string) => {
    if (!vrrp || !facts.ipv6) return;
    spec.sysctls.push({ key: `net.ipv6.conf.${dev}.addr_gen_mode`, value: '1' });
    vrrp.vips.push({ address: linkLocalVip(mac), dev, scope: 'link' });
  };
  const noAdvertsOnStandby = (dev: string) => {
    if (vrrp && facts.ipv6) spec.sysctls.push({ key: `net.ipv6.conf.${dev}.accept_ra`, value: standby ? '0' : '1' });
  };
  const radvdPorts: RadvdPort[] = [];
  const devices: RouterDevice[] = [];
  // The devices with an address of each family and their port's scope in it (_get_port_devicename_scopemark).
  const scoped: ScopedDevice[] = [];
  let scopedGateway: ScopedDevice | null = null;
  const scoped6: ScopedDevice[] = [];
  const hasV4 = (rp: RouterPortView) => rp.port.fixed_ips.some((f) => v4(f.ip_address));
  const hasV6 = (rp: RouterPortView) => rp.port.fixed_ips.some((f) => parseIp(f.ip_address)?.version === 6);
  for (const intf of router.interfaces) {
    const dev = qrName(intf.port.id);
    if (!plug(intf.port, dev)) continue;
    if (hasV4(intf)) scoped.push({ dev, scope: intf.address_scopes['4'] });
    if (hasV6(intf)) scoped6.push({ dev, scope: intf.address_scopes['6'] });
    vrrpDevice(dev, intf.port.mac_address);
    noAdvertsOnStandby(dev);
    devices.push({ dev, cidrs: intf.subnets.map((s) => s.cidr) });
    for (const address of portAddresses(intf)) addAddress(dev, address);
    const mtu = view.networks.find((n) => n.id === intf.port.network_id)?.mtu ?? 0;
    radvdPorts.push({ dev, mtu, subnets: intf.subnets });
    // No duplicate address detection on an IPv6 interface (set before the link comes up): radvd
    // started while the link-local address is still tentative cannot send, and its next
    // advertisement is up to 16 s away (MAX_INITIAL_RTR_ADVERT_INTERVAL). The addresses are the
    // port's own: IPAM's allocations and the EUI-64 of its unique MAC. Neutron's L3 agent leaves DAD
    // on (router_info.py and interface.py set no accept_dad), so the tracer does not check this key.
    if (needsRadvd([radvdPorts.at(-1)!])) spec.sysctls.push({ key: `net.ipv6.conf.${dev}.accept_dad`, value: '0' });
  }

  let gw: { dev: string; ip: string } | null = null;
  if (router.gateway) {
    const { port, subnets } = router.gateway;
    const dev = qgName(port.id);
    if (plug(port, dev)) {
      if (hasV4(router.gateway)) scopedGateway = { dev, scope: router.gateway.address_scopes['4'] };
      if (hasV6(router.gateway)) scoped6.push({ dev, scope: router.gateway.address_scopes['6'] });
      vrrpDevice(dev, port.mac_address);
      devices.push({ dev, cidrs: subnets.map((s) => s.cidr) });
      const addresses = portAddresses(router.gateway);
      for (const address of addresses) addAddress(dev, address);
      const first = port.fixed_ips.find((f) => v4(f.ip_address));
      if (first) gw = { dev, ip: first.ip_address };
      const taken = new Set(addresses.map((a) => a.split('/')[0]));
      for (const address of floatingAddresses(router)) {
        if (!taken.has(address)) addAddress(dev, `${address}/32`);
      }
      const v6Routes = gatewayRoutes(subnets, 6, dev);
      if (vrrp) vrrp.routes.push(...virtualGatewayRoutes(subnets, dev));
      else spec.routes.push(...gatewayRoutes(subnets, 4, dev), ...v6Routes);
      // _configure_ipv6_params_on_gw: without an IPv6 gateway the default route comes from the
      // upstream router's advertisements (accept_ra 2: even while forwarding); with one, none. An HA
      // router's standby accepts none, and its forwarding stays as it is: off since the namespace
      // was made, on in a former primary. Neutron turns it off on the standby, whose MLD reports of
      // leaving the groups then take the floating IPs' traffic from the primary for seconds.
      spec.sysctls.push(
        { key: `net.ipv6.conf.${dev}.accept_ra`, value: v6Routes.length || standby ? '0' : '2' },
        ...(standby ? [] : [{ key: `net.ipv6.conf.${dev}.forwarding`, value: '1' }]),
      );
    }
  }
  if (vrrp && router.ha) {
    // routes_updated: the extra routes are virtual routes too, without a device.
    vrrp.routes.push(...router.routes.map((r) => ({ destination: r.destination, nexthop: r.nexthop })));
    const haDev = planHaPort(router.ha, spec, plug);
    if (haDev) {
      spec.daemonAddressDevices = [haDev, ...devices.map((d) => d.dev)];
      spec.processes.push(
        keepalivedProcess(facts.statePath, router.id, {
          vrId: router.ha.vr_id,
          haDev,
          haCidr: router.ha.cidr,
          advertInt: facts.haVrrpAdvertInt,
          ...vrrp,
        }),
      );
    }
  } else spec.routes = withExtraRoutes(spec.routes, extraRoutes(router.routes, devices));
  // radvd of an HA router runs on its primary node only (_update_radvd_daemon on the state change).
  if (!standby && needsRadvd(radvdPorts)) spec.processes.push(radvdProcess(facts.statePath, router.id, radvdPorts, facts.radvdUser));
  if (facts.metadata) {
    const bind = { host: facts.ipv6 ? '::' : '0.0.0.0', port: METADATA_PORT };
    spec.processes.push(haproxyProcess(facts.statePath, { kind: 'Router', id: router.id }, bind, facts.metadata));
  }
  spec.iptables = routerIptables(router, gw, router.floating_ips, !!facts.metadata, addressScopeRules(router, scoped, scopedGateway));
  const metering = meteringChains(router);
  if (metering.length) spec.iptables.filter = joinChains(spec.iptables.filter ?? [], metering);
  const scopes6 = facts.ipv6 ? addressScopeRules6(router, scoped6) : null;
  if ((facts.metadata && facts.ipv6) || scopes6) spec.ip6tables = routerIptables6(!!facts.metadata, scopes6);
  return { namespace, spec, hostLinks, portIds, networkIds: [...networkIds] };
}

/** _add_default_gw_virtual_route: the default route of each family via the external subnets' gateways. */
function virtualGatewayRoutes(subnets: readonly RouterSubnetView[], dev: string): KeepalivedRoute[] {
  return ([4, 6] as const).flatMap((family) => {
    const s = subnets.find((x) => x.gateway_ip && parseIp(x.gateway_ip)?.version === family);
    return s ? [{ destination: family === 4 ? '0.0.0.0/0' : '::/0', nexthop: s.gateway_ip!, dev }] : [];
  });
}

/** ha_network_added: the `ha-` veth on the HA network with its address; the device name, or null when it cannot be wired. */
function planHaPort(
  ha: NonNullable<RouterView['ha']>,
  spec: DesiredNamespace,
  plug: (port: PortView, inner: string) => boolean,
): string | null {
  const dev = haName(ha.port.id);
  if (!plug(ha.port, dev)) return null;
  const prefix = parsePrefix(ha.cidr);
  for (const f of ha.port.fixed_ips)
    if (prefix && v4(f.ip_address)) spec.addresses.push({ dev, address: `${f.ip_address}/${prefix.prefixLength}` });
  return dev;
}

/** An IPv4 address on a router device, in its namespace (a GARP to send, conntrack state to drop). */
export interface RouterAddress {
  ns: string;
  dev: string;
  ip: string;
}

const ROUTER_DEVICE = /^q[rg]-/;

/** The router-device addresses that `kind` ops touched, with `held` telling whether the node holds each now. */
function routerAddresses(
  ops: readonly Op[],
  observed: ObservedNode,
  kind: 'addr-add' | 'addr-del',
  held: boolean,
  devices: RegExp,
): RouterAddress[] {
  const out = new Map<string, RouterAddress>();
  for (const op of ops) {
    if (op.op !== kind || !op.ns.startsWith(ROUTER_NS_PREFIX) || !devices.test(op.addr.dev)) continue;
    const ip = op.addr.address.split('/')[0]!;
    if (!v4(ip)) continue;
    const present = (observed.namespaces[op.ns]?.addresses ?? []).some((a) => a.dev === op.addr.dev && a.address.split('/')[0] === ip);
    if (present === held) out.set(`${op.ns} ${op.addr.dev} ${ip}`, { ns: op.ns, dev: op.addr.dev, ip });
  }
  return [...out.values()];
}

/**
 * The IPv4 addresses the applied `ops` added on routers' qg- and qr- devices and that the node
 * (`observed` after the apply) now holds: floating IPs, gateway and interface addresses. Neutron's
 * L3 agent announces each with gratuitous ARP once added (send_ip_addr_adv_notif after
 * add_floating_ip, _external_gateway_added, internal_network_added), so that neighbours' caches
 * (the upstream router's, the instances') learn where the address lives now.
 */
export function addressesToAnnounce(ops: readonly Op[], observed: ObservedNode): RouterAddress[] {
  return routerAddresses(ops, observed, 'addr-add', true, ROUTER_DEVICE);
}

/**
 * The IPv4 addresses the applied `ops` removed from routers' qg- devices and that the node no longer
 * holds: a floating IP disassociated, a gateway address changed. Neutron drops their connection
 * tracking state (delete_addr_and_conntrack_state), so that established flows stop with the address
 * instead of following the old DNAT mapping.
 */
export function addressesReleased(ops: readonly Op[], observed: ObservedNode): RouterAddress[] {
  return routerAddresses(ops, observed, 'addr-del', false, /^qg-/);
}
