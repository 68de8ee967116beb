"""A Dovecot with the plugin plus a dovewardend reading from it, under one temp dir."""

import os
import shutil
import tempfile

from .daemon import Daemon
from .dovecot import Dovecot


class Env:
    def __init__(self, plugin_settings=None, daemon_env=None, start_daemon=True, name="dw-test",
                 **dovecot_options):
        self.root = tempfile.mkdtemp(prefix="dovewarden-it-")
        os.chmod(self.root, 0o755)
        self.sockdir = os.path.join(self.root, "dw")
        os.makedirs(self.sockdir)
        os.chmod(self.sockdir, 0o755)
        self.endpoint = f"ipc://{self.sockdir}/events.sock"
        settings = {"dovewarden_endpoint": self.endpoint}
        settings.update(plugin_settings or {})
        self.dovecot = Dovecot(root=self.root, settings=settings, name=name, **dovecot_options)
        self.daemon = Daemon(self.root, self.endpoint, env=daemon_env)
        self.start_daemon = start_daemon

    def start(self):
        try:
            if self.start_daemon:
                self.daemon.start()
            self.dovecot.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def cleanup(self):
        try:
            self.dovecot.stop()
        finally:
            self.daemon.kill()
            if not os.environ.get("DW_KEEP"):
                shutil.rmtree(self.root, ignore_errors=True)

    @property
    def stream(self):
        return self.daemon.stream


def by_session(events, user=None, svc=None):
    """Group plugin events into sessions, keyed by (inst, session); each sorted by seq."""
    groups = {}
    for e in events:
        if "inst" not in e or e.get("type", "").startswith(("daemon.", "events.")):
            continue
        if user is not None and e.get("user") != user:
            continue
        if svc is not None and e.get("svc") != svc:
            continue
        groups.setdefault((e["inst"], e.get("session")), []).append(e)
    for evs in groups.values():
        evs.sort(key=lambda e: e["seq"])
    return groups


def split_by_command(events):
    """Split one IMAP session's events (seq order) into
    [(imap_command_finished or None, [events sent before it])]; the last entry
    (command None) holds what came after the last command (user.logout)."""
    out, pending = [], []
    for e in events:
        if e["type"] == "imap_command_finished":
            out.append((e, pending))
            pending = []
        else:
            pending.append(e)
    out.append((None, pending))
    return out
