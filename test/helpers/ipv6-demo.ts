// The IPv6 additions to the demo lab that the tracer's IPv6 tests and fixtures use, and the IPv6
// faults they inject (root; only the lab's own namespaces and processes).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Beyond the router's IPv6 gateway: reached by the router's IPv6 default route. */
export const IPV6_OUTSIDE = '2001:db8:ffff::1';

const words = (s: string) => s.split(' ');

/**
 * An IPv6 subnet on the provider network (the router's gateway gets an address on it), a SLAAC
 * subnet on selfservice behind the router, and ingress ICMPv6 in the demo's group. `openstack` runs
 * the openstack CLI as the lab's admin.
 */
export function addIpv6ToDemo(openstack: (...args: string[]) => string): void {
  const demo = JSON.parse(openstack('project', 'show', 'demo', '-f', 'json')).id as string;
  const steps = [
    'subnet create --network provider --ip-version 6 --subnet-range 2001:db8:123::/64 --gateway 2001:db8:123::1 --no-dhcp provider-v6',
    `subnet create --network selfservice --project ${demo} --ip-version 6 --subnet-range fd00:41::/64 --ipv6-ra-mode slaac --ipv6-address-mode slaac selfservice-v6`,
    'router set router --external-gateway provider --fixed-ip subnet=provider,ip-address=10.123.123.102 --fixed-ip subnet=provider-v6',
    'router add subnet router selfservice-v6',
    `security group rule create --project ${demo} --ingress --ethertype IPv6 --protocol ipv6-icmp demo-ssh`,
  ];
  for (const s of steps) openstack(...words(s));
}

const sh = (argv: string[]) => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });

/** The IPv6 faults, each in one namespace the lab made. */
export const IPV6_FAULTS = {
  /** SIGKILL the radvd processes living in the router's namespace. */
  killRadvd: (routerNs: string) => {
    for (const pid of sh(['ip', 'netns', 'pids', routerNs]).split('\n').filter(Boolean))
      if (/(^|\/)radvd$/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]!)) process.kill(Number(pid), 'SIGKILL');
  },
  forwardingOff: (routerNs: string) => void sh(['ip', 'netns', 'exec', routerNs, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=0']),
  deleteDefaultRoute: (routerNs: string) => void sh(['ip', '-n', routerNs, '-6', 'route', 'del', 'default']),
  /** Deletes the neighbour-advertisement RETURN from a port's ingress chain in ip6tables, on a lab node. */
  deleteNaRule: (nodeNs: string, portId: string) =>
    void sh(
      words(
        `ip netns exec ${nodeNs} ip6tables -D neutron-linuxbri-i${portId.slice(0, 10)} -p ipv6-icmp -m icmp6 --icmpv6-type 136 -j RETURN`,
      ),
    ),
};
