"""A stand-in for Dovecot's doveadm HTTP API that syncs nothing and records
every `sync` asked of it: the fault suite's witness of what the daemon
replicated, at thousands of users a second.

    with FakeDoveadm() as doveadm:
        env.update(doveadm.daemon_env())
        ... run a daemon, post events ...
        doveadm.synced()        # {user: times synced}
        doveadm.down()          # connection refused from now on
        doveadm.up()            # the same port answers again

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
        self.server.fake.record(command, params)
        if command == "sync":
            payload = [{"state": "fake-state"}]
        elif command == "user":
            payload = {params["userMask"]: {"uid": "5000", "gid": "5000"}}
        else:
            payload = []
        answer = json.dumps([["doveadmResponse", payload, tag]]).encode()
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
