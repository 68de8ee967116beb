#!/usr/bin/python3
"""Append→replica latency: dovewarden against Dovecot 2.3's own replicator.

Throw-away pairs of Dovecots (a primary and a replica each) on this
machine, in one run:

  dw-http      the dovewarden plugin on the primary, dovewardend replicating
               through the primary's doveadm HTTP API to the replica's doveadm
               tcp listener (as tests/integration/test_replication.py does);
  dw-socket    the same, dovewardend speaking doveadm's own protocol on the
               primary's doveadm-server unix socket, as the replicator does;
  replicator   Dovecot 2.3's replication: the replication plugin, aggregator,
               replicator and doveadm server on the primary, mail_replica =
               tcp:<the replica's doveadm listener>.

On Dovecot 2.4 (DW_DOVECOT_PREFIX), which has no replicator, the two
dovewarden systems run alone, and their ratios are dw-socket's to dw-http's.

The replicas run no mail plugin, every Dovecot keeps doveadm processes warm
(process_min_avail) so that neither system pays process start-up, and the
systems replicate the same appends in turn (rounds in random order), so that
the machine's load falls on both alike.

One APPEND at a time: the clock starts when the APPEND's tagged OK arrives and
stops when the message's file appears in the replica's maildir (new/ or cur/,
watched with inotify). Two modes:

  logout   a new IMAP session per APPEND, logging out right after the OK
           (Dovecot's replication plugin notifies at logout);
  open     one IMAP session per system that stays open, APPENDs at least
           SPACING seconds apart, as a mail client that stays connected
           (Dovecot's replication plugin batches notifications for 500 ms).

    bench/bench-replication-latency.py [APPENDS] [--spacing S] [--keep]
                                       [--doveadm-without-plugin]

--doveadm-without-plugin leaves the dovewarden plugin out of the dovewarden
primaries' doveadm processes (protocol doveadm { mail_plugins = }), where dsync
runs: what that costs a sync (docs/benchmarks.md).

APPENDS (default 50) per mode per system. Needs root and the built plugin and
daemon (make -C plugin && make -C daemon). Targets (issue 3), for each dovewarden system: ≤ 1.0×
the replicator's p50 and p99 with logouts, ≤ 0.25× with open sessions.
"""

import argparse
import ctypes
import math
import os
import random
import select
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
sys.dont_write_bytecode = True

from harness import Daemon, Imap, Pair, lmtp_deliver, make_message, wait_converged  # noqa: E402
from harness.dovecot import install  # noqa: E402
from harness.util import percentile  # noqa: E402

DOVEWARDEN = ("dw-http", "dw-socket")
# Dovecot 2.4 removed the replicator: there, dovewarden's two transports
# are measured against each other
HAS_REPLICATOR = install().series == "2.3"
SYSTEMS = DOVEWARDEN + ("replicator",) if HAS_REPLICATOR else DOVEWARDEN
BASELINE = "replicator" if HAS_REPLICATOR else "dw-http"
# the dovewarden primaries' doveadm (dsync) processes without the plugin
DOVEADM_WITHOUT_PLUGIN = {
    "2.3": "protocol doveadm {\n  mail_plugins =\n}\n",
    "2.4": "protocol doveadm {\n  mail_plugins {\n    dovewarden = no\n    notify = no\n  }\n}\n",
}
MODES = ("logout", "open")
USER_OF_MODE = {"logout": "alice", "open": "bob"}
TIMEOUT = 20.0  # seconds an append may take to reach the replica before it counts as lost
WARM_DOVEADM = 4  # doveadm processes each Dovecot keeps ready
GAP = 0.2  # seconds of quiet after each measured append

WARM = f"""
service doveadm {{
  process_min_avail = {WARM_DOVEADM}
}}
"""

REPLICATOR_PRIMARY = """
mail_plugins = $mail_plugins notify replication
plugin {{
  mail_replica = tcp:127.0.0.1:{replica_port}
}}
replication_full_sync_interval = 1d
replication_dsync_parameters = -d -N -l 30 -U
service replicator {{
  process_min_avail = 1
  unix_listener replicator-doveadm {{
    mode = 0600
  }}
}}
# the mail processes run as uid 5000, which has no name here
service aggregator {{
  fifo_listener replication-notify-fifo {{
    mode = 0666
  }}
  unix_listener replication-notify {{
    mode = 0666
  }}
}}
"""

DAEMON_ENV = {
    "DOVEWARDEN_LOG_LEVEL": os.environ.get("DOVEWARDEN_LOG_LEVEL", "info"),
    "DOVEWARDEN_STREAM": "/dev/null",
}

IN_MOVED_TO = 0x80
IN_CREATE = 0x100
_libc = ctypes.CDLL("libc.so.6", use_errno=True)


class MaildirWatch:
    """How many distinct messages a maildir holds (new/ + cur/), and a way to
    sleep until that changes: inotify on both directories."""

    def __init__(self, maildir):
        self.dirs = [os.path.join(maildir, sub) for sub in ("new", "cur")]
        self.fd = _libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        for d in self.dirs:
            if _libc.inotify_add_watch(self.fd, d.encode(), IN_CREATE | IN_MOVED_TO) < 0:
                raise OSError(ctypes.get_errno(), f"inotify_add_watch {d}")
        self.poller = select.poll()
        self.poller.register(self.fd, select.POLLIN)

    def count(self):
        # a file's base name stays when Dovecot renames it new/ → cur/ or
        # changes its flags (the part after ':')
        names = set()
        for d in self.dirs:
            names.update(n.split(":", 1)[0] for n in os.listdir(d))
        return len(names)

    def drain(self):
        try:
            while os.read(self.fd, 65536):
                pass
        except BlockingIOError:
            pass

    def wait_count(self, target, timeout):
        """time.monotonic() when the maildir first held `target` messages, or None."""
        deadline = time.monotonic() + timeout
        while True:
            self.drain()
            if self.count() >= target:
                return time.monotonic()
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.poller.poll(left * 1000)

    def close(self):
        os.close(self.fd)


class System:
    """One pair replicating alice and bob from primary to replica."""

    def __init__(self, name, spacing, doveadm_without_plugin=False):
        self.name = name
        self.spacing = spacing
        self.daemon = None
        warm = {"extra_conf": WARM}
        if name in DOVEWARDEN:
            self.pair = Pair(name="bench-dw", replica_options={"plugin": False, **warm}, **{})
            self.pair.primary.extra_conf = WARM + (
                DOVEADM_WITHOUT_PLUGIN[install().series] if doveadm_without_plugin else "")
        else:
            self.pair = Pair(name="bench-repl", primary_options={"plugin": False},
                             replica_options={"plugin": False, **warm})
            self.pair.primary.extra_conf = WARM + REPLICATOR_PRIMARY.format(
                replica_port=self.pair.replica.doveadm_tcp_port)
        self.sessions = {}
        self.last_append = {}
        self.watches = {}

    def start(self):
        self.pair.start()
        if self.name in DOVEWARDEN:
            env = dict(DAEMON_ENV)
            env.update(self.pair.daemon_env("primary"))
            if self.name == "dw-socket":  # mode 0600: no password
                env.update({"DOVEWARDEN_DOVEADM_URL": f"unix:{self.pair.primary.root}/run/doveadm-server",
                            "DOVEWARDEN_DOVEADM_PASSWORD": ""})
            self.daemon = Daemon(self.pair.root, self.pair.primary.endpoint, env=env,
                                 name="dovewardend").start()
        # each user's first change, replicated, before anything logs in anywhere
        for user in USER_OF_MODE.values():
            lmtp_deliver(self.pair.primary, user)
        for user in USER_OF_MODE.values():
            wait_converged(self.pair.primary, self.pair.replica, user, timeout=30)
        if self.name == "replicator":
            status = self.pair.primary.doveadm("replicator", "status", "*").stdout
            for user in USER_OF_MODE.values():
                if user not in status:
                    raise AssertionError(f"the replicator does not know {user}:\n{status}")
            self.replicator_status = status
        for mode, user in USER_OF_MODE.items():
            self.watches[mode] = MaildirWatch(os.path.join(self.pair.replica.root, "mail", user, "Maildir"))
        self.sessions["open"] = Imap(self.pair.primary, USER_OF_MODE["open"])
        return self

    def append(self, mode):
        """APPEND one message as `mode` says; returns seconds from the APPEND's OK
        until the replica holds the message (None: not within TIMEOUT)."""
        user = USER_OF_MODE[mode]
        watch = self.watches[mode]
        target = watch.count() + 1
        message, _ = make_message("latency", to=user)
        if mode == "logout":
            session = Imap(self.pair.primary, user)
            session.append("INBOX", message)
            ok = time.monotonic()
            session.logout()
        else:
            wait = self.last_append.get(mode, 0) + self.spacing - time.monotonic()
            if wait > 0:
                time.sleep(wait)
                target = watch.count() + 1
            self.sessions[mode].append("INBOX", message)
            ok = time.monotonic()
        self.last_append[mode] = ok
        seen = watch.wait_count(target, TIMEOUT)
        return None if seen is None else max(0.0, seen - ok)

    def cleanup(self):
        for s in self.sessions.values():
            try:
                s.logout()
            except Exception:
                pass
        for w in self.watches.values():
            w.close()
        if self.daemon is not None:
            self.daemon.kill()
        self.pair.cleanup()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("appends", type=int, nargs="?", default=50, help="per mode per system")
    parser.add_argument("--spacing", type=float, default=1.0,
                        help="seconds at least between APPENDs of an open session (default 1)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dirs (logs) and say where")
    parser.add_argument("--doveadm-without-plugin", action="store_true",
                        help="no dovewarden plugin in the dovewarden primary's doveadm (dsync) processes")
    args = parser.parse_args()
    if args.keep:
        os.environ["DW_KEEP"] = "1"

    systems = {}
    try:
        for name in SYSTEMS:
            systems[name] = System(name, args.spacing, args.doveadm_without_plugin).start()
        samples = {(s, m): [] for s in SYSTEMS for m in MODES}
        lost = {(s, m): 0 for s in SYSTEMS for m in MODES}
        for _ in range(args.appends):
            order = [(s, m) for s in SYSTEMS for m in MODES]
            random.shuffle(order)
            for s, m in order:
                took = systems[s].append(m)
                if took is None:
                    lost[(s, m)] += 1
                else:
                    samples[(s, m)].append(took)
                time.sleep(GAP)

        load = os.getloadavg()[0]
        print(f"append→replica latency on Dovecot {install().version}, "
              f"{args.appends} APPENDs per mode per system, rounds in "
              f"random order, open sessions append ≥ {args.spacing:g} s apart (ms; load {load:.2f})\n")
        print(f"{'mode':<8} {'system':<11} {'n':>4} {'lost':>4} {'p50':>8} {'p99':>8} {'max':>8}")
        stats = {}
        for m in MODES:
            for s in SYSTEMS:
                v = samples[(s, m)]
                p50, p99 = (percentile(v, 0.5) * 1e3, percentile(v, 0.99) * 1e3) if v else (math.nan,) * 2
                stats[(s, m)] = (p50, p99)
                print(f"{m:<8} {s:<11} {len(v):>4} {lost[(s, m)]:>4} {p50:>8.1f} {p99:>8.1f}"
                      f" {(max(v) * 1e3 if v else math.nan):>8.1f}")
        print(f"\n{'mode':<8} {'system':<11} {'p50 ratio':>10} {'p99 ratio':>10} {'target':>8}"
              f"   (/ {BASELINE})")
        for m, target in (("logout", 1.0), ("open", 0.25)):
            for s in SYSTEMS:
                if s == BASELINE:
                    continue
                r50 = stats[(s, m)][0] / stats[(BASELINE, m)][0]
                r99 = stats[(s, m)][1] / stats[(BASELINE, m)][1]
                if HAS_REPLICATOR:
                    verdict = "met" if r50 <= target and r99 <= target else "MISSED"
                    target_text = "≤ " + format(target, ".2f")
                else:
                    verdict, target_text = "", "-"
                print(f"{m:<8} {s:<11} {r50:>10.3f} {r99:>10.3f} {target_text:>8}   {verdict}")
        if args.keep:
            for name, system in systems.items():
                print(f"\n{name}: {system.pair.root}")
    finally:
        for system in systems.values():
            system.cleanup()


if __name__ == "__main__":
    main()
