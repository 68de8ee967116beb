"""A steady load of `POST /events` on a daemon's HTTP listener, from a few
keep-alive clients, each request naming a user of its own; it keeps the
users the daemon accepted (202), whatever happens to the daemon meanwhile.

    load = IntakeLoad(daemon, body_of=lambda user: ..., clients=3).start()
    ... kill the daemon, its store, its doveadm ...
    load.stop()
    load.accepted   # the users whose request was answered 202
    load.answers    # Counter of answers: 202, 500, "refused", ...
"""

import http.client
import itertools
import threading
from collections import Counter


class IntakeLoad:
    def __init__(self, daemon, body_of, clients=3, prefix="u", pause=0.0):
        """body_of(user) -> the body that reports a change of user; pause: seconds
        each client waits between requests (0: as fast as the daemon answers)."""
        self.daemon = daemon
        self.body_of = body_of
        self.clients = clients
        self.prefix = prefix
        self.pause = pause
        self.accepted = set()
        self.answers = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self._numbers = itertools.count()

    def start(self):
        for i in range(self.clients):
            t = threading.Thread(target=self._client, name=f"intake-load-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(15)
        return self

    def sent(self):
        with self._lock:
            return sum(self.answers.values())

    def _note(self, user, answer):
        with self._lock:
            self.answers[answer] += 1
            if answer == 202:
                self.accepted.add(user)

    def _client(self):
        conn = None
        while not self._stop.is_set():
            user = f"{self.prefix}{next(self._numbers)}"
            # the port is read each time: a restarted daemon keeps its ports
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.daemon.http_port, timeout=10)
            try:
                conn.request("POST", "/events", body=self.body_of(user),
                             headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                self._note(user, r.status)
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                # refused while the daemon is away, reset when it dies mid-request:
                # not accepted, whatever the daemon did with it
                self._note(user, "refused" if isinstance(e, ConnectionRefusedError) else "broken")
                conn.close()
                conn = None
                self._stop.wait(0.02)
                continue
            if self.pause:
                self._stop.wait(self.pause)
        if conn is not None:
            conn.close()
