// Desired states for tests: one "node" of the canonical scenario (bridge + vxlan-41 + one instance port), built from names.ts.
import { bridgeName, deviceSysctl, nsName, sgChains, tapName, vxlanName, wrapChain, FILTER_TOP } from '../../src/kernel/names.ts';
import { emptyDesiredNamespace, HOST, type ChainSpec, type DesiredNode, type IptablesSpec } from '../../src/kernel/types.ts';

export const NETWORK_ID = 'e6e37ba0-3b7c-4f2e-9d1a-2f3c4b5a6d7e';
export const VNI = 41;

export interface Instance {
  portId: string;
  mac: string;
  ip: string;
}

export const INSTANCE_1: Instance = { portId: '3c338602-d806-488a-ae66-c4c8f8d13b9b', mac: 'fa:16:3e:a7:f7:5a', ip: '172.16.1.3' };
export const INSTANCE_2: Instance = { portId: '37720f0a-f07b-45c6-a07b-cfb26a947fa8', mac: 'fa:16:3e:11:22:33', ip: '172.16.1.4' };

export interface NodeOptions {
  /** The management NIC (exists, not neutrino's) and its VTEP address. */
  mgmtDev: string;
  localIp: string;
  remoteIp: string;
  /** Namespace standing in for the instance. */
  vmNetns: string;
  local: Instance;
  remote: Instance;
  firewall?: boolean;
}

/** One node: brq + vxlan-41 on the management NIC, a veth "tap" into an instance namespace, l2population fdb/neigh. */
export function scenarioNode(o: NodeOptions): DesiredNode {
  const brq = bridgeName(NETWORK_ID);
  const vxlan = vxlanName(VNI);
  const tap = tapName(o.local.portId);
  const inner = nsName(o.local.portId);
  const host = emptyDesiredNamespace();
  host.links.push(
    { kind: 'device', name: o.mgmtDev },
    { kind: 'bridge', name: brq, up: true },
    {
      kind: 'vxlan',
      name: vxlan,
      mtu: 1450,
      up: true,
      master: brq,
      vxlan: { vni: VNI, local: o.localIp, dev: o.mgmtDev, dstport: 4789, learning: false, proxy: true },
    },
    { kind: 'veth', name: tap, mtu: 1450, up: true, master: brq, peer: { name: inner, netns: o.vmNetns } },
  );
  host.fdb.push({ dev: vxlan, mac: '00:00:00:00:00:00', dst: o.remoteIp }, { dev: vxlan, mac: o.remote.mac, dst: o.remoteIp });
  host.neigh.push({ dev: vxlan, ip: o.remote.ip, lladdr: o.remote.mac });
  host.sysctls.push({ key: deviceSysctl('ipv6', vxlan, 'disable_ipv6'), value: '1' });
  if (o.firewall !== false) host.iptables = firewall(o.local, tap);
  const vm = emptyDesiredNamespace();
  vm.links.push({ kind: 'veth', name: inner, mac: o.local.mac, mtu: 1450, up: true, peer: { name: tap, netns: HOST } });
  vm.addresses.push({ dev: inner, address: `${o.local.ip}/24` });
  vm.routes.push({ dst: 'default', via: '172.16.1.1', dev: inner });
  return { namespaces: { [HOST]: host, [o.vmNetns]: vm } };
}

/** Neutron's Linux bridge firewall for one port, in iptables-save's canonical form; ICMP and SSH allowed in. */
export function firewall(port: Instance, tap: string): IptablesSpec {
  const lb = (c: string) => wrapChain('linuxbridge', c);
  const { ingress, egress, spoof } = sgChains(port.portId);
  const bridged = (dir: 'in' | 'out') => `-m physdev --physdev-${dir} ${tap} --physdev-is-bridged`;
  const filter: ChainSpec[] = [
    { name: 'FORWARD', rules: [`-j ${FILTER_TOP}`, `-j ${lb('FORWARD')}`] },
    { name: 'INPUT', rules: [`-j ${lb('INPUT')}`] },
    { name: 'OUTPUT', rules: [`-j ${FILTER_TOP}`, `-j ${lb('OUTPUT')}`] },
    { name: FILTER_TOP, rules: [`-j ${lb('local')}`] },
    { name: lb('local'), rules: [] },
    { name: lb('OUTPUT'), rules: [] },
    { name: lb('FORWARD'), rules: [`${bridged('out')} -j ${lb('sg-chain')}`, `${bridged('in')} -j ${lb('sg-chain')}`] },
    { name: lb('INPUT'), rules: [`${bridged('in')} -j ${egress}`] },
    { name: lb('sg-chain'), rules: [`${bridged('out')} -j ${ingress}`, `${bridged('in')} -j ${egress}`, '-j ACCEPT'] },
    { name: lb('sg-fallback'), rules: ['-m comment --comment "Default drop rule for unmatched traffic." -j DROP'] },
    {
      name: ingress,
      rules: [
        '-m state --state RELATED,ESTABLISHED -j RETURN',
        '-p icmp -j RETURN',
        '-p tcp -m tcp --dport 22 -j RETURN',
        '-m state --state INVALID -j DROP',
        `-j ${lb('sg-fallback')}`,
      ],
    },
    {
      name: egress,
      rules: [
        '-s 0.0.0.0/32 -d 255.255.255.255/32 -p udp -m udp --sport 68 --dport 67 -j RETURN',
        `-j ${spoof}`,
        '-m state --state RELATED,ESTABLISHED -j RETURN',
        '-j RETURN',
        '-m state --state INVALID -j DROP',
        `-j ${lb('sg-fallback')}`,
      ],
    },
    { name: spoof, rules: [`-s ${port.ip}/32 -m mac --mac-source ${port.mac} -j RETURN`, '-j DROP'] },
  ];
  return { filter };
}
