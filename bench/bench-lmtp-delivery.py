#!/usr/bin/python3
"""What one LMTP delivery costs with the plugin against without.

One throw-away Dovecot with its lmtp service as the Dovecot version ships it:
on 2.4 (dovecot_config_version 2.4.1) every LMTP connection gets a process of
its own, so the plugin's per-process set-up (loading it and notify,
connecting and greeting the daemon, handing the events over at exit) is paid
on every delivery; on
2.3 an lmtp process serves connection after connection. --one-per-process
gives 2.3 the same. Alice's userdb loads the plugin
(userdb_mail_plugins=notify,dovewarden), plain's loads no mail plugin; each
delivery is a connection of its own, as an MTA makes them, the two users'
interleaved at random.

Latency is one connection's LHLO to QUIT as the MTA sees it. CPU is what the
lmtp processes spent, read from the master's reaped children (cutime+cstime)
around blocks of 10 deliveries to one user, the processes' exit included;
with reused processes it is read from the lmtp processes themselves. The
blocks take turns in random order, round after round, so each user's
mailbox grows alike and the load falls on all of them; a third user, bob,
loads Dovecot's notify plugin alone, which dovewarden needs, to tell its
share from dovewarden's.

    bench/bench-lmtp-delivery.py [ROUNDS] [--one-per-process]
    bench/bench-lmtp-delivery.py --instructions [DELIVERIES]

ROUNDS defaults to 500. --instructions counts, instead, the instructions
of whole lmtp processes that make one delivery each (dynamic loading,
set-up and exit included), under callgrind: the same three users take
turns, DELIVERIES each (default 5); the lowest, median and highest of each
user's show how far Dovecot's own timing-dependent paths move a process.
Time also goes to the kernel (mappings, page faults, system calls), which
callgrind does not count: the CPU figures above include it.
"""

import argparse
import os
import random
import smtplib
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))

from harness.callgrind import Profiles  # noqa: E402
from harness.clients import make_message  # noqa: E402
from harness.dovecot import DOMAIN, install  # noqa: E402
from harness.env import Env  # noqa: E402
from harness.util import children_of, percentile, proc_stat, settled, wait_until  # noqa: E402

# the CPU rounds' users: who loads which mail plugins
CPU_USERS = {"plain": ("plain", ""), "notify": ("bob", "userdb_mail_plugins=notify"),
             "plugin": ("alice", "userdb_mail_plugins=notify,dovewarden")}
# latency compares these two
USERS = {label: CPU_USERS[label][0] for label in ("plugin", "plain")}
BLOCK = 10
WARM_UP = 20


def deliver(port, user, message):
    start = time.perf_counter()
    with smtplib.LMTP("127.0.0.1", port) as lmtp:
        lmtp.sendmail(f"bench@{DOMAIN}", [f"{user}@{DOMAIN}"], message)
    return time.perf_counter() - start


def cpu_seconds(pid, reaped):
    """pid's own CPU, or (reaped=True) that of its children it has reaped."""
    fields = proc_stat(pid)
    first = 13 if reaped else 11  # cutime, cstime; or utime, stime (fields from state on)
    return (int(fields[first]) + int(fields[first + 1])) / os.sysconf("SC_CLK_TCK")


def lmtp_processes(master_pid):
    return [pid for pid in children_of(master_pid) if "lmtp" in _comm(pid)]


def _comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read()
    except OSError:
        return ""


def block_cpu(env, user, count, one_per_process):
    """CPU of count deliveries to user, back to back, in seconds."""
    master = env.dovecot.pid
    message = make_message("bench")[0]
    if one_per_process:
        # every lmtp process of the last block has exited and been reaped
        wait_until(lambda: not lmtp_processes(master), timeout=20, what="idle lmtp processes")
        before = cpu_seconds(master, reaped=True)
        for _ in range(count):
            deliver(env.dovecot.lmtp_port, user, message)
        wait_until(lambda: not lmtp_processes(master), timeout=20, what="lmtp processes to exit")
        return cpu_seconds(master, reaped=True) - before
    pids = set(lmtp_processes(master))
    before = {pid: cpu_seconds(pid, reaped=False) for pid in pids}
    for _ in range(count):
        deliver(env.dovecot.lmtp_port, user, message)
    after = {pid: cpu_seconds(pid, reaped=False) for pid in lmtp_processes(master)}
    return sum(after[pid] - before.get(pid, 0) for pid in after)


# 2.4's default (restart_request_count = 1) in 2.3's words
ONE_PER_PROCESS_23 = "service_count = 1"


def lmtp_service(*settings):
    return "service lmtp {\n" + "".join(f"  {line}\n" for line in settings) + "}\n"


def instructions(deliveries):
    """Instructions of one lmtp process per delivery, for each user."""
    one_per_process = [ONE_PER_PROCESS_23] if install().series == "2.3" else []
    with tempfile.TemporaryDirectory(prefix="dw-callgrind-") as directory:
        profiles = Profiles(directory)
        binary = profiles.executable(install().service_binary("lmtp"))
        env = Env(name="bench", daemon_env={"DOVEWARDEN_STREAM": "/dev/null"},
                  userdb_fields=dict(CPU_USERS.values()), global_plugins=False,
                  extra_conf="mail_fsync = never\n"
                  + lmtp_service(f"executable = {binary}", *one_per_process)).start()
        try:
            message = make_message("bench")[0]
            counts = {label: [] for label in CPU_USERS}
            for user, _plugins in CPU_USERS.values():
                for _ in range(2):  # a mailbox's first deliveries take other paths
                    deliver(env.dovecot.lmtp_port, user, message)
            for _ in range(deliveries):
                order = list(CPU_USERS)
                random.shuffle(order)
                for label in order:
                    before = profiles.written()
                    deliver(env.dovecot.lmtp_port, CPU_USERS[label][0], message)
                    counts[label].append(profiles.wait_for_new(before)[0])
        finally:
            env.cleanup()
    print(f"lmtp process instructions per delivery, Dovecot {install().version}, one process per "
          f"delivery under callgrind, {deliveries} per user\n")
    print(f"{'':<8} {'lowest':>11} {'median':>11} {'highest':>11} {'median / plain':>15}")
    plain = percentile(counts["plain"], 0.5)
    for label, values in counts.items():
        median = percentile(values, 0.5)
        print(f"{label:<8} {min(values):>11} {median:>11} {max(values):>11} {median / plain:>15.4f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("rounds", type=int, nargs="?", default=None)
    parser.add_argument("--one-per-process", action="store_true",
                        help="on 2.3 too, one lmtp process per connection (2.4's default)")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions under callgrind instead"
                             " (ROUNDS: deliveries per user, default 5)")
    args = parser.parse_args()
    if args.instructions:
        instructions(args.rounds or 5)
        return
    args.rounds = args.rounds or 500
    extra = "mail_fsync = never\n"
    if args.one_per_process and install().series == "2.3":
        extra += lmtp_service(ONE_PER_PROCESS_23)
    env = Env(name="bench", daemon_env={"DOVEWARDEN_STREAM": "/dev/null"},
              userdb_fields=dict(CPU_USERS.values()),
              global_plugins=False, extra_conf=extra).start()
    try:
        one_per_process = args.one_per_process or install().series != "2.3"
        message = make_message("bench")[0]
        for _ in range(WARM_UP):  # page cache, the plugin's files, the mailboxes
            for user, _plugins in CPU_USERS.values():
                deliver(env.dovecot.lmtp_port, user, message)
        samples = {label: [] for label in USERS}
        for _ in range(args.rounds):
            order = list(USERS)
            random.shuffle(order)
            for label in order:
                samples[label].append(deliver(env.dovecot.lmtp_port, USERS[label], message))
        cpu = dict.fromkeys(CPU_USERS, 0.0)
        cpu_rounds = max(1, args.rounds // BLOCK)
        for _ in range(cpu_rounds):
            order = list(CPU_USERS)
            random.shuffle(order)
            for label in order:
                cpu[label] += block_cpu(env, CPU_USERS[label][0], BLOCK, one_per_process)
        deliveries = cpu_rounds * BLOCK
        cpu = {label: seconds / deliveries for label, seconds in cpu.items()}
        received = settled(lambda: env.daemon.metric("dovewarden_events_received_total", type="message.new"))
        delivered = WARM_UP + args.rounds + deliveries

        print(f"LMTP delivery, Dovecot {install().version}, "
              f"{'one lmtp process per connection' if one_per_process else 'lmtp processes reused'}, "
              f"{args.rounds} deliveries per user, one connection each, interleaved at random (µs)\n")
        print(f"{'':<8} {'p50 plain':>10} {'p50 plugin':>11} {'ratio':>6}"
              f" {'p99 plain':>10} {'p99 plugin':>11} {'ratio':>6}")
        a, b = samples["plain"], samples["plugin"]
        p50a, p50b = percentile(a, 0.5) * 1e6, percentile(b, 0.5) * 1e6
        p99a, p99b = percentile(a, 0.99) * 1e6, percentile(b, 0.99) * 1e6
        print(f"{'delivery':<8} {p50a:>10.0f} {p50b:>11.0f} {p50b / p50a:>6.3f}"
              f" {p99a:>10.0f} {p99b:>11.0f} {p99b / p99a:>6.3f}")
        print(f"\nlmtp process CPU per delivery, {deliveries} per user in blocks of {BLOCK} taking turns (µs)\n")
        print(f"{'plain':>8} {'notify':>8} {'plugin':>8} {'plugin/plain':>13} {'notify/plain':>13}"
              f" {'plugin/notify':>14}")
        print(f"{cpu['plain'] * 1e6:>8.0f} {cpu['notify'] * 1e6:>8.0f} {cpu['plugin'] * 1e6:>8.0f}"
              f" {cpu['plugin'] / cpu['plain']:>13.3f} {cpu['notify'] / cpu['plain']:>13.3f}"
              f" {cpu['plugin'] / cpu['notify']:>14.3f}")
        print(f"\nmessage.new events received by dovewardend: {received:.0f} of {delivered} delivered to alice")
    finally:
        env.cleanup()


if __name__ == "__main__":
    main()
