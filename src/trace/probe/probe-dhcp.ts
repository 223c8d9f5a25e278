// `trace dhcp --probe`: a real DHCP exchange, captured on every device of the DHCP leg. The client
// runs where the port's traffic starts (in a lab, its instance's namespace): busybox udhcpc with a
// script that does nothing, so the instance keeps its address while the DISCOVER/OFFER/REQUEST/ACK
// crosses the path. Requests are counted by the client MAC they carry, replies by the Ethernet
// destination (the client, or broadcast).
import { accessArgv } from '../read/access.js';
import { collect } from './probe-capture.js';
import type { Counts } from './probe-count.js';
import { pathCapturePoints, type CaptureFilters } from './probe-plan.js';
import { probeAlong, type ProbeOptions, type ProbeTraffic } from './probe.js';
import type { Hop, TraceReport } from '../report.js';

/** The instance's interface the client runs on. */
export const DHCP_CLIENT_INTERFACE = 'eth0';

/** busybox udhcpc: foreground, quit once leased or after 3 DISCOVERs a second apart; `/bin/true` as its script changes nothing. */
export const dhcpClientArgv = (iface = DHCP_CLIENT_INTERFACE) => [
  'udhcpc',
  '-i',
  iface,
  '-f',
  '-q',
  '-n',
  '-t',
  '3',
  '-T',
  '1',
  '-s',
  '/bin/true',
];

/** DHCP starts from 0.0.0.0 to broadcast: there is no address to follow, only the ports. */
export const DHCP_FILTERS: CaptureFilters = {
  plain: () => 'udp and (port 67 or port 68)',
  // Inner UDP ports past the outer UDP (8), VXLAN (8), inner Ethernet (14) and inner IPv4 (20, no options) headers.
  underlay: (_address, port) =>
    `udp port ${port} and udp[39] = 17 and ((udp[50:2] = 68 and udp[52:2] = 67) or (udp[50:2] = 67 and udp[52:2] = 68))`,
};

const MAC = '[0-9a-f]{2}(?::[0-9a-f]{2}){5}';
// The Ethernet header and the UDP ports, as `tcpdump -n -e` prints them; an underlay's inner frame
// (read with -T vxlan) prints the same way, though its payload is then misnamed VXLAN.
const DHCP_FRAME = new RegExp(`(${MAC}) > (${MAC}), ethertype IPv4[^:]*: \\S+\\.(67|68) > \\S+\\.(67|68): `);

/** DHCP requests from `mac` and replies to it (or to broadcast) in `tcpdump -n -e` text. */
export function countDhcp(text: string, mac: string): Counts {
  const c: Counts = { request: 0, reply: 0 };
  const m = mac.toLowerCase();
  for (const line of text.split('\n')) {
    const f = DHCP_FRAME.exec(line);
    if (!f) continue;
    const [, src, dst, sport, dport] = f;
    if (sport === '68' && dport === '67' && src === m) c.request++;
    else if (sport === '67' && dport === '68' && (dst === m || dst === 'ff:ff:ff:ff:ff:ff')) c.reply++;
  }
  return c;
}

/** What the client says it did: DISCOVERs and REQUESTs sent; OFFERs (each followed by a select) and ACKs (a lease) received. */
export function parseUdhcpc(output: string): { sent: number; answered: number } {
  const n = (re: RegExp) => output.split('\n').filter((l) => re.test(l)).length;
  const selects = n(/(sending|broadcasting) select/);
  return { sent: n(/(sending|broadcasting) discover/) + selects, answered: selects + n(/lease of \S+ obtained/) };
}

const dhcpTraffic = (mac: string, from: string, sendMs: number, send: ProbeTraffic['send']): ProbeTraffic => ({
  label: 'dhcp',
  from,
  points: (planned) => pathCapturePoints(planned, DHCP_FILTERS, () => '0.0.0.0'),
  packetBound: 64,
  sendMs,
  send,
  count: (text) => countDhcp(text, mac),
});

/** A DHCP exchange started by a client where the port's traffic starts (`o.from`). */
export async function probeDhcp(report: TraceReport, o: ProbeOptions): Promise<TraceReport> {
  const mac = report.target.port?.mac;
  if (!mac) return { ...report, warnings: [...report.warnings, `probe: nothing sent: no port ${report.target.query}`] };
  const argv = dhcpClientArgv();
  return probeAlong(
    report,
    dhcpTraffic(mac, o.from.label, 10_000, async (warnings) => {
      const r = await collect(accessArgv(o.from.access.spec, argv, undefined, o.sshOptions), 20_000);
      const said = parseUdhcpc(`${r.stdout}\n${r.stderr}`);
      if (said.sent === 0)
        warnings.push(
          `probe: ${argv.join(' ')} on ${o.from.label} sent nothing: ${(r.stderr.trim().split('\n').at(-1) ?? '') || `exit ${r.code}`}`,
        );
      return said;
    }),
    o,
  );
}

/**
 * Starts no client: captures for `waitMs` while the instance renews its lease or the operator starts
 * a client. What was sent and answered is what the first device (the port's own tap) saw.
 */
export async function probeDhcpPassive(report: TraceReport, o: Omit<ProbeOptions, 'from'>, waitMs: number): Promise<TraceReport> {
  const mac = report.target.port?.mac;
  if (!mac) return { ...report, warnings: [...report.warnings, `probe: nothing captured: no port ${report.target.query}`] };
  const traffic = dhcpTraffic(mac, `the port's own client (captured for ${Math.round(waitMs / 1000)} s)`, waitMs, async () => {
    await new Promise((r) => setTimeout(r, waitMs));
    return { sent: 0, answered: 0 };
  });
  const tally = (hops: Hop[]) => {
    const first = hops.find((h) => h.capture);
    return { sent: first?.capture?.request ?? 0, answered: first?.capture?.reply ?? 0 };
  };
  const probed = await probeAlong(report, { ...traffic, tally }, o);
  return probed.probe?.sent
    ? probed
    : {
        ...probed,
        warnings: [
          ...probed.warnings,
          `probe: no DHCP request from ${mac} within ${Math.round(waitMs / 1000)} s: start the instance's DHCP client (or wait for its renewal) during the capture`,
        ],
      };
}
