"""A real HTTP webhook receiver for the tests: it checks Standard Webhooks
signatures with its own implementation of the algorithm, records every
request, and answers as a test scripts it, per path.

    with Receiver(secrets=[secret]) as rx:
        rx.script("/a", respond(500), respond(200))   # then the default, 200
        rx.script("/b", hang(30))                     # never answers in time
        ... register rx.url("/a") and rx.url("/b") as endpoints ...
        (req,) = rx.wait_for(1, timeout=10, path="/a")
        assert req.signature_valid and req.json["type"] == "message.new"

The signature of a message is base64(HMAC-SHA256(key, "id.timestamp.body"))
where key is the base64-decoded part of "whsec_<base64>"; the webhook-signature
header holds space-separated "v1,<base64>" entries, one per secret the sender
signs with, and is valid if any of them matches a secret the receiver knows
(https://www.standardwebhooks.com/, "Verifying webhook authenticity").
"""

import base64
import binascii
import hashlib
import hmac
import http.server
import json
import socket
import threading
import time

from .util import LIVE, Timeout

TOLERANCE = 300  # seconds a webhook-timestamp may be off, as the spec's libraries allow


# ---------------------------------------------------------------- signatures

def secret_key(secret):
    """The HMAC key of a "whsec_<base64>" secret (the prefix is optional)."""
    if isinstance(secret, bytes):
        return secret
    if secret.startswith("whsec_"):
        secret = secret[len("whsec_"):]
    return base64.b64decode(secret, validate=True)


def sign(secret, msg_id, timestamp, body):
    """The "v1,<base64>" signature of a message, as a sender makes it."""
    if isinstance(body, str):
        body = body.encode()
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class Verdict:
    """What checking one request's signature gave."""

    def __init__(self, valid, reason, matched=(), signatures=0):
        self.valid = valid
        self.reason = reason          # "" if valid, else why not
        self.matched = list(matched)  # the receiver's secrets that matched, in its order
        self.signatures = signatures  # "v1," entries the header held

    def __repr__(self):
        return f"Verdict(valid={self.valid}, reason={self.reason!r}, " \
               f"matched={len(self.matched)}, signatures={self.signatures})"


def verify(secrets, headers, body, tolerance=TOLERANCE, now=None):
    """Checks a delivery against the secrets the receiver knows.

    headers: a mapping with lower-case names; tolerance: seconds, None to
    accept any webhook-timestamp (for a test vector's fixed old timestamp)."""
    msg_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    header = headers.get("webhook-signature", "")
    if not (msg_id and timestamp and header):
        return Verdict(False, "missing webhook-id, webhook-timestamp or webhook-signature")
    if not timestamp.isdigit():
        return Verdict(False, f"webhook-timestamp {timestamp!r} is not integer seconds")
    given = []
    for entry in header.split(" "):
        version, comma, value = entry.partition(",")
        if not comma or version != "v1":
            continue  # other schemes (v1a, …) are not ours to check
        try:
            given.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            given.append(b"")  # counted, matches nothing
    if not given:
        return Verdict(False, f"no v1 signature in {header!r}")
    if tolerance is not None:
        skew = int(timestamp) - (time.time() if now is None else now)
        if abs(skew) > tolerance:
            return Verdict(False, f"webhook-timestamp is {skew:+.0f}s off (tolerance {tolerance}s)",
                           signatures=len(given))
    content = f"{msg_id}.{timestamp}.".encode() + body
    matched = []
    for secret in secrets:
        expected = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
        # every entry is compared, so that all matching secrets are recorded
        if any([hmac.compare_digest(expected, sig) for sig in given]):
            matched.append(secret)
    if not matched:
        return Verdict(False, "no signature matches a known secret", signatures=len(given))
    return Verdict(True, "", matched, len(given))


# ---------------------------------------------------------------- answers

class Action:
    """One scripted answer: status, headers and body, or a hang."""

    def __init__(self, status=200, headers=None, body=b"", hang=None):
        self.status = status
        self.headers = dict(headers or {})
        self.body = body.encode() if isinstance(body, str) else body
        self.hang = hang  # seconds to hold the request without answering, then close

    def __repr__(self):
        return f"hang({self.hang})" if self.hang is not None else f"respond({self.status})"


def respond(status=200, headers=None, body=b""):
    """Answer with this status, these headers and this body."""
    return Action(status, headers, body)


def hang(seconds):
    """Do not answer for `seconds` (or until the receiver stops), then close
    the connection without an answer."""
    return Action(hang=seconds)


class Request:
    """One request as the receiver saw it."""

    def __init__(self, at, method, target, headers, raw_headers, body, verdict):
        self.at = at                    # time.time() when it was read
        self.method = method
        self.target = target            # as sent, query included
        self.path = target.split("?", 1)[0]
        self.headers = headers          # lower-case name -> value
        self.raw_headers = raw_headers  # [(name, value)] as sent
        self.body = body                # bytes
        self.verdict = verdict
        self.answer = None              # the Action answered with; None: none (yet)
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    @property
    def webhook_id(self):
        return self.headers.get("webhook-id")

    @property
    def signature_valid(self):
        return self.verdict.valid

    @property
    def signatures(self):
        return self.verdict.signatures

    @property
    def matched_secrets(self):
        return self.verdict.matched

    @property
    def events(self):
        """The payloads the body carries: one, or a batch's array."""
        if isinstance(self.json, list):
            return self.json
        return [self.json] if isinstance(self.json, dict) else []

    def __repr__(self):
        return f"<{self.method} {self.target} id={self.webhook_id} valid={self.verdict.valid}>"


class _Path:
    def __init__(self, default):
        self.queue = []
        self.default = default
        self.delay = 0.0


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a hanging handler must not hold up stop()
    allow_reuse_address = True


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as libcurl likes it
    server_version = "dovewarden-test-receiver"
    timeout = 60  # an idle keep-alive connection closes after this

    def setup(self):
        super().setup()
        self.server.receiver._opened(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.receiver._closed(self.connection)

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _serve(self):
        rx = self.server.receiver
        body = self._read_body()
        headers = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        request = Request(time.time(), self.command, self.path, headers,
                          list(self.headers.items()), body,
                          verify(rx.secrets, headers, body, rx.tolerance))
        action, delay = rx._record(request)
        if delay and rx._stopping.wait(delay):
            action = hang(0)
        if action.hang is not None:
            rx._stopping.wait(action.hang)
            self.close_connection = True  # no answer at all
            return
        rx._answered(request, action)  # before the client can see it
        self.send_response(action.status)
        for name, value in action.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(action.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(action.body)

    do_POST = do_PUT = do_GET = do_DELETE = do_PATCH = do_HEAD = _serve

    def log_message(self, format, *args):
        pass  # the records are the log


class Receiver:
    """An HTTP server on 127.0.0.1 (a free port unless given) that records and
    verifies webhook deliveries and answers as scripted per path."""

    def __init__(self, secrets=(), tolerance=TOLERANCE, host="127.0.0.1", port=0,
                 default=None):
        """secrets: the "whsec_…" secrets to verify with (several for a
        rotation); tolerance: seconds a webhook-timestamp may be off, None for
        no check; default: the answer of a path with nothing scripted
        (respond(200) unless given)."""
        self.secrets = list(secrets)
        self.tolerance = tolerance
        self._default = default or respond(200)
        self._lock = threading.Condition()
        self._paths = {}
        self._records = []
        self._connections = set()
        self._stopping = threading.Event()
        self._server = _Server((host, port), _Handler)
        self._server.receiver = self
        self.host, self.port = self._server.server_address[:2]
        self._thread = None

    # -- life

    def start(self):
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            kwargs={"poll_interval": 0.05},
                                            name=f"receiver:{self.port}", daemon=True)
            self._thread.start()
            LIVE.append(self)
        return self

    def stop(self):
        """Stops serving: hanging requests end, open connections are closed."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
        self._server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self in LIVE:
            LIVE.remove(self)

    cleanup = stop  # what run.py calls on whatever is still LIVE

    def diagnostics(self):
        """The last requests, for a failing test's report."""
        records = self.requests()
        lines = [f"--- receiver {self.url()}: {len(records)} request(s), "
                 f"{len(self.unique_ids())} distinct webhook-id(s)"]
        for r in records[-10:]:
            answer = r.answer if r.answer is not None else "no answer"
            lines.append(f"{time.strftime('%H:%M:%S', time.localtime(r.at))} {r.method} {r.target} "
                         f"id={r.webhook_id} valid={r.verdict.valid} {r.verdict.reason} -> {answer}")
        return "\n".join(lines)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- scripting

    def url(self, path="/"):
        if not path.startswith("/"):
            path = "/" + path
        return f"http://{self.host}:{self.port}{path}"

    def _path(self, path):
        key = path.split("?", 1)[0]
        if key not in self._paths:
            self._paths[key] = _Path(self._default)
        return self._paths[key]

    def script(self, path, *actions, then=None):
        """Queues answers for path, given in order to its next requests; after
        them its default answer (then, if given)."""
        with self._lock:
            p = self._path(path)
            p.queue.extend(actions)
            if then is not None:
                p.default = then

    def default(self, path, action):
        """The answer of path once its queue is empty."""
        with self._lock:
            self._path(path).default = action

    def delay(self, seconds, path="/"):
        """Waits this long before every answer on path (a slow endpoint)."""
        with self._lock:
            self._path(path).delay = seconds

    def _record(self, request):
        with self._lock:
            self._records.append(request)
            p = self._path(request.path)
            action = p.queue.pop(0) if p.queue else p.default
            self._lock.notify_all()
            return action, p.delay

    def _answered(self, request, action):
        with self._lock:
            request.answer = action
            self._lock.notify_all()

    def _opened(self, conn):
        with self._lock:
            self._connections.add(conn)

    def _closed(self, conn):
        with self._lock:
            self._connections.discard(conn)

    # -- what came

    def requests(self, path=None):
        """Every request received (on path only if given), oldest first."""
        with self._lock:
            return [r for r in self._records if path is None or r.path == path]

    def webhook_ids(self, path=None):
        """The webhook-id of every request, oldest first, repeats included."""
        return [r.webhook_id for r in self.requests(path)]

    def unique_ids(self, path=None):
        """The distinct webhook-ids received: one per message, however often
        it was sent (the receiver's idempotency key)."""
        return set(i for i in self.webhook_ids(path) if i is not None)

    def duplicates(self, path=None):
        """{webhook-id: times received} of the ids received more than once."""
        counts = {}
        for i in self.webhook_ids(path):
            counts[i] = counts.get(i, 0) + 1
        return {i: n for i, n in counts.items() if n > 1}

    def counts(self, path=None):
        """(requests, distinct webhook-ids): at-least-once means the first
        may exceed the second, never the other way round."""
        return len(self.requests(path)), len(self.unique_ids(path))

    def events(self, path=None, valid_only=True):
        """The payloads received, batches flattened; validly signed ones only
        unless valid_only is False."""
        return [e for r in self.requests(path) if r.signature_valid or not valid_only
                for e in r.events]

    def wait_for(self, what, timeout=10.0, path=None):
        """Waits until `what` holds for the requests (on path only if given):
        an int is a count of requests, a callable gets the request list and
        returns something truthy. Returns the requests, or the callable's
        value. Raises Timeout (an AssertionError) when time runs out."""
        if isinstance(what, int):
            count = what
            test = lambda rs: rs if len(rs) >= count else None  # noqa: E731
            described = f"{count} request(s)"
        else:
            test = what
            described = getattr(what, "__name__", "a condition")
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [r for r in self._records if path is None or r.path == path]
                value = test(found)
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Timeout(f"receiver {self.url(path or '/')}: timed out after {timeout:g}s "
                                  f"waiting for {described}; got {len(found)}: {found[-5:]}")
                self._lock.wait(min(left, 0.2))
