#!/usr/bin/python3
"""What slow and idle clients cost a normal request on each HTTP listener.

The real dovewardend (daemon/dovewardend, or $DW_DAEMON) on loopback, with its
default limits. Three normal requests, each on a connection of its own:
POST /events (an event_exporter body), GET /readyz, and an admin API request
(GET /v1/webhooks with the token). First ROUNDS of each on a quiet daemon;
then the same with SLOW slow-loris connections (a request head sent one byte
every few seconds, reopened when the daemon closes them) and IDLE idle
keep-alive connections (one request made, the connection kept) open on every
listener, for long enough that the daemon closes the slow ones at its head
deadline (10 s) and they come back. Prints p50 and max of each, quiet and
hostile side by side, and their ratios.

    bench/bench-slow-clients.py [ROUNDS] [--slow 200] [--idle 200] [--trickle 4] [--gap 0.08]
"""

import argparse
import http.client
import os
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
sys.dont_write_bytecode = True

from harness.daemon import Daemon  # noqa: E402
from harness.util import percentile  # noqa: E402

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                       "event-exporter-2.3", "00-imap_command_finished-create.json")


class Hostile:
    """slow connections trickling a head, idle ones holding a keep-alive."""

    def __init__(self, port, request, slow, idle, trickle):
        self.port = port
        self.trickle = trickle
        self.head = request
        self.slow = [self._slow() for _ in range(slow)]
        self.idle = []
        for _ in range(idle):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(request)
            self.idle.append(s)
        deadline = time.monotonic() + TIMEOUT
        for s in self.idle:
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    s.settimeout(max(0.01, deadline - time.monotonic()))
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                pass  # a daemon that cannot answer: the connection stays open
        self.reopened = 0

    def _slow(self):
        s = socket.create_connection(("127.0.0.1", self.port))
        s.sendall(b"P")
        return s

    def tick(self):
        """One more byte on each slow connection; reopens those closed."""
        for i, s in enumerate(self.slow):
            try:
                s.sendall(b"O")
            except OSError:
                s.close()
                self.slow[i] = self._slow()
                self.reopened += 1

    def close(self):
        for s in self.slow + self.idle:
            s.close()


TIMEOUT = 10.0  # seconds a normal request may take before it counts as unanswered


def timed(port, method, path, body=None, headers=None):
    """Milliseconds from connecting to the answer's end, and its status (None:
    no answer within TIMEOUT)."""
    start = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        r.read()
        status = r.status
    except OSError:
        status = None
    finally:
        c.close()
    return (time.perf_counter() - start) * 1e3, status


def measure(daemon, rounds, event, gap):
    requests = {
        "POST /events": (daemon.http_port, "POST", "/events", event, {"Content-Type": "application/json"}),
        "GET /readyz": (daemon.metrics_port, "GET", "/readyz", None, None),
        "GET /v1/webhooks": (daemon.admin_port, "GET", "/v1/webhooks", None,
                             {"Authorization": f"Bearer {daemon.admin_token}"}),
    }
    times = {name: [] for name in requests}
    for _ in range(rounds):
        for name, args in requests.items():
            ms, status = timed(*args)
            if status is not None and status >= 300:
                raise RuntimeError(f"{name} answered {status}")
            times[name].append(ms if status is not None else None)
        time.sleep(gap)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rounds", nargs="?", type=int, default=300)
    parser.add_argument("--slow", type=int, default=200)
    parser.add_argument("--idle", type=int, default=200)
    parser.add_argument("--trickle", type=float, default=4.0, help="seconds between a slow head's bytes")
    parser.add_argument("--gap", type=float, default=0.08,
                        help="seconds between rounds: 300 rounds outlast the 10 s head deadline twice")
    args = parser.parse_args()
    event = open(FIXTURE, "rb").read()

    with tempfile.TemporaryDirectory(prefix="dw-bench-slow-") as root:
        daemon = Daemon(root, f"ipc://{root}/events.sock").start()
        try:
            measure(daemon, 10, event, 0)  # warm-up, not counted
            quiet = measure(daemon, args.rounds, event, args.gap)
            post = (b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(event)) + event
            hostile = [
                Hostile(daemon.http_port, post, args.slow, args.idle, args.trickle),
                Hostile(daemon.metrics_port, b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n",
                        args.slow, args.idle, args.trickle),
                Hostile(daemon.admin_port,
                        b"GET /v1/webhooks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                        + daemon.admin_token.encode() + b"\r\n\r\n", args.slow, args.idle, args.trickle),
            ]
            stop = threading.Event()

            def trickle():
                while not stop.wait(args.trickle):
                    for h in hostile:
                        h.tick()

            ticker = threading.Thread(target=trickle, daemon=True)
            ticker.start()
            try:
                loaded = measure(daemon, args.rounds, event, args.gap)
            finally:
                stop.set()
                ticker.join()
                reopened = sum(h.reopened for h in hostile)
                for h in hostile:
                    h.close()
        finally:
            daemon.stop()

    print(f"Normal requests, {args.rounds} rounds each on a fresh connection, quiet and then with "
          f"{args.slow} slow-loris (a byte every {args.trickle:g} s) and {args.idle} idle keep-alive "
          f"connections open on every listener (ms)\n")
    print(f"{'request':18} {'p50 quiet':>10} {'p50 hostile':>12} {'ratio':>6} "
          f"{'max quiet':>10} {'max hostile':>12} {'ratio':>6} {'unanswered':>10}")
    for name in quiet:
        # an unanswered request counts as TIMEOUT
        q, h = ([TIMEOUT * 1e3 if ms is None else ms for ms in phase[name]]
                for phase in (quiet, loaded))
        missing = sum(ms is None for ms in quiet[name] + loaded[name])
        p50q, p50h = percentile(q, 0.5), percentile(h, 0.5)
        print(f"{name:18} {p50q:10.2f} {p50h:12.2f} {p50h / p50q:6.2f} "
              f"{max(q):10.2f} {max(h):12.2f} {max(h) / max(q):6.2f} {missing:10}")
    print(f"\n(unanswered: no answer within {TIMEOUT:g} s, counted as {TIMEOUT:g} s)")
    print(f"\nslow-loris connections the daemon closed at the head deadline (reopened): {reopened}")


if __name__ == "__main__":
    main()
