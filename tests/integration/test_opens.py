"""mailbox_guid and port on the plugin's events, against a real Dovecot."""

import re
import unittest

from harness import Env, Imap, lmtp_deliver, make_message
from checks import Checks, one_session

ENV = None


def setUpModule():
    global ENV
    ENV = Env(plugin_settings={"dovewarden_fields": "size msgid"}).start()
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
