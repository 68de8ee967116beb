"""The fault suite: dovewardend under load while its parts fail, with accounting.

Each case counts what the daemon accepted (a 202 to `POST /events`, or an
event of a real Dovecot's session on the stream) and what it then did with
it (synced by doveadm, delivered to a webhook receiver), and prints one line:
accepted, found, lost, duplicates, with the seed of its random moments and
how many faults it caused. Nothing accepted may be lost; a duplicate (a
second sync of a user after a crash, a webhook delivery sent again with its
id) is allowed by the docs, and counted.

scripts/test runs it in a section of its own: `run.py --dovecot ... faults`
(the name does not start with test_, so a plain run.py leaves it out). The
cases that involve no Dovecot run on the first Dovecot only. The random
moments come from DW_FAULT_SEED if set, else from a seed drawn at start and
printed in every case's figures: `DW_FAULT_SEED=N run.py faults -k Case`
replays a run.
"""

import os
import random
import shutil
import subprocess
import tempfile
import time
import unittest
from collections import Counter

from harness import (USERS, Daemon, Pair, Redis, Timeout, free_port, lmtp_deliver, not_on, report_figures,
                     wait_converged, wait_until)
from harness.fake_doveadm import FakeDoveadm
from harness.intake_load import IntakeLoad
from harness.receiver import Receiver, respond
from test_replication import append, exporter_append

SEED = int(os.environ.get("DW_FAULT_SEED") or random.SystemRandom().randrange(1, 2**31))
# seconds the syncs or deliveries of what was accepted may make no progress
# before what is still missing counts as lost: a backlog that drains slowly (the
# cases run 3 at a time on 2 cores) is not a loss
DRAIN = 60
# the first Dovecot of a run: the cases without a Dovecot are the same on any
ONCE = not_on("2.4", "no Dovecot in this case: it runs once, on 2.3")

# replication towards the fake doveadm: quick retries, no sweep (it would
# sync users nobody changed), only the daemon's own events on the stream
REPLICATION = {
    "DOVEWARDEN_REPLICATION_RETRY_MIN": "100ms",
    "DOVEWARDEN_REPLICATION_RETRY_MAX": "1s",
    "DOVEWARDEN_NUM_WORKERS": "4",
    "DOVEWARDEN_BACKGROUND_REPLICATION_ENABLED": "false",
    "DOVEWARDEN_STREAM_EVENTS": "daemon.*",
}


def lost_and_duplicates(accepted, found):
    """found: {key: times seen}. Returns (sorted lost keys, repeats beyond the first)."""
    lost = sorted(k for k in accepted if k not in found)
    duplicates = sum(n - 1 for k, n in found.items() if k in accepted)
    return lost, duplicates


class FaultCase(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="dovewarden-faults-")
        os.chmod(self.root, 0o755)
        self.addCleanup(shutil.rmtree, self.root, True)
        # one sequence of random moments per case, the same for a seed
        self.rng = random.Random(f"{SEED}:{self.id()}")

    def daemon(self, env, name="dovewardend", endpoint=None):
        d = Daemon(self.root, endpoint or f"ipc://{self.root}/{name}.sock", env=env, name=name)
        self.addCleanup(d.kill)
        return d.start()

    def redis(self):
        """A redis-server that writes its AOF before it answers, in memory (/dev/shm)
        where there is one: a disk's fsyncs would only slow the case down. What a
        crash of Redis itself loses is Redis's matter (docs/replication.md), not
        the daemon's."""
        shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
        root = tempfile.mkdtemp(prefix="dovewarden-faults-redis-", dir=shm)
        self.addCleanup(shutil.rmtree, root, True)
        r = Redis(root=root, appendonly=True, appendfsync="always")
        self.addCleanup(r.cleanup)
        return r.start()

    def fake_doveadm(self):
        doveadm = FakeDoveadm().up()
        self.addCleanup(doveadm.cleanup)
        return doveadm

    def replicate_under_load(self, env, fault, times, gap=(0.5, 2.0), **load_options):
        """A daemon replicating to a fake doveadm under an IntakeLoad (3 clients
        unless load_options say otherwise): fault(daemon, doveadm, load) runs
        `times` times, each after a random gap, then the load goes on for a
        second. Returns (daemon, load, found) once everything accepted is
        synced, or nothing more was for DRAIN seconds; found: {user: syncs}."""
        doveadm = self.fake_doveadm()
        d = self.daemon({**REPLICATION, **doveadm.daemon_env(), **env})
        load = IntakeLoad(d, exporter_append, **{"clients": 3, **load_options}).start()
        try:
            for _ in range(times):
                time.sleep(self.rng.uniform(*gap))
                fault(d, doveadm, load)
            time.sleep(1.0)
        finally:
            load.stop()
        return d, load, self.wait_drained(load.accepted, doveadm.synced)

    def wait_drained(self, accepted, found):
        """Wait until found() covers every accepted key, as long as it finds more
        within DRAIN seconds; returns found(). The figures say what is missing."""
        progress, moved = -1, time.monotonic()
        while True:
            now = found()
            if accepted <= now.keys():
                return now
            if len(now) != progress:
                progress, moved = len(now), time.monotonic()
            elif time.monotonic() - moved > DRAIN:
                return now
            time.sleep(0.2)

    def account(self, accepted, found, **faults):
        """Print the case's figures and fail on anything accepted and not found."""
        lost, duplicates = lost_and_duplicates(accepted, found)
        report_figures(accepted=len(accepted), found=len(set(found) & set(accepted)),
                       lost=len(lost), duplicates=duplicates, seed=SEED, **faults)
        self.assertGreater(len(accepted), 0, "nothing was accepted: the case proves nothing")
        self.assertEqual(lost, [], f"accepted and lost ({len(lost)}, seed {SEED})")


@ONCE
class DaemonKillTest(FaultCase):
    """kill -9 of the daemon at random moments while 3 clients post changes of
    users, each a user of its own: every user answered 202 is synced afterwards."""

    KILLS = 8

    def kill_under_load(self, env):
        def kill(d, doveadm, load):
            d.kill()
            d.start()

        d, load, found = self.replicate_under_load(env, kill, self.KILLS, gap=(0.3, 2.0))
        self.account(load.accepted, found, kills=self.KILLS, not_accepted=load.sent() - len(load.accepted))

    def test_embedded_store(self):
        self.kill_under_load({"DOVEWARDEN_REDIS_MODE": "embedded"})

    def test_redis_store(self):
        r = self.redis()
        self.kill_under_load({"DOVEWARDEN_REDIS_MODE": "external", "DOVEWARDEN_REDIS_ADDR": r.addr})


@ONCE
class RedisKillTest(FaultCase):
    KILLS = 3

    def test_redis_killed_and_restarted_under_load(self):
        """redis-server killed -9 three times under load, restarted after a random
        outage: /readyz 503 during each, 200 after; the daemon reconnects by
        itself and every user answered 202 is synced."""
        r = self.redis()

        def kill(d, doveadm, load):
            r.kill()
            wait_until(lambda: d.http_status("/readyz") == 503, 5, what="/readyz 503 with Redis gone")
            time.sleep(self.rng.uniform(0.0, 1.5))
            r.start()
            wait_until(lambda: d.http_status("/readyz") == 200, 15, what="/readyz 200 with Redis back")
            self.assertTrue(d.running(), "a lost Redis must not stop the daemon")

        d, load, found = self.replicate_under_load(
            {"DOVEWARDEN_REDIS_MODE": "external", "DOVEWARDEN_REDIS_ADDR": r.addr}, kill, self.KILLS)
        self.account(load.accepted, found, redis_kills=self.KILLS,
                     not_accepted=load.sent() - len(load.accepted))


@ONCE
class DoveadmDownTest(FaultCase):
    OUTAGES = 2

    def test_doveadm_refusing_then_back_under_load(self):
        """doveadm's port closed twice under load, for 1-3 s each: intake goes on
        (the users wait in the queue, backing off), and once doveadm answers
        again every user answered 202 is synced."""
        def close_port(d, doveadm, load):
            doveadm.down()
            wait_until(lambda: d.metric("dovewarden_doveadm_up") == 0, 10,
                       what="dovewarden_doveadm_up 0 with doveadm's port closed")
            accepted_before = len(load.accepted)
            time.sleep(self.rng.uniform(1.0, 3.0))
            self.assertGreater(len(load.accepted), accepted_before, "intake stopped with doveadm away")
            doveadm.up()

        d, load, found = self.replicate_under_load({"DOVEWARDEN_REDIS_MODE": "embedded"}, close_port,
                                                   self.OUTAGES, pause=0.002)
        refused = int(d.metric("dovewarden_doveadm_requests_total", result="unreachable"))
        self.account(load.accepted, found, doveadm_outages=self.OUTAGES, doveadm_requests_refused=refused,
                     not_accepted=load.sent() - len(load.accepted))
        self.assertGreater(refused, 0, "no doveadm request met the closed port")


@ONCE
class DiskFullTest(FaultCase):
    # room for the WAL the load below makes (about 40 MB at its checkpoint
    # mark, wal_autocheckpoint = 10000 pages, and it keeps its high-water
    # size; 64 MB was once full before the filler could start, in CI), and
    # the filler then takes the rest
    TMPFS_SIZE = "256m"

    def test_store_disk_full_then_freed(self):
        """The embedded store on a small tmpfs, filled up under load: intake
        refuses what it cannot store (500, the store failed: docs/event-exporter.md),
        /readyz says 503 all the while (issue 13: a store that cannot write is
        not ready), the daemon runs on; freed: /readyz 200 again, and every
        user answered 202, before, during or after, is synced."""
        store = os.path.join(self.root, "dovewardend-store")  # the harness's Daemon's
        os.makedirs(store)
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.TMPFS_SIZE},mode=0755",
                                  "tmpfs", store], capture_output=True, text=True)
        if mounted.returncode != 0:
            self.fail(f"cannot mount a tmpfs for the store (the suite runs as root): {mounted.stderr}")
        self.addCleanup(subprocess.run, ["umount", "-l", store], check=False)
        readyz_when_full = []

        def fill_and_free(d, doveadm, load):
            refusals = lambda: load.answers[500] + load.answers[503]  # noqa: E731
            full_mark = refusals()
            filler = os.path.join(store, "filler")
            # unbuffered: a buffer left holding what ENOSPC refused would
            # fail again when the file is closed
            with open(filler, "wb", buffering=0) as f:
                try:
                    while True:
                        f.write(b"\0" * 65536)
                except OSError:
                    pass  # ENOSPC: full
            wait_until(lambda: refusals() > full_mark, 10, what="intake to refuse events it cannot store")
            # every write fails from now on: /readyz says so all along
            for _ in range(10):
                time.sleep(0.1)
                readyz_when_full.append(d.http_status("/readyz"))
            self.assertTrue(d.running(), "a full disk must not stop the daemon")
            time.sleep(self.rng.uniform(0.0, 1.0))
            os.unlink(filler)
            wait_until(lambda: d.http_status("/readyz") == 200, 15, what="/readyz 200 with room again")

        d, load, found = self.replicate_under_load({"DOVEWARDEN_REDIS_MODE": "embedded"}, fill_and_free, 1,
                                                   gap=(2.0, 3.0), pause=0.002)
        self.account(load.accepted, found, answered_5xx=load.answers[500] + load.answers[503],
                     readyz_503_when_full=f"{readyz_when_full.count(503)}/{len(readyz_when_full)}")
        self.assertEqual(readyz_when_full, [503] * len(readyz_when_full),
                         "/readyz, sampled every 100 ms while no store write can succeed")


@ONCE
class WebhookReceiverTest(FaultCase):
    PATH = "/hook"

    def test_receiver_failing_then_recovering(self):
        """A receiver answering 500, then gone (connection refused), then 200
        again, while events come in: every event answered 202 is delivered (at
        least once, always under one webhook-id: docs/webhooks.md)."""
        # a port of the harness's, which nothing else takes while it is closed
        rx = Receiver(tolerance=None, port=free_port()).start()
        self.addCleanup(rx.stop)
        rx.default(self.PATH, respond(500))
        d = self.daemon({"DOVEWARDEN_WEBHOOK_ALLOW_NETS": "127.0.0.0/8",
                         # 16 attempts over about 12 s: more than the outage
                         "DOVEWARDEN_WEBHOOK_RETRY_SCHEDULE": "0s,200ms,500ms" + ",1s" * 13,
                         "DOVEWARDEN_STREAM_EVENTS": "daemon.*"})
        status, endpoint = d.admin("POST", "/v1/webhooks", {"url": rx.url(self.PATH), "events": ["*"]})
        self.assertEqual(status, 201, endpoint)
        load = IntakeLoad(d, exporter_append, clients=2, pause=0.01).start()
        receivers = [rx]
        try:
            time.sleep(self.rng.uniform(1.0, 2.5))  # failing with 500
            rx.stop()
            time.sleep(self.rng.uniform(1.0, 2.5))  # connection refused
            rx = Receiver(tolerance=None, port=rx.port).start()
            self.addCleanup(rx.stop)
            receivers.append(rx)
            time.sleep(1.0)  # recovered
        finally:
            load.stop()

        def delivered():
            """{user: [webhook-id of each 2xx-answered request]}"""
            out = {}
            for r in (r for x in receivers for r in x.requests(self.PATH)):
                if r.answer is not None and 200 <= r.answer.status < 300:
                    for event in r.events:
                        out.setdefault(event["data"]["user"], []).append(r.webhook_id)
            return out

        found = self.wait_drained(load.accepted, lambda: {u: len(ids) for u, ids in delivered().items()})
        attempts = "dovewarden_webhook_attempts_total"
        failed_5xx, failed_connect = d.metric(attempts, outcome="5xx"), d.metric(attempts, outcome="error")
        self.account(load.accepted, found, attempts_5xx=int(failed_5xx), attempts_refused=int(failed_connect),
                     not_accepted=load.sent() - len(load.accepted))
        self.assertGreater(failed_5xx, 0, "no attempt met the failing receiver")
        self.assertGreater(failed_connect, 0, "no attempt met the closed port")
        two_ids = {u: set(ids) for u, ids in delivered().items() if len(set(ids)) > 1}
        self.assertEqual(two_ids, {}, "an event delivered under two webhook-ids")


class ReplicaDownTest(FaultCase):
    """A real pair: changes by IMAP and LMTP (the plugin's ZeroMQ events) while
    the replica is down, a kill -9 of the daemon with them queued, then the
    primary's doveadm down too; both back: every changed user converges."""

    EXTRA_USERS = 6

    def test_replica_and_doveadm_down_then_up(self):
        extra = {f"user{i}": "" for i in range(self.EXTRA_USERS)}
        os.makedirs(os.path.join(self.root, "pair"))
        pair = Pair(root=os.path.join(self.root, "pair"), userdb_fields=extra).start()
        self.addCleanup(pair.cleanup)
        users = sorted([*USERS, *extra])
        d = self.daemon({**REPLICATION, **pair.daemon_env(), "DOVEWARDEN_STREAM_EVENTS": "*"},
                        endpoint=pair.primary.endpoint)
        for user in users:
            lmtp_deliver(pair.primary, user)
        for user in users:
            wait_converged(pair.primary, pair.replica, user, 20)

        pair.replica.stop()
        mark = d.stream.mark()
        for user in users:
            if self.rng.random() < 0.5:
                append(pair.primary, user)
            else:
                lmtp_deliver(pair.primary, user)
        # accepted: the daemon heard of the change and queued the user (its sync failed)
        failed = lambda: {e["user"] for e in d.stream.since(mark)  # noqa: E731
                          if e.get("type") == "replication.failed"}
        try:
            wait_until(lambda: len(failed()) == len(users), 20,
                       what="a failed sync of every changed user")
        except Timeout:
            missing = sorted(set(users) - failed())
            heard = {e["user"] for e in d.stream.since(mark) if e.get("user") in missing}
            with open(pair.primary.log, errors="replace") as log:
                plugin = [line.rstrip() for line in log if "dovewarden" in line]
            raise AssertionError(f"no failed sync of {missing}; events heard of them: {sorted(heard)}; "
                                 f"the plugin's log lines: {plugin[-10:]}") from None
        accepted = failed()
        time.sleep(self.rng.uniform(0.0, 1.0))
        d.kill()
        d.start()
        pair.primary.stop()  # doveadm gone: the restarted daemon's syncs are refused
        pair.replica.start()
        time.sleep(self.rng.uniform(1.0, 3.0))
        pair.primary.start()
        converged = set()
        for user in sorted(accepted):
            try:
                wait_converged(pair.primary, pair.replica, user, 30)
                converged.add(user)
            except Timeout:
                pass
        # found: converged; each sync the restarted daemon made of a user beyond
        # the one it needed is a duplicate
        syncs = Counter(e["user"] for e in d.stream.poll() if e.get("type") == "replication.succeeded")
        found = {user: max(1, syncs[user]) for user in converged}
        self.account(accepted, found, daemon_kills=1, changed=len(users))
