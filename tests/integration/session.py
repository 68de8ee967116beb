"""The IMAP session several tests drive, and what it must produce on the stream."""

from harness import Imap, make_message


def full_session(dovecot, box="Work", newbox="Archive", user="alice"):
    """LOGIN … LOGOUT touching every event kind; returns the facts to check against."""
    f = {"box": box, "newbox": newbox}
    m = Imap(dovecot, user)
    f["imap"] = m
    m.create(box)
    m.subscribe(box)
    m.unsubscribe(box)
    n, f["uv_inbox"] = m.select("INBOX")
    s1, s2 = n + 1, n + 2
    message, f["msgid1"] = make_message("first")
    uv, f["uid1"] = m.append("INBOX", message)
    assert uv == f["uv_inbox"], (uv, f["uv_inbox"])
    message, f["msgid2"] = make_message("second")
    uv, f["uid2"] = m.append("INBOX", message)
    m.store(str(s1), "+FLAGS", r"(\Seen)")
    m.store(str(s1), "+FLAGS", "($Label1)")
    m.store(str(s1), "-FLAGS", r"(\Seen)")
    f["uv_box"], src, f["copy_uid"] = m.copy(str(s1), box)
    assert src == f["uid1"], (src, f["uid1"])
    uv, src, f["move_uid"] = m.move(str(s2), box)
    assert (uv, src) == (f["uv_box"], f["uid2"]), (uv, src)
    m.store(str(s1), "+FLAGS", r"(\Deleted)")
    m.expunge()
    m.rename(box, newbox)
    m.delete(newbox)
    m.logout()
    return f


def expected_commands(f):
    """[(cmd_name, {field: value} on imap_command_finished, [(type, {field: value})])] in order.

    The list of events is what the plugin sends for that command (at commit,
    i.e. before the command's own imap_command_finished), compared as a multiset.
    The plugin is expected to send msgid (dovewarden_fields = msgid).
    """
    box, newbox = f["box"], f["newbox"]
    inbox = {"mailbox": "INBOX", "uidvalidity": f["uv_inbox"]}
    msgid1, msgid2 = f"<{f['msgid1']}>", f"<{f['msgid2']}>"
    m1 = dict(inbox, uid=f["uid1"], msgid=msgid1)
    return [
        ("CREATE", {"mailbox": box}, [("mailbox.create", {"mailbox": box})]),
        ("SUBSCRIBE", {"mailbox": box}, [("mailbox.subscribe", {"mailbox": box})]),
        ("UNSUBSCRIBE", {"mailbox": box}, [("mailbox.unsubscribe", {"mailbox": box})]),
        ("SELECT", {"mailbox": "INBOX"}, []),
        ("APPEND", {"mailbox": "INBOX"}, [("message.append", m1)]),
        ("APPEND", {"mailbox": "INBOX"}, [("message.append", dict(inbox, uid=f["uid2"],
                                                                  msgid=msgid2))]),
        ("STORE", {"mailbox": "INBOX"}, [("flags.set", dict(m1, flags=["\\Seen"], old_flags=[])),
                                         ("message.read", m1)]),
        ("STORE", {"mailbox": "INBOX"}, [("flags.set", dict(m1, keywords=["$Label1"],
                                                            old_flags=["\\Seen"]))]),
        ("STORE", {"mailbox": "INBOX"}, [("flags.clear", dict(m1, flags=["\\Seen"],
                                                              old_flags=["\\Seen"]))]),
        ("COPY", {"mailbox": "INBOX"}, [("message.copy", {
            "mailbox": box, "uid": f["copy_uid"], "uidvalidity": f["uv_box"],
            "src_mailbox": "INBOX", "src_uid": f["uid1"], "msgid": msgid1})]),
        ("MOVE", {"mailbox": "INBOX"}, [("message.move", {
            "mailbox": box, "uid": f["move_uid"], "uidvalidity": f["uv_box"],
            "src_mailbox": "INBOX", "src_uid": f["uid2"], "msgid": msgid2})]),
        ("STORE", {"mailbox": "INBOX"}, [("flags.set", dict(m1, flags=["\\Deleted"], old_flags=[])),
                                         ("message.trash", m1)]),
        ("EXPUNGE", {"mailbox": "INBOX"}, [("message.expunge", dict(m1, reason="user"))]),
        ("RENAME", {"old_mailbox": box, "new_mailbox": newbox},
         [("mailbox.rename", {"mailbox": newbox, "old_mailbox": box})]),
        # deleting a mailbox expunges what it still holds: Dovecot reports those
        ("DELETE", {"mailbox": newbox}, [
            ("mailbox.delete", {"mailbox": newbox}),
            ("message.expunge", {"mailbox": newbox, "uid": f["copy_uid"], "uidvalidity": f["uv_box"],
                                 "reason": "user"}),
            ("message.expunge", {"mailbox": newbox, "uid": f["move_uid"], "uidvalidity": f["uv_box"],
                                 "reason": "user"})]),
        ("LOGOUT", {}, []),
    ]
