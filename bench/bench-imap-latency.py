#!/usr/bin/python3
"""IMAP command latency and mail-process memory with and without the plugin.

One throw-away Dovecot with the dovewarden plugin, its events going to a real
dovewardend; user alice loads it (userdb_mail_plugins=notify,dovewarden), user plain
loads no mail plugin at all. One IMAP session each, commands interleaved in random
order, so both see the same server and the same machine; 2 ms of idle after
each command, so that the work one leaves behind (the plugin's flush,
dovewardend) does not land on the other's clock. CPU is each imap process's
own over those same rounds (the scheduler's run time of all its threads, in
ns): both sessions ran the same commands on mailboxes that grew alike, under
the same load, so no block of one runs at a quieter or a later time than the
other's. mail_fsync = never:
the plugin costs CPU, and fsync's noise would drown it. The Dovecot lives
in $TMPDIR: TMPDIR=/dev/shm keeps the file system's cost of STORE's and
APPEND's files the same for both users.

    bench/bench-imap-latency.py [ROUNDS] [--plugins LIST] [--events GLOBS] [--idle MS]
                                [--flush-interval TIME] [--plain-plugins LIST]

ROUNDS defaults to 2000. DW_DOVECOT_PREFIX runs it on that Dovecot (2.4). --plugins is alice's userdb mail_plugins (default
notify,dovewarden; "notify" measures Dovecot's notify plugin alone), --events
her dovewarden_events (default *; "nothing" never opens a socket, "user.*"
opens it but sends nothing per command): docs/benchmarks.md takes the
latency apart with them. --idle is the idle after each command (default
2 ms); one longer than dovewarden_flush_interval (20 ms) is a session
that is not busy, whose events no later command's join. --flush-interval
sets alice's dovewarden_flush_interval (default: the plugin's): how many
commands' events share one write. --plain-plugins loads LIST for user plain
too: with notify,dovewarden both users are alike, and the ratios show the
method's own spread.
"""

import argparse
import imaplib
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))

from harness.clients import make_message  # noqa: E402
from harness.dovecot import install  # noqa: E402
from harness.env import Env  # noqa: E402
from harness.util import percentile, settled  # noqa: E402

WARM_UP = 100
COMMANDS = ("NOOP", "STORE +FLAGS", "STORE -FLAGS", "FETCH", "APPEND")


def run(client, name):
    start = time.perf_counter()
    if name == "NOOP":
        typ, _ = client.noop()
    elif name == "STORE +FLAGS":
        typ, _ = client.store("1", "+FLAGS", "(\\Seen $Bench)")
    elif name == "STORE -FLAGS":
        typ, _ = client.store("1", "-FLAGS", "(\\Seen $Bench)")
    elif name == "FETCH":
        typ, _ = client.fetch("1", "(FLAGS UID)")
    else:
        typ, _ = client.append("INBOX", None, None, make_message("bench")[0])
    elapsed = time.perf_counter() - start
    assert typ == "OK", (name, typ)
    return elapsed


def process_cpu(pid):
    """The run time of pid's threads, in seconds: schedstat counts it in ns,
    where stat's utime and stime are in clock ticks."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/schedstat") as f:
            total += int(f.read().split()[0])
    return total / 1e9


def imap_process(master_pid, user):
    """The imap process serving user: verbose_proctitle shows `imap [user ...]`."""
    out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(master_pid)],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        pid, args = line.split(None, 1)
        if "imap" in args and f"[{user} " in args:
            return int(pid)
    raise AssertionError(f"no imap process of {user}:\n{out}")


def memory(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmSize", "VmRSS", "Threads"):
                fields[key] = int(value.split()[0])
    return fields


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("rounds", type=int, nargs="?", default=2000)
    parser.add_argument("--plugins", default="notify,dovewarden")
    parser.add_argument("--events", default="*")
    parser.add_argument("--idle", type=float, default=2.0, metavar="MS")
    parser.add_argument("--flush-interval", metavar="TIME")
    parser.add_argument("--plain-plugins", metavar="LIST")
    args = parser.parse_args()
    rounds = args.rounds
    plugin_settings = {"dovewarden_events": args.events}
    if args.flush_interval is not None:
        plugin_settings["dovewarden_flush_interval"] = args.flush_interval
    env = Env(name="bench", daemon_env={"DOVEWARDEN_STREAM": "/dev/null"},
              plugin_settings=plugin_settings,
              userdb_fields={"alice": f"userdb_mail_plugins={args.plugins}",
                             "plain": (f"userdb_mail_plugins={args.plain_plugins}"
                                       if args.plain_plugins else "")},
              global_plugins=False,
              extra_conf="mail_fsync = never\nverbose_proctitle = yes\n").start()
    try:
        clients = {}
        for label, user in (("plugin", "alice"), ("plain", "plain")):
            c = imaplib.IMAP4("127.0.0.1", env.dovecot.imap_port)
            c.login(user, "secret")
            c.append("INBOX", None, None, make_message("first")[0])
            c.select("INBOX")
            clients[label] = c
        samples = {(label, name): [] for label in clients for name in COMMANDS}
        for _ in range(WARM_UP):
            for label, c in clients.items():
                run(c, "NOOP")
        pids = {label: imap_process(env.dovecot.pid, user)
                for label, user in (("plugin", "alice"), ("plain", "plain"))}
        cpu = {label: process_cpu(pid) for label, pid in pids.items()}
        for _ in range(rounds):
            name = random.choice(COMMANDS)
            order = list(clients)
            random.shuffle(order)
            for label in order:
                samples[(label, name)].append(run(clients[label], name))
                # let what a command leaves behind (the plugin's flush,
                # dovewardend) finish: the next command starts from idle
                time.sleep(args.idle / 1000)
        time.sleep(0.1)  # the plugin's last flush
        cpu = {label: (process_cpu(pid) - cpu[label]) / rounds for label, pid in pids.items()}
        mem = {label: memory(pid) for label, pid in pids.items()}
        received = settled(lambda: env.daemon.metric("dovewarden_events_received_total"))
        commands = env.daemon.metric("dovewarden_events_received_total", type="imap_command_finished")

        print(f"IMAP command latency on Dovecot {install().version}, {rounds} rounds, "
              "commands interleaved at random "
              f"between alice ({args.plugins}) and plain ({args.plain_plugins or 'no mail plugin'}), "
              f"{args.idle:g} ms idle between"
              + (f", dovewarden_flush_interval={args.flush_interval}" if args.flush_interval else "")
              + " (µs)\n")
        print(f"{'command':<14} {'n':>5} {'p50 plain':>10} {'p50 plugin':>11} {'ratio':>6}"
              f" {'p99 plain':>10} {'p99 plugin':>11} {'ratio':>6}")
        everything = {"plain": [], "plugin": []}
        for name in COMMANDS + ("all",):
            if name == "all":
                a, b = everything["plain"], everything["plugin"]
            else:
                a, b = samples[("plain", name)], samples[("plugin", name)]
                everything["plain"] += a
                everything["plugin"] += b
            p50a, p50b = percentile(a, 0.5) * 1e6, percentile(b, 0.5) * 1e6
            p99a, p99b = percentile(a, 0.99) * 1e6, percentile(b, 0.99) * 1e6
            print(f"{name:<14} {len(a):>5} {p50a:>10.0f} {p50b:>11.0f} {p50b / p50a:>6.3f}"
                  f" {p99a:>10.0f} {p99b:>11.0f} {p99b / p99a:>6.3f}")
        print(f"\nevents received by dovewardend: {received:.0f}, of which imap_command_finished "
              f"{commands:.0f} (alice's commands: {WARM_UP + rounds} timed and warm-up, and those before"
              + (", and plain's as many" if "dovewarden" in (args.plain_plugins or "") else "") + ")")
        print(f"\nimap process CPU per command over the {rounds} rounds: "
              f"plain {cpu['plain'] * 1e6:.0f} µs, plugin {cpu['plugin'] * 1e6:.0f} µs, "
              f"ratio {cpu['plugin'] / cpu['plain']:.3f}")
        print("\nimap process memory (kB)")
        print(f"{'':<8} {'VmSize':>9} {'VmRSS':>9} {'Threads':>8}")
        for label in ("plain", "plugin"):
            m = mem[label]
            print(f"{label:<8} {m['VmSize']:>9} {m['VmRSS']:>9} {m['Threads']:>8}")
        print(f"{'added':<8} {mem['plugin']['VmSize'] - mem['plain']['VmSize']:>9}"
              f" {mem['plugin']['VmRSS'] - mem['plain']['VmRSS']:>9}"
              f" {mem['plugin']['Threads'] - mem['plain']['Threads']:>8}")
        for c in clients.values():
            c.logout()
    finally:
        env.cleanup()


if __name__ == "__main__":
    main()
