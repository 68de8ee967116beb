"""Thin mail clients over Python's stdlib, timing every IMAP command."""

import email.utils
import imaplib
import poplib
import re
import smtplib
import socket
import time
import uuid

from .dovecot import DOMAIN, USERS


class ImapError(AssertionError):
    pass


class Imap:
    """imaplib.IMAP4 that records (command, seconds, status) per command."""

    def __init__(self, dovecot, user="alice", password=None, timeout=10):
        self.timings = []
        t = time.monotonic()
        self.c = imaplib.IMAP4("127.0.0.1", dovecot.imap_port, timeout=timeout)
        self.timings.append(("CONNECT", time.monotonic() - t, "OK"))
        self.call("LOGIN", self.c.login, user, password or USERS[user])

    def call(self, name, fn, *args, ok=True):
        t = time.monotonic()
        typ, data = fn(*args)
        self.timings.append((name, time.monotonic() - t, typ))
        if ok and typ != "OK":
            raise ImapError(f"{name} {args!r} answered {typ} {data!r}")
        return typ, data

    def text(self, data):
        return b" ".join(d if isinstance(d, bytes) else b"" for d in data).decode("utf-8", "replace")

    # -- commands --
    def create(self, mbox, **kw):
        return self.call("CREATE", self.c.create, mbox, **kw)

    def delete(self, mbox, **kw):
        return self.call("DELETE", self.c.delete, mbox, **kw)

    def rename(self, old, new, **kw):
        return self.call("RENAME", self.c.rename, old, new, **kw)

    def subscribe(self, mbox, **kw):
        return self.call("SUBSCRIBE", self.c.subscribe, mbox, **kw)

    def unsubscribe(self, mbox, **kw):
        return self.call("UNSUBSCRIBE", self.c.unsubscribe, mbox, **kw)

    def select(self, mbox="INBOX", **kw):
        """SELECT; returns (number of messages, UIDVALIDITY)."""
        typ, data = self.call("SELECT", self.c.select, mbox, **kw)
        if typ != "OK":
            return None, None
        uidvalidity = int(self.c.response("UIDVALIDITY")[1][-1])
        return int(data[0]), uidvalidity

    def append(self, mbox, message, flags=None, **kw):
        """APPEND; returns (uidvalidity, uid) from APPENDUID."""
        typ, data = self.call("APPEND", self.c.append, mbox, flags, None, message, **kw)
        m = re.search(r"\[APPENDUID (\d+) (\d+)\]", self.text(data))
        return (int(m.group(1)), int(m.group(2))) if m else None

    def store(self, msgset, op, flags, **kw):
        return self.call("STORE", self.c.store, msgset, op, flags, **kw)

    def _copyuid(self, data):
        m = re.search(r"\[COPYUID (\d+) (\S+) (\S+)\]", self.text(data))
        if not m:
            typ, resp = self.c.response("COPYUID")
            if resp and resp[-1]:
                m = re.match(r"(\d+) (\S+) (\S+)", resp[-1].decode())
        if not m:
            return None
        return int(m.group(1)), int(m.group(2)), int(m.group(3))

    def copy(self, msgset, dest, **kw):
        """COPY; returns (uidvalidity, src_uid, dst_uid) from COPYUID (single messages)."""
        typ, data = self.call("COPY", self.c.copy, msgset, dest, **kw)
        return self._copyuid(data)

    def move(self, msgset, dest, **kw):
        self.c.untagged_responses.pop("COPYUID", None)
        typ, data = self.call("MOVE", self.c._simple_command, "MOVE", msgset, dest, **kw)
        return self._copyuid(data)

    def expunge(self, **kw):
        return self.call("EXPUNGE", self.c.expunge, **kw)

    def noop(self, **kw):
        return self.call("NOOP", self.c.noop, **kw)

    def status(self, mbox, items="(MESSAGES UIDNEXT)"):
        typ, data = self.call("STATUS", self.c.status, mbox, items)
        return {k: int(v) for k, v in re.findall(r"(\w+) (\d+)", self.text(data).split("(", 1)[1])}

    def logout(self):
        return self.call("LOGOUT", self.c.logout, ok=False)


def make_message(subject="hello", body="Hello from the dovewarden tests.\n", to="alice"):
    msgid = f"{uuid.uuid4().hex}@{DOMAIN}"
    text = (
        f"From: Tester <tester@{DOMAIN}>\r\n"
        f"To: {to}@{DOMAIN}\r\n"
        f"Subject: {subject}\r\n"
        f"Date: {email.utils.formatdate()}\r\n"
        f"Message-ID: <{msgid}>\r\n"
        "\r\n" + body.replace("\n", "\r\n")
    )
    return text.encode(), msgid


def lmtp_deliver(dovecot, rcpt="alice", message=None):
    """Deliver one message by LMTP; returns its Message-ID (without <>)."""
    if message is None:
        message, msgid = make_message(to=rcpt)
    else:
        msgid = None
    with smtplib.LMTP("127.0.0.1", dovecot.lmtp_port, timeout=10) as s:
        refused = s.sendmail(f"tester@{DOMAIN}", [f"{rcpt}@{DOMAIN}"], message)
        if refused:
            raise AssertionError(f"LMTP refused: {refused}")
    return msgid


def pop3(dovecot, user="alice", password=None):
    p = poplib.POP3("127.0.0.1", dovecot.pop3_port, timeout=10)
    p.user(user)
    p.pass_(password or USERS[user])
    return p


class RawImap:
    """A line-level IMAP client for what imaplib cannot send (e.g. MULTIAPPEND)."""

    def __init__(self, dovecot, timeout=10):
        self.s = socket.create_connection(("127.0.0.1", dovecot.imap_port), timeout=timeout)
        self.f = self.s.makefile("rb")
        self.n = 0
        self.readline()  # greeting

    def readline(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("IMAP server closed the connection")
        return line.decode("utf-8", "replace").rstrip("\r\n")

    def command(self, raw):
        """Send `tag raw` (raw may hold CRLFs and LITERAL+ literals); return (untagged, tagged line)."""
        self.n += 1
        tag = f"r{self.n}"
        self.s.sendall(f"{tag} ".encode() + (raw if isinstance(raw, bytes) else raw.encode()) + b"\r\n")
        untagged = []
        while True:
            line = self.readline()
            if line.startswith(tag + " "):
                return untagged, line[len(tag) + 1:]
            untagged.append(line)

    def close(self):
        try:
            self.command("LOGOUT")
        except (OSError, ConnectionError):
            pass
        self.s.close()
