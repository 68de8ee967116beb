"""The plugin's own ZMTP sender against real peers: pyzmq's PULL, raw-socket peers
that greet wrongly, refuse, stay silent or close mid-frame, and dovewardend
restarted under load. And what it costs a mail process: no thread, no libzmq."""

import os
import re
import shutil
import smtplib
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import msgpack
import zmq

from harness import DOMAIN, Dovecot, Env, Imap, RawImap, free_port, make_message, pop3, wait_until
from harness import zmtp_peer

PROMPT = 1.0  # seconds: a generous bound; anything waiting on the plugin would blow it
PEEK = socket.MSG_PEEK | socket.MSG_DONTWAIT


def plugin_dovecot(test, endpoint, **settings):
    """A Dovecot whose plugin sends to endpoint, stopped at the test's end."""
    settings = {"dovewarden_endpoint": endpoint, **settings}
    d = Dovecot(settings=settings, name="dw-zmtp").start()
    test.addCleanup(d.cleanup)
    return d


def seqs(events):
    return [e["seq"] for e in events]


class PyzmqPullTest(unittest.TestCase):
    """An unmodified libzmq PULL (pyzmq's) receives the plugin's events as it
    receives a libzmq PUSH's: multipart messages, an event a frame."""

    def receive(self, endpoint, bind, ipc_path=None, ipv6=False, session=None, **settings):
        """The messages (lists of frames) and events a session sends to a pyzmq
        PULL bound at `bind`."""
        ctx = zmq.Context()
        self.addCleanup(ctx.term)
        pull = ctx.socket(zmq.PULL)
        self.addCleanup(pull.close, 0)
        pull.ipv6 = ipv6
        pull.bind(bind)
        if ipc_path:
            os.chmod(ipc_path, 0o777)  # the mail processes' uid connects
        d = plugin_dovecot(self, endpoint, **settings)
        if session:
            session(d)
        else:
            m = Imap(d)
            m.select("INBOX")
            m.append("INBOX", make_message("to a pyzmq PULL")[0])
            m.store("1", "+FLAGS", r"(\Seen)")
            m.logout()

        messages, events = [], []
        deadline = time.monotonic() + 10
        while not any(e["type"] == "user.logout" for e in events):
            self.assertGreater(deadline - time.monotonic(), 0, f"no user.logout in {events}")
            if pull.poll(100):
                frames = pull.recv_multipart()
                messages.append(frames)
                events += [msgpack.unpackb(f, raw=False) for f in frames]
        return messages, events

    def check(self, messages, events):
        self.assertEqual(seqs(events), list(range(1, len(events) + 1)), "seq from 1, none missing")
        self.assertEqual({e["inst"] for e in events}, {events[0]["inst"]})
        self.assertEqual([e["type"] for e in events if e["type"] != "imap_command_finished"],
                         ["user.login", "mailbox.create", "message.append", "flags.set", "message.read",
                          "user.logout"])
        for e in events:
            self.assertEqual(e["v"], 1)
            self.assertEqual(list(e)[:2], ["v", "type"], "v and type lead each map")
            self.assertEqual((e["user"], e["svc"]), ("alice", "imap"))
        (append_message,) = [m for m in messages if any(b"message.append" in f for f in m)]
        self.assertGreater(len(append_message), 1,
                           "APPEND's events travel as one multipart message")

    def test_tcp(self):
        port = free_port()
        self.check(*self.receive(f"tcp://127.0.0.1:{port}", f"tcp://127.0.0.1:{port}"))

    def test_tcp_ipv6(self):
        if not socket.has_ipv6 or not os.path.exists("/proc/net/if_inet6"):
            self.skipTest("no IPv6 here")
        port = free_port()
        self.check(*self.receive(f"tcp://[::1]:{port}", f"tcp://[::1]:{port}", ipv6=True))

    def test_flush_interval_0_keeps_commands_apart(self):
        """dovewarden_flush_interval=0: each command's events go on their own,
        even those of commands that arrive together and run in one go."""
        def pipelined(d):
            r = RawImap(d)
            r.command("LOGIN alice secret")
            r.s.sendall(b"n1 NOOP\r\nn2 NOOP\r\nn3 NOOP\r\n")
            while not r.readline().startswith("n3 "):
                pass
            r.close()

        port = free_port()
        messages, events = self.receive(f"tcp://127.0.0.1:{port}", f"tcp://127.0.0.1:{port}",
                                        session=pipelined, dovewarden_flush_interval="0")
        noops = [[msgpack.unpackb(f, raw=False).get("cmd_name") for f in m] for m in messages
                 if any(b"NOOP" in f for f in m)]
        self.assertEqual(noops, [["NOOP"], ["NOOP"], ["NOOP"]])

    def test_an_idle_process_sends_at_once_and_a_busy_one_batches(self):
        """After a quiet dovewarden_flush_interval, a command's events go as soon
        as its reply has; those of the commands that follow within it wait and
        travel together."""
        ctx = zmq.Context()
        self.addCleanup(ctx.term)
        pull = ctx.socket(zmq.PULL)
        self.addCleanup(pull.close, 0)
        port = free_port()
        pull.bind(f"tcp://127.0.0.1:{port}")
        d = plugin_dovecot(self, f"tcp://127.0.0.1:{port}", dovewarden_flush_interval="1s")

        def next_commands():
            """The NOOPs of the next message, and when it came."""
            self.assertTrue(pull.poll(5000), "a message within 5 s")
            events = [msgpack.unpackb(f, raw=False) for f in pull.recv_multipart()]
            return ([e.get("cmd_name") for e in events if e["type"] == "imap_command_finished"],
                    time.monotonic())

        r = RawImap(d)
        self.addCleanup(r.close)
        r.command("LOGIN alice secret")
        self.assertTrue(pull.poll(5000), "user.login within 5 s")
        pull.recv_multipart()
        time.sleep(1.2)  # quiet for more than an interval

        start = time.monotonic()
        r.command("NOOP")
        noops, came = next_commands()
        self.assertEqual(noops, ["NOOP"])
        self.assertLess(came - start, 0.5, "after a quiet interval, at once: not after the interval")

        start = time.monotonic()
        r.command("NOOP")
        r.command("NOOP")
        noops, came = next_commands()
        self.assertEqual(noops, ["NOOP", "NOOP"], "the next commands' events share a message")
        self.assertGreater(came - start, 0.4, "they waited for the interval, or half of it")

    def test_ipc(self):
        tmp = tempfile.mkdtemp(prefix="dovewarden-it-zmtp-")
        self.addCleanup(shutil.rmtree, tmp, True)
        os.chmod(tmp, 0o755)
        path = os.path.join(tmp, "pull.sock")
        self.check(*self.receive(f"ipc://{path}", f"ipc://{path}", ipc_path=path))


def answered_promptly(test, imap, what):
    slow = [(name, round(secs, 3)) for name, secs, _ in imap.timings if secs >= PROMPT]
    test.assertEqual(slow, [], f"{what}: commands answered in ≥ {PROMPT}s")


class HandshakeTest(unittest.TestCase):
    """A peer that is not the daemon's PULL socket: mail goes on promptly, the
    plugin says why in one line however often it tries again."""

    def run_against(self, serve, connections=2):
        peer = zmtp_peer.Listener(serve=serve)
        self.addCleanup(peer.close)
        d = plugin_dovecot(self, peer.endpoint, dovewarden_flush_interval="0")
        m = Imap(d)
        m.select("INBOX")
        # events keep waiting, so the plugin keeps trying (100 ms, 200 ms, ...)
        wait_until(lambda: (m.noop(), len(peer.connections) >= connections)[1], 10,
                   what=f"{connections} connections from the plugin")
        answered_promptly(self, m, "against a wrong peer")
        m.logout()
        return d, peer

    def assertOneLine(self, d, pattern):
        lines = wait_until(lambda: re.findall(rf"^.*Error: dovewarden: .*{pattern}.*$", d.log_text(), re.M),
                           5, what=f"an error matching {pattern!r} in Dovecot's log")
        self.assertEqual(len(lines), 1, f"one line however many attempts: {lines}")
        return lines[0]

    def test_wrong_socket_type(self):
        d, peer = self.run_against(lambda c: (c.handshake(zmtp_peer.greeting() + zmtp_peer.ready(b"PUB")),
                                              c.recv_messages(2)))
        line = self.assertOneLine(d, "PUB")
        self.assertIn(peer.endpoint, line, "the line names the endpoint")

    def test_error_command(self):
        d, _ = self.run_against(lambda c: (c.handshake(zmtp_peer.greeting() + zmtp_peer.error(b"go away")),
                                           c.recv_messages(2)))
        self.assertOneLine(d, "refused: go away")

    def test_curve_mechanism(self):
        d, _ = self.run_against(lambda c: (c.sock.sendall(zmtp_peer.greeting(b"CURVE")),
                                           c.recv_messages(2)))
        self.assertOneLine(d, "CURVE")

    def test_zmtp_2(self):
        d, _ = self.run_against(lambda c: (c.sock.sendall(zmtp_peer.greeting(major=2)),
                                           c.recv_messages(2)))
        self.assertOneLine(d, r"3\.x")

    def test_silence_past_the_handshake_timeout(self):
        d, peer = self.run_against(lambda c: time.sleep(10), connections=2)
        self.assertOneLine(d, "no ZMTP handshake")

    def test_greeting_byte_by_byte(self):
        """A peer whose greeting and READY come a byte at a time is a peer."""
        received = []

        def serve(conn):
            conn.handshake(step=0.005)
            while not any(e["type"] == "user.logout" for m in received for e in m):
                received.extend(conn.recv_messages())

        peer = zmtp_peer.Listener(serve=serve)
        self.addCleanup(peer.close)
        d = plugin_dovecot(self, peer.endpoint)
        m = Imap(d)
        m.noop()
        wait_until(lambda: peer.connections and peer.connections[0].client_ready, 5,
                   what="the handshake, a byte at a time")
        m.noop()
        m.logout()
        wait_until(lambda: any(e["type"] == "user.logout" for msg in received for e in msg), 10,
                   what="the session's events through the slow greeter")
        answered_promptly(self, m, "against a slow greeter")
        events = [e for msg in received for e in msg]
        self.assertEqual(seqs(events), list(range(1, len(events) + 1)))
        self.assertEqual(peer.connections[0].client_ready, {"Socket-Type": b"PUSH"})
        self.assertEqual(peer.connections[0].client_greeting[:12], b"\xff" + b"\x00" * 8 + b"\x7f\x03\x00")
        self.assertEqual(peer.errors, [])
        self.assertNotRegex(d.log_text(), r"Error: .*dovewarden")


class HostNameTest(unittest.TestCase):
    """A mail process looks up no names: a host name in the endpoint is one clear
    error, and mail goes on."""

    def test_host_name_is_refused(self):
        d = plugin_dovecot(self, "tcp://localhost:5555")
        m = Imap(d)
        m.select("INBOX")
        m.noop()
        m.logout()
        answered_promptly(self, m, "with a host name for the endpoint")
        lines = wait_until(lambda: re.findall(r"^.*Error: dovewarden: .*$", d.log_text(), re.M), 5,
                           what="the plugin's error")
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("dovewarden_endpoint=tcp://localhost:5555: localhost is not an IP address", lines[0])


class MidFrameCloseTest(unittest.TestCase):
    """The peer closes while the plugin is part-way through a message: the next
    peer gets that message whole, then the rest, and nothing twice."""

    def test_partial_message_goes_again_whole(self):
        tmp = tempfile.mkdtemp(prefix="dovewarden-it-zmtp-")
        self.addCleanup(shutil.rmtree, tmp, True)
        os.chmod(tmp, 0o755)
        peer = zmtp_peer.Listener(path=os.path.join(tmp, "peer.sock"))
        self.addCleanup(peer.close)
        d = plugin_dovecot(self, peer.endpoint)
        m = Imap(d)
        m.select("INBOX")
        first = wait_until(lambda: peer.connections and peer.connections[0], 5, what="a connection")
        first.handshake()
        # Far more than the socket takes while the peer does not read: 2,000
        # flag events in 32-event messages.
        for i in range(200):
            m.append("INBOX", make_message(f"m{i}")[0])
        for flag in ("$A", "$B", "$C", "$D", "$E", "$F", "$G", "$H", "$I", "$J"):
            m.store("1:*", "+FLAGS", f"({flag})")
        answered_promptly(self, m, "with a peer that does not read")

        # What the plugin wrote is all in the socket (AF_UNIX has no send
        # queue), seen without taking it out, which would make room for more.
        # A write that does not fit is cut short where the room ends: take
        # what is there and wait for the next, until one ends mid-message.
        def peeked():
            try:
                return first.sock.recv(1 << 24, PEEK)
            except BlockingIOError:
                return b""

        def settled():
            size = len(peeked())
            time.sleep(0.3)
            return (size,) if size == len(peeked()) else None

        taken = b""
        for _ in range(20):
            wait_until(settled, 10, what="the plugin to stop writing")
            data = peeked()
            parsed = zmtp_peer.Messages()
            complete = parsed.feed(taken + data)
            if parsed.mid_message() or not data:
                break
            taken += first.read_exactly(len(data))
        self.assertTrue(parsed.mid_message(), "no write of the plugin's was cut short mid-message")
        first.close()

        second = wait_until(lambda: len(peer.connections) > 1 and peer.connections[1], 5,
                            what="the plugin connecting again")
        second.handshake()
        m.logout()
        received = []
        wait_until(lambda: (received.extend(second.recv_messages(0.2)),
                            any(e["type"] == "user.logout" for msg in received for e in msg))[1],
                   10, what="the session's end through the second peer")
        written_seqs = [e["seq"] for msg in complete for e in msg]
        resent_seqs = [e["seq"] for msg in received for e in msg]
        self.assertEqual(resent_seqs[0], written_seqs[-1] + 1,
                         "the message cut short goes again from its start")
        self.assertEqual(written_seqs + resent_seqs, list(range(1, len(written_seqs) + len(resent_seqs) + 1)),
                         "every event once, in order")
        self.assertFalse(second.messages.mid_message())
        self.assertNotRegex(d.log_text(), r"dovewarden: dropped")


class DaemonRestartUnderLoadTest(unittest.TestCase):
    """dovewardend stops and starts while sessions keep working: what comes
    before and after arrives, and every gap the daemon sees is events.lost."""

    def test_restart_under_load(self):
        # the stream is how the test sees what the daemon received: it must
        # not drop any itself when the queued events come in at once
        env = Env(daemon_env={"DOVEWARDEN_STREAM_OVERFLOW": "block"}).start()
        self.addCleanup(env.cleanup)
        d = env.dovecot
        stop = threading.Event()
        errors, sessions = [], []

        def load(user):
            try:
                m = Imap(d, user)
                sessions.append(m)
                m.select("INBOX")
                m.append("INBOX", make_message("under load")[0])
                while not stop.is_set():
                    m.store("1", "+FLAGS", r"(\Seen)")
                    m.store("1", "-FLAGS", r"(\Seen)")
                m.logout()
            except Exception as e:  # reported by the test
                errors.append(e)

        threads = [threading.Thread(target=load, args=(u,)) for u in ("alice", "bob")]
        for t in threads:
            t.start()
        try:
            # each session under way, however late its process started
            for user in ("alice", "bob"):
                env.stream.wait_for(lambda e, u=user: e.get("type") == "flags.clear"
                                    and e.get("user") == u, count=5,
                                    what=f"{user}'s load before the restart")
            before = list(env.stream.poll())
            rc, _ = env.daemon.stop()
            self.assertEqual(rc, 0)
            time.sleep(0.3)
            env.daemon.start()
            mark = env.stream.mark()
            for user in ("alice", "bob"):
                env.stream.wait_for(lambda e, u=user: e.get("type") == "flags.clear"
                                    and e.get("user") == u, count=5, after=mark,
                                    what=f"{user}'s load after the restart")
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        self.assertEqual(errors, [])
        for m in sessions:
            answered_promptly(self, m, "while the daemon restarted")
        after = env.stream.settle()[mark:]
        lost = 0
        for user in ("alice", "bob"):
            old = [e for e in before if e.get("user") == user and "inst" in e]
            new = [e for e in after if e.get("user") == user and "inst" in e
                   and not e["type"].startswith(("events.", "daemon."))]
            self.assertTrue(old and new, f"{user}'s events before and after the restart")
            self.assertEqual({e["inst"] for e in old + new}, {old[0]["inst"]}, "one process each")
            seen = seqs(old) + seqs(new)
            self.assertEqual(seen, sorted(set(seen)), f"{user}: seq rises, nothing twice")
            gaps = [(a, b) for a, b in zip(seqs(new), seqs(new)[1:]) if b != a + 1]
            reported = [(e["after_seq"], e["next_seq"]) for e in after
                        if e.get("type") == "events.lost" and e.get("inst") == old[0]["inst"]]
            self.assertEqual(sorted(reported), gaps, f"{user}: each gap the daemon saw is events.lost")
            lost += sum(b - a - 1 for a, b in gaps)
            self.assertEqual(new[-1]["type"], "user.logout")
        self.assertEqual(env.daemon.metric("dovewarden_events_lost_total", svc="imap"), lost)
        self.assertEqual(env.daemon.metric("dovewarden_bus_dropped_total", subscriber="stream"), 0)


def linked_libraries(binary):
    return subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout


class InvisibleTest(unittest.TestCase):
    """Each mail process that sends events has one thread, its own, and maps
    neither libzmq nor a libstdc++ of the plugin's."""

    @classmethod
    def setUpClass(cls):
        cls.env = Env().start()

    @classmethod
    def tearDownClass(cls):
        cls.env.cleanup()

    def assertInvisible(self, name, mark):
        env = self.env
        (event, *_) = env.stream.wait_for(lambda e: e.get("svc") == name, after=mark,
                                          what=f"an event from {name}")
        pid = event["pid"]
        with open(f"/proc/{pid}/comm") as f:
            self.assertEqual(f.read().strip(), name, f"{pid} is the {name} that sent {event}")
        self.assertEqual(os.listdir(f"/proc/{pid}/task"), [str(pid)], f"{name}: one thread")
        with open(f"/proc/{pid}/maps") as f:
            mapped = {line.split()[-1] for line in f if "/" in line}
        self.assertIn(os.path.join(env.dovecot.root, "modules", "lib90_dovewarden_plugin.so"), mapped,
                      f"{name} runs the plugin")
        unwanted = r"libzmq|dovewarden-sink"
        # Dovecot 2.4's own ICU brings libstdc++ along; 2.3 has none
        if "libstdc++" not in linked_libraries(os.readlink(f"/proc/{pid}/exe")):
            unwanted += r"|libstdc\+\+"
        self.assertEqual([p for p in mapped if re.search(unwanted, p)], [],
                         f"{name} maps no libzmq, sink module, or libstdc++ of the plugin's")

    def test_imap(self):
        mark = self.env.stream.mark()
        m = Imap(self.env.dovecot)
        self.addCleanup(m.logout)
        m.select("INBOX")
        m.noop()
        self.assertInvisible("imap", mark)

    def test_pop3(self):
        mark = self.env.stream.mark()
        p = pop3(self.env.dovecot)
        self.addCleanup(p.quit)
        p.stat()
        self.assertInvisible("pop3", mark)

    def test_lmtp(self):
        mark = self.env.stream.mark()
        with smtplib.LMTP("127.0.0.1", self.env.dovecot.lmtp_port, timeout=10) as s:
            message, _ = make_message()
            self.assertEqual(s.sendmail(f"tester@{DOMAIN}", [f"alice@{DOMAIN}"], message), {})
            # the connection stays open: so does its lmtp process
            self.assertInvisible("lmtp", mark)


if __name__ == "__main__":
    unittest.main()
