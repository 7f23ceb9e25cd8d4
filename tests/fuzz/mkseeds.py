#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""mkseeds.py DEMO.pcap OUTDIR [CORPUS]: the seed inputs of the fuzz
targets of tests/fuzz/ (`make fuzz`), one directory per target, made from
the demo trace the project ships, a few crafted streams and frames, and
(given a directory CORPUS of capture files, tcpdump's test captures say)
some of its frames and small files, in each target's input format (see
the comment at the top of each target):

  fuzz_httpframe    the demo's client streams, alone and pipelined, from
                    their start and seeking, and crafted requests (bodies,
                    chunks, trailers, folds, bad ones, a header section
                    past the limit by repetition);
  fuzz_tcpreasm     the demo's segments (as they are, and as patterns),
                    crafted disorder around a wrapping sequence number,
                    written flows;
  fuzz_http_stage   the demo's frames as they are, shuffled, thinned, as
                    segments made by the target, as written chunks;
  fuzz_pcap_stream  the captures tests/tools/mkcorpus.py makes from the
                    demo (every byte order, precision, quirk and pcapng);
  fuzz_socket       conversations of include/pipesfs_proto.h: well-formed
                    (HELLO, OPEN of the target's node, WAIT, RINGS, CLOSE)
                    and each request broken one way;
  fuzz_classify     the demo's frames and crafted ones (VLAN tags, ARP,
                    ICMP, IPv6 extension headers, AH, fragments, jumbograms,
                    cut short) as every link type the dissector knows, and
                    up to 3 frames of each capture of CORPUS;
  fuzz_spec         filter specs and names, good and bad, and bpf=
                    expressions (those the bpf unit tests compare with
                    libpcap) with frames of the demo and crafted ones;
  fuzz_pcap_file    the captures tests/tools/mkcorpus.py makes (also looped
                    and started at once), crafted files (quirks, timestamps
                    past 2038, records too long or cut short), and up to 120
                    of CORPUS's files under 16 KiB.
"""
import os
import random
import re
import struct
import subprocess
import sys

SEED = b"\x01\x02\x03\x04\x05\x06\x07\x08"


def read_pcap(path):
    d = open(path, "rb").read()
    magic, _, _, _, _, _, link = struct.unpack("<IHHiIII", d[:24])
    assert magic == 0xa1b2c3d4 and link == 1, "a little-endian Ethernet pcap"
    off, frames = 24, []
    while off + 16 <= len(d):
        _, _, cap, _ = struct.unpack("<IIII", d[off:off + 16])
        frames.append(d[off + 16:off + 16 + cap])
        off += 16 + cap
    return frames


def tcp_of(f):
    """(src, sport, dst, dport, seq, ack, flags, payload) of an
    Ethernet/IPv4 or IPv6 TCP frame, else None."""
    if len(f) < 14:
        return None
    et = struct.unpack(">H", f[12:14])[0]
    if et == 0x0800 and len(f) >= 34 and f[23] == 6:
        ihl = (f[14] & 15) * 4
        tot = struct.unpack(">H", f[16:18])[0]
        src, dst, l4, end = f[26:30], f[30:34], 14 + ihl, 14 + tot
    elif et == 0x86dd and len(f) >= 54 and f[20] == 6:
        plen = struct.unpack(">H", f[18:20])[0]
        src, dst, l4, end = f[22:38], f[38:54], 54, 54 + plen
    else:
        return None
    if len(f) < l4 + 20:
        return None
    sport, dport, seq, ack = struct.unpack(">HHII", f[l4:l4 + 12])
    doff = (f[l4 + 12] >> 4) * 4
    return (src, sport, dst, dport, seq, ack, f[l4 + 13], f[l4 + doff:min(end, len(f))])


def connections(frames):
    """Each connection's segments in order, as (client?, seq, ack, flags,
    payload), client first; the client is the end whose port is not 80."""
    conns = {}
    for f in frames:
        t = tcp_of(f)
        if not t:
            continue
        src, sport, dst, dport, seq, ack, flags, p = t
        client = dport == 80 or (sport != 80 and dport < sport)
        key = (src, sport, dst, dport) if client else (dst, dport, src, sport)
        conns.setdefault(key, []).append((client, seq, ack, flags, p))
    return list(conns.values())


def stream_of(segs, client=True):
    """The bytes one direction sent, by sequence number, from its SYN."""
    isn = next((s[1] for s in segs if s[0] == client and s[3] & 2), None)
    if isn is None:
        return b""
    out = bytearray()
    for c, seq, _, _, p in segs:
        if c == client and p:
            off = (seq - isn - 1) & 0xffffffff
            if off + len(p) > len(out):
                out.extend(b"\0" * (off + len(p) - len(out)))
            out[off:off + len(p)] = p
    return bytes(out)


def save(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- fuzz_httpframe: options, seed, prefix length, prefix, repeated rest ----

CRAFTED = [
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"\r\n\r\nGET /x HTTP/1.0\n\n",
    b"POST /f HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n",
    b"POST /c HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
    b"5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n",
    b"PUT /u HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2, 2\r\n\r\nok",
    b"POST /s HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"1\r\nz\r\n0\r\n\r\n",
    b"POST /bad HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy\r\n"
    b"GET /ok HTTP/1.1\r\n\r\n",
    b"GET /fold HTTP/1.1\r\nX-A: one\r\n two\r\n\tthree\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nGET /after HTTP/1.1\r\n\r\n",
    b"GET / HTTP/2.0\r\n\r\nGET  / HTTP/1.1\r\n\r\nG\x00T / HTTP/1.1\r\n\r\n",
    b"POST /te HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
    b"POST /big HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
]


def frame_seed(opt, stream, prefix_len=0):
    return bytes([opt]) + SEED + bytes([prefix_len]) + stream


def httpframe(out, conns):
    d = os.path.join(out, "fuzz_httpframe")
    streams = [stream_of(c) for c in conns]
    streams = [s for s in streams if s]
    for i, s in enumerate(streams):
        save(d, "demo-%d" % i, frame_seed(0, s))
        save(d, "demo-%d-seek" % i, frame_seed(1, s[7:]))
        save(d, "demo-%d-losses" % i, frame_seed(0x40, s))
    save(d, "demo-pipelined", frame_seed(0, b"".join(streams)))
    for i, s in enumerate(CRAFTED):
        save(d, "crafted-%d" % i, frame_seed(0, s))
        save(d, "crafted-%d-x8" % i, frame_seed(3 << 1, s))
    # by repetition: a header section past the limit, a long body, many chunks
    for name, pre, rest, r in [
        ("long-head", b"GET / HTTP/1.1\r\n", b"X-Pad: " + b"y" * 120 + b"\r\n", 10),
        ("long-body", b"POST / HTTP/1.1\r\nContent-Length: 100000\r\n\r\n", b"z" * 1000, 7),
        ("many-chunks", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
         b"3\r\nabc\r\n", 12),
        ("many-requests", b"", b"GET /r HTTP/1.1\r\n\r\n", 12),
    ]:
        save(d, "rep-" + name, frame_seed(r << 1, pre + rest, len(pre)))


# ---- fuzz_tcpreasm: header, then operations ----

def reasm_header(conf, policies, isns):
    return bytes([conf]) + bytes(policies) + b"".join(struct.pack(">I", i) for i in isns)


def reasm_len(n):
    return bytes([n]) if n < 0xf0 else bytes([0xf0 | min(15, max(0, n // 1024 - 1))])


def reasm_seg(k, server, flags, seq, ack, payload, raw, cut=0):
    """An op with its flags byte, absolute seq and ack."""
    m = 3 | (2 << 4) | (4 if raw else 0) | (8 if cut else 0)
    b = bytes([k | (4 if server else 0) | (7 << 3), flags, m]) + struct.pack(">II", seq & 0xffffffff, ack & 0xffffffff)
    if raw:
        payload = payload[:0xef]
        b += bytes([len(payload)]) + payload
    else:
        b += reasm_len(len(payload))
    if cut:
        b += bytes([cut])
    return b


def reasm_chunk(flow, payload):
    n = len(payload) // 16
    return bytes([0x80 | 0x40 | flow, min(n, 255)]) + payload[:min(n, 255) * 16]


def tcpreasm(out, conns):
    d = os.path.join(out, "fuzz_tcpreasm")
    conns = [c for c in conns if any(s[3] & 2 for s in c)][:4]
    isns = []
    for c in conns:
        isns += [next((s[1] for s in c if s[0] == cl and s[3] & 2), 0) for cl in (True, False)]
    isns += [0] * (8 - len(isns))
    for raw in (True, False):
        for conf, pol in ((0x3b, [3, 0, 5, 0x80, 6, 1, 0, 0, 4, 0, 3, 0]),
                          (0x09, [0] * 12), (0x3f, [7] * 12)):
            ops = b""
            for k, c in enumerate(conns):
                for cl, seq, ack, flags, p in c:
                    ops += reasm_seg(k, not cl, flags, seq, ack, p, raw)
            save(d, "demo-%s-%02x" % ("raw" if raw else "pattern", conf),
                 reasm_header(conf, pol, isns) + ops)
    # crafted: a stream across the 2^32 wrap, shuffled, repeated, lost, cut
    rnd = random.Random(11)
    for v in range(6):
        isn = 0xfffff000 + rnd.randrange(0x800)
        segs = []
        off = 0
        while off < 12000:
            n = rnd.choice([1, 10, 200, 536, 1400, 3000])
            segs.append((off, n))
            if rnd.random() < 0.2:
                segs.append((off + rnd.randrange(n), rnd.choice([5, 100, 700])))
            off += n
        for i in range(len(segs) - 1, 0, -1):
            j = i - rnd.randrange(min(i + 1, 4))
            segs[i], segs[j] = segs[j], segs[i]
        ops = reasm_seg(0, False, 0x02, isn, 0, b"", False)
        ops += reasm_seg(0, True, 0x12, 7000, isn + 1, b"", False)
        for o, n in segs:
            if rnd.random() < 0.05:
                continue
            ops += reasm_seg(0, False, 0x18, isn + 1 + o, 7001, b"\0" * n, False,
                             cut=rnd.choice([0, 0, 0, 20]))
            if rnd.random() < 0.3:
                ops += reasm_seg(0, True, 0x10, 7001, isn + 1 + o, b"", False)
        ops += reasm_seg(0, False, 0x04 if v % 2 else 0x11, isn + 1 + off, 7001, b"", False)
        save(d, "crafted-wrap-%d" % v,
             reasm_header(0x08 * (1 + v % 7) | v % 8, [v % 8, 0] * 6, [isn, 7000] + [0] * 6) + ops)
    streams = [stream_of(c) for c in conns]
    ops = b"".join(reasm_chunk(i % 4, s[a:a + 64]) for i, s in enumerate(streams)
                   for a in range(0, len(s), 64))
    save(d, "streams", reasm_header(0x3b, [0] * 8 + [3, 4, 5, 6], [0] * 8) + ops)


# ---- fuzz_http_stage: records ----

def stage_frame(f, t=0x00):
    return bytes([t]) + struct.pack(">H", len(f)) + f


def stage_chunk(flow, b):
    return bytes([0x80 | flow]) + struct.pack(">H", len(b)) + b


def stage_seg(k, server, flags, payload, v6=False):
    return bytes([0x40 | k | (4 if server else 0) | (0x10 if v6 else 0), flags]) + \
        struct.pack(">H", len(payload)) + payload


def http_stage(out, frames, conns):
    d = os.path.join(out, "fuzz_http_stage")
    save(d, "demo", b"".join(stage_frame(f) for f in frames))
    rnd = random.Random(5)
    for v in range(3):
        fs = list(frames)
        for i in range(len(fs) - 1, 0, -1):
            j = i - rnd.randrange(min(i + 1, 3))
            fs[i], fs[j] = fs[j], fs[i]
        fs = [f for f in fs if rnd.random() > 0.1 * v]
        save(d, "demo-shuffled-%d" % v, b"".join(stage_frame(f) for f in fs))
    streams = [s for s in (stream_of(c) for c in conns) if s]
    for piece in (7, 50, 1000):
        save(d, "streams-%d" % piece, b"".join(
            stage_chunk(i % 4, s[a:a + piece]) for i, s in enumerate(streams)
            for a in range(0, len(s), piece)))
    for v6 in (False, True):
        recs = b""
        for k, s in enumerate(streams[:4]):
            recs += stage_seg(k, False, 0x02, b"", v6)
            recs += stage_seg(k, True, 0x12, b"", v6)
            for a in range(0, len(s), 40):
                recs += stage_seg(k, False, 0x18, s[a:a + 40], v6)
            recs += stage_seg(k, True, 0x18, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", v6)
        recs += b"".join(stage_seg(0, False, 0x18, c) for c in CRAFTED[:9])
        save(d, "segments-%s" % ("v6" if v6 else "v4"), recs)
    save(d, "http-records", b"".join(
        bytes([0xc0]) + struct.pack(">H", len(c)) + c for c in CRAFTED))


# ---- fuzz_pcap_stream: options, seed, a capture ----

MADE = set()


def mkcorpus(out, demo):
    """The captures tests/tools/mkcorpus.py makes from the demo (made once
    per run): their directory."""
    mk = os.path.join(out, ".mkcorpus")
    if mk not in MADE:
        MADE.add(mk)
        os.makedirs(mk, exist_ok=True)
        tool = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools",
                            "mkcorpus.py")
        subprocess.run([sys.executable, tool, demo, mk + "/"], check=True,
                       stdout=subprocess.DEVNULL)
    return mk


def pcap_stream(out, demo):
    d = os.path.join(out, "fuzz_pcap_stream")
    mk = mkcorpus(out, demo)
    for name in sorted(os.listdir(mk)):
        b = open(os.path.join(mk, name), "rb").read()[:16384 - 9]
        ng = b[:4] == b"\x0a\x0d\x0d\x0a"
        save(d, name, bytes([1 if ng else 0]) + SEED + b)


# ---- fuzz_pcap_file: options, a capture file ----

def pcap_header(link, e="<", magic=0xa1b2c3d4, version=(2, 4), snap=262144):
    return struct.pack(e + "IHHiIII", magic, version[0], version[1], 0, 0, snap, link)


def pcap_record(data, e="<", sec=1700000000, frac=1, cap=None, wire=None):
    return struct.pack(e + "IIII", sec, frac, len(data) if cap is None else cap,
                       len(data) if wire is None else wire) + data


def pcapng_file(link, packets):
    """A pcapng file (ours byte order) of one interface (µs): packets are
    (timestamp in µs, data)."""
    def block(kind, body):
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", kind, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))
    out = block(0x0a0d0d0a, struct.pack("<IHHq", 0x1a2b3c4d, 1, 0, -1))
    out += block(1, struct.pack("<HHI", link, 0, 0))
    for ts, data in packets:
        out += block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xffffffff, len(data),
                                    len(data)) + data)
    return out


def pcap_file(out, demo, frames, corpus_dir):
    d = os.path.join(out, "fuzz_pcap_file")
    mk = mkcorpus(out, demo)
    for i, name in enumerate(sorted(os.listdir(mk))):
        b = open(os.path.join(mk, name), "rb").read()[:16384 - 1]
        save(d, name, bytes([0]) + b)
        save(d, name + ("-loop" if i % 2 else "-now"), bytes([2 - i % 2]) + b[:4096])
    f = frames[:3]
    crafted = {
        # a record longer than the snapshot length, one past 2^31 seconds,
        # one longer than libpcap takes, one cut short
        "snap-cut": pcap_header(1, snap=40) + b"".join(pcap_record(x) for x in f),
        "ts-2038": pcap_header(1) + pcap_record(f[0], sec=0x90000000),
        "ts-2038-be": pcap_header(1, ">") + pcap_record(f[0], ">", sec=0x90000000),
        "too-long": pcap_header(1) + pcap_record(f[0]) + pcap_record(f[1], cap=262145),
        "cut": pcap_header(1) + pcap_record(f[0]) + pcap_record(f[1])[:-3],
        "reserved-bits": pcap_header(0x00010001) + pcap_record(f[0]),
        "fcs-bits": pcap_header(0x24000001) + pcap_record(f[0]),
        "header-only": pcap_header(1),
        "header-cut": pcap_header(1)[:20],
        "empty": b"",
        "usb-mmapped": pcap_header(220) + pcap_record(b"\0" * 64),
        "nflog-be": pcap_header(239, ">") + pcap_record(b"\x02\0\0\0\x04\0\x01\0" + b"\0" * 8, ">"),
        "dbus-le": pcap_header(231) + pcap_record(b"l\1\0\1" + b"\0" * 12),
        "version-2.0": pcap_header(1, version=(2, 0)) + pcap_record(f[0], cap=len(f[0]) + 4,
                                                                     wire=len(f[0])),
        "version-1.0": pcap_header(1, version=(1, 0)) + pcap_record(f[0]),
        # what the target found: a fraction field past 2^31 read through
        # libpcap, a pcapng timestamp past 2106, empty packets alike
        "usb-fraction": pcap_header(220) + pcap_record(b"\0" * 64, frac=0xffffffff),
        "pcapng-2106": pcapng_file(1, [(((1 << 32) + 100) * 1000000, f[0])]),
        "usb-empty": pcap_header(220) + pcap_record(b"", wire=64) + pcap_record(b"") * 3,
    }
    for name, b in sorted(crafted.items()):
        save(d, "crafted-" + name, bytes([0]) + b)
    # up to 120 of the corpus's files that fit an input, evenly spread
    small = [p for p in corpus_files(corpus_dir) if os.path.getsize(p) < 16384]
    for path in small[::max(1, -(-len(small) // 120))]:
        save(d, "corpus-" + os.path.basename(path), bytes([0]) + open(path, "rb").read())


# ---- fuzz_classify: a 25-byte header, then a frame ----

CLS_LINKS = [1, 101, 12, 14, 113, 276, 0, 108, 228, 229, 147]


def cls_seed(link, frame, opt=0, prefix=0, ports=(0, 0), addr=b"", split=0, underscore=0):
    return bytes([CLS_LINKS.index(link) | opt, prefix]) + struct.pack(">HH", *ports) + \
        (addr + b"\0" * 16)[:16] + struct.pack(">H", split) + bytes([underscore]) + frame


def ethertype(f):
    return struct.unpack(">H", f[12:14])[0] if len(f) >= 14 else 0


# each link type from an Ethernet frame (as tests/tools/mkcorpus.py makes
# them), None when the frame has no such form
def as_raw(f):
    return f[14:] if ethertype(f) in (0x0800, 0x86dd) else None


def as_ipv4(f):
    return f[14:] if ethertype(f) == 0x0800 else None


def as_ipv6(f):
    return f[14:] if ethertype(f) == 0x86dd else None


def as_sll(f):
    return struct.pack(">HHH8sH", 0, 1, 6, f[6:12] + b"\0\0", ethertype(f)) + f[14:]


def as_sll2(f):
    return struct.pack(">HHIHBB8s", ethertype(f), 0, 1, 1, 0, 6, f[6:12] + b"\0\0") + f[14:]


def as_null(order, af6):
    def make(f):
        af = {0x0800: 2, 0x86dd: af6}.get(ethertype(f))
        return struct.pack(order + "I", af) + f[14:] if af else None
    return make


MACS = bytes([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2])


def ether(t, payload):
    return MACS + struct.pack(">H", t) + payload


def ip4(proto, payload, opts=b"", frag=0, tot=None):
    ihl = 5 + len(opts) // 4
    n = 4 * ihl + len(payload) if tot is None else tot
    return struct.pack(">BBHHHBBH4s4s", 0x40 | ihl, 0, n, 1, frag, 64, proto, 0,
                       bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + opts + payload


def ip6(nh, payload, plen=None):
    return struct.pack(">IHBB16s16s", 0x60000000, len(payload) if plen is None else plen, nh,
                       64, bytes([0xfd, 0x77] + [0] * 13 + [1]),
                       bytes([0xfd, 0x77] + [0] * 13 + [2])) + payload


def tcp(sport=1234, dport=80, data=b"GET / HTTP/1.1\r\n\r\n", opts=b""):
    off = (20 + len(opts)) // 4
    return struct.pack(">HHIIBBHHH", sport, dport, 1, 0, off << 4, 0x18, 0xffff, 0, 0) + \
        opts + data


def udp(sport=5353, dport=53, data=b"abcd", ulen=None):
    return struct.pack(">HHHH", sport, dport, 8 + len(data) if ulen is None else ulen, 0) + data


def ext(nh, body=b"\0" * 6):
    """An IPv6 hop-by-hop, routing or destination options header."""
    return bytes([nh, (2 + len(body)) // 8 - 1]) + body


def crafted_frames():
    arp = bytes([0, 1, 8, 0, 6, 4, 0, 1]) + MACS[6:] + bytes([10, 0, 0, 1]) + b"\0" * 6 + \
        bytes([10, 0, 0, 2])
    v4 = ether(0x0800, ip4(6, tcp()))
    frames = {
        "tcp4": v4,
        "tcp4-options": ether(0x0800, ip4(6, tcp(opts=b"\x01" * 40), opts=b"\x01" * 4)),
        "udp4": ether(0x0800, ip4(17, udp())),
        "udp4-jumbo": ether(0x0800, ip4(17, udp(ulen=0), tot=0)),
        "icmp4": ether(0x0800, ip4(1, bytes([8, 0, 0, 0, 0, 1, 0, 1]) + b"ping")),
        "frag4-first": ether(0x0800, ip4(17, udp(), frag=0x2000)),
        "frag4-later": ether(0x0800, ip4(17, udp(), frag=0x0001)),
        "ah4-tcp": ether(0x0800, ip4(51, bytes([6, 4]) + b"\0" * 22 + tcp())),
        "bogus4": ether(0x0800, ip4(6, tcp(), tot=12)),
        "tcp6": ether(0x86dd, ip6(6, tcp())),
        "udp6": ether(0x86dd, ip6(17, udp())),
        "icmp6": ether(0x86dd, ip6(58, bytes([128, 0, 0, 0, 0, 1, 0, 1]))),
        "hbh-icmp6": ether(0x86dd, ip6(0, ext(58) + bytes([143, 0, 0, 0, 0, 0, 0, 0]))),
        "routing-udp6": ether(0x86dd, ip6(43, ext(17, b"\0" * 14) + udp())),
        "dst-frag-tcp6": ether(0x86dd, ip6(60, ext(44) + bytes([6, 0, 0, 0, 0, 0, 0, 7]) + tcp())),
        "frag6-later": ether(0x86dd, ip6(44, bytes([17, 0, 0, 8, 0, 0, 0, 7]) + udp())),
        "ah6-tcp": ether(0x86dd, ip6(51, bytes([6, 4]) + b"\0" * 22 + tcp())),
        "jumbo6": ether(0x86dd, ip6(17, udp(ulen=0), plen=0)),
        "arp": ether(0x0806, arp),
        "arp-odd": ether(0x0806, bytes([0, 1, 8, 0, 2, 3, 0, 1]) + b"\1" * 10),
        "vlan-tcp4": MACS + struct.pack(">HH", 0x8100, 5) + v4[12:],
        "qinq-udp6": MACS + struct.pack(">HHHH", 0x88a8, 7, 0x8100, 5) + ether(0x86dd, ip6(17, udp()))[12:],
        "vlan3-arp": MACS + struct.pack(">HHHHHH", 0x9100, 1, 0x88a8, 2, 0x8100, 3) + ether(0x0806, arp)[12:],
        "vlan-cut": MACS + struct.pack(">HH", 0x8100, 5)[:3],
        "lldp": ether(0x88cc, b"\x02\x07\x04" + MACS[:6]),
        "ieee8023": MACS + struct.pack(">H", 46) + b"\xaa\xaa\x03" + b"\0" * 43,
    }
    return frames


def classify(out, frames, corpus_dir):
    d = os.path.join(out, "fuzz_classify")
    rnd = random.Random(3)
    forms = [(1, lambda f: f), (101, as_raw), (12, as_raw), (14, as_raw), (113, as_sll),
             (276, as_sll2), (0, as_null("<", 10)), (0, as_null(">", 30)),
             (108, as_null(">", 24)), (108, as_null("<", 28)), (228, as_ipv4), (229, as_ipv6),
             (147, lambda f: f)]
    crafted = crafted_frames()
    for name, f in sorted(crafted.items()):
        for link, make in forms:
            g = make(f)
            if g is None:
                continue
            save(d, "%s-%d" % (name, link), cls_seed(link, g, split=rnd.randrange(len(g) + 1)))
        # its own addresses and ports as arguments; cut short
        save(d, "%s-own" % name, cls_seed(1, f, opt=0x20, prefix=rnd.randrange(129)))
        save(d, "%s-own-dst" % name, cls_seed(1, f, opt=0xa0, prefix=rnd.randrange(129),
                                            underscore=1))
        for cut in (14, 20, 34, 38, 54, 60):
            if cut < len(f):
                save(d, "%s-cut%d" % (name, cut), cls_seed(1, f[:cut], opt=0x10))
    for i, f in enumerate(frames):
        link, make = forms[i % len(forms)]
        g = make(f)
        if g is not None:
            save(d, "demo-%d-%d" % (i, link),
                 cls_seed(link, g, opt=0x20 if i % 3 else 0, prefix=24, ports=(80, 80),
                          addr=bytes([10, 99, 0, 1]), split=14 if i % 2 else 0))
    for name, link, f in corpus_frames(corpus_dir, CLS_LINKS[:-1], 3, 4096 - 25):
        save(d, "corpus-" + name, cls_seed(link, f, opt=0x20))


# ---- fuzz_spec: options, a spec up to a NUL, frames for bpf= ----

SPECS = [
    "ip", "ip6", "arp", "vlan", "tcp", "udp", "icmp", "icmp6", "payload", "text", "http",
    "pass", "port=80", "port 80", "port=1-1023", "port\t22", "port=abc", "port=99999",
    "port=9-1", "port=80-", "host=10.0.0.1", "host fd77::1", "host=::ffff:10.0.0.1",
    "host=10.0.0.256", "net=10.0.0.0/8", "net=10.0.0.0_8", "net fd77::/16",
    "net=10.0.0.1/8", "net=0.0.0.0/0", "net=::/129", "method=GET", "method GET",
    "method=G T", "method=", "method=" + "X" * 33, "http=1", "tcp=1", "bpf", "bpf=",
    "tpc", "TCP", "web", "nosuch=1", "all", "stats", ".", "..", "a/b", "x\x01y",
    "n" * 70, "n" * 70 + "=1", "port=80 ", " tcp", "bpf  tcp",
]
def test_bpf_exprs():
    """The expressions tests/unit/test_bpf.c checks against libpcap (its
    `exprs`), the fuzz target starting from the same."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "unit", "test_bpf.c")
    with open(path) as f:
        src = f.read()
    body = src[src.index("exprs[] = {"):]
    body = body[:body.index("};")]
    return [bytes(e, "ascii").decode("unicode_escape")
            for e in re.findall(r'"((?:[^"\\]|\\.)*)"', body)]


# test_bpf.c's expressions, and some it has no use for: bad ones, and
# more of the shapes tcpdump users write.
BPF_EXPRS = test_bpf_exprs() + [
    "tcp and", "port 99999", "vlan 5 and udp port 53", "ether[58] = 0",
    "ip host 10.0.0.1", "arp[6:2] = 1",
]
BPF_LINKS = [(1, lambda f: f), (101, as_raw), (113, as_sll), (276, as_sll2),
             (108, as_null(">", 24)), (228, as_ipv4), (229, as_ipv6)]


def spec_seed(opt, text, frames=()):
    out = bytes([opt]) + text.encode() + b"\0"
    for k, f, more in frames:
        out += bytes([k, more]) + struct.pack(">H", len(f)) + f
    return out


def spec(out, frames):
    d = os.path.join(out, "fuzz_spec")
    rnd = random.Random(9)
    for i, t in enumerate(SPECS):
        save(d, "spec-%d" % i, spec_seed(rnd.randrange(64), t))
    crafted = list(crafted_frames().values())
    for i, e in enumerate(BPF_EXPRS):
        fs = []
        for f in rnd.sample(frames, 4) + rnd.sample(crafted, 4):
            k = rnd.randrange(len(BPF_LINKS))
            g = BPF_LINKS[k][1](f)
            if g is not None:
                fs.append((k, g, rnd.choice([0, 0, 100])))
        save(d, "bpf-%d" % i, spec_seed((i % 4) << 6 | 0x20, "bpf=" + e, fs))
        save(d, "bpf-init-%d" % i, spec_seed((i % 4) << 6 | 11, e, fs))  # bpf's init


# ---- captures of another corpus (FUZZ_CORPUS) ----

def capture_records(b):
    """(link type, frame) of each record of a classic pcap or pcapng file
    (bytes b), as far as they read plainly; [] for anything else."""
    out = []
    if len(b) >= 24 and b[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1",
                                  b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = "<" if b[0] in (0xd4, 0x4d) else ">"
        link = struct.unpack(e + "I", b[20:24])[0] & 0xffff
        off = 24
        while off + 16 <= len(b):
            cap = struct.unpack(e + "I", b[off + 8:off + 12])[0]
            if cap > len(b) - off - 16:
                break
            out.append((link, b[off + 16:off + 16 + cap]))
            off += 16 + cap
    elif len(b) >= 12 and b[:4] == b"\x0a\x0d\x0d\x0a":
        e = "<" if b[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
        off, links = 0, []
        while off + 12 <= len(b):
            kind, n = struct.unpack(e + "II", b[off:off + 8])
            if n < 12 or off + n > len(b):
                break
            body = b[off + 8:off + n - 4]
            if kind == 1 and len(body) >= 2:
                links.append(struct.unpack(e + "H", body[:2])[0])
            elif kind == 6 and len(body) >= 20:
                ifid, _, _, cap, _ = struct.unpack(e + "IIIII", body[:20])
                if ifid < len(links) and cap <= len(body) - 20:
                    out.append((links[ifid], body[20:20 + cap]))
            off += n
    return out


def corpus_files(corpus_dir):
    if not corpus_dir or not os.path.isdir(corpus_dir):
        return []
    return [os.path.join(corpus_dir, n) for n in sorted(os.listdir(corpus_dir))
            if not n.startswith(".") and os.path.isfile(os.path.join(corpus_dir, n))]


def corpus_frames(corpus_dir, links, per_file, max_len):
    """Up to per_file frames of each capture of the corpus whose link type
    is one of links: (name, link type, frame)."""
    for path in corpus_files(corpus_dir):
        recs = [r for r in capture_records(open(path, "rb").read(1 << 20))
                if r[0] in links and len(r[1]) <= max_len]
        step = max(1, len(recs) // per_file)
        for i, (link, f) in enumerate(recs[::step][:per_file]):
            yield "%s-%d" % (os.path.basename(path), i), link, f


# ---- fuzz_socket: (flags, length, message) ... ----

def socket_seeds(out):
    d = os.path.join(out, "fuzz_socket")
    ino = (1 << 4) + 1          # node 1's directory: the target's "w"
    def msg(t, body=b""):
        return struct.pack("<II", t, len(body)) + body
    def node(handle=0, ino=ino, frm=0):
        return struct.pack("<QII", ino, handle, frm)
    def conv(*msgs, flags=0):
        return b"".join(struct.pack("<BH", flags, len(m)) + m for m in msgs)
    hello = msg(1, struct.pack("<II", 1, 0))
    good = [hello, msg(2, node()), msg(4, node()), msg(3, node()), msg(3, node(frm=1)),
            msg(5, node())]
    save(d, "good", conv(*good))
    save(d, "no-hello", conv(*good[1:]))
    save(d, "bad-handle", conv(hello, msg(3, node(handle=63)), msg(5, node(handle=9))))
    save(d, "bad-ino", conv(hello, msg(2, node(ino=2)), msg(2, node(ino=1 << 40))))
    save(d, "short", conv(hello, msg(2, b"\x01")))
    save(d, "with-fd", conv(hello, flags=1))
    save(d, "many-opens", conv(hello, *[msg(2, node())] * 70))


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: mkseeds.py DEMO.pcap OUTDIR [CORPUS]")
    demo, out = sys.argv[1], sys.argv[2]
    # Without another corpus, the project's own captures (mkcorpus.py's).
    corpus = sys.argv[3] if len(sys.argv) > 3 else mkcorpus(out, demo)
    frames = read_pcap(demo)
    conns = connections(frames)
    httpframe(out, conns)
    tcpreasm(out, conns)
    http_stage(out, frames, conns)
    pcap_stream(out, demo)
    socket_seeds(out)
    classify(out, frames, corpus)
    spec(out, frames)
    pcap_file(out, demo, frames, corpus)


if __name__ == "__main__":
    main()
