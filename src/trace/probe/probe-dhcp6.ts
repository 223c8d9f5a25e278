// `trace dhcp --probe` on a DHCPv6 leg: a DHCPv6 exchange that commits nothing, captured on every
// device of the leg. The client is a short Node.js program run where the port's traffic starts, in
// the instance's namespace (netns: or local access): on a stateful subnet a Solicit, answered by an
// Advertise (no Request, so dnsmasq commits no lease); on a stateless one an Information-request,
// answered by a Reply. It configures no address. Over ssh there is no client known to leave the
// instance as it is (dhclient -6 configures what it gets), so that is said instead of probed.
// Requests are counted by the client MAC they carry, replies by their Ethernet destination.
import { accessArgv } from '../read/access.ts';
import { collect } from './probe-capture.ts';
import { dhcpCounter, dhcpTraffic, probeDhcpPassive, type DhcpWire } from './probe-dhcp.ts';
import { probeAlong, type ProbeOptions } from './probe.ts';
import type { TraceReport } from '../report.ts';

/** The instance's interface the client runs on. */
const DHCP6_CLIENT_INTERFACE = 'eth0';

/**
 * The client (plain JavaScript for `node -e`): argv = [iface, mac, 'solicit' | 'info']. Three tries
 * a second apart from the interface's link-local address to ff02::1:2, as DUID-LL of the MAC; prints
 * {"sent": n, "answered": n} and quits at the first answer of its transaction.
 */
const CLIENT = String.raw`
const dgram = require('node:dgram');
const crypto = require('node:crypto');
const [iface, mac, kind] = process.argv.slice(1);
const opt = (code, data) => { const b = Buffer.alloc(4 + data.length); b.writeUInt16BE(code, 0); b.writeUInt16BE(data.length, 2); data.copy(b, 4); return b; };
const duid = Buffer.concat([Buffer.from([0, 3, 0, 1]), Buffer.from(mac.split(':').map((h) => parseInt(h, 16)))]);
const xid = crypto.randomBytes(3);
const opts = [opt(1, duid), opt(8, Buffer.from([0, 0])), opt(6, Buffer.from([0, 23, 0, 24]))];
if (kind === 'solicit') opts.push(opt(3, Buffer.concat([Buffer.from([0, 0, 0, 1]), Buffer.alloc(8)])));
const message = Buffer.concat([Buffer.from([kind === 'solicit' ? 1 : 11]), xid, ...opts]);
const answer = kind === 'solicit' ? 2 : 7;
let sent = 0;
const sock = dgram.createSocket({ type: 'udp6', reuseAddr: true });
const done = (answered, error) => { console.log(JSON.stringify({ sent, answered, ...(error ? { error } : {}) })); process.exit(0); };
sock.on('error', (e) => done(0, e.message));
sock.on('message', (m) => { if (m[0] === answer && m.subarray(1, 4).equals(xid)) done(1); });
const send = () => { sent++; sock.send(message, 547, 'ff02::1:2%' + iface); };
sock.bind(546, '::', () => {
  sock.setMulticastInterface('::%' + iface);
  send();
  const again = setInterval(() => (sent < 3 ? send() : (clearInterval(again), setTimeout(() => done(0), 1000))), 1000);
});
`;

/** DHCPv6 requests from `mac` (546 → 547) and replies to it (547 → 546, unicast to its link-local address). */
export const countDhcp6 = dhcpCounter('IPv6', 547, 546, false);

export const DHCP6_WIRE: DhcpWire = {
  label: 'dhcpv6',
  filters: {
    plain: () => 'udp and (port 546 or port 547)',
    // Inner next header and UDP ports past the outer UDP (8), VXLAN (8), inner Ethernet (14) and inner IPv6 (40) headers.
    underlay: (_address, port) =>
      `udp port ${port} and udp[36] = 17 and ((udp[70:2] = 546 and udp[72:2] = 547) or (udp[70:2] = 547 and udp[72:2] = 546))`,
  },
  count: countDhcp6,
  // The router's advertisements are checked on the leg, but the exchange does not cross the router.
  skip: (h) => h.check === 'radvd',
};

/** Whether a DHCPv6 report has an exchange to probe (SLAAC subnets have none) and which message starts it. */
function exchangeOf(report: TraceReport): 'solicit' | 'info' | null {
  if (!report.hops.some((h) => h.check === 'dnsmasq')) return null;
  return report.hops.some((h) => h.check === 'DHCP host entry') ? 'solicit' : 'info';
}

const unprobed = (report: TraceReport, why: string): TraceReport => ({ ...report, warnings: [...report.warnings, `probe: ${why}`] });

export const dhcp6ClientArgv = (kind: 'solicit' | 'info', mac: string, node = process.execPath) => [
  node,
  '-e',
  CLIENT,
  DHCP6_CLIENT_INTERFACE,
  mac,
  kind,
];

/** A DHCPv6 exchange from where the port's traffic starts (`o.from`), when it can leave the instance as it is. */
export async function probeDhcp6(report: TraceReport, o: ProbeOptions): Promise<TraceReport> {
  const mac = report.target.port?.mac;
  if (!mac) return unprobed(report, `nothing sent: no port ${report.target.query}`);
  const kind = exchangeOf(report);
  if (!kind) return unprobed(report, 'nothing sent: the port has no DHCPv6 exchange (SLAAC); its addresses come from the advertisements');
  if (o.from.access.spec.kind === 'ssh')
    return unprobed(
      report,
      `the DHCPv6 leg was not probed: no client over ssh is known to leave ${o.from.label} as it is (dhclient -6 configures what it gets); the static checks stand, or capture the instance's own client with --wait`,
    );
  const argv = dhcp6ClientArgv(kind, mac);
  const what = kind === 'solicit' ? 'Solicit (no Request: no lease is committed)' : 'Information-request';
  return probeAlong(
    report,
    dhcpTraffic(DHCP6_WIRE, mac, `${o.from.label} (a DHCPv6 ${what})`, 5_000, async (warnings) => {
      const r = await collect(accessArgv(o.from.access.spec, argv, undefined, o.sshOptions), 10_000);
      try {
        const said = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as { sent: number; answered: number; error?: string };
        if (said.error) warnings.push(`probe: the DHCPv6 client on ${o.from.label} failed: ${said.error}`);
        return { sent: said.sent, answered: said.answered };
      } catch {
        warnings.push(
          `probe: the DHCPv6 client on ${o.from.label} sent nothing: ${(r.stderr.trim().split('\n').at(-1) ?? '') || `exit ${r.code}`}`,
        );
        return { sent: 0, answered: 0 };
      }
    }),
    o,
  );
}

/** trace dhcp --probe --wait on a DHCPv6 leg: the instance's own client, captured. */
export const probeDhcp6Passive = (report: TraceReport, o: Omit<ProbeOptions, 'from'>, waitMs: number) =>
  exchangeOf(report)
    ? probeDhcpPassive(report, o, waitMs, DHCP6_WIRE)
    : Promise.resolve(unprobed(report, 'nothing captured: the port has no DHCPv6 exchange (SLAAC)'));
