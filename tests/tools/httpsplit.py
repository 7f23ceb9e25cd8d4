#!/usr/bin/env python3
"""Split a stream of HTTP/1.x requests (what `cat NODE/http/all` gives)
into requests, by RFC 9112 framing (Content-Length, chunked), strictly:
anything else in the stream is an error (exit status 1).

  httpsplit.py < STREAM              one "METHOD<TAB>URI" line per request
  httpsplit.py --expect FILE < STREAM  the requests must be exactly those
                                     of FILE (JSON: a list of hex strings),
                                     as a multiset; differences are printed
  httpsplit.py --follow [METHOD] < FOLLOW
                                     FOLLOW: tshark's `-q -z follow,tcp,raw,N`
                                     output (any number of streams); each
                                     stream's client bytes (its Node 0, the
                                     side that sent first) split into
                                     requests, printed as a JSON list of hex
                                     strings (for --expect), only METHOD's
                                     if given
"""
import json
import re
import sys
from collections import Counter

TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def fail(msg):
    print("httpsplit: " + msg, file=sys.stderr)
    sys.exit(1)


def chunked_end(b, at):
    while True:
        nl = b.find(b"\n", at)
        if nl < 0:
            fail("chunk-size line cut short at %d" % at)
        size = int(b[at:nl].split(b";")[0].strip(), 16)
        at = nl + 1
        if size == 0:
            while True:  # trailer section, to its empty line
                nl = b.find(b"\n", at)
                if nl < 0:
                    fail("trailer cut short")
                line, at = b[at:nl], nl + 1
                if line in (b"", b"\r"):
                    return at
        at += size
        if b[at:at + 2] == b"\r\n":
            at += 2
        elif b[at:at + 1] == b"\n":
            at += 1
        else:
            fail("chunk data not ended by CRLF at %d" % at)


def split(b):
    reqs, at = [], 0
    while at < len(b):
        m = re.compile(rb"\r?\n\r?\n").search(b, at)
        if not m:
            fail("header section cut short at %d" % at)
        head = b[at:m.start()].split(b"\n")
        line = head[0].rstrip(b"\r").split(b" ")
        if len(line) != 3 or not TOKEN.match(line[0]) or not line[2].startswith(b"HTTP/1."):
            fail("no request-line at %d: %r" % (at, head[0][:80]))
        fields = {}
        for h in head[1:]:
            name, _, value = h.rstrip(b"\r").partition(b":")
            fields.setdefault(name.strip().lower(), []).append(value.strip())
        end = m.end()
        if b"transfer-encoding" in fields:
            end = chunked_end(b, end)
        elif b"content-length" in fields:
            end += int(fields[b"content-length"][0].split(b",")[0])
        if end > len(b):
            fail("body cut short at %d" % at)
        reqs.append(b[at:end])
        at = end
    return reqs


def follow(text, method):
    """The requests of tshark's follow,tcp,raw output (see the top)."""
    reqs, client = [], None
    for line in text.splitlines() + ["===="]:
        if line.startswith("===="):
            if client is not None:
                reqs += split(bytes.fromhex("".join(client)))
            client = None
        elif line.startswith("Node 1:"):
            client = []
        elif client is not None and line and not line.startswith("\t"):
            client.append(line.strip())
    if method:
        reqs = [r for r in reqs if r.split(b" ", 1)[0] == method.encode()]
    print(json.dumps([r.hex() for r in reqs]))


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--follow":
        follow(sys.stdin.read(), sys.argv[2] if len(sys.argv) > 2 else None)
        return
    stream = sys.stdin.buffer.read()
    reqs = split(stream)
    if len(sys.argv) == 3 and sys.argv[1] == "--expect":
        want = Counter(bytes.fromhex(h) for h in json.load(open(sys.argv[2])))
        got = Counter(reqs)
        for r in sorted((want - got).elements()):
            print("missing: %r" % r[:100])
        for r in sorted((got - want).elements()):
            print("extra:   %r" % r[:100])
        print("%d requests, %d expected" % (len(reqs), sum(want.values())))
        sys.exit(0 if got == want else 1)
    for r in reqs:
        line = r.split(b"\n", 1)[0].rstrip(b"\r").split(b" ")
        sys.stdout.write("%s\t%s\n" % (line[0].decode("latin-1"), line[1].decode("latin-1")))


main()
