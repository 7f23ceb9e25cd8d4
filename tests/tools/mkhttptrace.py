#!/usr/bin/python3
"""Craft a pcap of HTTP connections whose segments come shuffled,
repeated, overlapping and lost, and each of the cases TCP reassembly must
handle: no SYN (a capture that starts mid-connection), SYN-ACK before
SYN, sequence numbers that wrap, a 4-tuple reused with a new ISN,
retransmissions after FIN, keep-alive probes, Ethernet padding, RST,
IPv6, a port that is not 80, a response quoting a request.

  mkhttptrace.py OUT.pcap EXPECTED.json [SEED]

EXPECTED.json lists (as hex) every request whose bytes all made it into
the capture: exactly those must come out of `http`, once each.  Needs
scapy (python3-scapy).
"""
import json
import random
import sys

from scapy.all import IP, TCP, Ether, IPv6, Padding, Raw, wrpcap

out, expected_path = sys.argv[1], sys.argv[2]
rnd = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
packets, expected = [], []
ETH = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
clock = [1700000000.0]


def emit(pkt):
    clock[0] += 0.001
    pkt.time = clock[0]
    packets.append(pkt)


def requests(tag, n):
    """n requests, each starting a line: GET, POST by length, PUT chunked."""
    tag = tag.encode()
    out = []
    for i in range(n):
        k = rnd.randrange(3)
        if k == 0:
            out.append(b"GET /%s/%d HTTP/1.1\r\nHost: test\r\n\r\n" % (tag, i))
        elif k == 1:
            body = b"x" * rnd.randrange(1, 3000) + b"\n"
            out.append(b"POST /%s/%d HTTP/1.1\r\nHost: test\r\nContent-Length: %d\r\n\r\n%s"
                       % (tag, i, len(body), body))
        else:
            out.append(b"PUT /%s/%d HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                       b"5\r\nhello\r\n0\r\n\r\n" % (tag, i))
    return out


class Conn:
    def __init__(self, cli, srv, cport, sport, isn=None, sisn=None, v6=False):
        self.cli, self.srv, self.cport, self.sport, self.v6 = cli, srv, cport, sport, v6
        self.isn = rnd.randrange(1 << 32) if isn is None else isn
        self.sisn = rnd.randrange(1 << 32) if sisn is None else sisn

    def pkt(self, from_client, flags, seq, ack, data=b"", pad=0):
        ip = IPv6 if self.v6 else IP
        if from_client:
            p = ETH / ip(src=self.cli, dst=self.srv) / TCP(
                sport=self.cport, dport=self.sport, flags=flags, seq=seq % (1 << 32),
                ack=ack % (1 << 32))
        else:
            p = ETH / ip(src=self.srv, dst=self.cli) / TCP(
                sport=self.sport, dport=self.cport, flags=flags, seq=seq % (1 << 32),
                ack=ack % (1 << 32))
        if data:
            p = p / Raw(data)
        if pad:
            p = p / Padding(b"\0" * pad)
        emit(p)

    def syn(self):
        self.pkt(True, "S", self.isn, 0)

    def synack(self):
        self.pkt(False, "SA", self.sisn, self.isn + 1)

    def send(self, reqs, disorder=True, skip_first=0, pad=0):
        """The client sends reqs (the first skip_first bytes never
        captured); with disorder, segments are shuffled, repeated,
        overlapping, some lost.  The server acknowledges what its host
        got.  Returns the stream's end offset."""
        stream = b"".join(reqs)
        segs, off = [], 0
        while off < len(stream):
            n = min(len(stream) - off, rnd.randrange(1, 1400))
            lost = off < skip_first or (disorder and rnd.randrange(25) == 0)
            segs.append((off, n, lost))
            if disorder and rnd.randrange(6) == 0:
                o = off + rnd.randrange(n)
                segs.append((o, min(len(stream) - o, rnd.randrange(1, 1400)), False))
            off += n
        if disorder:
            for i in range(len(segs) - 1, 0, -1):
                j = i - rnd.randrange(min(i + 1, 5))
                segs[i], segs[j] = segs[j], segs[i]
        got, arrived = bytearray(len(stream)), bytearray(len(stream))
        for off, n, lost in segs:
            got[off:off + n] = b"\1" * n
            if not lost:
                arrived[off:off + n] = b"\1" * n
                self.pkt(True, "PA", self.isn + 1 + off, self.sisn + 1,
                         stream[off:off + n], pad)
            ack = got.find(b"\0")
            ack = len(stream) if ack < 0 else ack
            self.pkt(False, "A", self.sisn + 1, self.isn + 1 + ack)
        at = 0
        for r in reqs:
            if all(arrived[at:at + len(r)]):
                expected.append(r.hex())
            at += len(r)
        self.sent = len(stream)
        self.stream = stream
        return len(stream)

    def fin(self):
        self.pkt(True, "FA", self.isn + 1 + self.sent, self.sisn + 1)
        self.pkt(False, "FA", self.sisn + 1, self.isn + 2 + self.sent)


# Disorder of every kind, on port 8080, from the SYN.
c = Conn("10.1.0.1", "10.1.0.2", 40001, 8080)
c.syn(); c.synack(); c.send(requests("disorder", 60)); c.fin()

# No SYN: the capture starts inside the first request.
c = Conn("10.1.0.1", "10.1.0.2", 40002, 80)
reqs = requests("nosyn", 10)
c.send(reqs, disorder=False, skip_first=len(reqs[0]) // 2)

# SYN-ACK before SYN, sequence numbers wrapping past 2^32.
c = Conn("10.1.0.1", "10.1.0.2", 40003, 80, isn=(1 << 32) - 3000)
c.synack(); c.syn(); c.send(requests("wrap", 20)); c.fin()

# A 4-tuple reused with a new ISN; retransmissions after FIN; a
# keep-alive probe carrying one stale byte.
c = Conn("10.1.0.1", "10.1.0.2", 40004, 80)
c.syn(); c.synack(); c.send(requests("first", 5), disorder=False)
c.pkt(True, "A", c.isn + c.sent, c.sisn + 1, b"\0")        # keep-alive probe
c.fin()
c.pkt(True, "PA", c.isn + 1, c.sisn + 1, c.stream[:600])    # after FIN, again
c2 = Conn("10.1.0.1", "10.1.0.2", 40004, 80, isn=(c.isn + 1000000) % (1 << 32))
c2.syn(); c2.synack(); c2.send(requests("second", 5), disorder=False); c2.fin()

# Ethernet padding: tiny segments padded to the minimum frame.
c = Conn("10.1.0.1", "10.1.0.2", 40005, 80)
c.syn(); c.synack()
tiny = [b"GET / HTTP/1.0\n\n"] * 3
c.send(tiny, disorder=False, pad=10)

# RST: what came is handed on; a repeat after it is not.
c = Conn("10.1.0.1", "10.1.0.2", 40006, 80)
c.syn(); c.synack(); c.send(requests("rst", 4), disorder=False)
c.pkt(True, "R", c.isn + 1 + c.sent, 0)
c.pkt(True, "PA", c.isn + 1, c.sisn + 1, c.stream[:800])

# IPv6, and a response that quotes a request (never a request itself).
c = Conn("fd00::1", "fd00::2", 40007, 80, v6=True)
c.syn(); c.synack(); c.send(requests("v6", 10))
body = b"GET /quoted HTTP/1.1\r\nHost: no\r\n\r\n"
c.pkt(False, "PA", c.sisn + 1, c.isn + 1 + c.sent,
      b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
c.fin()

wrpcap(out, packets)
json.dump(expected, open(expected_path, "w"))
print("%d packets, %d requests expected" % (len(packets), len(expected)))
