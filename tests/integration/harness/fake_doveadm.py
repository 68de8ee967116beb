"""A stand-in for Dovecot's doveadm HTTP API that syncs nothing and records
every `sync` asked of it: the fault suite's witness of what the daemon
replicated, at thousands of users a second.

    with FakeDoveadm() as doveadm:
        env.update(doveadm.daemon_env())
        ... run a daemon, post events ...
        doveadm.synced()        # {user: times synced}
        doveadm.down()          # connection refused from now on
        doveadm.up()            # the same port answers again
        doveadm.fail(user)      # that user's syncs end with an error
        doveadm.hold(user)      # that user's syncs wait until release()

`user` lookups answer plain userdb fields (replicate, no mail_replica), so
the daemon syncs every user to the destination it was given.
"""

import http.server
import json
import threading
from collections import Counter

from .util import LIVE, free_port

PASSWORD = "fake-doveadm"


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a daemon killed mid-request: what it asked for is recorded already


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # doveadm answers Connection: close

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            ((command, params, tag),) = json.loads(body)
        except ValueError:
            self.send_error(400)
            return
        fake = self.server.fake
        fake.record(command, params)
        if command == "sync" and fake.waits_for(params["user"]):
            self.answer(["error", {"type": "exitCode", "exitCode": fake.exit_code(params["user"])}, tag])
            return
        if command == "sync":
            payload = [{"state": "fake-state"}]
        elif command == "user":
            payload = {params["userMask"]: {"uid": "5000", "gid": "5000"}}
        else:
            payload = []
        self.answer(["doveadmResponse", payload, tag])

    def answer(self, response):
        answer = json.dumps([response]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format, *args):
        pass


class FakeDoveadm:
    def __init__(self):
        self.port = free_port()
        self._lock = threading.Lock()
        self._syncs = Counter()
        self._server = None
        self._thread = None
        self._failing = {}
        self._released = threading.Event()
        self._held = set()

    def fail(self, user, exit_code=75):
        """Answer user's syncs with doveadm's error exit_code (75: tempfail)."""
        with self._lock:
            self._failing[user] = exit_code

    def hold(self, user):
        """Keep user's syncs waiting for an answer until release()."""
        with self._lock:
            self._held.add(user)

    def release(self):
        self._released.set()

    def waits_for(self, user):
        """Waits while user is held; True if user's sync is to fail."""
        with self._lock:
            held = user in self._held
        if held:
            self._released.wait()
        with self._lock:
            return user in self._failing

    def exit_code(self, user):
        with self._lock:
            return self._failing[user]

    def record(self, command, params):
        if command == "sync":
            with self._lock:
                self._syncs[params["user"]] += 1

    def synced(self):
        """{user: how many syncs of that user were asked for}"""
        with self._lock:
            return dict(self._syncs)

    def daemon_env(self):
        return {"DOVEWARDEN_DOVEADM_URL": f"http://127.0.0.1:{self.port}",
                "DOVEWARDEN_DOVEADM_PASSWORD": PASSWORD,
                "DOVEWARDEN_DOVEADM_DEST": "tcp:127.0.0.1:1"}

    def up(self):
        if self._server is None:
            self._server = _Server(("127.0.0.1", self.port), _Handler)
            self._server.fake = self
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            kwargs={"poll_interval": 0.05}, daemon=True)
            self._thread.start()
            if self not in LIVE:
                LIVE.append(self)
        return self

    def down(self):
        """Stop listening: the daemon's next requests are refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    def cleanup(self):
        self.release()
        self.down()
        if self in LIVE:
            LIVE.remove(self)

    def diagnostics(self):
        synced = self.synced()
        return (f"--- fake doveadm on port {self.port}: {len(synced)} user(s) synced, "
                f"{sum(synced.values())} sync(s)")

    def __enter__(self):
        return self.up()

    def __exit__(self, *exc):
        self.cleanup()
