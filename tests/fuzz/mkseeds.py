#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""mkseeds.py DEMO.pcap OUTDIR: the seed inputs of the fuzz targets of
tests/fuzz/ (`make fuzz`), one directory per target, made from the demo
trace the project ships and a few crafted streams, in each target's input
format (see the comment at the top of each target):

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
                    and each request broken one way.
"""
import os
import random
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

def pcap_stream(out, demo):
    d = os.path.join(out, "fuzz_pcap_stream")
    mk = os.path.join(out, ".mkcorpus")
    os.makedirs(mk, exist_ok=True)
    tool = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "mkcorpus.py")
    subprocess.run([sys.executable, tool, demo, mk + "/"], check=True, stdout=subprocess.DEVNULL)
    for name in sorted(os.listdir(mk)):
        b = open(os.path.join(mk, name), "rb").read()[:16384 - 9]
        ng = b[:4] == b"\x0a\x0d\x0d\x0a"
        save(d, name, bytes([1 if ng else 0]) + SEED + b)


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
    if len(sys.argv) != 3:
        sys.exit("usage: mkseeds.py DEMO.pcap OUTDIR")
    demo, out = sys.argv[1], sys.argv[2]
    frames = read_pcap(demo)
    conns = connections(frames)
    httpframe(out, conns)
    tcpreasm(out, conns)
    http_stage(out, frames, conns)
    pcap_stream(out, demo)
    socket_seeds(out)


if __name__ == "__main__":
    main()
