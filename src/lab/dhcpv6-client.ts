// The lab's DHCPv6 client (RFC 8415; Debian's busybox has no udhcpc6): run with the Node.js running
// neutrino inside an instance's namespace, it Solicits, Requests the address the Advertise offers
// and prints the Reply's IA_NA addresses and DNS servers as JSON, then quits (as udhcpc -q does).
// It identifies itself by a DUID-LL of the interface's MAC, from the interface's link-local
// address, so that dnsmasq finds the port's static lease by MAC.
import { run } from '../exec/run.ts';
import { canonicalIpOrNull } from '../model/ip.ts';

/** The client's program (plain JavaScript for `node -e`): argv = [iface, mac]. */
const CLIENT = String.raw`
const dgram = require('node:dgram');
const [iface, mac] = process.argv.slice(1);
const opt = (code, data) => { const b = Buffer.alloc(4 + data.length); b.writeUInt16BE(code, 0); b.writeUInt16BE(data.length, 2); data.copy(b, 4); return b; };
const duid = Buffer.concat([Buffer.from([0, 3, 0, 1]), Buffer.from(mac.split(':').map((h) => parseInt(h, 16)))]);
const iaid = Buffer.from([0, 0, 0, 1]);
const xid = Buffer.from([0x12, 0x34, 0x56]);
const msg = (type, ...opts) => Buffer.concat([Buffer.from([type]), xid, ...opts]);
const parse = (b) => { const o = []; for (let i = 0; i + 4 <= b.length; ) { const len = b.readUInt16BE(i + 2); o.push({ code: b.readUInt16BE(i), data: b.subarray(i + 4, i + 4 + len) }); i += 4 + len; } return o; };
const ip6 = (b) => Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2).toString(16)).join(':');
const common = [opt(1, duid), opt(8, Buffer.from([0, 0])), opt(6, Buffer.from([0, 23, 0, 24]))];
const sock = dgram.createSocket({ type: 'udp6', reuseAddr: true });
const send = (b) => sock.send(b, 547, 'ff02::1:2%' + iface);
let done = false;
let lastError = 'no reply';
// Solicit again every second (RFC 8415 retransmits): a lost message or an early "no address" answer
// (the server still reading its host file) is not the end; only the overall time limit is.
const solicit = () => send(msg(1, ...common, opt(3, Buffer.concat([iaid, Buffer.alloc(8)]))));
const retry = setInterval(() => { if (!done) solicit(); }, 1000);
const timer = setTimeout(() => { console.log(JSON.stringify({ error: lastError })); process.exit(2); }, 15000);
sock.on('message', (m) => {
  if (done || m.subarray(1, 4).compare(xid) !== 0) return;
  const opts = parse(m.subarray(4));
  const ia = opts.find((o) => o.code === 3);
  const addrs = ia ? parse(ia.data.subarray(12)).filter((o) => o.code === 5).map((o) => ip6(o.data.subarray(0, 16))) : [];
  const status = [...opts, ...(ia ? parse(ia.data.subarray(12)) : [])].find((o) => o.code === 13);
  if (!ia || (status && status.data.readUInt16BE(0) !== 0)) {
    lastError = (status ? status.data.subarray(2).toString() : 'no IA_NA') + ' (message type ' + m[0] + ')';
    return;
  }
  if (m[0] === 2) {
    const server = opts.find((o) => o.code === 2);
    send(msg(3, ...common, server ? opt(2, server.data) : Buffer.alloc(0), opt(3, ia.data)));
  } else if (m[0] === 7) {
    done = true;
    clearTimeout(timer);
    clearInterval(retry);
    const dns = opts.filter((o) => o.code === 23).flatMap((o) => Array.from({ length: o.data.length / 16 }, (_, i) => ip6(o.data.subarray(i * 16, i * 16 + 16))));
    console.log(JSON.stringify({ addresses: addrs, dns }));
    sock.close();
  }
});
sock.bind(546, '::', () => { sock.setMulticastInterface('::%' + iface); solicit(); });
`;

export interface Dhcpv6Reply {
  addresses: string[];
  dns: string[];
}

/** One exchange in `netns` on `iface` (which must have its link-local address); rejects when no lease comes. */
export async function dhcpv6Request(netns: string, iface: string, mac: string, timeoutMs = 20_000): Promise<Dhcpv6Reply> {
  const out = await run([process.execPath, '-e', CLIENT, iface, mac], { netns, timeoutMs });
  const reply = JSON.parse(out.stdout.trim()) as Dhcpv6Reply;
  return { addresses: reply.addresses.map((a) => canonicalIpOrNull(a) ?? a), dns: reply.dns.map((a) => canonicalIpOrNull(a) ?? a) };
}
