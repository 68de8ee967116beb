"""A primary and a replica Dovecot for replication tests, and how to compare them.

Never log in (IMAP, POP3) on the replica before a user's first sync: that
creates an INBOX with another GUID and dsync then fails for that user. Compare
with doveadm only (mailbox_state), which opens no mailbox that does not exist.
"""

import base64
import difflib
import json
import os
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from .dovecot import Dovecot
from .util import Timeout

SIDES = ("primary", "replica")


class Pair:
    """Two Dovecots under one temp dir, each with a plain doveadm listener for dsync.

    Each side's plugin (if loaded) sends to its own `endpoint` (attribute of the
    Dovecot object), where a daemon of that side may listen.
    primary_options / replica_options: more Dovecot() keyword arguments per side
    (e.g. plugin=False, extra_conf=...); **options apply to both.
    root: an empty directory to live in instead of a new temp dir.
    """

    def __init__(self, name="dw-pair", primary_options=None, replica_options=None, root=None,
                 **options):
        self.root = root or tempfile.mkdtemp(prefix="dovewarden-it-")
        os.chmod(self.root, 0o755)
        self.primary = self._side("primary", name, {**options, **(primary_options or {})})
        self.replica = self._side("replica", name, {**options, **(replica_options or {})})

    def _side(self, side, name, options):
        root = os.path.join(self.root, side)
        sockdir = os.path.join(root, "dw")
        os.makedirs(sockdir)
        os.chmod(root, 0o755)
        os.chmod(sockdir, 0o755)  # the mail uid traverses it to reach the socket
        endpoint = f"ipc://{sockdir}/events.sock"
        settings = {"dovewarden_endpoint": endpoint}
        settings.update(options.pop("settings", None) or {})
        d = Dovecot(root=root, settings=settings, name=f"{name}-{side}", doveadm_tcp=True, **options)
        d.endpoint = endpoint
        d.side = side
        return d

    def start(self):
        try:
            self.primary.start()
            self.replica.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def cleanup(self):
        try:
            self.replica.stop()
        finally:
            self.primary.stop()
            if not os.environ.get("DW_KEEP"):
                shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    def other(self, dovecot):
        return self.replica if dovecot is self.primary else self.primary

    def daemon_env(self, side="primary"):
        """The replication settings of a daemon on `side` replicating to the other side."""
        src = getattr(self, side)
        dst = self.other(src)
        return {
            "DOVEWARDEN_DOVEADM_URL": f"http://127.0.0.1:{src.doveadm_port}",
            "DOVEWARDEN_DOVEADM_PASSWORD": src.doveadm_password,
            "DOVEWARDEN_DOVEADM_DEST": f"tcp:127.0.0.1:{dst.doveadm_tcp_port}",
        }

    def sync(self, user, state="", full=False, src=None, timeout=30):
        """One `doveadm sync` through src's (default: the primary's) doveadm HTTP API
        to the other side's tcp listener, the way the daemon does it.
        Returns the new dsync state; raises AssertionError on any failure."""
        src = src or self.primary
        params = {"user": user, "destination": [f"tcp:127.0.0.1:{self.other(src).doveadm_tcp_port}"],
                  "state": state}
        if full:
            params["fullSync"] = True
        answer = doveadm_http(src, [["sync", params, "t1"]], timeout=timeout)
        if answer[0][0] != "doveadmResponse":
            raise AssertionError(f"doveadm sync of {user} failed: {answer}")
        return (answer[0][1] or [{}])[0].get("state", "")


def doveadm_http(dovecot, commands, timeout=30):
    """POST commands to dovecot's doveadm HTTP API; returns the decoded answer."""
    auth = base64.b64encode(f"doveadm:{dovecot.doveadm_password}".encode()).decode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{dovecot.doveadm_port}/doveadm/v1", data=json.dumps(commands).encode(),
        headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise AssertionError(f"doveadm HTTP API of {dovecot.conf}: {e}") from e


def mailbox_state(dovecot, user):
    """A comparable snapshot of user's mail on dovecot, read with doveadm only:
    {"subscribed": [names], "mailboxes": {name: {"guid", "uidvalidity",
    "messages": sorted [(message-id, message guid, flags without \\Recent)]}}}.
    Opens only mailboxes that exist, so it is safe on a not yet synced replica."""
    # three doveadm processes at once (~0.1 s each here); the CLI, not the HTTP
    # API, so that polling leaves no log lines in the way of diagnostics
    with ThreadPoolExecutor(3) as pool:
        status, fetched, subscribed = [f.result().stdout for f in [
            pool.submit(dovecot.doveadm, "mailbox", "status", "-u", user, "guid uidvalidity messages", "*"),
            pool.submit(dovecot.doveadm, "-f", "json", "fetch", "-u", user,
                        "mailbox guid flags hdr.message-id", "ALL"),
            pool.submit(dovecot.doveadm, "mailbox", "list", "-s", "-u", user)]]
    mailboxes = {}
    for line in status.splitlines():
        m = re.match(r"^(.*?) messages=(\d+) uidvalidity=(\d+) guid=(\w+)$", line.strip())
        if not m:
            raise AssertionError(f"unexpected doveadm mailbox status line {line!r}")
        mailboxes[m.group(1)] = {"guid": m.group(4), "uidvalidity": int(m.group(3)),
                                 "count": int(m.group(2)), "messages": []}
    for msg in json.loads(fetched or "[]"):
        box = mailboxes.setdefault(msg["mailbox"], {"guid": None, "uidvalidity": None,
                                                    "count": None, "messages": []})
        flags = " ".join(sorted(f for f in msg["flags"].split() if f != "\\Recent"))
        box["messages"].append((msg["hdr.message-id"].strip(), msg["guid"], flags))
    for box in mailboxes.values():
        box["messages"].sort()
    return {"mailboxes": mailboxes, "subscribed": sorted(s for s in subscribed.split("\n") if s)}


def _pretty(state):
    lines = [f"subscribed: {', '.join(state['subscribed']) or '-'}"]
    for name in sorted(state["mailboxes"]):
        box = state["mailboxes"][name]
        lines.append(f"mailbox {name}: guid={box['guid']} uidvalidity={box['uidvalidity']} "
                     f"messages={box['count']}")
        lines += [f"  {msgid} {guid} [{flags}]" for msgid, guid, flags in box["messages"]]
    return lines


def state_diff(a, b, a_name="primary", b_name="replica"):
    return "\n".join(difflib.unified_diff(_pretty(a), _pretty(b), a_name, b_name, lineterm=""))


def wait_converged(primary, replica, user, timeout=15, interval=0.2):
    """Poll until user's mailbox_state is the same on both; returns it.
    On timeout fails with a diff of the last two snapshots."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with ThreadPoolExecutor(2) as pool:
                a, b = [f.result() for f in [pool.submit(mailbox_state, primary, user),
                                             pool.submit(mailbox_state, replica, user)]]
        except AssertionError as e:
            # a sync renaming or deleting a mailbox while doveadm reads it fails
            # that read ("Mailbox was deleted under us"); the next one sees the result
            if time.monotonic() >= deadline:
                raise Timeout(f"{user}'s mail could not be read within {timeout:g}s: {e}") from e
            time.sleep(interval)
            continue
        if a == b:
            return a
        if time.monotonic() >= deadline:
            raise Timeout(f"{user} did not converge within {timeout:g}s "
                          f"({primary.side if hasattr(primary, 'side') else primary.conf} → "
                          f"{replica.side if hasattr(replica, 'side') else replica.conf}):\n"
                          + state_diff(a, b, getattr(primary, "side", "a"), getattr(replica, "side", "b")))
        time.sleep(interval)
