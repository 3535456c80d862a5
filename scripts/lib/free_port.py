#!/usr/bin/env python3
"""Prints N (default 1) distinct free TCP ports on 127.0.0.1, below the kernel's ephemeral range.

A port the kernel hands out (bind to 0) comes from that range, where an outgoing connection (to
PostgreSQL, SeaweedFS, ...) may be given it before the server that asked binds it: that once
failed the lb-e2e run with "Address already in use". Every port is bind-checked, and all N are
held until all are chosen, so they differ. The one port picker of the scripts (scripts/lib/server.sh,
scripts/pgtmp.sh, scripts/seaweedfs.sh)."""
import random
import socket
import sys

count = int(sys.argv[1]) if len(sys.argv) > 1 else 1
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except OSError:
    low = 32768
held = []
for _ in range(100 * count):
    if len(held) == count:
        break
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", random.randint(min(10000, low - 2000), low - 1)))
        held.append(s)
    except OSError:
        s.close()
while len(held) < count:  # the range below is crowded: let the kernel choose
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    held.append(s)
print(" ".join(str(s.getsockname()[1]) for s in held))
for s in held:
    s.close()
