"""Webhooks: events from a real Dovecot session delivered by dovewardend to a real
HTTP receiver that checks every Standard Webhooks signature with its own code."""

import fcntl
import http.server
import json
import os
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from harness import Daemon, Env, Imap, Redis, free_port, lmtp_deliver, wait_until
from harness.receiver import Receiver, hang, respond

ENV = None
RX = None

SETTINGS = {
    # short enough for a test, long enough to tell the attempts apart
    "DOVEWARDEN_WEBHOOK_RETRY_SCHEDULE": "0s,300ms,300ms,300ms,300ms",
    "DOVEWARDEN_WEBHOOK_ALLOW_NETS": "127.0.0.0/8",
    "DOVEWARDEN_LOG_LEVEL": "debug",
}
WITHIN = 15  # seconds a delivery may take on a loaded machine


def setUpModule():
    global ENV, RX
    RX = Receiver().start()
    ENV = Env(daemon_env=SETTINGS).start()
    # the first delivery creates the users' INBOXes: out of the way before any endpoint exists
    for user in ("alice", "bob"):
        lmtp_deliver(ENV.dovecot, user)
    ENV.stream.wait_for(lambda e: e.get("type") == "message.new", count=2)


def tearDownModule():
    try:
        if RX:
            RX.stop()
    finally:
        if ENV:
            ENV.cleanup()


def cli_path():
    from harness import REPO
    return os.environ.get("DW_CLI", os.path.join(REPO, "cli", "dovewarden"))


def run_cli(daemon, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOVEWARDEN_")}
    env.update({"DOVEWARDEN_ADMIN_ADDR": f"127.0.0.1:{daemon.admin_port}",
                "DOVEWARDEN_ADMIN_TOKEN": daemon.admin_token,
                "DOVEWARDEN_CONFIG": os.devnull})
    return subprocess.run([cli_path(), *args], env=env, capture_output=True, text=True, timeout=20)


class WebhookCase(unittest.TestCase):
    daemon = None  # the module's unless a test uses its own

    def setUp(self):
        self.daemon = ENV.daemon
        self.endpoints = []

    def tearDown(self):
        for daemon, endpoint_id in self.endpoints:
            if daemon.running():
                daemon.admin("DELETE", f"/v1/webhooks/{endpoint_id}")

    def add(self, path, events, daemon=None, expect=201, **fields):
        daemon = daemon or self.daemon
        body = {"url": fields.pop("url", None) or RX.url(path), "events": events}
        body.update(fields)
        status, answer = daemon.admin("POST", "/v1/webhooks", body)
        self.assertEqual(status, expect, answer)
        if status == 201:
            self.endpoints.append((daemon, answer["id"]))
            RX.secrets.append(answer["secret"])
        return answer

    def deliveries(self, endpoint_id, daemon=None):
        status, answer = (daemon or self.daemon).admin("GET", f"/v1/webhooks/{endpoint_id}/deliveries")
        self.assertEqual(status, 200, answer)
        return answer

    def wait_requests(self, path, count, timeout=WITHIN):
        wait_until(lambda: len(RX.requests(path)) >= count, timeout,
                   what=f"{count} requests on {path}, have {len(RX.requests(path))}")
        return RX.requests(path)

    def assertSigned(self, request):
        self.assertTrue(request.signature_valid, f"signature does not verify: {request.headers}")
        self.assertTrue(request.webhook_id.startswith("msg_"), request.webhook_id)
        self.assertEqual(request.headers.get("content-type"), "application/json")
        self.assertTrue(request.headers.get("user-agent", "").startswith("dovewarden/"))


class DeliveryTest(WebhookCase):
    def test_session_events_reach_the_subscribed_endpoints_only(self):
        """LMTP delivery → message.new, IMAP STORE → flags.set, both signed; a mailbox.*
        endpoint gets neither; a filter on user and mailbox picks bob's INBOX only."""
        out = run_cli(self.daemon, "webhook", "add", "--url", RX.url("/all"),
                      "--events", "message.*,flags.*", "--json")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        created = json.loads(out.stdout)
        self.endpoints.append((self.daemon, created["id"]))
        RX.secrets.append(created["secret"])
        self.assertTrue(created["secret"].startswith("whsec_"))
        self.add("/mailboxes", ["mailbox.*"])
        self.add("/bob", ["message.*"], filter='user=bob* AND mailbox="INBOX"')

        lmtp_deliver(ENV.dovecot, "alice")
        (new,) = self.wait_requests("/all", 1)
        self.assertSigned(new)
        self.assertEqual(new.json["type"], "message.new")
        self.assertEqual(new.json["data"]["mailbox"], "INBOX")
        self.assertTrue(new.json["data"]["user"].startswith("alice"))
        self.assertRegex(new.json["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

        m = Imap(ENV.dovecot, "alice", password="secret")
        m.select("INBOX")
        m.store("1", "+FLAGS", r"(\Flagged)")
        m.logout()
        flags = self.wait_requests("/all", 2)[1]
        self.assertSigned(flags)
        self.assertEqual(flags.json["type"], "flags.set")

        lmtp_deliver(ENV.dovecot, "bob")
        (bobs,) = self.wait_requests("/bob", 1)
        self.assertTrue(bobs.json["data"]["user"].startswith("bob"))
        time.sleep(1.0)  # what else would have come by now
        self.assertEqual(len(RX.requests("/bob")), 1, "alice's events pass bob's filter")
        self.assertEqual(RX.requests("/mailboxes"), [], "message and flag events reached mailbox.*")

    def test_500_then_200_is_one_delivery_with_two_attempts(self):
        endpoint = self.add("/retry", ["webhook.test"])
        RX.script("/retry", respond(500))
        status, answer = self.daemon.admin("POST", f"/v1/webhooks/{endpoint['id']}/test")
        self.assertEqual(status, 202, answer)
        first, second = self.wait_requests("/retry", 2)
        self.assertEqual(first.webhook_id, second.webhook_id, "the idempotency key changed")
        self.assertGreaterEqual(second.at - first.at, 0.2, "the schedule's 300 ms (-20%) were not kept")
        wait_until(lambda: self.deliveries(endpoint["id"])[0]["state"] == "succeeded", WITHIN,
                   what="the delivery to be logged as succeeded")
        self.assertGreaterEqual(self.daemon.metric("dovewarden_webhook_attempts_total", outcome="5xx"), 1)
        self.assertGreaterEqual(self.daemon.metric("dovewarden_webhook_deliveries_total", result="retried"), 1)
        (logged,) = self.deliveries(endpoint["id"])
        self.assertEqual(logged["id"], first.webhook_id)
        self.assertEqual([a["status"] for a in logged["attempts"]], [500, 200])


class OutcomeTest(WebhookCase):
    def send_test(self, endpoint):
        status, answer = self.daemon.admin("POST", f"/v1/webhooks/{endpoint['id']}/test")
        self.assertEqual(status, 202, answer)
        return answer

    def attempts(self, endpoint, count):
        def have():
            log = self.deliveries(endpoint["id"])
            return log and len(log[0]["attempts"]) >= count
        wait_until(have, WITHIN, what=f"{count} attempts logged")
        return self.deliveries(endpoint["id"])[0]["attempts"]

    def test_a_hanging_receiver_times_out(self):
        endpoint = self.add("/hang", ["webhook.test"], timeout="1s")
        RX.script("/hang", hang(6))
        started = time.monotonic()
        self.send_test(endpoint)
        (attempt, *_) = self.attempts(endpoint, 1)
        self.assertLess(time.monotonic() - started, 5.5, "the 1 s timeout did not fire")
        self.assertEqual(attempt["status"], 0)
        self.assertIn("time", attempt["error"].lower())

    def test_410_disables_the_endpoint(self):
        endpoint = self.add("/gone", ["webhook.test"])
        RX.default("/gone", respond(410))
        mark = ENV.stream.mark()
        self.send_test(endpoint)
        (event,) = ENV.stream.wait_for(lambda e: e.get("type") == "webhook.endpoint_disabled",
                                       after=mark, timeout=WITHIN)
        self.assertEqual(event["endpoint_id"], endpoint["id"])
        status, shown = self.daemon.admin("GET", f"/v1/webhooks/{endpoint['id']}")
        self.assertFalse(shown["enabled"])
        self.assertIn("410", shown["disabled_reason"])
        time.sleep(1.0)
        self.assertEqual(len(RX.requests("/gone")), 1, "a disabled endpoint was called again")

    def test_a_redirect_is_a_failure_and_not_followed(self):
        endpoint = self.add("/moved", ["webhook.test"])
        RX.default("/moved", respond(301, headers={"Location": RX.url("/elsewhere")}))
        self.send_test(endpoint)
        attempts = self.attempts(endpoint, 2)
        self.assertEqual([a["status"] for a in attempts[:2]], [301, 301])
        self.assertEqual(RX.requests("/elsewhere"), [])

    def test_429_retry_after_is_honoured(self):
        endpoint = self.add("/busy", ["webhook.test"])
        RX.script("/busy", respond(429, headers={"Retry-After": "2"}))
        self.send_test(endpoint)
        first, second = self.wait_requests("/busy", 2)
        self.assertGreaterEqual(second.at - first.at, 1.9, "Retry-After: 2 was not waited for")
        self.assertEqual(first.webhook_id, second.webhook_id)

    def test_a_slow_endpoint_does_not_hold_up_another(self):
        self.add("/slow", ["message.*"], timeout="30s")
        self.add("/fast", ["message.*"])
        RX.delay(8, "/slow")
        started = time.monotonic()
        for _ in range(3):
            lmtp_deliver(ENV.dovecot, "alice")
        self.wait_requests("/fast", 3, timeout=6)
        self.assertLess(time.monotonic() - started, 6)


class TlsTest(WebhookCase):
    def test_an_untrusted_certificate_is_refused(self):
        """A receiver with a self-signed certificate: the TLS handshake fails, nothing
        is sent, and the attempt says why."""
        root = tempfile.mkdtemp(dir=ENV.root)
        key, cert = os.path.join(root, "key.pem"), os.path.join(root, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        got = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                got.append(self.path)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            endpoint = self.add("/tls", ["webhook.test"],
                                url=f"https://127.0.0.1:{server.server_address[1]}/tls")
            self.daemon.admin("POST", f"/v1/webhooks/{endpoint['id']}/test")

            def attempted():
                log = self.deliveries(endpoint["id"])
                return log and log[0]["attempts"] and log[0]["attempts"][0]
            wait_until(attempted, WITHIN, what="an attempt on the TLS receiver")
            self.assertEqual(attempted()["status"], 0)
            self.assertIn("certificate", attempted()["error"].lower())
            self.assertEqual(got, [], "a request went to a receiver whose certificate is not trusted")
        finally:
            server.shutdown()
            server.server_close()


class DurabilityTest(WebhookCase):
    def crash_with_deliveries_pending(self, path):
        """Deliveries failing with 503 when dovewardend is killed are delivered after the
        restart; the receiver dedups on webhook-id: every message once, at least."""
        self.add(path, ["message.new"])
        RX.default(path, respond(503))
        for _ in range(5):
            lmtp_deliver(ENV.dovecot, "bob")
        wait_until(lambda: len(RX.unique_ids(path)) >= 5, WITHIN, what="5 deliveries attempted")
        self.daemon.kill()
        RX.default(path, respond(200))
        self.daemon.start()
        accepted = lambda: {r.webhook_id for r in RX.requests(path)  # noqa: E731
                            if r.answer is not None and r.answer.status == 200}
        # what the killed daemon had claimed stays leased to it: the lease's
        # margin (60 s), the endpoint's timeout (15 s) and 5 s of slack, then it
        # goes again
        wait_until(lambda: len(accepted()) >= 5, WITHIN + 60 + 15 + 5,
                   what="5 deliveries accepted after the restart")
        self.assertEqual(accepted(), RX.unique_ids(path), "a delivery was lost")
        self.assertEqual(len(accepted()), 5)
        self.assertTrue(all(r.signature_valid for r in RX.requests(path)))

    def test_kill_9_with_deliveries_pending_loses_none(self):
        self.crash_with_deliveries_pending("/durable")

    def test_the_same_with_the_outbox_in_redis(self):
        redis = Redis(root=ENV.root, appendonly=True).start()
        saved = dict(self.daemon.extra_env)
        self.daemon.stop()
        self.daemon.extra_env.update({"DOVEWARDEN_REDIS_MODE": "external",
                                      "DOVEWARDEN_REDIS_ADDR": redis.addr})
        try:
            self.daemon.start()
            self.crash_with_deliveries_pending("/durable-redis")
            # replication is off here: the webhooks alone say the store is gone
            redis.kill()
            wait_until(lambda: self.daemon.http_status("/readyz") == 503, WITHIN,
                       what="/readyz to say the store is gone")
            redis.start()
            wait_until(lambda: self.daemon.http_status("/readyz") == 200, WITHIN,
                       what="/readyz to recover with the store")
        finally:
            for daemon, endpoint_id in self.endpoints:
                daemon.admin("DELETE", f"/v1/webhooks/{endpoint_id}")
            self.endpoints = []
            self.daemon.stop()
            self.daemon.extra_env = saved
            self.daemon.start()
            redis.cleanup()


class BatchTest(WebhookCase):
    def test_a_batching_endpoint_gets_arrays_signed_once(self):
        self.add("/batch", ["message.new"], batch_max=3, batch_wait="10s")
        for _ in range(3):
            lmtp_deliver(ENV.dovecot, "alice")
        (request,) = self.wait_requests("/batch", 1)
        self.assertSigned(request)
        self.assertIsInstance(request.json, list)
        self.assertEqual([e["type"] for e in request.json], ["message.new"] * 3)
        time.sleep(0.5)
        self.assertEqual(len(RX.requests("/batch")), 1)


class CliTest(WebhookCase):
    def cli(self, *args, rc=0):
        out = run_cli(self.daemon, *args)
        self.assertEqual(out.returncode, rc, f"dovewarden {' '.join(args)}: {out.stdout}{out.stderr}")
        return out.stdout

    def test_manage_an_endpoint_and_its_deliveries(self):
        """add, list, show (the secret only with --secret), disable/enable, test,
        deliveries, redeliver (same webhook-id) and recover of failed deliveries."""
        created = json.loads(self.cli("webhook", "add", "--url", RX.url("/cli"), "--events",
                                      "webhook.test,message.new", "--description", "crm", "--json"))
        endpoint_id, secret = created["id"], created["secret"]
        self.endpoints.append((self.daemon, endpoint_id))
        RX.secrets.append(secret)
        self.assertIn(endpoint_id, self.cli("webhook", "list"))
        self.assertNotIn(secret, self.cli("webhook", "show", endpoint_id))
        self.assertIn(secret, self.cli("webhook", "show", endpoint_id, "--secret"))

        self.cli("webhook", "disable", endpoint_id)
        lmtp_deliver(ENV.dovecot, "alice")
        time.sleep(1.5)
        self.assertEqual(RX.requests("/cli"), [], "a disabled endpoint got an event")
        self.cli("webhook", "enable", endpoint_id)
        self.cli("webhook", "test", endpoint_id)
        first = self.wait_requests("/cli", 1)[-1]
        self.assertSigned(first)
        self.assertEqual(first.json["type"], "webhook.test")
        self.assertEqual(first.json["data"]["endpoint_id"], endpoint_id)

        log = json.loads(self.cli("webhook", "deliveries", endpoint_id, "--json"))
        self.assertIn(first.webhook_id, [d["id"] for d in log])
        self.assertIn(first.webhook_id, self.cli("webhook", "deliveries", endpoint_id))
        self.cli("webhook", "redeliver", first.webhook_id)
        wait_until(lambda: RX.webhook_ids("/cli").count(first.webhook_id) == 2, WITHIN,
                   what="the redelivery")

        RX.default("/cli", respond(500))
        self.cli("webhook", "test", endpoint_id)

        def failed():
            log = json.loads(self.cli("webhook", "deliveries", endpoint_id, "--json"))
            return [d for d in log if d["state"] == "failed"]
        wait_until(failed, WITHIN, what="the schedule to be used up")
        (gave_up,) = failed()
        RX.default("/cli", respond(200))
        self.assertIn("1", self.cli("webhook", "recover", endpoint_id, "--since", "1h"))
        wait_until(lambda: not failed(), WITHIN, what="the recovered delivery to succeed")
        self.assertEqual(RX.webhook_ids("/cli")[-1], gave_up["id"])

    def test_mistakes_are_refused_with_the_nearest_name(self):
        for args, says in ((["--events", "mesage.new"],
                            "unknown event type 'mesage.new'; did you mean 'message.new'?"),
                           (["--events", "message.new", "--filter", "User=alice"],
                            "unknown filter field 'User'; did you mean 'user'?")):
            out = run_cli(self.daemon, "webhook", "add", "--url", RX.url("/typo"), *args)
            self.assertEqual(out.returncode, 64, out.stdout + out.stderr)
            self.assertIn(says, out.stderr)

    def test_a_host_that_does_not_resolve_is_a_warning(self):
        out = run_cli(self.daemon, "webhook", "add", "--url", "http://dw-nowhere.invalid/hook",
                      "--events", "message.new")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        endpoint_id = out.stdout.split()[1]
        self.endpoints.append((self.daemon, endpoint_id))
        self.assertIn("dovewarden: warning: url: dw-nowhere.invalid does not resolve now", out.stderr)
        self.assertIn(endpoint_id, self.cli("webhook", "list"), "accepted all the same")

    def test_a_private_target_is_refused_with_its_reason(self):
        daemon = Daemon(ENV.root, f"ipc://{ENV.sockdir}/cli.sock", name="cli-ssrf").start()
        try:
            out = run_cli(daemon, "webhook", "add", "--url", "http://10.1.2.3/hook", "--events", "*")
            self.assertEqual(out.returncode, 64, out.stdout + out.stderr)
            self.assertIn("10.1.2.3 is a private address", out.stderr)
        finally:
            daemon.kill()


class SecretTest(WebhookCase):
    def test_rotation_signs_with_both_secrets_during_the_grace_period(self):
        endpoint = self.add("/rotate", ["webhook.test"])
        status, rotated = self.daemon.admin("PATCH", f"/v1/webhooks/{endpoint['id']}",
                                            {"rotate_secret": True, "grace": "1h"})
        self.assertEqual(status, 200, rotated)
        new_secret = rotated["secret"]
        self.assertNotEqual(new_secret, endpoint["secret"])
        RX.secrets.append(new_secret)
        self.daemon.admin("POST", f"/v1/webhooks/{endpoint['id']}/test")
        (request,) = self.wait_requests("/rotate", 1)
        self.assertEqual(request.signatures, 2)
        self.assertEqual(set(request.matched_secrets), {endpoint["secret"], new_secret})

    def test_secrets_never_reach_the_logs(self):
        secret = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="
        endpoint = self.add("/quiet", ["webhook.test", "message.*"], secret=secret)
        self.daemon.admin("POST", f"/v1/webhooks/{endpoint['id']}/test")
        lmtp_deliver(ENV.dovecot, "alice")
        requests = self.wait_requests("/quiet", 2)
        logs = self.daemon.stderr_text()
        self.assertIn(endpoint["id"], logs, "the log says nothing of the endpoint at debug level")
        for text in [secret, secret[len("whsec_"):]] + [r.headers["webhook-signature"] for r in requests]:
            self.assertNotIn(text, logs)


# this process's lines in /etc/hosts: the runs on 2.3 and 2.4 share the file
HOSTS_MARK = f"# dovewarden test {os.getpid()}"


def edit_hosts(change):
    """Rewrites /etc/hosts as change(lines) says, under flock(): another
    test process may be rewriting it too."""
    with open("/etc/hosts") as locked:
        fcntl.flock(locked, fcntl.LOCK_EX)
        lines = change(locked.read().splitlines())
        with open("/etc/hosts", "w") as f:
            f.write("".join(line + "\n" for line in lines))


class SsrfTest(unittest.TestCase):
    """A daemon without an allow-list: nothing private is reached."""

    # names of this process alone: another one maps its own elsewhere
    HOST = f"dw-ssrf-check-{os.getpid()}.test"
    LATER = f"dw-ssrf-later-{os.getpid()}.test"

    def setUp(self):
        self.daemon = Daemon(ENV.root, f"ipc://{ENV.sockdir}/ssrf.sock", name="ssrf",
                             env={"DOVEWARDEN_LOG_LEVEL": "debug"}).start()
        self.map_name("10.255.0.7", self.HOST)

    def tearDown(self):
        edit_hosts(lambda lines: [line for line in lines if not line.endswith(HOSTS_MARK)])
        self.daemon.kill()

    @staticmethod
    def map_name(address, name):
        edit_hosts(lambda lines: lines + [f"{address} {name}  {HOSTS_MARK}"])

    def test_literal_loopback_is_refused_at_registration(self):
        status, answer = self.daemon.admin("POST", "/v1/webhooks",
                                           {"url": RX.url("/ssrf"), "events": ["*"]})
        self.assertEqual(status, 400, answer)
        self.assertIn("127.0.0.1", answer["error"])

    def test_names_resolving_to_private_addresses_are_refused_at_registration(self):
        """With the hint a literal address gets."""
        for url, says in ((f"http://localhost:{RX.port}/ssrf", "localhost: "),
                          (f"http://{self.HOST}:{free_port()}/ssrf",
                           f"{self.HOST}: 10.255.0.7 is a private address")):
            status, answer = self.daemon.admin("POST", "/v1/webhooks", {"url": url, "events": ["*"]})
            self.assertEqual(status, 400, answer)
            self.assertIn(says, answer["error"])
            self.assertIn("(DOVEWARDEN_WEBHOOK_ALLOW_NETS allows it)", answer["error"])

    def test_names_resolving_to_private_addresses_later_are_refused_when_dialled(self):
        later = self.LATER
        status, endpoint = self.daemon.admin("POST", "/v1/webhooks",
                                             {"url": f"http://{later}:{RX.port}/ssrf", "events": ["*"]})
        self.assertEqual(status, 201, endpoint)
        self.assertIn(f"url: {later} does not resolve now", endpoint["warnings"][0])
        self.map_name("127.0.0.1", later)
        self.daemon.admin("POST", f"/v1/webhooks/{endpoint['id']}/test")

        def attempted():
            _, log = self.daemon.admin("GET", f"/v1/webhooks/{endpoint['id']}/deliveries")
            return log and log[0]["attempts"] and log[0]["attempts"][0]
        wait_until(attempted, WITHIN, what="an attempt")
        self.assertIn("127.0.0.1 is a loopback address", attempted()["error"])
        self.assertEqual(RX.requests("/ssrf"), [], "a refused address was reached")


if __name__ == "__main__":
    unittest.main()
