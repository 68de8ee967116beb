"""The plugin's settings, dsync's origin, and a bad setting that must not stop mail."""

import os
import shutil
import tempfile
import unittest

import msgpack
import zmq
from zmq.utils import z85

from harness import Env, Imap, free_port, lmtp_deliver, wait_until
from harness.clients import make_message
from harness.dovecot import MAIL_GID, MAIL_UID
from checks import Checks


class FieldsAndEventsTest(Checks):
    """dovewarden_fields adds cmd_args and header fields; dovewarden_events selects types."""

    @classmethod
    def setUpClass(cls):
        cls.env = Env(plugin_settings={
            "dovewarden_fields": "cmd_args msgid subject flags",
            "dovewarden_events": "imap_command_finished message.*",
        }).start()

    @classmethod
    def tearDownClass(cls):
        cls.env.cleanup()

    def test_configured_fields_and_types(self):
        stream = self.env.stream
        mark = stream.mark()
        m = Imap(self.env.dovecot)
        m.select("INBOX")
        message, msgid = make_message(subject="quarterly report")
        m.append("INBOX", message, flags="(\\Flagged)")
        m.store("1", "+FLAGS", "(\\Seen)")
        # message.* does not select message.open: only its name does
        m.call("FETCH", m.c.fetch, "1", "(BODY.PEEK[])")
        m.logout()
        stream.wait_for(lambda e: e.get("cmd_name") == "LOGOUT", after=mark)
        events = [e for e in stream.settle()[mark:] if "inst" in e]  # the plugin's
        types = {e["type"] for e in events}
        self.assertEqual(types, {"imap_command_finished", "message.append", "message.read"},
                         "only the selected types: no user.*, no flags.*, no message.open")
        (append,) = [e for e in events if e["type"] == "message.append"]
        self.assertEqual(append["msgid"].strip("<>"), msgid)
        self.assertEqual(append["subject"], "quarterly report")
        self.assertEqual(append["flags"], ["\\Flagged"])
        (select,) = [e for e in events if e.get("cmd_name") == "SELECT"]
        self.assertEqual(select["cmd_args"], "INBOX")


class CurveTest(Checks):
    """A tcp endpoint with CURVE: the plugin's keys, in hex as Dovecot's configuration
    holds them, let it in; a stranger's key does not."""

    @classmethod
    def setUpClass(cls):
        server_public, server_secret = zmq.curve_keypair()
        plugin_public, plugin_secret = zmq.curve_keypair()
        cls.server_public = server_public
        cls.keys = tempfile.mkdtemp(prefix="dovewarden-it-keys-")
        key_file = os.path.join(cls.keys, "server.key")
        with open(os.open(key_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(z85.decode(server_secret).hex() + "\n")
        cls.endpoint = f"tcp://127.0.0.1:{free_port()}"
        cls.env = Env(plugin_settings={
            "dovewarden_endpoint": cls.endpoint,
            "dovewarden_curve_server_key": z85.decode(server_public).hex(),
            "dovewarden_curve_public_key": z85.decode(plugin_public).hex(),
            "dovewarden_curve_secret_key": z85.decode(plugin_secret).hex(),
        }, daemon_env={
            "DOVEWARDEN_ZMQ_ENDPOINT": cls.endpoint,
            "DOVEWARDEN_ZMQ_CURVE_SECRET_KEY_FILE": key_file,
            "DOVEWARDEN_ZMQ_CURVE_CLIENT_KEYS": plugin_public.decode(),
        }).start()

    @classmethod
    def tearDownClass(cls):
        cls.env.cleanup()
        shutil.rmtree(cls.keys, ignore_errors=True)

    def test_the_plugin_is_let_in_and_a_stranger_is_not(self):
        stream = self.env.stream
        mark = stream.mark()
        lmtp_deliver(self.env.dovecot, "alice")
        (new,) = stream.wait_for(lambda e: e.get("type") == "message.new", after=mark)
        self.assertNotIn("sender", new, "tcp: no kernel credentials")

        ctx = zmq.Context()
        self.addCleanup(ctx.term)
        stranger = ctx.socket(zmq.PUSH)
        self.addCleanup(stranger.close, 0)
        stranger.curve_serverkey = self.server_public
        stranger.curve_publickey, stranger.curve_secretkey = zmq.curve_keypair()
        stranger.connect(self.endpoint)
        stranger.send(msgpack.packb({"v": 1, "type": "message.new", "user": "mallory"}))
        wait_until(lambda: self.env.daemon.metric("dovewarden_peers_refused_total",
                                                  reason="unknown_key") >= 1, 5,
                   what="the stranger's key refused")
        self.assertEqual([e for e in stream.poll() if e.get("user") == "mallory"], [])


class DsyncOriginTest(Checks):
    """Changes made by dsync carry origin=dsync, so replication can ignore them."""

    @classmethod
    def setUpClass(cls):
        cls.env = Env().start()

    @classmethod
    def tearDownClass(cls):
        cls.env.cleanup()

    def test_dsync_changes_are_marked(self):
        stream = self.env.stream
        lmtp_deliver(self.env.dovecot, "alice")
        stream.wait_for(lambda e: e.get("type") == "message.new")
        mark = stream.mark(quiet=0.3)
        target = os.path.join(self.env.root, "mail", "alice-copy")
        os.makedirs(target)
        os.chown(target, MAIL_UID, MAIL_GID)
        self.env.dovecot.doveadm("sync", "-u", "alice", f"maildir:{target}/Maildir")
        copied = stream.wait_for(lambda e: e.get("svc") == "doveadm" and
                                 e.get("type", "").startswith("message."), after=mark)
        events = [e for e in stream.settle()[mark:] if e.get("svc") == "doveadm"]
        self.assertTrue(copied)
        for e in events:
            self.assertCommon(e, svc="doveadm", origin="dsync", ip=False)

    def test_doveadm_expunge_is_sent(self):
        # an admin's change in a doveadm process: the sink module is loaded
        # there at its first event, and the event is not dsync's
        stream = self.env.stream
        mark = stream.mark()
        lmtp_deliver(self.env.dovecot, "alice")
        stream.wait_for(lambda e: e.get("type") == "message.new", after=mark)
        mark = stream.mark(quiet=0.3)
        self.env.dovecot.doveadm("expunge", "-u", "alice", "mailbox", "INBOX", "all")
        expunged = stream.wait_for(lambda e: e.get("svc") == "doveadm" and
                                   e.get("type") == "message.expunge", after=mark)
        for e in expunged:
            self.assertCommon(e, svc="doveadm", origin="client", ip=False)
            self.assertFields(e, {"mailbox": "INBOX", "reason": "user"}, e["type"])


class BadSettingTest(Checks):
    """A bad plugin setting is one clear error line; mail keeps flowing."""

    @classmethod
    def setUpClass(cls):
        cls.env = Env(plugin_settings={"dovewarden_queue_limit": "lots"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.env.cleanup()

    def test_bad_queue_limit(self):
        m = Imap(self.env.dovecot)
        m.select("INBOX")
        m.append("INBOX", make_message()[0])
        m.logout()
        lmtp_deliver(self.env.dovecot, "alice")
        errors = [line for line in self.env.dovecot.log_text().splitlines()
                  if "Error: dovewarden: dovewarden_queue_limit" in line]
        self.assertTrue(errors, self.env.dovecot.log_text())
        self.assertIn("'lots' is not a number from 1 to", errors[0])
        plugin_events = [e for e in self.env.stream.settle(0.3) if "inst" in e]
        self.assertEqual(plugin_events, [], "a user with a bad setting sends nothing")


if __name__ == "__main__":
    unittest.main()
