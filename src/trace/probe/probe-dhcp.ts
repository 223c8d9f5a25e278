// `trace dhcp --probe`: a real DHCP exchange, captured on every device of the DHCP leg. The client
// runs where the port's traffic starts (in a lab, its instance's namespace): busybox udhcpc with a
// script that does nothing, so the instance keeps its address while the DISCOVER/OFFER/REQUEST/ACK
// crosses the path. Requests are counted by the client MAC they carry, replies by the Ethernet
// destination (the client, or broadcast).
import { accessArgv } from '../read/access.ts';
import { collect } from './probe-capture.ts';
import type { Counts } from './probe-count.ts';
import { pathCapturePoints, type CaptureFilters } from './probe-plan.ts';
import { probeAlong, type ProbeOptions, type ProbeTraffic } from './probe.ts';
import type { Hop, TraceReport } from '../report.ts';

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

/**
 * Counts a family's DHCP frames in `tcpdump -n -e` text: requests from the client port to the
 * server port sent by `mac`, replies the other way to `mac` (or to broadcast, where DHCPv4 sends
 * them). The Ethernet header and the UDP ports are read as tcpdump prints them; an underlay's inner
 * frame (read with -T vxlan) prints the same way, though its payload is then misnamed VXLAN.
 */
export function dhcpCounter(ethertype: 'IPv4' | 'IPv6', server: number, client: number, broadcastReplies: boolean) {
  const frame = new RegExp(
    `(${MAC}) > (${MAC}), ethertype ${ethertype}[^:]*: \\S+\\.(${server}|${client}) > \\S+\\.(${server}|${client}): `,
  );
  return (text: string, mac: string): Counts => {
    const c: Counts = { request: 0, reply: 0 };
    const m = mac.toLowerCase();
    for (const line of text.split('\n')) {
      const f = frame.exec(line);
      if (!f) continue;
      const [, src, dst, sport, dport] = f.map(String);
      if (sport === String(client) && dport === String(server) && src === m) c.request++;
      else if (sport === String(server) && dport === String(client) && (dst === m || (broadcastReplies && dst === 'ff:ff:ff:ff:ff:ff')))
        c.reply++;
    }
    return c;
  };
}

/** DHCP requests from `mac` and replies to it (or to broadcast) in `tcpdump -n -e` text. */
export const countDhcp = dhcpCounter('IPv4', 67, 68, true);

/** What the client says it did: DISCOVERs and REQUESTs sent; OFFERs (each followed by a select) and ACKs (a lease) received. */
export function parseUdhcpc(output: string): { sent: number; answered: number } {
  const n = (re: RegExp) => output.split('\n').filter((l) => re.test(l)).length;
  const selects = n(/(sending|broadcasting) select/);
  return { sent: n(/(sending|broadcasting) discover/) + selects, answered: selects + n(/lease of \S+ obtained/) };
}

/** How each family's exchange is captured and counted. */
export interface DhcpWire {
  label: string;
  filters: CaptureFilters;
  count: (text: string, mac: string) => Counts;
  /** the hops whose devices carry no part of the exchange (radvd's interface on a DHCPv6 leg) */
  skip?: (h: Hop) => boolean;
}

export const DHCP4_WIRE: DhcpWire = { label: 'dhcp', filters: DHCP_FILTERS, count: countDhcp };

export const dhcpTraffic = (wire: DhcpWire, mac: string, from: string, sendMs: number, send: ProbeTraffic['send']): ProbeTraffic => ({
  label: wire.label,
  from,
  points: (planned) => {
    const skipped = new Set(planned.hops.filter((h) => wire.skip?.(h)).map((h) => h.index));
    return pathCapturePoints(planned, wire.filters, () => '0.0.0.0').filter((p) => !p.hops.every((i) => skipped.has(i)));
  },
  packetBound: 64,
  sendMs,
  send,
  count: (text) => wire.count(text, mac),
});

/** A DHCP exchange started by a client where the port's traffic starts (`o.from`). */
export async function probeDhcp(report: TraceReport, o: ProbeOptions): Promise<TraceReport> {
  const mac = report.target.port?.mac;
  if (!mac) return { ...report, warnings: [...report.warnings, `probe: nothing sent: no port ${report.target.query}`] };
  const argv = dhcpClientArgv();
  return probeAlong(
    report,
    dhcpTraffic(DHCP4_WIRE, mac, o.from.label, 10_000, async (warnings) => {
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
export async function probeDhcpPassive(
  report: TraceReport,
  o: Omit<ProbeOptions, 'from'>,
  waitMs: number,
  wire: DhcpWire = DHCP4_WIRE,
): Promise<TraceReport> {
  const mac = report.target.port?.mac;
  if (!mac) return { ...report, warnings: [...report.warnings, `probe: nothing captured: no port ${report.target.query}`] };
  const traffic = dhcpTraffic(wire, mac, `the port's own client (captured for ${Math.round(waitMs / 1000)} s)`, waitMs, async () => {
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
          `probe: no ${wire === DHCP4_WIRE ? 'DHCP' : 'DHCPv6'} request from ${mac} within ${Math.round(waitMs / 1000)} s: start the instance's DHCP client (or wait for its renewal) during the capture`,
        ],
      };
}
