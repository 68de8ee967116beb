"""LMTP delivery and POP3 retrieval, read back from dovewardend's stream."""

import re
import unittest

from harness import Env, Imap, lmtp_deliver, pop3
from checks import Checks, one_session

ENV = None


def setUpModule():
    global ENV
    ENV = Env(plugin_settings={"dovewarden_fields": "size msgid"}).start()
    # The first delivery also creates alice's INBOX (and says so): get that out of the way.
    lmtp_deliver(ENV.dovecot, "alice")
    ENV.stream.wait_for(lambda e: e.get("type") == "message.new")


def tearDownModule():
    if ENV:
        ENV.cleanup()


def inbox_uid_of(dovecot, msgid):
    """(uid, uidvalidity, physical size) of the INBOX message with this Message-ID, via doveadm."""
    out = dovecot.doveadm("fetch", "-u", "alice", "uid size.physical", "mailbox", "INBOX",
                          "header", "Message-ID", msgid).stdout
    uids = re.findall(r"^uid: (\d+)", out, re.M)
    sizes = re.findall(r"^size.physical: (\d+)", out, re.M)
    assert len(uids) == 1, out
    m = Imap(dovecot)
    _, uidvalidity = m.select("INBOX")
    m.logout()
    return int(uids[0]), uidvalidity, int(sizes[0])


class DeliveryTest(Checks):
    def test_lmtp_delivery_is_message_new(self):
        """One LMTP delivery → one message.new (origin delivery) naming the saved message."""
        received = ENV.daemon.metric("dovewarden_events_received_total", type="message.new")
        mark = ENV.stream.mark(quiet=0.4)
        msgid = lmtp_deliver(ENV.dovecot, "alice")
        (new,) = ENV.stream.wait_for(lambda e: e.get("type") == "message.new", after=mark)
        uid, uidvalidity, size = inbox_uid_of(ENV.dovecot, msgid)
        self.assertCommon(new, svc="lmtp", origin="delivery", ip=False)
        self.assertFields(new, {"mailbox": "INBOX", "uid": uid, "uidvalidity": uidvalidity,
                                "size": size}, "message.new")
        self.assertEqual(new.get("msgid", "").strip("<>"), msgid)
        self.assertNotIn("subject", new, "header fields only when configured")
        others = [e for e in ENV.stream.settle()[mark:]
                  if e.get("svc") == "lmtp" and e["type"].startswith(("message.", "flags.", "mailbox."))]
        self.assertEqual([e["type"] for e in others], ["message.new"], "a delivery is not an append")
        self.assertEqual(ENV.daemon.metric("dovewarden_events_received_total", type="message.new"),
                         received + 1)

    def test_pop3_retrieve(self):
        """POP3 login, RETR, QUIT → user.login, \\Seen on the retrieved message, user.logout."""
        msgid = lmtp_deliver(ENV.dovecot, "alice")
        uid, uidvalidity, _ = inbox_uid_of(ENV.dovecot, msgid)
        mark = ENV.stream.mark(quiet=0.4)
        p = pop3(ENV.dovecot)
        # Dovecot's default pop3_uidl_format is %08Xu%08Xv: find our message by its uid
        _, listing, _ = p.uidl()
        nums = [int(line.split()[0]) for line in listing
                if line.split()[1].decode().lower() == f"{uid:08x}{uidvalidity:08x}"]
        self.assertEqual(len(nums), 1, listing)
        _, lines, _ = p.retr(nums[0])
        self.assertIn(f"Message-ID: <{msgid}>".encode(), lines)
        p.quit()
        ENV.stream.wait_for(lambda e: e.get("type") == "user.logout" and e.get("svc") == "pop3",
                            after=mark, what="pop3 user.logout")
        session = one_session(ENV.stream.settle()[mark:], svc="pop3")
        for e in session:
            self.assertCommon(e, svc="pop3")
        types = [e["type"] for e in session]
        self.assertEqual(types[0], "user.login")
        self.assertEqual(types[-1], "user.logout")
        # POP3 marks what it retrieved \Seen when the session ends (pop3_no_flag_updates = no)
        self.assertEqual(sorted(types[1:-1]), ["flags.set", "message.read"], session)
        for e in session[1:-1]:
            self.assertFields(e, {"mailbox": "INBOX", "uid": uid, "uidvalidity": uidvalidity}, e["type"])
        (fs,) = [e for e in session if e["type"] == "flags.set"]
        self.assertFields(fs, {"flags": ["\\Seen"]}, "flags.set")


if __name__ == "__main__":
    unittest.main()
