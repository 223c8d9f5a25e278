#!/usr/bin/env python3
# ICMP (ICMPv6 for an IPv6 DST) echo prober for the L3 benchmarks (bench/l3.ts, bench/ipv6.ts),
# run inside a network namespace as root.
# Sends one echo request to DST every INTERVAL_MS and prints one line per reply:
#   <seq> <sent> <received>        (Unix time in seconds, microsecond resolution)
# MODE 'new' gives every probe its own ICMP id, so each probe is a new conntrack flow (what a new
# connection sees); 'flow' keeps one id, one long-lived flow (what a running `ping` sees).
# `ping -D` cannot do 'new', and spawning a ping per probe costs more than the resolution we need.
# Runs until killed or until stdin closes.
import os
import select
import socket
import struct
import sys
import time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack(f'!{len(data) // 2}H', data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def echo(ident: int, seq: int, payload: bytes, v6: bool) -> bytes:
    if v6:  # the kernel fills in an ICMPv6 checksum (it covers the IPv6 pseudo-header)
        return struct.pack('!BBHHH', 128, 0, 0, ident, seq & 0xFFFF) + payload
    head = struct.pack('!BBHHH', 8, 0, 0, ident, seq & 0xFFFF)
    return struct.pack('!BBHHH', 8, 0, checksum(head + payload), ident, seq & 0xFFFF) + payload


def main() -> None:
    dst, interval, mode = sys.argv[1], float(sys.argv[2]) / 1000, sys.argv[3]
    v6 = ':' in dst
    if v6:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    reply_type = 129 if v6 else 0
    sock.setblocking(False)
    nonce = os.urandom(8)
    base = int.from_bytes(os.urandom(2), 'big')
    sent: dict[int, float] = {}
    seq = 0
    next_send = time.time()
    out = sys.stdout
    watch = [sock, sys.stdin]
    while True:
        now = time.time()
        if now >= next_send:
            ident = (base + seq) & 0xFFFF if mode == 'new' else base
            sent[seq] = time.time()
            try:
                sock.sendto(echo(ident, seq, nonce + struct.pack('!I', seq), v6), (dst, 0))
            except OSError:
                pass  # no route / neighbour failed: a lost probe
            seq += 1
            next_send += interval
            if next_send < now:
                next_send = now + interval
        ready, _, _ = select.select(watch, [], [], max(0.0, next_send - time.time()))
        if sys.stdin in ready and not os.read(sys.stdin.fileno(), 4096):
            return
        if sock in ready:
            while True:
                try:
                    pkt = sock.recv(2048)
                except BlockingIOError:
                    break
                got = time.time()
                # An IPv4 raw socket delivers the IP header, an IPv6 one the ICMPv6 message alone.
                icmp = pkt if v6 else pkt[(pkt[0] & 0x0F) * 4 :]
                if len(icmp) < 20 or icmp[0] != reply_type or icmp[8:16] != nonce:
                    continue
                n = struct.unpack('!I', icmp[16:20])[0]
                if n in sent:
                    out.write(f'{n} {sent.pop(n):.6f} {got:.6f}\n')
                    out.flush()


if __name__ == '__main__':
    try:
        main()
    except (KeyboardInterrupt, BrokenPipeError):
        pass
