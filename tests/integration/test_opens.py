"""message.open (each message a client opened), mailbox_guid and port, against a real Dovecot.

Dovecot logs its own mail_opened events here (log_debug): each message.open
must stand for exactly one of them.
"""

import os
import re
import unittest

from harness import Env, Imap, lmtp_deliver, make_message, pop3, split_by_command
from harness.dovecot import MAIL_GID, MAIL_UID
from checks import Checks, one_session

ENV = None
# Dovecot's debug line for its mail_opened event, under the session's log prefix
OPENED_LINE = re.compile(r"<(?P<session>[^>]+)>: Debug: Mailbox (?P<mailbox>.+?): "
                         r"UID (?P<uid>\d+): Opened mail")


def setUpModule():
    global ENV
    ENV = Env(plugin_settings={"dovewarden_fields": "size msgid",
                               "dovewarden_events": "* message.open"},
              extra_conf="log_debug = event=mail_opened\n").start()
    # the first delivery creates alice's INBOX: get that out of the way
    lmtp_deliver(ENV.dovecot, "alice")
    ENV.stream.wait_for(lambda e: e.get("type") == "message.new")


def tearDownModule():
    if ENV:
        ENV.cleanup()


def mailbox_guid(mailbox, user="alice"):
    out = ENV.dovecot.doveadm("mailbox", "status", "-u", user, "guid", mailbox).stdout
    m = re.search(r"guid=([0-9a-f]{32})", out)
    assert m, out
    return m.group(1)


def uid_of(msgid, mailbox="INBOX"):
    out = ENV.dovecot.doveadm("fetch", "-u", "alice", "uid", "mailbox", mailbox,
                              "header", "Message-ID", msgid).stdout
    (uid,) = re.findall(r"^uid: (\d+)", out, re.M)
    return int(uid)


def dovecot_opens(log_offset, session):
    """[(mailbox, uid)] of the mail_opened events Dovecot logged for session."""
    return [(m.group("mailbox"), int(m.group("uid")))
            for m in OPENED_LINE.finditer(ENV.dovecot.log_since(log_offset))
            if m.group("session") == session]


class OpenTest(Checks):
    def assertOpen(self, event, svc, port, mailbox, uid, uidvalidity, msgid):
        self.assertCommon(event, svc=svc)
        self.assertFields(event, {"port": port, "mailbox": mailbox, "uid": uid,
                                  "uidvalidity": uidvalidity,
                                  "mailbox_guid": mailbox_guid(mailbox)}, "message.open")
        self.assertEqual(event.get("msgid", "").strip("<>"), msgid, event)
        self.assertTrue(event.get("reason"), f"Dovecot's reason is missing: {event}")
        self.assertNotIn("size", event, "an open is not a save: no size")

    def test_imap_fetch_body_is_one_open(self):
        """FETCH BODY[] (and more of it) opens the message once: one message.open;
        FETCH FLAGS opens nothing."""
        msgid = lmtp_deliver(ENV.dovecot, "alice")
        uid = uid_of(msgid)
        mark = ENV.stream.mark(quiet=0.4)
        log_offset = ENV.dovecot.log_size()
        m = Imap(ENV.dovecot)
        port = m.c.sock.getsockname()[1]
        _, uidvalidity = m.select("INBOX")
        m.call("UID FETCH", m.c.uid, "FETCH", str(uid), "(FLAGS)")
        # the whole message and parts of it: one open all the same
        typ, data = m.call("UID FETCH", m.c.uid, "FETCH", str(uid),
                           "(BODY.PEEK[HEADER] BODY.PEEK[] RFC822.SIZE)")
        self.assertIn(f"<{msgid}>".encode(), b"".join(d[1] for d in data if isinstance(d, tuple)))
        m.logout()
        ENV.stream.wait_for(lambda e: e.get("type") == "user.logout", after=mark)
        session = one_session(ENV.stream.settle()[mark:])

        groups = split_by_command(session[1:])
        fetches = [(cmd, evs) for cmd, evs in groups if cmd and cmd["cmd_name"] == "UID FETCH"]
        self.assertEqual(len(fetches), 2, groups)
        self.assertEqual(fetches[0][1], [], "FETCH FLAGS opens no message")
        (opened,) = fetches[1][1]
        self.assertEqual(opened["type"], "message.open")
        self.assertOpen(opened, "imap", port, "INBOX", uid, uidvalidity, msgid)
        self.assertEqual(dovecot_opens(log_offset, opened["session"]), [("INBOX", uid)],
                         "one message.open per mail_opened of Dovecot's")
        # a type of the catalogue: the daemon's metrics name it
        self.assertGreaterEqual(ENV.daemon.metric("dovewarden_events_received_total",
                                                  type="message.open"), 1)

    def test_pop3_retr_is_one_open(self):
        """POP3 RETR: one message.open of the retrieved message, as Dovecot's mail_opened says."""
        msgid = lmtp_deliver(ENV.dovecot, "alice")
        uid = uid_of(msgid)
        m = Imap(ENV.dovecot)
        _, uidvalidity = m.select("INBOX")
        m.logout()
        mark = ENV.stream.mark(quiet=0.4)
        log_offset = ENV.dovecot.log_size()
        p = pop3(ENV.dovecot)
        port = p.sock.getsockname()[1]
        _, listing, _ = p.uidl()
        (num,) = [int(line.split()[0]) for line in listing
                  if line.split()[1].decode().lower() == f"{uid:08x}{uidvalidity:08x}"]
        _, lines, _ = p.retr(num)
        self.assertIn(f"Message-ID: <{msgid}>".encode(), lines)
        p.quit()
        ENV.stream.wait_for(lambda e: e.get("type") == "user.logout" and e.get("svc") == "pop3",
                            after=mark, what="pop3 user.logout")
        session = one_session(ENV.stream.settle()[mark:], svc="pop3")
        opens = [e for e in session if e["type"] == "message.open"]
        (opened,) = [e for e in opens if e["uid"] == uid]
        self.assertOpen(opened, "pop3", port, "INBOX", uid, uidvalidity, msgid)
        self.assertEqual(sorted(dovecot_opens(log_offset, opened["session"])),
                         sorted((e["mailbox"], e["uid"]) for e in opens),
                         "one message.open per mail_opened of Dovecot's")
        for e in session:
            self.assertFields(e, {"port": port}, e["type"])

    def test_dsync_reads_are_not_opens(self):
        """dsync reads every message it copies: no message.open; an admin's doveadm fetch is one."""
        msgid = lmtp_deliver(ENV.dovecot, "alice")
        uid = uid_of(msgid)
        mark = ENV.stream.mark(quiet=0.4)
        target = os.path.join(ENV.root, "mail", "alice-opens-copy")
        os.makedirs(target)
        os.chown(target, MAIL_UID, MAIL_GID)
        ENV.dovecot.doveadm("backup", "-u", "alice", f"maildir:{target}/Maildir")
        ENV.dovecot.doveadm("fetch", "-u", "alice", "body", "mailbox", "INBOX", "uid", str(uid))
        ENV.stream.wait_for(lambda e: e.get("type") == "message.open", after=mark,
                            what="the message.open of doveadm fetch")
        events = ENV.stream.settle()[mark:]
        opens = [e for e in events if e["type"] == "message.open"]
        self.assertEqual(len(opens), 1, f"dsync's reads are no message.open: {opens}")
        self.assertCommon(opens[0], svc="doveadm", ip=False)
        self.assertFields(opens[0], {"mailbox": "INBOX", "uid": uid}, "doveadm fetch")
        self.assertTrue([e for e in events if e.get("origin") == "dsync"], "the backup ran")


class MailboxGuidTest(Checks):
    def test_guid_and_port_on_message_and_mailbox_events(self):
        """Message events carry their mailbox's GUID as doveadm shows it; mailbox events
        where Dovecot has the mailbox open; every event of the session its client port."""
        box = "GuidBox"
        mark = ENV.stream.mark(quiet=0.4)
        m = Imap(ENV.dovecot)
        port = m.c.sock.getsockname()[1]
        m.create(box)
        m.subscribe(box)
        n, _ = m.select("INBOX")
        m.append("INBOX", make_message("guid")[0])
        m.store(str(n + 1), "+FLAGS", r"(\Flagged)")
        m.copy(str(n + 1), box)
        box_guid = mailbox_guid(box)
        m.rename(box, box + "2")
        m.delete(box + "2")
        m.logout()
        ENV.stream.wait_for(lambda e: e.get("type") == "user.logout", after=mark)
        session = one_session(ENV.stream.settle()[mark:])
        inbox_guid = mailbox_guid("INBOX")
        self.assertNotEqual(inbox_guid, box_guid)

        want = {"message.append": inbox_guid, "flags.set": inbox_guid,
                "message.copy": box_guid, "mailbox.rename": box_guid,
                "message.expunge": box_guid, "mailbox.delete": box_guid}
        for e in session:
            self.assertFields(e, {"ip": "127.0.0.1", "port": port}, e["type"])
            if e["type"] in want:
                self.assertFields(e, {"mailbox_guid": want[e["type"]]}, e["type"])
            elif e["type"] == "mailbox.create" and "mailbox_guid" in e:
                self.assertEqual(e["mailbox_guid"], box_guid, e)
            else:
                self.assertNotIn("mailbox_guid", e, e["type"])
        self.assertEqual(sorted({e["type"] for e in session} & set(want)), sorted(want))


if __name__ == "__main__":
    unittest.main()
