"""Replication by dovewardend between two real Dovecots: a primary and a replica.

Every test brings each of its users over once (a first change, then
wait_converged) before it measures anything, and never logs in on the replica
before that first sync (it would create an INBOX dsync cannot reconcile).
"""

import copy
import json
import shutil
import tempfile
import time
import unittest

from harness import (Daemon, Imap, Pair, Redis, Timeout, free_port, lmtp_deliver, make_message,
                     mailbox_state, wait_converged, wait_until)

# Fast retries, no background sweep unless a test wants it: a test passes only
# because of what it exercises.
FAST = {
    "DOVEWARDEN_REPLICATION_RETRY_MIN": "200ms",
    "DOVEWARDEN_REPLICATION_RETRY_MAX": "2s",
    "DOVEWARDEN_NUM_WORKERS": "2",
    "DOVEWARDEN_BACKGROUND_REPLICATION_ENABLED": "false",
    "DOVEWARDEN_LOG_LEVEL": "debug",
}
CONVERGE = 15  # seconds a change may take to reach the other side (one sync takes ~0.1–0.5 s)
NAMESPACE = "dw-it"
SYNCS = "dovewarden_replication_syncs_total"
REQUESTS = "dovewarden_doveadm_requests_total"

# What stock Dovecot 2.3's event_exporter posts for an APPEND (shape of a captured payload).
EXPORTER_APPEND = {
    "event": "imap_command_finished", "hostname": "mx-test",
    "start_time": "2026-11-22T19:36:10.451312Z", "end_time": "2026-11-22T19:36:10.453702Z",
    "categories": ["imap", "service:imap"],
    "fields": {"user": "alice", "local_ip": "127.0.0.1", "local_port": 143, "remote_ip": "127.0.0.1",
               "remote_port": 51896, "session": "D2bgluJguMp/AAAB", "duration": 2134, "cmd_tag": "a1",
               "cmd_name": "APPEND", "cmd_input_name": "APPEND", "tagged_reply_state": "OK",
               "tagged_reply": "OK [APPENDUID 1795376171 1] Append completed.",
               "running_usecs": 1839, "lock_wait_usecs": 99, "bytes_in": 118, "bytes_out": 30,
               "reason_code": ["imap:cmd_append"], "mailbox": "INBOX"},
}


def exporter_append(user):
    ev = copy.deepcopy(EXPORTER_APPEND)
    ev["fields"]["user"] = user
    return json.dumps(ev).encode()


def append(dovecot, user, mailbox="INBOX", subject="hello"):
    """APPEND one new message by IMAP; returns its Message-ID."""
    message, msgid = make_message(subject, to=user)
    m = Imap(dovecot, user, password="secret")
    m.append(mailbox, message)
    m.logout()
    return msgid


def replication_events(daemon, user=None):
    return [e for e in daemon.stream.poll()
            if e.get("type") in ("replication.succeeded", "replication.failed")
            and (user is None or e.get("user") == user)]


class ReplicationCase(unittest.TestCase):
    """A fresh pair per test; daemons made by daemon() are killed before it goes."""

    pair_options = {}

    def setUp(self):
        self.pair = Pair(**self.pair_options).start()
        self.addCleanup(self.pair.cleanup)

    @property
    def primary(self):
        return self.pair.primary

    @property
    def replica(self):
        return self.pair.replica

    def daemon(self, side="primary", env=None, name=None, endpoint=None, start=True):
        """A dovewardend replicating from `side` to the other side."""
        full = dict(FAST)
        full.update(self.pair.daemon_env(side))
        full.update(env or {})
        d = Daemon(self.pair.root, endpoint or getattr(self.pair, side).endpoint, env=full,
                   name=name or f"dovewardend-{side}")
        self.addCleanup(d.kill)
        if start:
            d.start()
        return d

    def redis(self, appendonly=True):
        r = Redis(root=self.pair.root, appendonly=appendonly)
        self.addCleanup(r.cleanup)
        return r.start()

    def converged(self, user, what, timeout=CONVERGE, a=None, b=None):
        try:
            return wait_converged(a or self.primary, b or self.replica, user, timeout)
        except Timeout as e:
            raise self.failureException(f"after {what}: {e}") from None

    def bring_over(self, *users):
        """The first change of each user (a delivery on the primary), replicated."""
        for user in users:
            lmtp_deliver(self.primary, user)
        for user in users:
            self.converged(user, f"{user}'s first delivery")

    def syncs(self, daemon, **labels):
        return daemon.metric(SYNCS, **labels)

    def wait_quiet(self, daemons, quiet=3.0, timeout=20):
        """Wait until no daemon's syncs_total grew for `quiet` seconds; fails if they
        keep growing (two daemons replicating each other's replication)."""
        deadline = time.monotonic() + timeout
        last, since = None, time.monotonic()
        while True:
            counts = tuple(self.syncs(d) for d in daemons)
            if counts != last:
                last, since = counts, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return counts
            if time.monotonic() >= deadline:
                self.fail(f"syncs_total kept growing for {timeout}s (ping-pong?): last {last}")
            time.sleep(0.25)


class OperationsTest(ReplicationCase):
    def test_each_operation_converges(self):
        """APPEND, STORE ±FLAGS, CREATE, COPY, MOVE, EXPUNGE, RENAME, (UN)SUBSCRIBE,
        DELETE on the primary: after each, the replica matches within 15 s."""
        d = self.daemon()
        self.bring_over("alice")
        prev = mailbox_state(self.primary, "alice")
        m = Imap(self.primary)
        self.addCleanup(m.logout)

        def next_second():
            # dsync orders subscription and name changes by their time in whole
            # seconds: undoing in the same second what was just replicated may be
            # undone by the next sync (verified with manual syncs)
            time.sleep(1.01 - time.time() % 1)

        def step(what):
            nonlocal prev
            state = self.converged("alice", what)
            self.assertNotEqual(state, prev, f"{what} changed nothing: the test is wrong")
            prev = state

        m.append("INBOX", make_message("one")[0])
        m.append("INBOX", make_message("two")[0])
        step("APPEND")
        m.select("INBOX")
        m.store("1", "+FLAGS", "(\\Seen \\Flagged $Label1)")
        step("STORE +FLAGS")
        m.store("1", "-FLAGS", "(\\Flagged)")
        step("STORE -FLAGS")
        m.create("Work")
        step("CREATE")
        m.copy("1", "Work")
        step("COPY")
        m.move("2", "Work")
        step("MOVE")
        m.store("1", "+FLAGS", "(\\Deleted)")
        m.expunge()
        step("EXPUNGE")
        next_second()
        m.rename("Work", "Archive")
        step("RENAME")
        m.subscribe("Archive")
        step("SUBSCRIBE")
        next_second()
        m.unsubscribe("Archive")
        step("UNSUBSCRIBE")
        m.create("Tmp")
        step("CREATE Tmp")
        next_second()
        m.delete("Tmp")
        step("DELETE")
        self.assertIn("Archive", prev["mailboxes"])
        self.assertNotIn("Work", prev["mailboxes"])
        self.assertGreater(len(replication_events(d, "alice")), 0, "replication.* on the stream")

    def test_lmtp_delivery_reaches_replica(self):
        """An LMTP delivery on the primary is on the replica within 15 s, reported
        as replication.succeeded and counted as an ok sync."""
        d = self.daemon()
        self.bring_over("alice")
        ok = self.syncs(d, result="ok")
        mark = d.stream.mark()
        msgid = lmtp_deliver(self.primary, "alice")
        state = self.converged("alice", "an LMTP delivery")
        self.assertIn(f"<{msgid}>", [m[0] for m in state["mailboxes"]["INBOX"]["messages"]])
        d.stream.wait_for(lambda e: e.get("type") == "replication.succeeded" and e.get("user") == "alice",
                          after=mark, what="replication.succeeded for alice")
        self.assertGreater(self.syncs(d, result="ok"), ok)


class TwoWayTest(ReplicationCase):
    def test_both_sides_converge_without_ping_pong(self):
        """A daemon on each side: a change on the replica alone, then changes on both,
        converge within 15 s each; then neither daemon syncs for 3 s (within 20 s)
        and nothing stays queued."""
        a = self.daemon("primary")
        b = self.daemon("replica")
        self.bring_over("alice")  # only now may anyone log in on the replica

        # only the replica's daemon hears of this one
        append(self.replica, "alice", subject="written on the replica")
        self.converged("alice", "an APPEND on the replica", a=self.replica, b=self.primary)
        self.assertGreater(self.syncs(b, result="ok"), 0, "the replica's daemon synced")

        m = Imap(self.replica)
        m.create("FromReplica")
        m.select("INBOX")
        m.store("1", "+FLAGS", "(\\Flagged)")
        m.logout()
        append(self.primary, "alice", subject="written on the primary")
        m = Imap(self.primary)
        m.create("FromPrimary")
        m.logout()
        state = self.converged("alice", "changes on both sides")
        self.assertIn("FromReplica", state["mailboxes"])
        self.assertIn("FromPrimary", state["mailboxes"])

        self.wait_quiet([a, b])
        for d in (a, b):
            queue = {dict(labels).get("priority"): v for (name, labels), v in d.metrics().items()
                     if name == "dovewarden_replication_queue"}
            self.assertEqual(sorted(queue), ["high", "low", "none", "sync"], f"{d.name}: queue gauges")
            self.assertEqual(sum(queue.values()), 0, f"{d.name}: users still queued after convergence")


class ReplicaDownTest(ReplicationCase):
    def test_backoff_while_down_then_converges(self):
        """Replica stopped: at most 15 temporary failures in 5 s (backoff 200 ms..2 s,
        not a hot loop), the daemon stays ready; replica back: converged within 15 s."""
        d = self.daemon()
        self.bring_over("alice")
        self.replica.stop()
        mark = d.stream.mark()
        append(self.primary, "alice", subject="while the replica is down")
        wait_until(lambda: d.metric(REQUESTS, result="temporary") >= 1, 10,
                   what="a first temporary doveadm failure")
        first = d.metric(REQUESTS, result="temporary")
        time.sleep(5)
        retries = d.metric(REQUESTS, result="temporary") - first
        self.assertLessEqual(retries, 15, "retries must back off, not hot-loop")
        self.assertGreaterEqual(retries, 2, "the daemon must keep retrying")
        self.assertTrue(d.running())
        self.assertEqual(d.http_status("/readyz"), 200, "a replica down is not the daemon unready")
        self.assertTrue([e for e in d.stream.since(mark)
                         if e.get("type") == "replication.failed" and e.get("user") == "alice"],
                        "replication.failed for alice on the stream")

        self.replica.start()
        self.converged("alice", "the replica came back")


class CrashTest(ReplicationCase):
    def crash_with_users_queued(self, env, redis=None):
        """Replica down, changes for alice and bob, both failed once, kill -9 of the
        daemon, replica up, daemon restarted on the same store: both converge in 15 s."""
        d = self.daemon(env=env)
        self.bring_over("alice", "bob")
        self.replica.stop()
        mark = d.stream.mark()
        append(self.primary, "alice", subject="queued when the daemon died")
        m = Imap(self.primary, "bob")
        m.select("INBOX")
        m.store("1", "+FLAGS", "(\\Seen)")
        m.logout()
        for user in ("alice", "bob"):  # proof that each was queued and tried
            d.stream.wait_for(lambda e, u=user: e.get("type") == "replication.failed" and e.get("user") == u,
                              after=mark, what=f"replication.failed for {user}")
        if redis is not None:
            self.assertTrue(redis.keys(f"{NAMESPACE}*"), f"no {NAMESPACE}* key in Redis")
        d.kill()
        self.replica.start()
        d.start()
        for user in ("alice", "bob"):
            self.converged(user, "a kill -9 of the daemon with the user queued")
        for user in ("alice", "bob"):
            d.stream.wait_for(lambda e, u=user: e.get("type") == "replication.succeeded"
                              and e.get("user") == u,
                              what=f"replication.succeeded for {user} after the restart")

    def test_kill_9_embedded_store(self):
        self.crash_with_users_queued({"DOVEWARDEN_REDIS_MODE": "embedded"})

    def test_kill_9_redis_store(self):
        r = self.redis()
        self.crash_with_users_queued({"DOVEWARDEN_REDIS_MODE": "external",
                                      "DOVEWARDEN_REDIS_ADDR": r.addr,
                                      "DOVEWARDEN_NAMESPACE": NAMESPACE}, redis=r)


class RedisOutageTest(ReplicationCase):
    def test_redis_kill_9_and_restart(self):
        """redis-server killed -9: /readyz 503 within 10 s; restarted (AOF): /readyz 200
        within 15 s; changes before, during and after converge within 15 s."""
        r = self.redis(appendonly=True)
        d = self.daemon(env={"DOVEWARDEN_REDIS_MODE": "external", "DOVEWARDEN_REDIS_ADDR": r.addr,
                             "DOVEWARDEN_NAMESPACE": NAMESPACE})
        self.bring_over("alice")
        append(self.primary, "alice", subject="before the outage")
        r.kill()
        wait_until(lambda: d.http_status("/readyz") == 503, 10, what="/readyz 503 with Redis gone")
        self.assertTrue(d.running(), "a lost Redis must not kill the daemon")
        self.assertEqual(d.http_status("/healthz"), 200, "alive, only not ready")
        append(self.primary, "alice", subject="during the outage")
        r.start()
        wait_until(lambda: d.http_status("/readyz") == 200, 15, what="/readyz 200 with Redis back")
        append(self.primary, "alice", subject="after the outage")
        state = self.converged("alice", "a Redis outage")
        self.assertEqual(len(state["mailboxes"]["INBOX"]["messages"]), 4,
                         "the first delivery and the three appends")


class BackgroundTest(ReplicationCase):
    def test_sweep_brings_over_a_change_made_while_down(self):
        """No daemon running when a user changes: a daemon started with the background
        sweep (interval 1 s, threshold 1 s) brings the user over within 15 s."""
        d = self.daemon()
        self.bring_over("alice")
        d.stop()
        # a doveadm command line process: its event dies with it (nothing lingers in
        # a long-lived lmtp or imap process to be delivered to the next daemon)
        self.primary.doveadm("mailbox", "create", "-u", "alice", "MadeWhileDown")
        time.sleep(1.5)  # past the threshold, and past the plugin's linger
        self.assertNotEqual(mailbox_state(self.primary, "alice"), mailbox_state(self.replica, "alice"))
        d.extra_env.update({"DOVEWARDEN_BACKGROUND_REPLICATION_ENABLED": "true",
                            "DOVEWARDEN_BACKGROUND_REPLICATION_INTERVAL": "1s",
                            "DOVEWARDEN_BACKGROUND_REPLICATION_THRESHOLD": "1s"})
        d.start()
        state = self.converged("alice", "a background sweep")
        self.assertIn("MadeWhileDown", state["mailboxes"])


class EventExporterTest(ReplicationCase):
    def setUp(self):
        self.http_port = free_port()
        exporter = (
            "event_exporter dw {\n"
            "  format = json\n"
            "  format_args = time-rfc3339\n"
            "  transport = http-post\n"
            f"  transport_args = http://127.0.0.1:{self.http_port}/events\n"
            "  transport_timeout = 500msec\n"
            "}\n"
            "metric dw_events {\n"
            "  exporter = dw\n"
            "  filter = event=imap_command_finished OR event=mail_delivery_finished\n"
            "}\n")
        self.pair_options = {"plugin": False, "primary_options": {"extra_conf": exporter}}
        super().setUp()

    def test_stock_event_exporter_drives_replication(self):
        """A primary without the plugin, its event_exporter posting to /events: an
        APPEND, then an LMTP delivery, each on the replica within 15 s."""
        d = self.daemon(endpoint=f"ipc://{self.pair.root}/unused.sock", start=False)
        d.http_port = self.http_port  # the port the exporter was configured with
        d.start()
        append(self.primary, "alice", subject="seen by event_exporter")
        d.stream.wait_for(lambda e: e.get("type") == "imap_command_finished" and e.get("user") == "alice",
                          what="the exporter's imap_command_finished on the stream")
        self.converged("alice", "an APPEND reported by event_exporter")
        msgid = lmtp_deliver(self.primary, "alice")
        state = self.converged("alice", "a delivery reported by event_exporter")
        self.assertIn(f"<{msgid}>", [m[0] for m in state["mailboxes"]["INBOX"]["messages"]])
        self.assertFalse([e for e in d.stream.poll() if "inst" in e], "no plugin event: no plugin here")


USERS = [f"user{i}" for i in range(1, 7)]


class SharedRedisTest(ReplicationCase):
    pair_options = {"userdb_fields": {u: "" for u in USERS}}

    def test_two_daemons_one_queue(self):
        """Two daemons, one Redis, one namespace, 6 users changed twice, each change
        reported to both daemons: every user converges within 15 s, both daemons
        synced, and no two syncs of one user ever overlapped."""
        r = self.redis()
        env = {"DOVEWARDEN_REDIS_MODE": "external", "DOVEWARDEN_REDIS_ADDR": r.addr,
               "DOVEWARDEN_NAMESPACE": NAMESPACE}
        a = self.daemon(env=env, name="dovewardend-a")
        b = self.daemon(env=env, name="dovewardend-b", endpoint=f"ipc://{self.pair.root}/b.sock")
        self.bring_over(*USERS)
        for round_ in range(2):
            for user in USERS:
                append(self.primary, user, subject=f"round {round_}")  # a hears it from the plugin
                status, body = b.post("/events", exporter_append(user))  # b from the exporter format
                self.assertEqual(status, 202, body)
            time.sleep(0.3)
        for user in USERS:
            self.converged(user, "changes reported to two daemons")
        self.wait_quiet([a, b], quiet=1.0)
        for d in (a, b):
            self.assertGreater(self.syncs(d, result="ok"), 0, f"{d.name} took no work from the queue")

        spans = {}
        for d in (a, b):
            for e in replication_events(d):
                for key in ("started_us", "finished_us"):
                    self.assertIsInstance(e.get(key), int, f"{e['type']} needs {key}: {e}")
                spans.setdefault(e["user"], []).append((e["started_us"], e["finished_us"], d.name))
        self.assertEqual(sorted(spans), USERS)
        for user, runs in spans.items():
            runs.sort()
            for (s1, f1, n1), (s2, f2, n2) in zip(runs, runs[1:]):
                self.assertLessEqual(f1, s2, f"{user}: a sync by {n2} started {(f1 - s2) / 1000:.1f} ms "
                                             f"before the one by {n1} finished")


class BadInputTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="dovewarden-it-")
        self.addCleanup(shutil.rmtree, self.root, True)
        dead = free_port()  # replication on, towards a doveadm that is not there
        env = dict(FAST)
        env.update({"DOVEWARDEN_DOVEADM_URL": f"http://127.0.0.1:{dead}",
                    "DOVEWARDEN_DOVEADM_PASSWORD": "x",
                    "DOVEWARDEN_DOVEADM_DEST": f"tcp:127.0.0.1:{dead}"})
        self.daemon = Daemon(self.root, f"ipc://{self.root}/events.sock", env=env)
        self.addCleanup(self.daemon.kill)
        self.daemon.start()

    def test_bad_bodies_are_refused_and_the_daemon_serves_on(self):
        """garbage, truncated JSON, no user → 400; 10 MiB + 1 → 413; then /readyz 200
        and a good event 202 (each answer within 10 s)."""
        good = exporter_append("alice")
        no_user = copy.deepcopy(EXPORTER_APPEND)
        del no_user["fields"]["user"]
        cases = [
            ("garbage", b"\x00\xff this is not JSON {", 400),
            ("truncated JSON", good[:len(good) // 2], 400),
            ("JSON without a user", json.dumps(no_user).encode(), 400),
            ("a body of 10 MiB + 1", b"[" + b" " * (10 * 1024 * 1024 - 1) + b"]", 413),
        ]
        for what, body, want in cases:
            with self.subTest(what):
                status, answer = self.daemon.post("/events", body)
                self.assertEqual(status, want, f"{what}: {answer[:200]!r}")
        self.assertTrue(self.daemon.running())
        self.assertEqual(self.daemon.http_status("/readyz"), 200)
        status, answer = self.daemon.post("/events", good)
        self.assertEqual(status, 202, answer[:200])


if __name__ == "__main__":
    unittest.main()
