#!/usr/bin/python3
"""The imap process's instructions per command, with and without the plugin.

Latency and CPU time move by more than the plugin's share on a shared
machine (docs/benchmarks.md); instructions do not: callgrind counts them,
whatever else the machine does. One throw-away Dovecot whose imap processes
run under callgrind, events going to a real dovewardend; user alice loads
the plugin (userdb_mail_plugins=notify,dovewarden), user plain loads no mail
plugin. For each command and user, one session runs it N times and another
2N times, back to back; (instructions of the second - of the first) / N is
what one command costs, log-in, SELECT and log-out cancelling out; each
figure is the lower of two such measurements. Back to back, as no idle
between commands changes which of Dovecot's timers run; with 2 ms idle
between (bench-imap-latency.py's way) the counts move by thousands. The work the plugin
does after the reply (the deferred encoding, the flush every
dovewarden_flush_interval) is in the session's count: each waits for it
before logging out.

    bench/bench-imap-instructions.py [N] [--plugins LIST] [--events GLOBS]
                                     [--functions K]

N defaults to 300 (about 5 minutes). DW_DOVECOT_PREFIX runs it on that
Dovecot (2.4), DW_PLUGIN names another build of the plugin; --plugins and
--events as in bench-imap-latency.py. --functions K shows, below each
command, the K functions whose instructions per command (inclusive, as
`callgrind_annotate --inclusive=yes` counts them, by the same difference
of two sessions) grew most with the plugin: where its cost goes.
"""

import argparse
import collections
import imaplib
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))

from harness.clients import make_message  # noqa: E402
from harness.dovecot import install  # noqa: E402
from harness.env import Env  # noqa: E402
from harness.callgrind import Profiles  # noqa: E402

COMMANDS = (("NOOP",), ("STORE +FLAGS", "STORE -FLAGS"), ("FETCH",))
# long enough for the plugin's flush (dovewarden_flush_interval, 20 ms)
# to have run under callgrind's slowdown
SETTLE = 0.3
# each figure is the lower of this many measurements: a few code paths
# in Dovecot depend on timing, and one in a few sessions takes them
REPEATS = 2


def run(client, name):
    if name == "NOOP":
        typ, _ = client.noop()
    elif name.startswith("STORE"):
        typ, _ = client.store("1", name.split()[1], "(\\Seen $Bench)")
    else:
        typ, _ = client.fetch("1", "(FLAGS UID)")
    assert typ == "OK", (name, typ)


# one line of callgrind_annotate: "  1,234 (12.3%)  file:function [object]"
ANNOTATED = re.compile(r"^\s*([\d,]+)\s+\([^)]*\)\s+(\S.*:.*)$")


def functions(path):
    """Inclusive instructions of each function in one profile."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                         capture_output=True, text=True, check=True).stdout
    counts = collections.Counter()
    for line in out.splitlines():
        if line.startswith("-- Auto-annotated") or line.startswith("-- User-annotated"):
            break
        m = ANNOTATED.match(line)
        if m and "PROGRAM TOTALS" not in line:
            # a function is named by its file, with or without its directory
            # and its object: one name for all
            where, function = re.sub(r" \[.*\]$", "", m.group(2)).rsplit(":", 1)
            name = f"{os.path.basename(where)}:{function}"
            counts[name] = max(counts[name], int(m.group(1).replace(",", "")))
    return counts


def per_command(short, long, n):
    """Each function's instructions per command from a session of n
    commands and one of 2n."""
    a, b = functions(short), functions(long)
    return {name: (b[name] - a[name]) / n for name in a.keys() | b.keys()}


def most_grown(plain, plugin, added, k):
    """The k functions that grew most from plain to plugin, as (growth,
    name). main() and the event loop hold all that was added (added): the
    functions below them say where it went."""
    grown = ((plugin.get(f, 0) - plain.get(f, 0), f) for f in plain.keys() | plugin.keys())
    return sorted((g for g in grown if g[0] < 0.9 * added), reverse=True)[:k]


def session(env, profiles, user, commands, n):
    """Instructions of one imap process that runs commands n times, and
    its profile."""
    c = imaplib.IMAP4("127.0.0.1", env.dovecot.imap_port)
    c.login(user, "secret")
    c.select("INBOX")
    profiles.open_to_all()
    for i in range(n):
        run(c, commands[i % len(commands)])
    time.sleep(SETTLE)
    before = profiles.written()
    c.logout()
    return profiles.wait_for_new(before)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=300)
    parser.add_argument("--plugins", default="notify,dovewarden")
    parser.add_argument("--events", default="*")
    parser.add_argument("--functions", type=int, default=0, metavar="K")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dw-callgrind-") as directory:
        profiles = Profiles(directory)
        valgrind = profiles.executable(install().service_binary("imap"))
        env = Env(name="bench", daemon_env={"DOVEWARDEN_STREAM": "/dev/null"},
                  plugin_settings={"dovewarden_events": args.events},
                  userdb_fields={"alice": f"userdb_mail_plugins={args.plugins}", "plain": ""},
                  global_plugins=False,
                  extra_conf=f"mail_fsync = never\nservice imap {{\n  executable = {valgrind}\n}}\n").start()
        try:
            for user in ("alice", "plain"):
                c = imaplib.IMAP4("127.0.0.1", env.dovecot.imap_port)
                c.login(user, "secret")
                c.append("INBOX", None, None, make_message("first")[0])
                c.logout()
            print(f"imap process instructions per command on Dovecot {install().version}, "
                  f"callgrind, sessions of {args.n} and {2 * args.n} commands (lower of {REPEATS}), "
                  f"alice's mail_plugins={args.plugins} dovewarden_events={args.events}\n")
            print(f"{'command':<28} {'plain':>9} {'plugin':>9} {'added':>8} {'ratio':>6}")
            for commands in COMMANDS:
                per, lowest = {}, {}
                for label, user in (("plain", "plain"), ("plugin", "alice")):
                    for _ in range(REPEATS):
                        long, long_profile = session(env, profiles, user, commands, 2 * args.n)
                        short, short_profile = session(env, profiles, user, commands, args.n)
                        if label not in per or (long - short) / args.n < per[label]:
                            per[label] = (long - short) / args.n
                            lowest[label] = (short_profile, long_profile)
                name = " / ".join(commands)
                print(f"{name:<28} {per['plain']:>9.0f} {per['plugin']:>9.0f}"
                      f" {per['plugin'] - per['plain']:>8.0f} {per['plugin'] / per['plain']:>6.3f}",
                      flush=True)
                if args.functions:
                    plain = per_command(*lowest["plain"], args.n)
                    plugin = per_command(*lowest["plugin"], args.n)
                    for grown, function in most_grown(plain, plugin, per["plugin"] - per["plain"],
                                                      args.functions):
                        print(f"    {grown:>8.0f}  {function[:100]}")
                    print(flush=True)
        finally:
            env.cleanup()


if __name__ == "__main__":
    main()
