// Counts the probe's requests and replies in tcpdump's text output (`tcpdump -r FILE -n -tt -e`,
// with `-T vxlan` on an underlay NIC, where the inner frame follows on its own line). Pure.
import type { ProbeFlow } from './probe-plan.ts';

export interface Counts {
  request: number;
  reply: number;
}

// "10.123.123.1 > 172.16.1.3: ICMP echo request, id 9232, seq 1, length 64"
// "10.123.123.1.41514 > 172.16.1.3.22: Flags [S], seq 1, win 64240, …"
const PACKET = /(\d{1,3}(?:\.\d{1,3}){3})(?:\.(\d+))? > (\d{1,3}(?:\.\d{1,3}){3})(?:\.(\d+))?: (.*)$/;
// "fd00:41::1 > fd00:41::2: ICMP6, echo request, id 3, seq 1, length 64"; "fd00:41::1.41514 > fd00:41::2.22: Flags [S], …"
const PACKET6 = /([0-9a-f]*:[0-9a-f:]+)(?:\.(\d+))? > ([0-9a-f]*:[0-9a-f:]+)(?:\.(\d+))?: (.*)$/;

/**
 * Requests are packets to `address` (ICMP echo requests; TCP SYNs to the port), replies packets
 * from it (ICMP echo replies; SYN-ACKs, and RSTs: a refused connection still proves the path).
 * Outer VXLAN lines, ARP and other traffic count for nothing.
 */
export function countPackets(text: string, flow: ProbeFlow, address: string): Counts {
  const c: Counts = { request: 0, reply: 0 };
  const v6 = address.includes(':');
  const echo = v6 ? 'ICMP6, echo' : 'ICMP echo';
  for (const line of text.split('\n')) {
    const m = (v6 ? PACKET6 : PACKET).exec(line);
    if (!m) continue;
    const [, src, sport, dst, dport, rest] = m as unknown as [string, string, string | undefined, string, string | undefined, string];
    if (flow.protocol === 'icmp') {
      if (dst === address && rest.startsWith(`${echo} request`)) c.request++;
      else if (src === address && rest.startsWith(`${echo} reply`)) c.reply++;
      continue;
    }
    const port = String(flow.port);
    const flags = /^Flags \[([^\]]*)\]/.exec(rest)?.[1];
    if (flags === undefined) continue;
    if (dst === address && dport === port && flags === 'S') c.request++;
    else if (src === address && sport === port && (flags === 'S.' || flags.startsWith('R'))) c.reply++;
  }
  return c;
}

/** `ping`'s summary: "3 packets transmitted, 2 received, …". */
export function parsePing(stdout: string): { sent: number; answered: number } | null {
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(stdout);
  return m ? { sent: Number(m[1]), answered: Number(m[2]) } : null;
}
