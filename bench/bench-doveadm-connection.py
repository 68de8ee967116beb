#!/usr/bin/python3
"""What a connection opened ahead saves a doveadm request.

One throw-away pair of Dovecots (primary and replica, as in
bench-replication-latency.py). On the primary's doveadm-server socket, in
doveadm's own protocol, the same request two ways, in random order per round:

  fresh   connect, handshake, send the request, read the answer: what Dovecot
          2.3's replicator does for every sync;
  ready   the connection was made and taken through the handshake 0.1 s
          before; the clock starts when the request is sent: what dovewardend
          does (docs/replication.md, "The next connection, opened ahead").

Requests: `sync` of alice to the replica with an empty state (nothing to
copy: what is left is doveadm's and dsync's own work), and `user alice`.

    bench/bench-doveadm-connection.py [ROUNDS]     (default 50; needs root)
"""

import argparse
import os
import random
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
sys.dont_write_bytecode = True

from harness import Pair, lmtp_deliver  # noqa: E402
from harness.util import percentile  # noqa: E402

HANDSHAKE = b"VERSION\tdoveadm-server\t1\t0\n"
WARM = "service doveadm {\n  process_min_avail = 4\n}\n"


def connected(path):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(HANDSHAKE)
    greeting = b""
    while not greeting.endswith(b"\n"):
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("doveadm closed the connection during the handshake")
        greeting += chunk
    if greeting != b"+\n":
        raise RuntimeError(f"doveadm answered the handshake {greeting!r}")
    return s


def answer(s):
    data = b""
    while not data.endswith(b"\n+\n") and not data.startswith(b"+\n"):
        chunk = s.recv(65536)
        if not chunk:
            raise RuntimeError(f"doveadm closed the connection; it said {data[-200:]!r}")
        data += chunk
        if b"\n-" in data:
            raise RuntimeError(f"doveadm failed: {data[-200:]!r}")
    return data


def timed(path, request, ready):
    """Milliseconds from the start (ready: the request sent) to the answer's end."""
    if ready:
        s = connected(path)
        time.sleep(0.1)
        start = time.perf_counter()
    else:
        start = time.perf_counter()
        s = connected(path)
    try:
        s.sendall(request)
        answer(s)
        return (time.perf_counter() - start) * 1e3
    finally:
        s.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("rounds", type=int, nargs="?", default=50)
    args = parser.parse_args()

    pair = Pair(name="bench-conn", primary_options={"extra_conf": WARM},
                replica_options={"plugin": False, "extra_conf": WARM})
    try:
        pair.start()
        path = os.path.join(pair.primary.root, "run", "doveadm-server")
        dest = f"tcp:127.0.0.1:{pair.replica.doveadm_tcp_port}"
        requests = {
            "sync": f"\talice\tsync\t-N\t-l\t30\t-U\t-s\t\t{dest}\n".encode(),
            "user": b"\talice\tuser\talice\n",
        }
        lmtp_deliver(pair.primary, "alice")
        timed(path, requests["sync"], ready=False)  # alice's first sync: her mail over
        samples = {(r, m): [] for r in requests for m in ("fresh", "ready")}
        for _ in range(args.rounds):
            order = list(samples)
            random.shuffle(order)
            for name, mode in order:
                samples[(name, mode)].append(timed(path, requests[name], mode == "ready"))
                time.sleep(0.1)
        print(f"doveadm request on a fresh connection and on one opened ahead, {args.rounds} "
              f"rounds in random order (ms; load {os.getloadavg()[0]:.2f})\n")
        print(f"{'request':<8} {'connection':<11} {'p50':>7} {'p99':>7}   {'ready / fresh':>13}")
        for name in requests:
            fresh = samples[(name, "fresh")]
            ready = samples[(name, "ready")]
            for mode, values in (("fresh", fresh), ("ready", ready)):
                print(f"{name:<8} {mode:<11} {percentile(values, 0.5):>7.1f} {percentile(values, 0.99):>7.1f}")
            print(f"{name:<8} {'saved':<11} {percentile(fresh, 0.5) - percentile(ready, 0.5):>7.1f}"
                  f" {'':>7}   {percentile(ready, 0.5) / percentile(fresh, 0.5):>13.3f}")
    finally:
        pair.cleanup()


if __name__ == "__main__":
    main()
