// The IPv6 additions to the demo lab that the tracer's IPv6 tests and fixtures use, and the IPv6
// faults they inject (root; only the lab's own namespaces and processes).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Beyond the router's IPv6 gateway: reached by the router's IPv6 default route. */
export const IPV6_OUTSIDE = '2001:db8:ffff::1';

const words = (s: string) => s.split(' ');

/**
 * The demo is dual-stack (provider-ipv6, selfservice-ipv6 with SLAAC on the router, ICMPv6 and tcp/22
 * for IPv6 in demo-ssh): the prefix the instances autoconfigure from, as in the recordings
 * test/fixtures/trace/ipv6-* (record-ipv6.ts).
 */
export const DEMO_SLAAC_PREFIX = '2001:db8:1:';

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
