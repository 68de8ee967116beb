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
over back-to-back blocks of deliveries to one user, the processes' exit
included; with reused processes it is read from the lmtp processes
themselves.

    bench/bench-lmtp-delivery.py [ROUNDS] [--one-per-process]

ROUNDS defaults to 500.
"""

import argparse
import os
import random
import smtplib
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))

from harness.clients import make_message  # noqa: E402
from harness.dovecot import DOMAIN, install  # noqa: E402
from harness.env import Env  # noqa: E402
from harness.util import children_of, percentile, proc_stat, wait_until  # noqa: E402

USERS = {"plugin": "alice", "plain": "plain"}


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
    """CPU of count deliveries to user, back to back."""
    master = env.dovecot.pid
    message = make_message("bench")[0]
    if one_per_process:
        # every lmtp process of the last block has exited and been reaped
        wait_until(lambda: not lmtp_processes(master), timeout=20, what="idle lmtp processes")
        before = cpu_seconds(master, reaped=True)
        for _ in range(count):
            deliver(env.dovecot.lmtp_port, user, message)
        wait_until(lambda: not lmtp_processes(master), timeout=20, what="lmtp processes to exit")
        return (cpu_seconds(master, reaped=True) - before) / count
    pids = set(lmtp_processes(master))
    before = {pid: cpu_seconds(pid, reaped=False) for pid in pids}
    for _ in range(count):
        deliver(env.dovecot.lmtp_port, user, message)
    after = {pid: cpu_seconds(pid, reaped=False) for pid in lmtp_processes(master)}
    return sum(after[pid] - before.get(pid, 0) for pid in after) / count


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("rounds", type=int, nargs="?", default=500)
    parser.add_argument("--one-per-process", action="store_true",
                        help="on 2.3 too, one lmtp process per connection (2.4's default)")
    args = parser.parse_args()
    extra = "mail_fsync = never\n"
    if args.one_per_process and install().series == "2.3":
        # 2.4's default (restart_request_count = 1) in 2.3's words
        extra += "service lmtp {\n  service_count = 1\n}\n"
    env = Env(name="bench", daemon_env={"DOVEWARDEN_STREAM": "/dev/null"},
              userdb_fields={"alice": "userdb_mail_plugins=notify,dovewarden", "plain": ""},
              global_plugins=False, extra_conf=extra).start()
    try:
        one_per_process = args.one_per_process or install().series != "2.3"
        message = make_message("bench")[0]
        for _ in range(20):  # warm-up: page cache, the plugin's files, the mailboxes
            for user in USERS.values():
                deliver(env.dovecot.lmtp_port, user, message)
        samples = {label: [] for label in USERS}
        for _ in range(args.rounds):
            order = list(USERS)
            random.shuffle(order)
            for label in order:
                samples[label].append(deliver(env.dovecot.lmtp_port, USERS[label], message))
        cpu = {}
        block = max(20, args.rounds // 5)
        for label in ("plain", "plugin", "plain", "plugin"):
            cpu.setdefault(label, []).append(block_cpu(env, USERS[label], block, one_per_process))
        received = env.daemon.metric("dovewarden_events_received_total", type="message.new")

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
        plain_cpu, plugin_cpu = min(cpu["plain"]), min(cpu["plugin"])
        print(f"\nlmtp process CPU per delivery, {block} back to back, best of two: "
              f"plain {plain_cpu * 1e6:.0f} µs, plugin {plugin_cpu * 1e6:.0f} µs, "
              + (f"ratio {plugin_cpu / plain_cpu:.3f}" if plain_cpu else "no ratio: too few deliveries to measure"))
        print(f"message.new events received by dovewardend: {received:.0f}")
    finally:
        env.cleanup()


if __name__ == "__main__":
    main()
