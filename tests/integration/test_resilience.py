"""The plugin never stalls mail: daemon down, daemon back, a socket it may not write."""

import os
import re
import stat
import time
import unittest

from harness import Env, Imap, make_message, wait_until
from checks import one_session
from session import full_session

PROMPT = 1.0  # seconds: a generous bound; anything waiting on the plugin would blow it


class DaemonOutageTest(unittest.TestCase):
    def setUp(self):
        # a message per command (flush interval 0), at most 4 of them queued:
        # a short session overflows the queue while the daemon is away
        self.env = Env(plugin_settings={"dovewarden_queue_limit": "4",
                                        "dovewarden_flush_interval": "0"}).start()
        self.addCleanup(self.env.cleanup)

    def assertPrompt(self, imap, what):
        slow = [(name, round(secs, 3)) for name, secs, _ in imap.timings if secs >= PROMPT]
        self.assertEqual(slow, [], f"{what}: commands answered in ≥ {PROMPT}s")

    @staticmethod
    def dropped_by(dovecot, pid):
        """What process pid reported dropped in Dovecot's log."""
        return sum(int(n) for n in re.findall(rf"^.*\b{pid}\b.*dovewarden: dropped (\d+) event",
                                              dovecot.log_text(), re.M))

    def test_daemon_down_and_back(self):
        env, d = self.env, self.env.dovecot
        # A long-lived session that spans the outage.
        long = Imap(d)
        long.select("INBOX")
        long.noop()
        first = env.stream.wait_for(lambda e: e.get("cmd_name") == "NOOP" and e.get("user") == "alice")
        inst = first[0]["inst"]
        before = [e["seq"] for e in env.stream.poll()
                  if e.get("inst") == inst and not e["type"].startswith(("events.", "daemon."))]

        rc, took = env.daemon.stop()
        self.assertEqual(rc, 0, "dovewardend must exit 0 on SIGTERM")
        self.assertLess(took, 5.0, "dovewardend must stop within 5 s")
        self.assertEqual(env.stream.poll()[-1].get("type"), "daemon.stopped",
                         "the stream ends with daemon.stopped")

        # Daemon down: the same session as with the daemon up, every command prompt.
        log_mark = d.log_size()
        f = full_session(d)
        self.assertPrompt(f["imap"], "new session, daemon down")
        for _ in range(20):
            long.noop()
        long.append("INBOX", make_message("while the daemon was down")[0])
        self.assertPrompt(long, "long-lived session, daemon down")

        # The plugin counts what it could not send (logged at process end at the latest).
        wait_until(lambda: d.dropped_total(d.log_since(log_mark)), 10,
                   what="a `dovewarden: dropped N event(s)` line in Dovecot's log")
        outage_log = d.log_since(log_mark)
        self.assertNotRegex(outage_log, r"Error: .*dovewarden",
                            "an absent daemon is a counted drop, not an error")

        # Daemon back: events flow again, from the long-lived session and new ones.
        restarted_us = int(time.time() * 1e6)
        env.daemon.start()
        mark = env.stream.mark()
        # what the queue held goes when the plugin connects again (it tries
        # after 100 ms, doubling up to 5 s); then a NOOP finds room
        queued = before[-1] + 4
        env.stream.wait_for(lambda e: e.get("inst") == inst and e.get("seq") == queued,
                            after=mark, timeout=10, what="the long-lived session's queued NOOPs")
        long.noop()
        env.stream.wait_for(lambda e: e.get("inst") == inst and e.get("cmd_name") == "NOOP"
                            and e["seq"] > queued,
                            after=mark, timeout=10, what="the long-lived session's NOOP after restart")
        m = Imap(d)
        m.select("INBOX")
        m.logout()
        long.logout()
        env.stream.wait_for(lambda e: e.get("type") == "user.logout" and e.get("inst") != inst
                            and e["ts"] >= restarted_us,
                            after=mark, what="a new session's user.logout after restart")
        after_events = env.stream.settle()
        # (a process that ended just before the restart may still deliver what it
        # had queued within its linger time: only look at sessions begun since)
        new_insts = {e["inst"] for e in after_events
                     if e.get("type") == "user.login" and e["ts"] >= restarted_us}
        fresh = one_session([e for e in after_events if e.get("inst") in new_insts])
        self.assertEqual([e["type"] for e in fresh],
                         ["user.login", "imap_command_finished", "imap_command_finished", "user.logout"])

        # The long-lived session's first 4 messages of the outage (a NOOP's event
        # each) waited in the queue and came first; the rest of what it sent
        # during the outage is gone, exactly what its process reports dropped.
        after = [e["seq"] for e in after_events
                 if e.get("inst") == inst and not e["type"].startswith(("events.", "daemon."))]
        seen = before + after
        self.assertEqual(seen, sorted(seen), "seq rises across the outage")
        self.assertEqual(after[:4], list(range(before[-1] + 1, queued + 1)), "the queued NOOPs come first")
        outage_gap = after[4] - after[3] - 1
        pid = first[0]["pid"]
        wait_until(lambda: self.dropped_by(d, pid) >= outage_gap, 5,
                   what=f"imap {pid} to report {outage_gap} events dropped")
        self.assertEqual(self.dropped_by(d, pid), outage_gap,
                         f"the gap is what imap {pid} reported dropped")
        # 16 NOOPs beyond the queue's 4, and the APPEND (its message.append and
        # imap_command_finished)
        self.assertEqual(outage_gap, 16 + 2)
        # Every gap the restarted daemon could see is reported as events.lost and counted.
        gaps = [(a, b) for a, b in zip(after, after[1:]) if b != a + 1]
        lost_events = [e for e in after_events if e.get("type") == "events.lost" and e.get("inst") == inst]
        self.assertEqual(sorted((e["after_seq"], e["next_seq"]) for e in lost_events), gaps)
        for e in lost_events:
            self.assertEqual(e["lost"], e["next_seq"] - e["after_seq"] - 1, e)
            self.assertEqual(e.get("svc"), "imap", e)
        self.assertEqual(env.daemon.metric("dovewarden_events_lost_total", svc="imap"),
                         sum(b - a - 1 for a, b in gaps))
        self.assertTrue(gaps, f"the restarted daemon saw the drops as a gap: seqs {after}")


class UnwritableSocketTest(unittest.TestCase):
    def setUp(self):
        # The daemon (root) creates its socket 0600: uid 5000's mail processes may not write.
        self.env = Env(daemon_env={"DOVEWARDEN_ZMQ_SOCKET_MODE": "0600"}).start()
        self.addCleanup(self.env.cleanup)

    def test_clear_error_and_imap_still_works(self):
        env, d = self.env, self.env.dovecot
        sock = env.endpoint[len("ipc://"):]
        st = os.stat(sock)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(st.st_uid, 0)

        m = Imap(d)
        m.create("Box")
        m.select("INBOX")
        self.assertIsNotNone(m.append("INBOX", make_message()[0]))
        m.store("1", "+FLAGS", r"(\Seen)")
        m.delete("Box")
        m.logout()
        self.assertEqual([t for _, _, t in m.timings[:-1]], ["OK"] * (len(m.timings) - 1))

        pat = re.compile(r"^.*Error: dovewarden: .*not writable.*$", re.M)
        lines = wait_until(lambda: pat.findall(d.log_text()), 5,
                           what="the plugin's `not writable` error in Dovecot's log")
        self.assertEqual(len(lines), 1, f"one clear error per process: {pat.findall(d.log_text())}")
        self.assertIn(sock, pat.search(d.log_text()).group(0), "the error names the socket")
        env.stream.settle(0.3)
        self.assertEqual([e for e in env.stream.poll() if e.get("user") == "alice"], [],
                         "nothing can have reached the daemon")


if __name__ == "__main__":
    unittest.main()
