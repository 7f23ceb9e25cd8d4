#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""mkcorpus.py DEMO.pcap OUTDIR: the captures the tests run every filter on
when tcpdump's corpus is not beside the project.  All come from the demo
trace the project ships (Ethernet, microseconds, little-endian): the same
packets as raw IP, Linux cooked and null/loopback frames, in the other
byte order and in nanoseconds, as pcapng (µs and ns), cut by a small snapshot length,
with a record cut short at the end of the file, and with headers damaged
on purpose (lengths, versions, offsets), which a filter must survive and
never match on something it does not fully carry.  And the quirks of old
and odd writers that libpcap's savefile reader (sf-pcap.c) takes: Alexey
Kuznetzov's magic (24-byte record headers), versions 2.2 and DG/UX's
543.0 (captured and wire length the other way round) and 2.3 (either
way), FCS bits in the link type field, a snapshot length of 0, null
frames and cooked frames of the other byte order (libpcap reads the
latter's pseudo-headers byte-swapped), and D-Bus records longer than
256 KiB (libpcap allows 128 MiB for D-Bus)."""
import random
import struct
import sys

def read_pcap(path):
    d = open(path, "rb").read()
    magic, _, _, _, _, snap, link = struct.unpack("<IHHiIII", d[:24])
    assert magic == 0xa1b2c3d4 and link == 1, "a little-endian Ethernet pcap"
    off, recs = 24, []
    while off + 16 <= len(d):
        sec, usec, cap, wire = struct.unpack("<IIII", d[off:off + 16])
        recs.append((sec, usec, d[off + 16:off + 16 + cap], wire))
        off += 16 + cap
    return recs

def write_pcap(path, recs, link, endian="<", nsec=False, snap=262144, cut_last=False,
               magic=None, version=(2, 4), lengths=lambda cap, wire: (cap, wire)):
    """lengths: the record's two length fields, in the order written."""
    magic = magic or (0xa1b23c4d if nsec else 0xa1b2c3d4)
    extra = b"\0" * 8 if magic == 0xa1b2cd34 else b""  # Kuznetzov's
    out = bytearray(struct.pack(endian + "IHHiIII", magic, *version, 0, 0, snap, link))
    for sec, usec, data, wire in recs:
        frac = usec * 1000 if nsec else usec
        data = data[:snap] if snap else data
        out += struct.pack(endian + "IIII", sec, frac, *lengths(len(data), wire))
        out += extra + data
    if cut_last:
        out = out[:-5]
    open(path, "wb").write(bytes(out))

def write_pcapng(path, recs, nsec=False):
    def block(kind, body):
        body += b"\0" * (-len(body) % 4)
        n = 12 + len(body)
        return struct.pack("<II", kind, n) + body + struct.pack("<I", n)
    out = block(0x0a0d0d0a, struct.pack("<IHHq", 0x1a2b3c4d, 1, 0, -1))
    # if_tsresol 9 (nanoseconds), then the end of the options
    opts = struct.pack("<HHB3xHH", 9, 1, 9, 0, 0) if nsec else b""
    out += block(1, struct.pack("<HHI", 1, 0, 262144) + opts)
    for sec, usec, data, wire in recs:
        ts = sec * 1000000000 + usec * 1000 + 7 if nsec else sec * 1000000 + usec
        out += block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xffffffff,
                                    len(data), wire) + data)
    open(path, "wb").write(out)

def ethertype(frame):
    return struct.unpack(">H", frame[12:14])[0] if len(frame) >= 14 else 0

def relink(recs, make):
    out = []
    for sec, usec, data, wire in recs:
        new = make(data)
        if new is not None:
            out.append((sec, usec, new, wire - len(data) + len(new)))
    return out

def raw_ip(f):
    return f[14:] if ethertype(f) in (0x0800, 0x86dd) else None

def cooked(f):  # LINKTYPE_LINUX_SLL: packet type, ARPHRD, address, protocol
    return struct.pack(">HHH8sH", 0, 1, 6, f[6:12] + b"\0\0", ethertype(f)) + f[14:]

def null(f):  # LINKTYPE_NULL: the address family in the writer's byte order
    af = {0x0800: 2, 0x86dd: 30}.get(ethertype(f))
    return struct.pack("<I", af) + f[14:] if af else None

def null_be(f):  # the same, written on a big-endian machine
    af = {0x0800: 2, 0x86dd: 30}.get(ethertype(f))
    return struct.pack(">I", af) + f[14:] if af else None

def dbus(recs):  # D-Bus messages, two of them longer than 256 KiB
    out = [(sec, usec, data, len(data)) for sec, usec, data, wire in recs[:4]]
    big = bytes(i % 251 for i in range(300000))
    return out + [(recs[0][0] + 1, 0, big, len(big)), (recs[0][0] + 2, 0, big[:262145], 262145)]

def damaged(recs, seed):
    rnd, out = random.Random(seed), []
    for sec, usec, data, wire in recs:
        b = bytearray(data)
        for _ in range(3):
            if len(b) > 14:
                b[rnd.randrange(14, min(len(b), 74))] = rnd.randrange(256)
        out.append((sec, usec, bytes(b), wire))
    return out

def main():
    recs = read_pcap(sys.argv[1])
    o = sys.argv[2].rstrip("/") + "/"
    write_pcap(o + "ether.pcap", recs, 1)
    write_pcap(o + "ether-be-ns.pcap", recs, 1, ">", nsec=True)
    write_pcap(o + "raw.pcap", relink(recs, raw_ip), 101)
    write_pcap(o + "sll.pcap", relink(recs, cooked), 113)
    write_pcap(o + "null.pcap", relink(recs, null), 0)
    write_pcap(o + "snap40.pcap", recs, 1, snap=40)
    write_pcap(o + "cut-short.pcap", recs, 1, cut_last=True)
    write_pcap(o + "damaged-1.pcap", damaged(recs, 1), 1)
    write_pcap(o + "damaged-2.pcap", damaged(recs, 2), 1)
    write_pcap(o + "damaged-raw.pcap", relink(damaged(recs, 3), raw_ip), 101)
    write_pcapng(o + "ether.pcapng", recs)
    write_pcapng(o + "ether-ns.pcapng", recs, nsec=True)
    swapped = lambda cap, wire: (wire, cap)
    write_pcap(o + "quirk-kuznetzov.pcap", recs, 1, magic=0xa1b2cd34, snap=0)
    write_pcap(o + "quirk-kuznetzov-be.pcap", relink(recs, cooked), 113, ">",
               magic=0xa1b2cd34)
    write_pcap(o + "quirk-v2.2.pcap", recs, 1, version=(2, 2), lengths=swapped)
    write_pcap(o + "quirk-v543-be.pcap", recs, 1, ">", version=(543, 0), lengths=swapped)
    write_pcap(o + "quirk-v2.3.pcap", recs, 1, snap=100, version=(2, 3),
               lengths=lambda cap, wire: (wire, cap) if wire % 2 else (cap, wire))
    write_pcap(o + "quirk-fcs.pcap", recs, 0x24000000 | 1)
    write_pcap(o + "quirk-snap0-be-ns.pcap", recs, 1, ">", nsec=True, snap=0)
    write_pcap(o + "quirk-null-be.pcap", relink(recs, null_be), 0, ">")
    write_pcap(o + "quirk-sll-be.pcap", relink(recs, cooked), 113, ">")
    write_pcap(o + "quirk-dbus-big.pcap", dbus(recs), 231, snap=0)

main()
