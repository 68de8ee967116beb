"""IMAP sessions against a real Dovecot with the plugin, read back from dovewardend's stream."""

import collections
import time
import unittest

from harness import Env, Imap, RawImap, make_message, split_by_command
from checks import Checks, one_session
from session import expected_commands, full_session

ENV = None


def setUpModule():
    global ENV
    # size and msgid asked for; cmd_args deliberately not (it must stay off)
    ENV = Env(plugin_settings={"dovewarden_fields": "size msgid"}).start()


def tearDownModule():
    if ENV:
        ENV.cleanup()


class ImapSessionTest(Checks):
    def test_full_session_events(self):
        """Every command of a real IMAP session arrives with its exact events and fields."""
        mark = ENV.stream.mark(quiet=0.4)
        f = full_session(ENV.dovecot)
        ENV.stream.wait_for(lambda e: e.get("type") == "user.logout" and e.get("user") == "alice",
                            after=mark, what="alice's user.logout")
        events = ENV.stream.settle()[mark:]
        session = one_session(events)

        # one process, numbered 1, 2, 3, … with nothing lost while the daemon is up
        seqs = [e["seq"] for e in session]
        self.assertEqual(len({e["inst"] for e in session}), 1)
        self.assertEqual(seqs, list(range(seqs[0], seqs[0] + len(seqs))), "seq must have no gaps")
        arrival = [e["seq"] for e in events if e in session]
        self.assertEqual(arrival, sorted(arrival), "stream order must follow seq")

        for e in session:
            self.assertCommon(e)
            self.assertNotIn("cmd_args", e, "cmd_args must be off unless configured")

        self.assertEqual(session[0]["type"], "user.login", session[0])
        self.assertEqual(session[-1]["type"], "user.logout", session[-1])
        self.assertEqual(len({e.get("session") for e in session}), 1, "one session id throughout")

        groups = split_by_command(session[1:])
        expected = expected_commands(f)
        got_cmds = [c["cmd_name"] for c, _ in groups if c]
        self.assertEqual(got_cmds, [name for name, _, _ in expected])
        for (cmd, evs), (name, cmd_fields, want) in zip(groups, expected):
            what = f"{name} (tag {cmd.get('cmd_tag')})"
            self.assertFields(cmd, dict(cmd_fields, tagged_reply_state="OK"), what)
            for key in ("cmd_tag", "tagged_reply", "running_usecs", "net_in_bytes", "net_out_bytes"):
                self.assertIn(key, cmd, what)
            self.assertEqual(collections.Counter(e["type"] for e in evs),
                             collections.Counter(t for t, _ in want), f"events sent for {what}: {evs}")
            unmatched = list(evs)
            for wtype, wfields in want:
                ev = next((e for e in unmatched if e["type"] == wtype and
                           all(e.get(k) == v for k, v in wfields.items() if k in ("uid", "mailbox"))),
                          None)
                self.assertIsNotNone(ev, f"no {wtype} {wfields} for {what} in {evs}")
                self.assertFields(ev, wfields, f"{wtype} for {what}")
                unmatched.remove(ev)
        self.assertEqual([e["type"] for e in groups[-1][1]], ["user.logout"])

    def test_pipelined_commands_keep_their_events_in_order(self):
        """Commands that arrive together run in one go (Dovecot may finish
        them in another order than they came), and their events are encoded
        after the replies: still numbered without a gap, each STORE's flag
        change before its own imap_command_finished, LOGOUT's before
        user.logout."""
        m = Imap(ENV.dovecot)
        m.append("INBOX", make_message("pipelined")[0])
        m.logout()
        mark = ENV.stream.mark(quiet=0.4)
        r = RawImap(ENV.dovecot)
        _, reply = r.command("LOGIN alice secret")
        self.assertTrue(reply.startswith("OK"), reply)
        _, reply = r.command("SELECT INBOX")
        self.assertTrue(reply.startswith("OK"), reply)
        r.s.sendall(b"p1 STORE 1 +FLAGS ($Pipelined)\r\np2 NOOP\r\n"
                    b"p3 STORE 1 -FLAGS ($Pipelined)\r\np4 LOGOUT\r\n")
        while not r.readline().startswith("p4 "):
            pass
        r.close()
        ENV.stream.wait_for(lambda e: e.get("type") == "user.logout", after=mark)
        session = one_session(ENV.stream.settle()[mark:])
        seqs = [e["seq"] for e in session]
        self.assertEqual(seqs, list(range(seqs[0], seqs[0] + len(seqs))), "seq must have no gaps")
        order = [e.get("cmd_tag") or e["type"] for e in session
                 if e.get("cmd_tag", "").startswith("p") or e["type"] in ("flags.set", "flags.clear")]
        self.assertEqual(sorted(order), sorted(["flags.set", "p1", "p2", "flags.clear", "p3", "p4"]), order)
        self.assertLess(order.index("flags.set"), order.index("p1"), order)
        self.assertLess(order.index("flags.clear"), order.index("p3"), order)
        self.assertLess(order.index("flags.set"), order.index("flags.clear"), order)
        self.assertEqual(session[-1]["type"], "user.logout")
        self.assertEqual(session[-2].get("cmd_tag"), "p4", session[-2])

    def test_a_store_of_flags_and_keywords_is_one_change(self):
        """STORE +FLAGS (\\Flagged $Work) reaches the plugin as a flag and a
        keyword update of one message: one flags.set with both, old_flags as
        before the command."""
        m = Imap(ENV.dovecot)
        uv, uid = m.append("INBOX", make_message("flags and keywords")[0])
        n, _ = m.select("INBOX")
        m.store(str(n), "+FLAGS", r"(\Seen)")
        mark = ENV.stream.mark(quiet=0.4)
        m.store(str(n), "+FLAGS", r"(\Flagged $Work)")
        m.logout()
        ENV.stream.wait_for(lambda e: e.get("type") == "user.logout", after=mark)
        changes = [e for e in one_session(ENV.stream.settle()[mark:])
                   if e["type"].startswith("flags.")]
        self.assertEqual(len(changes), 1, changes)
        self.assertFields(changes[0], {"type": "flags.set", "uid": uid, "uidvalidity": uv,
                                       "flags": ["\\Flagged"], "keywords": ["$Work"],
                                       "old_flags": ["\\Seen"]}, "flags.set")

    def test_failed_commands_send_no_message_events(self):
        """SELECT of a missing mailbox reports NO; a rolled-back MULTIAPPEND sends nothing."""
        m = Imap(ENV.dovecot)
        before = m.status("INBOX")["MESSAGES"]
        m.logout()
        mark = ENV.stream.mark(quiet=0.4)
        m = Imap(ENV.dovecot)
        m.select("NoSuchBox", ok=False)
        m.logout()
        ENV.stream.wait_for(lambda e: e.get("type") == "user.logout", after=mark)
        session = one_session(ENV.stream.settle()[mark:])
        (sel,) = [e for e in session if e.get("cmd_name") == "SELECT"]
        self.assertFields(sel, {"tagged_reply_state": "NO", "mailbox": "NoSuchBox"}, "SELECT")
        self.assertEqual([e["type"] for e in session if not e["type"].startswith("imap_")],
                         ["user.login", "user.logout"])

        # MULTIAPPEND: the first message is saved into the transaction, the
        # second has a bad date, so the whole APPEND is rolled back.
        mark = ENV.stream.mark(quiet=0.4)
        r = RawImap(ENV.dovecot)
        _, reply = r.command("LOGIN alice secret")
        self.assertTrue(reply.startswith("OK"), reply)
        msg = make_message("rolled back")[0]
        raw = (b"APPEND INBOX {%d+}\r\n" % len(msg)) + msg + \
            (b' (\\Flagged) "not a date" {%d+}\r\n' % len(msg)) + msg
        _, reply = r.command(raw)
        self.assertRegex(reply, r"^(NO|BAD)", "the MULTIAPPEND must fail")
        _, reply = r.command('STATUS INBOX (MESSAGES)')
        r.close()
        ENV.stream.wait_for(lambda e: e.get("type") == "user.logout", after=mark)
        session = one_session(ENV.stream.settle()[mark:])
        (app,) = [e for e in session if e.get("cmd_name") == "APPEND"]
        self.assertIn(app["tagged_reply_state"], ("NO", "BAD"))
        self.assertEqual([e["type"] for e in session if not e["type"].startswith("imap_")],
                         ["user.login", "user.logout"], "a rolled-back APPEND must send nothing")
        m = Imap(ENV.dovecot)
        self.assertEqual(m.status("INBOX")["MESSAGES"], before, "nothing was saved")
        m.logout()

    def test_reads_are_not_sent_by_default(self):
        """The default dovewarden_events (*) sends no message.open: FETCH BODY[] adds no event."""
        m = Imap(ENV.dovecot)
        _, uid = m.append("INBOX", make_message("read me")[0])
        m.logout()
        mark = ENV.stream.mark(quiet=0.4)
        m = Imap(ENV.dovecot)
        m.select("INBOX")
        m.call("UID FETCH", m.c.uid, "FETCH", str(uid), "(BODY.PEEK[])")
        m.logout()
        ENV.stream.wait_for(lambda e: e.get("type") == "user.logout", after=mark)
        session = one_session(ENV.stream.settle()[mark:])
        (fetch,) = [(cmd, evs) for cmd, evs in split_by_command(session[1:])
                    if cmd and cmd["cmd_name"] == "UID FETCH"]
        self.assertEqual(fetch[0]["tagged_reply_state"], "OK")
        self.assertEqual(fetch[1], [], "reads are sent only when dovewarden_events names them")

    def test_events_survive_doveadm_stats_add(self):
        """`doveadm stats add` replaces the event filter; imap_command_finished keeps coming."""
        name = "dw_it_deliveries"
        m = Imap(ENV.dovecot)
        try:
            mark = ENV.stream.mark(quiet=0.4)
            m.select("INBOX")
            ENV.stream.wait_for(lambda e: e.get("cmd_name") == "SELECT", after=mark)
            ENV.dovecot.doveadm("stats", "add", name, "event=mail_delivery_finished")
            time.sleep(0.5)  # let the stats process push its new filter to the imap process
            # the stats process pushes its new filter to the running imap process
            listed = ENV.dovecot.doveadm("stats", "dump").stdout
            self.assertIn(name, listed)
            mark = ENV.stream.mark(quiet=0.4)
            for _ in range(3):
                m.noop()
            m.c.check()
            ENV.stream.wait_for(lambda e: e.get("cmd_name") in ("NOOP", "CHECK"), count=4, after=mark,
                                what="NOOP×3 + CHECK after stats add")
            m.logout()
            # and a session started after the change, too
            mark = ENV.stream.mark(quiet=0.4)
            m = Imap(ENV.dovecot)
            m.select("INBOX")
            m.logout()
            ENV.stream.wait_for(lambda e: e.get("cmd_name") == "SELECT", after=mark)
        finally:
            ENV.dovecot.doveadm("stats", "remove", name, check=False)


if __name__ == "__main__":
    unittest.main()
