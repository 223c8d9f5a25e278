// What an instance's DHCP client does with a lease: the `ip` commands for udhcpc's events, from the
// environment udhcpc passes its hook (interface, ip, mask/subnet, router, mtu, staticroutes). Pure.
// /etc/resolv.conf is never touched: the instance shares the machine's file system. Only IPv4
// addresses are flushed: the link-local and SLAAC addresses on eth0 are IPv6's (without its link-local
// address the instance would send no router solicitation and wait for an unsolicited advertisement).
import { ipv4NetmaskLength, ipVersion, parsePrefix } from '../model/ip.ts';

export type Env = Record<string, string | undefined>;

const isIpv4 = (text: string | undefined): text is string => ipVersion(text) === 4;

function prefixLength(env: Env): number | null {
  if (env.mask && /^\d{1,2}$/.test(env.mask) && Number(env.mask) <= 32) return Number(env.mask);
  return ipv4NetmaskLength(env.subnet);
}

/** RFC 3442 routes as udhcpc prints them: "net/len gw net/len gw …". */
export function parseStaticRoutes(text: string | undefined): Array<{ dest: string; via: string }> {
  const words = (text ?? '').split(/\s+/).filter(Boolean);
  const out: Array<{ dest: string; via: string }> = [];
  for (let i = 0; i + 1 < words.length; i += 2) {
    const [dest, via] = [words[i], words[i + 1]];
    if (dest.includes('/') && parsePrefix(dest)?.version === 4 && isIpv4(via))
      out.push({ dest: dest === '0.0.0.0/0' ? 'default' : dest, via });
  }
  return out;
}

/** The commands for one udhcpc event ('deconfig', 'bound', 'renew', 'leasefail', 'nak'). */
export function leaseCommands(event: string, env: Env): string[][] {
  const dev = env.interface;
  if (!dev || !/^[A-Za-z0-9_.-]{1,15}$/.test(dev)) return [];
  if (event === 'deconfig')
    return [
      ['ip', '-4', 'addr', 'flush', 'dev', dev],
      ['ip', 'link', 'set', 'dev', dev, 'up'],
    ];
  if (event !== 'bound' && event !== 'renew') return [];
  const len = prefixLength(env);
  if (!env.ip || !isIpv4(env.ip) || len === null) return [];
  const cmds: string[][] = [];
  if (env.mtu && /^\d+$/.test(env.mtu) && Number(env.mtu) >= 576) cmds.push(['ip', 'link', 'set', 'dev', dev, 'mtu', env.mtu]);
  if (event === 'bound') cmds.push(['ip', '-4', 'addr', 'flush', 'dev', dev]);
  const brd = isIpv4(env.broadcast) ? ['broadcast', env.broadcast] : [];
  cmds.push(['ip', 'addr', 'replace', `${env.ip}/${len}`, ...brd, 'dev', dev]);
  // With classless static routes present, the router option is ignored (RFC 3442).
  const routes = parseStaticRoutes(env.staticroutes);
  if (routes.length) {
    for (const r of routes)
      cmds.push(
        r.via === '0.0.0.0' ? ['ip', 'route', 'replace', r.dest, 'dev', dev] : ['ip', 'route', 'replace', r.dest, 'via', r.via, 'dev', dev],
      );
  } else {
    const router = (env.router ?? '').split(/\s+/).find(isIpv4);
    if (router) cmds.push(['ip', 'route', 'replace', 'default', 'via', router, 'dev', dev]);
  }
  return cmds;
}
