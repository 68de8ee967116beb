"""The webhook receiver of the harness on its own: signatures, scripts, hangs.

The sender side is computed here from the Standard Webhooks test vector (the
reference library's tests/test_webhooks.py, test_sign_function), so that the
receiver's own verification is checked against the published algorithm.
"""

import base64
import hashlib
import hmac
import socket
import time
import unittest
import urllib.error
import urllib.request

from harness import Receiver, Timeout, hang, respond, sign

VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = '{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

OTHER_SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()


def sender_sign(secret, msg_id, ts, body):
    """What a sender puts in webhook-signature for one secret (written apart
    from the receiver's code on purpose)."""
    key = base64.b64decode(secret.split("_", 1)[1])
    mac = hmac.new(key, f"{msg_id}.{ts}.{body}".encode(), hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx comes back as an HTTPError, as the daemon sees it


def post(url, body, headers=None, timeout=5.0):
    """(status, response headers, response body); no redirect is followed."""
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def webhook_headers(msg_id, ts, signature):
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature}


class ReceiverTest(unittest.TestCase):
    def receiver(self, **kwargs):
        rx = Receiver(**kwargs).start()
        self.addCleanup(rx.stop)
        return rx

    def test_vector(self):
        """The sender side here and the receiver's sign() give the published signature."""
        self.assertEqual(sender_sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY), VECTOR_SIGNATURE)
        self.assertEqual(sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY), VECTOR_SIGNATURE)

    def test_signed_request_verifies(self):
        rx = self.receiver(secrets=[VECTOR_SECRET], tolerance=None)
        status, _, _ = post(rx.url("/hook"), VECTOR_BODY,
                            webhook_headers(VECTOR_ID, VECTOR_TS, VECTOR_SIGNATURE))
        self.assertEqual(status, 200)
        (req,) = rx.wait_for(1)
        self.assertTrue(req.signature_valid, req.verdict.reason)
        self.assertEqual(req.matched_secrets, [VECTOR_SECRET])
        self.assertEqual(req.signatures, 1)
        self.assertEqual(req.webhook_id, VECTOR_ID)
        self.assertEqual(req.path, "/hook")
        self.assertEqual(req.method, "POST")
        self.assertEqual(req.body, VECTOR_BODY.encode())
        self.assertEqual(req.json, {"test": 2432232314})
        self.assertEqual(req.headers["content-type"], "application/json")
        self.assertEqual(req.answer.status, 200)

    def test_tampered_body_fails(self):
        rx = self.receiver(secrets=[VECTOR_SECRET], tolerance=None)
        post(rx.url(), '{"test": 2432232315}', webhook_headers(VECTOR_ID, VECTOR_TS, VECTOR_SIGNATURE))
        post(rx.url(), VECTOR_BODY, webhook_headers(VECTOR_ID + "x", VECTOR_TS, VECTOR_SIGNATURE))
        post(rx.url(), VECTOR_BODY, webhook_headers(VECTOR_ID, VECTOR_TS + 1, VECTOR_SIGNATURE))
        post(rx.url(), VECTOR_BODY, {"webhook-id": VECTOR_ID, "webhook-timestamp": str(VECTOR_TS)})
        reqs = rx.wait_for(4)
        for req in reqs:
            self.assertFalse(req.signature_valid, req)
        self.assertIn("no signature matches", reqs[0].verdict.reason)
        self.assertIn("missing", reqs[3].verdict.reason)

    def test_timestamp_tolerance(self):
        """The vector's 2021 timestamp passes only with the check off; a fresh one passes with it."""
        rx = self.receiver(secrets=[VECTOR_SECRET])
        post(rx.url(), VECTOR_BODY, webhook_headers(VECTOR_ID, VECTOR_TS, VECTOR_SIGNATURE))
        now = int(time.time())
        post(rx.url(), VECTOR_BODY,
             webhook_headers(VECTOR_ID, now, sender_sign(VECTOR_SECRET, VECTOR_ID, now, VECTOR_BODY)))
        future = now + 3600
        post(rx.url(), VECTOR_BODY,
             webhook_headers(VECTOR_ID, future, sender_sign(VECTOR_SECRET, VECTOR_ID, future, VECTOR_BODY)))
        old, fresh, ahead = rx.wait_for(3)
        self.assertFalse(old.signature_valid)
        self.assertIn("tolerance", old.verdict.reason)
        self.assertTrue(fresh.signature_valid, fresh.verdict.reason)
        self.assertFalse(ahead.signature_valid)

    def test_two_secrets(self):
        """A rotation: two signatures in one header, each recognised by its secret."""
        both = " ".join([sender_sign(OTHER_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY), VECTOR_SIGNATURE])
        headers = webhook_headers(VECTOR_ID, VECTOR_TS, both)
        knows_both = self.receiver(secrets=[VECTOR_SECRET, OTHER_SECRET], tolerance=None)
        knows_old = self.receiver(secrets=[VECTOR_SECRET], tolerance=None)
        knows_none = self.receiver(secrets=["whsec_" + base64.b64encode(b"x" * 32).decode()],
                                   tolerance=None)
        for rx in (knows_both, knows_old, knows_none):
            post(rx.url(), VECTOR_BODY, headers)
        (req,) = knows_both.wait_for(1)
        self.assertTrue(req.signature_valid)
        self.assertEqual(req.signatures, 2)
        self.assertEqual(req.matched_secrets, [VECTOR_SECRET, OTHER_SECRET])
        (req,) = knows_old.wait_for(1)
        self.assertTrue(req.signature_valid)
        self.assertEqual(req.matched_secrets, [VECTOR_SECRET])
        (req,) = knows_none.wait_for(1)
        self.assertFalse(req.signature_valid)
        self.assertEqual(req.signatures, 2)

    def test_script_per_path(self):
        """/a answers 500 then 200 (its default), /b keeps its own script."""
        rx = self.receiver()
        rx.script("/a", respond(500, body="boom"))
        rx.script("/b", respond(410), then=respond(204))
        self.assertEqual(post(rx.url("/a"), "{}")[0], 500)
        self.assertEqual(post(rx.url("/b"), "{}")[0], 410)
        self.assertEqual(post(rx.url("/a"), "{}")[0], 200)
        self.assertEqual(post(rx.url("/a"), "{}")[0], 200)
        self.assertEqual(post(rx.url("/b"), "{}")[0], 204)
        self.assertEqual([r.answer.status for r in rx.requests("/a")], [500, 200, 200])
        self.assertEqual([r.answer.status for r in rx.requests("/b")], [410, 204])
        self.assertEqual(len(rx.requests()), 5)

    def test_retry_after_and_location(self):
        rx = self.receiver()
        rx.script("/", respond(429, headers={"Retry-After": "2"}),
                  respond(301, headers={"Location": "http://127.0.0.1:1/"}))
        status, headers, _ = post(rx.url(), "{}")
        self.assertEqual(status, 429)
        self.assertEqual(headers["Retry-After"], "2")
        status, headers, _ = post(rx.url(), "{}")
        self.assertEqual(status, 301)
        self.assertEqual(headers["Location"], "http://127.0.0.1:1/")
        self.assertEqual(len(rx.requests()), 2, "the redirect was not followed")

    def test_hang_times_the_client_out(self):
        rx = self.receiver()
        rx.script("/slow", hang(30))
        with self.assertRaises((socket.timeout, TimeoutError, urllib.error.URLError)) as caught:
            post(rx.url("/slow"), "{}", timeout=0.5)
        if isinstance(caught.exception, urllib.error.URLError):
            self.assertIsInstance(caught.exception.reason, (socket.timeout, TimeoutError))
        (req,) = rx.requests("/slow")
        self.assertIsNone(req.answer, "a hang gives no answer")
        self.assertEqual(post(rx.url("/slow"), "{}")[0], 200, "after the hang: the default")
        started = time.monotonic()
        rx.script("/slow", hang(30))
        with self.assertRaises(Exception):
            post(rx.url("/slow"), "{}", timeout=0.5)
        rx.stop()
        self.assertLess(time.monotonic() - started, 20, "stop() ends a hang")

    def test_delay(self):
        rx = self.receiver()
        rx.delay(0.3, "/slow")
        started = time.monotonic()
        self.assertEqual(post(rx.url("/slow"), "{}")[0], 200)
        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        self.assertEqual(post(rx.url("/fast"), "{}")[0], 200)

    def test_dedup_and_wait_for(self):
        rx = self.receiver()
        for msg_id in ("msg_1", "msg_2", "msg_1"):
            post(rx.url(), '{"type":"message.new","data":{}}', {"webhook-id": msg_id})
        post(rx.url(), '[{"type":"flags.set"},{"type":"message.read"}]', {"webhook-id": "msg_3"})
        self.assertEqual(rx.counts(), (4, 3))
        self.assertEqual(rx.unique_ids(), {"msg_1", "msg_2", "msg_3"})
        self.assertEqual(rx.duplicates(), {"msg_1": 2})
        self.assertEqual([e["type"] for e in rx.events(valid_only=False)],
                         ["message.new", "message.new", "message.new", "flags.set", "message.read"])
        self.assertEqual(rx.events(), [], "nothing was signed")
        self.assertEqual(rx.wait_for(lambda rs: [r for r in rs if r.webhook_id == "msg_3"])[0].json[1],
                         {"type": "message.read"})
        with self.assertRaises(Timeout):
            rx.wait_for(5, timeout=0.3)


if __name__ == "__main__":
    unittest.main()
