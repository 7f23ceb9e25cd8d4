#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""send_tagged.py IFACE DSTMAC SRCMAC [ROUNDS]: a test helper for
tests/integration (t_live_capture): sends, with scapy's sendp on IFACE,
ROUNDS (default 3) rounds of Ethernet frames with VLAN tags of every kind a
live capture must give back as they were on the wire, UDP inside:

  802.1Q vid 100                          (TPID 0x8100)
  802.1Q vid 101, priority 5, DEI set     (the whole TCI kept)
  802.1Q TCI 0                            (a priority tag: vid 0, priority 0)
  802.1ad vid 10, then 802.1Q vid 200     (QinQ: outer TPID 0x88a8)
  802.1ad vid 20 alone                    (an S-tag, then IPv4)
  802.1Q vid 300, then 802.1Q vid 301     (two C-tags)
  untagged

Each frame's UDP payload names its kind and round ("ad-q-2"), so every
frame is distinct.  The receiving kernel strips the outer tag into the
packet's metadata (as a NIC's VLAN offload would): a capture must put it
back, TPID included.  Prints the number of frames sent."""
import sys
import time

from scapy.all import Dot1AD, Dot1Q, Ether, IP, Raw, UDP, conf, sendp

conf.verb = 0
iface, dst, src = sys.argv[1:4]
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
A, B = "10.96.0.2", "10.96.0.1"


def ip(dport, tag):
    return IP(src=A, dst=B) / UDP(sport=5000, dport=dport) / Raw(tag.encode())


KINDS = [
    ("q100", lambda t: Dot1Q(vlan=100) / ip(7101, t)),
    ("q101p5", lambda t: Dot1Q(vlan=101, prio=5, id=1) / ip(7102, t)),
    ("q0", lambda t: Dot1Q(vlan=0, prio=0) / ip(7103, t)),
    ("ad-q", lambda t: Dot1AD(vlan=10) / Dot1Q(vlan=200) / ip(7104, t)),
    ("ad", lambda t: Dot1AD(vlan=20) / ip(7105, t)),
    ("q-q", lambda t: Dot1Q(vlan=300) / Dot1Q(vlan=301) / ip(7106, t)),
    ("un", lambda t: ip(7107, t)),
]

n = 0
for r in range(rounds):
    for name, make in KINDS:
        sendp(Ether(dst=dst, src=src) / make("%s-%d" % (name, r)), iface=iface)
        n += 1
        time.sleep(0.005)
print(n)
