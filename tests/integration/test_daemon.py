"""dovewardend on its own: bad input, bad configuration, start and stop."""

import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import msgpack
import zmq

from harness import Daemon, Receiver, Stream, daemon_path, free_port, wait_until


def push(endpoint, *frames):
    """Sends frames to the daemon's ZeroMQ socket, as the plugin does."""
    ctx = zmq.Context()
    s = ctx.socket(zmq.PUSH)
    s.setsockopt(zmq.LINGER, 2000)
    s.connect(endpoint)
    for f in frames:
        s.send(f)
    s.close()
    ctx.term()


def numbered(seq, pad=0):
    """A message.new of alice's, told apart by its seq, padded to make it big."""
    return msgpack.packb({"v": 1, "type": "message.new", "user": "alice", "svc": "lmtp",
                          "inst": "00000000000057ea", "seq": seq, "pid": 4242,
                          "mailbox": "INBOX", "uid": seq, "x_pad": "x" * pad})


class DaemonTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="dovewarden-it-")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.endpoint = f"ipc://{self.root}/events.sock"
        self.daemon = Daemon(self.root, self.endpoint)
        self.addCleanup(self.daemon.kill)

    def push(self, *frames):
        push(self.endpoint, *frames)

    def rejected(self, reason):
        return self.daemon.metric("dovewarden_events_rejected_total", reason=reason)

    def ready_line(self):
        wait_until(lambda: " ready: " in self.daemon.stderr_text(), 5, what="the start-up line")
        (line,) = [l for l in self.daemon.stderr_text().splitlines() if " ready: " in l]
        return line

    def test_the_start_up_line_says_where_everything_is(self):
        """Every listener's address and where the admin token came from, never the token."""
        d = self.daemon
        d.start()
        line = self.ready_line()
        for where in (f"receiving on zmq {self.endpoint}", f"http POST 127.0.0.1:{d.http_port}/events",
                      f"metrics on http://127.0.0.1:{d.metrics_port}", "stream ",
                      f"admin API on http://127.0.0.1:{d.admin_port} (token from DOVEWARDEN_ADMIN_TOKEN)"):
            self.assertIn(where, line)
        self.assertNotIn(d.admin_token, d.stderr_text())

        # no token given: the file in the store, generated at the first start only
        d.stop()
        d.extra_env["DOVEWARDEN_ADMIN_TOKEN"] = ""
        for run, generated in ((2, ", generated now"), (3, "")):
            d.start()
            path = os.path.join(d.store, "admin.token")
            self.assertIn(f"(token from {path}{generated})", self.ready_line())
            with open(path) as f:
                self.assertNotIn(f.read().strip(), d.stderr_text())
            d.stop()

    def test_unknown_dovewarden_variables_are_named_at_start(self):
        self.daemon.extra_env.update({"DOVEWARDEN_METRIC_ADDR": "127.0.0.1:1",
                                      "DOVEWARDEN_XYZZY": "1"})
        self.daemon.start()
        self.ready_line()
        warnings = [l for l in self.daemon.stderr_text().splitlines() if "environment:" in l]
        self.assertEqual(len(warnings), 2, warnings)
        self.assertIn("ignoring unknown setting DOVEWARDEN_METRIC_ADDR; did you mean "
                      "'DOVEWARDEN_METRICS_ADDR'?", warnings[0] + warnings[1])
        self.assertIn("ignoring unknown setting DOVEWARDEN_XYZZY", warnings[0] + warnings[1])

    def test_rejects_bad_input_and_keeps_serving(self):
        """Garbage and unknown versions are counted, never fatal; good events still flow."""
        self.daemon.start()
        cases = {
            "not_msgpack": b"\xc1 this is not msgpack",
            "not_a_map": msgpack.packb([1, "message.new"]),
            "unknown_version": msgpack.packb({"v": 2, "type": "message.new", "user": "alice"}),
            "no_version": msgpack.packb({"type": "message.new"}),
            "no_type": msgpack.packb({"v": 1, "user": "alice"}),
        }
        before = {r: self.rejected(r) for r in cases}
        self.push(*cases.values())
        wait_until(lambda: all(self.rejected(r) == before[r] + 1 for r in cases), 5,
                   what=f"rejected_total +1 for each of {sorted(cases)}")
        self.assertTrue(self.daemon.running(), "the daemon must survive bad input")
        self.assertEqual(self.daemon.http_status("/healthz"), 200)
        self.assertEqual(self.daemon.http_status("/readyz"), 200)

        good = {"v": 1, "type": "message.new", "ts": int(time.time() * 1e6), "host": "mx-test",
                "svc": "lmtp", "pid": 4242, "inst": "00000000deadbeef", "seq": 1, "user": "alice",
                "origin": "delivery", "mailbox": "INBOX", "uid": 7, "uidvalidity": 1700000000,
                "x_custom": "kept"}
        self.push(msgpack.packb(good))
        (ev,) = self.daemon.stream.wait_for(lambda e: e.get("inst") == "00000000deadbeef")
        for key, value in good.items():
            if key != "v":
                self.assertEqual(ev.get(key), value, f"{key} on the stream")
        self.assertEqual(next(iter(ev)), "type", "type comes first on the stream line")
        self.assertEqual([e["type"] for e in self.daemon.stream.poll() if e.get("user") == "alice"],
                         ["message.new"], "rejected messages never reach the stream")
        self.assertEqual(self.daemon.metric("dovewarden_events_received_total", type="message.new"), 1)

    def test_second_daemon_refuses_the_live_socket(self):
        """A second dovewardend on the same ipc socket stops with one line naming it;
        the first keeps receiving."""
        self.daemon.start()
        second = Daemon(self.root, self.endpoint, name="second")
        self.addCleanup(second.kill)
        second.start(wait_ready=False)
        wait_until(lambda: not second.running(), 10, what="the second daemon to exit")
        self.assertNotEqual(second.proc.returncode, 0)
        with open(second.stderr_path) as f:
            lines = [line for line in f.read().splitlines() if line.strip()]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("DOVEWARDEN_ZMQ_ENDPOINT", lines[0])
        self.assertIn(f"{self.root}/events.sock", lines[0])

        good = {"v": 1, "type": "message.new", "user": "alice", "inst": "00000000000000aa", "seq": 1}
        self.push(msgpack.packb(good))
        (ev,) = self.daemon.stream.wait_for(lambda e: e.get("inst") == "00000000000000aa")
        self.assertEqual(ev["sender"], {"uid": os.getuid(), "pid": os.getpid()},
                         "the kernel's word on who sent it")

    def test_refuses_peers_outside_the_allowed_uids(self):
        """A peer whose uid and gid are not allowed is refused and counted."""
        self.daemon.extra_env["DOVEWARDEN_ZMQ_ALLOW_UIDS"] = str(os.getuid() + 4242)
        self.daemon.start()
        self.push(msgpack.packb({"v": 1, "type": "message.new", "user": "mallory"}))
        wait_until(lambda: self.daemon.metric("dovewarden_peers_refused_total",
                                              reason="not_allowed") >= 1, 5,
                   what="a refused peer counted")
        self.assertEqual([e for e in self.daemon.stream.poll() if e.get("user") == "mallory"], [])

    def test_start_and_sigterm(self):
        """daemon.started first, daemon.stopped last, exit 0 within 5 s, socket gone."""
        self.assertEqual(self.daemon.http_status("/readyz"), None)
        self.daemon.start()
        self.assertEqual(self.daemon.http_status("/healthz"), 200)
        self.daemon.stream.wait_for(lambda e: e.get("type") == "daemon.started", timeout=5)
        rc, took = self.daemon.stop()
        self.assertEqual(rc, 0)
        self.assertLess(took, 5.0)
        events = self.daemon.stream.poll()
        self.assertEqual(events[0]["type"], "daemon.started")
        self.assertEqual(events[-1]["type"], "daemon.stopped")

    def test_sighup_reopens_the_file_after_logrotate_renamed_it(self):
        """Events before the rename stay in the old file, later ones go to the new
        one; none is lost, doubled or torn."""
        self.daemon.start()
        path = self.daemon.stream.path
        self.push(*(numbered(seq) for seq in range(1, 51)))
        self.daemon.stream.wait_for(lambda e: e.get("seq") == 50)
        rotated = path + ".1"
        os.rename(path, rotated)
        self.daemon.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: os.path.exists(path), 5, what="the stream file made anew")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode) & 0o007, 0,
                         "others may not read the events")
        self.push(*(numbered(seq) for seq in range(51, 101)))
        new = Stream(path)
        new.wait_for(lambda e: e.get("seq") == 100)
        rc, _ = self.daemon.stop()
        self.assertEqual(rc, 0)
        old = Stream(rotated)
        seqs = lambda stream: [e["seq"] for e in stream.poll() if e.get("inst") == "00000000000057ea"]
        self.assertEqual(seqs(old), list(range(1, 51)))
        self.assertEqual(seqs(new), list(range(51, 101)))
        self.assertEqual(old.bad_lines + new.bad_lines, [], "torn lines")
        self.assertEqual(old.events[0]["type"], "daemon.started")
        self.assertEqual(new.events[-1]["type"], "daemon.stopped")
        self.assertIn(f"SIGHUP: reopened the stream file {path}", self.daemon.stderr_text())


class StreamPipeTest(unittest.TestCase):
    """dovewardend --stream - | other-tool: a reader that stalls or exits costs
    the stream its events, counted, and nobody else anything."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="dovewarden-it-")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.endpoint = f"ipc://{self.root}/events.sock"
        self.rx = Receiver().start()
        self.addCleanup(self.rx.stop)
        self.daemon = Daemon(self.root, self.endpoint, env={
            "DOVEWARDEN_STREAM": "-",
            "DOVEWARDEN_STREAM_QUEUE": "20",
            "DOVEWARDEN_WEBHOOK_ALLOW_NETS": "127.0.0.0/8",
            "DOVEWARDEN_WEBHOOK_RETRY_SCHEDULE": "0s,300ms",
        })
        self.addCleanup(self.daemon.kill)

    def delivered(self, seqs):
        got = {e["data"].get("seq") for e in self.rx.events("/hook")
               if e["data"].get("inst") == "00000000000057ea"}
        return set(seqs) <= got

    def test_a_stalled_then_vanished_reader_stalls_no_one_else(self):
        reader, writer = os.pipe()
        self.addCleanup(lambda: reader is None or os.close(reader))
        self.daemon.start(stdout=writer)
        os.close(writer)
        status, answer = self.daemon.admin("POST", "/v1/webhooks",
                                           {"url": self.rx.url("/hook"), "events": ["message.*"]})
        self.assertEqual(status, 201, answer)
        self.rx.secrets.append(answer["secret"])

        # the reader reads nothing: the pipe (64 KiB) and the stream's queue fill up
        push(self.endpoint, *(numbered(seq, pad=2000) for seq in range(1, 201)))
        wait_until(lambda: self.delivered(range(1, 201)), 30,
                   what="all 200 events delivered to the webhook")
        dropped = self.daemon.metric("dovewarden_bus_dropped_total", subscriber="stream")
        self.assertGreater(dropped, 0)
        self.assertIn("bus: stream: queue full (20 events); dropped", self.daemon.stderr_text())

        # SIGHUP has no file to reopen on stdout, and does no harm
        self.daemon.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "SIGHUP: the stream goes to stdout" in self.daemon.stderr_text(), 5,
                   what="SIGHUP noted")
        self.assertTrue(self.daemon.running())

        # the reader exits: said once, counted, and the rest goes on
        os.close(reader)
        reader = None
        push(self.endpoint, *(numbered(seq) for seq in range(201, 251)))
        wait_until(lambda: self.delivered(range(201, 251)), 30,
                   what="the next 50 events delivered to the webhook")
        wait_until(lambda: self.daemon.metric("dovewarden_bus_dropped_total",
                                              subscriber="stream") >= dropped + 50, 10,
                   what="the events after the reader left counted as dropped")
        self.assertEqual(self.daemon.stderr_text().count("the reader of stdout went away"), 1)
        self.assertEqual(self.daemon.metric("dovewarden_bus_failed_total", subscriber="stream"), 0)
        rc, _ = self.daemon.stop()
        self.assertEqual(rc, 0)


class ConfigTest(unittest.TestCase):
    def run_daemon(self, *args, **env):
        root = tempfile.mkdtemp(prefix="dovewarden-it-")
        self.addCleanup(shutil.rmtree, root, True)
        full = dict(os.environ)
        full.update({  # everything valid and harmless unless the test says otherwise
            "DOVEWARDEN_ZMQ_ENDPOINT": f"ipc://{root}/events.sock",
            "DOVEWARDEN_STREAM": os.path.join(root, "stream.ndjson"),
            "DOVEWARDEN_METRICS_ADDR": f"127.0.0.1:{free_port()}",
        })
        full.update(env)
        t = time.monotonic()
        try:
            r = subprocess.run([daemon_path(), *args], env=full, capture_output=True, text=True, timeout=8)
        except subprocess.TimeoutExpired as e:
            self.fail(f"dovewardend {args} {env} did not exit: {e.stdout!r} {e.stderr!r}")
        return r, time.monotonic() - t

    def assertRefused(self, setting, *args, **env):
        r, took = self.run_daemon(*args, **env)
        self.assertNotEqual(r.returncode, 0, f"must refuse to start: {env or args}")
        lines = [line for line in (r.stdout + r.stderr).splitlines() if line.strip()]
        self.assertEqual(len(lines), 1, f"one line, got: {lines}")
        self.assertIn(setting.lower(), lines[0].lower().replace("-", "_"), lines[0])
        self.assertLess(took, 5.0)

    def test_bad_metrics_addr(self):
        self.assertRefused("METRICS_ADDR", DOVEWARDEN_METRICS_ADDR="nonsense")

    def test_bad_flag_overrides_good_env(self):
        self.assertRefused("metrics_addr", "--metrics-addr", "nonsense",
                           DOVEWARDEN_METRICS_ADDR="127.0.0.1:0")

    def test_bad_socket_mode(self):
        self.assertRefused("SOCKET_MODE", DOVEWARDEN_ZMQ_SOCKET_MODE="rw-everyone")

    def test_help_lists_settings(self):
        r, _ = self.run_daemon("--help")
        self.assertEqual(r.returncode, 0)
        for name in ("DOVEWARDEN_ZMQ_ENDPOINT", "DOVEWARDEN_ZMQ_SOCKET_MODE", "DOVEWARDEN_STREAM",
                     "DOVEWARDEN_METRICS_ADDR"):
            self.assertIn(name, r.stdout)


APPEND = {
    "event": "imap_command_finished", "hostname": "mx-test",
    "start_time": "2026-11-22T19:36:10.451312Z", "end_time": "2026-11-22T19:36:10.453702Z",
    "categories": ["imap", "service:imap"],
    "fields": {"user": "alice", "session": "D2bgluJguMp/AAAB", "cmd_tag": "a1",
               "cmd_name": "APPEND", "cmd_input_name": "APPEND", "tagged_reply_state": "OK",
               "tagged_reply": "OK Append completed.", "mailbox": "INBOX"}}


class StoreTest(unittest.TestCase):
    """The embedded store's files, and /readyz while its disk is full."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="dovewarden-it-")
        self.addCleanup(shutil.rmtree, self.root, True)
        # replication on, toward a doveadm that is not there
        self.daemon = Daemon(self.root, f"ipc://{self.root}/events.sock", env={
            "DOVEWARDEN_DOVEADM_URL": f"http://127.0.0.1:{free_port()}",
            "DOVEWARDEN_DOVEADM_PASSWORD": "secret",
            "DOVEWARDEN_DOVEADM_DEST": "tcp:127.0.0.1:1",
            "DOVEWARDEN_WEBHOOKS_ENABLED": "true"})
        self.addCleanup(self.daemon.kill)

    def post(self, user):
        event = json.loads(json.dumps(APPEND))
        event["fields"]["user"] = user
        return self.daemon.post("/events", json.dumps(event).encode())[0]

    def readyz(self):
        try:
            with urllib.request.urlopen(self.daemon.url("/readyz"), timeout=2) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def test_store_files_are_private(self):
        """A store directory left 0755 is made 0700, with a warning; every file in it 0600
        but the audit log's public key, which verifies it off the host."""
        os.makedirs(self.daemon.store)
        os.chmod(self.daemon.store, 0o755)  # as an earlier version left it
        self.daemon.start()
        self.assertEqual(self.post("alice"), 202)
        self.assertEqual(stat.S_IMODE(os.stat(self.daemon.store).st_mode), 0o700)
        files = sorted(os.listdir(self.daemon.store))
        self.assertIn("replication.db", files)
        self.assertIn("webhooks.db", files)
        self.assertIn("audit.sqlite", files)
        self.assertIn("audit.key", files)
        for name in files:
            mode = stat.S_IMODE(os.stat(os.path.join(self.daemon.store, name)).st_mode)
            expected = 0o644 if name == "audit.key.pub" else 0o600
            self.assertEqual(mode, expected, f"{name} is mode {mode:o}")
        self.assertIn("was mode 0755; made it 0700", self.daemon.stderr_text())

    def test_readyz_is_503_while_the_store_cannot_write(self):
        """doveadm unreachable: /readyz 200, saying so. The disk full (a file-size limit
        on the daemon): POST /events fails, /readyz 503 naming the store; the disk freed:
        /readyz 200 again within 10 s, events taken."""
        self.daemon.start()
        self.assertEqual(self.post("alice"), 202)
        # doveadm unreachable: said, but the daemon stays ready
        wait_until(lambda: "doveadm: unreachable" in self.readyz()[1], 10,
                   what="/readyz to say doveadm is unreachable")
        self.assertEqual(self.readyz()[0], 200)
        pid = self.daemon.proc.pid
        saved = resource.prlimit(pid, resource.RLIMIT_FSIZE)
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (1024, saved[1]))
        try:
            failed = [self.post(f"user{i}") for i in range(20)]
            self.assertNotIn(202, failed, "no write can be taken")
            status, body = self.readyz()
            self.assertEqual(status, 503, body)
            self.assertIn("replication store: cannot write", body)
        finally:
            resource.prlimit(pid, resource.RLIMIT_FSIZE, saved)
        wait_until(lambda: self.readyz()[0] == 200, 10, what="/readyz 200 with the disk freed")
        self.assertTrue(self.daemon.running())
        self.assertEqual(self.post("bob"), 202)


if __name__ == "__main__":
    unittest.main()
