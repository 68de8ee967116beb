"""The real dovewardend: start, stop, kill; read its stream; scrape its metrics."""

import http.client
import json
import os
import re
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request

from .util import LIVE, REPO, free_port, tail, wait_until


def daemon_path():
    return os.environ.get("DW_DAEMON", os.path.join(REPO, "daemon", "dovewardend"))


class Stream:
    """The daemon's NDJSON stream file, read incrementally."""

    def __init__(self, path):
        self.path = path
        self._pos = 0
        self._buf = b""
        self.events = []
        self.bad_lines = []

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self._pos)
                data = f.read()
        except FileNotFoundError:
            return self.events
        self._pos += len(data)
        self._buf += data
        *lines, self._buf = self._buf.split(b"\n")
        for line in lines:
            if not line.strip():
                continue
            try:
                self.events.append(json.loads(line))
            except ValueError:
                self.bad_lines.append(line)
        return self.events

    def mark(self, quiet=None):
        """Position to pass to since()/wait_for(after=...).

        quiet: first wait until nothing arrived for that many seconds, so that
        stragglers of earlier sessions stay before the mark."""
        if quiet:
            self.settle(quiet)
        return len(self.poll())

    def since(self, mark=0):
        return self.poll()[mark:]

    def wait_for(self, pred, count=1, after=0, timeout=10, what=None):
        """Wait until at least `count` events after `after` satisfy pred; return them."""
        def check():
            hits = [e for e in self.since(after) if pred(e)]
            return hits if len(hits) >= count else None
        return wait_until(check, timeout, what=what or f"{count} matching event(s) on {self.path}")

    def settle(self, quiet=0.5, timeout=10):
        """Wait until no new event arrived for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        n = len(self.poll())
        last_change = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            m = len(self.poll())
            if m != n:
                n, last_change = m, time.monotonic()
            elif time.monotonic() - last_change >= quiet:
                return self.events
        return self.events


def parse_metrics(text):
    """Prometheus text format → {(name, frozenset(labels.items())): value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)', line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), frozenset(labels.items()))] = float(m.group(3))
    return out


class Daemon:
    """One dovewardend process. Each start() writes a new stream file.

    Every listener gets a free port (metrics, the HTTP event listener, the admin
    API), and the store a dir of its own under root that outlives restarts; `env`
    (DOVEWARDEN_* settings) may override any of them and may be changed between
    restarts through `extra_env`.
    """

    def __init__(self, root, endpoint, env=None, name="dovewardend"):
        self.root = root
        self.endpoint = endpoint
        self.extra_env = dict(env or {})
        self.name = name
        self.metrics_port = free_port()
        self.http_port = free_port()
        self.admin_port = free_port()
        self.admin_token = secrets.token_hex(16)
        self.store = os.path.join(root, f"{name}-store")
        self.proc = None
        self.runs = 0
        self.stream = None
        self.stderr_path = None
        self.returncode = None

    def start(self, timeout=10, wait_ready=True, stdout=None):
        """stdout: where the daemon's stdout goes (for DOVEWARDEN_STREAM=-);
        by default into the file of its log lines."""
        self.runs += 1
        tag = f"{self.name}-{self.runs}"
        self.stream = Stream(os.path.join(self.root, f"{tag}.ndjson"))
        self.stderr_path = os.path.join(self.root, f"{tag}.stderr")
        # as private as dovewardend makes it, which warns of one that is not
        os.makedirs(self.store, mode=0o700, exist_ok=True)
        env = dict(os.environ)
        env.update({
            "DOVEWARDEN_ZMQ_ENDPOINT": self.endpoint,
            "DOVEWARDEN_STREAM": self.stream.path,
            # everything the plugin sends: reads pass only where named
            "DOVEWARDEN_STREAM_EVENTS": "*,message.open",
            "DOVEWARDEN_METRICS_ADDR": f"127.0.0.1:{self.metrics_port}",
            "DOVEWARDEN_HTTP_ADDR": f"127.0.0.1:{self.http_port}",
            "DOVEWARDEN_ADMIN_ADDR": f"127.0.0.1:{self.admin_port}",
            "DOVEWARDEN_ADMIN_TOKEN": self.admin_token,
            "DOVEWARDEN_STORE_PATH": self.store,
        })
        env.update(self.extra_env)
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen([daemon_path()], env=env, stdin=subprocess.DEVNULL,
                                         stdout=err if stdout is None else stdout,
                                         stderr=err)
        self.returncode = None
        LIVE.append(self)
        if wait_ready:
            try:
                wait_until(lambda: self.proc.poll() is not None or self.http_status("/readyz") == 200,
                           timeout, what="dovewardend /readyz to answer 200")
                if self.proc.poll() is not None:
                    raise AssertionError(f"dovewardend exited with {self.proc.returncode} at start-up")
            except BaseException:
                print(self.diagnostics())
                self.kill()
                raise
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=5):
        """SIGTERM; return (exit status, seconds taken). SIGKILL after `timeout`."""
        if self.proc is None:
            return self.returncode, 0.0
        t = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        took = time.monotonic() - t
        self._forget()
        return self.returncode, took

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._forget()

    def _forget(self):
        if self.proc is not None:
            self.returncode = self.proc.returncode
        self.proc = None
        if self in LIVE:
            LIVE.remove(self)

    # ---- HTTP -----------------------------------------------------------
    def url(self, path):
        return f"http://127.0.0.1:{self.metrics_port}{path}"

    def http_status(self, path):
        try:
            with urllib.request.urlopen(self.url(path), timeout=2) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            return None

    def post(self, path, body, content_type="application/json", timeout=10):
        """POST body to the HTTP event listener; returns (status, response body).

        A server that answers before reading all of a large body and closes
        may break our send: the answer is still read when it came."""
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=timeout)
        try:
            try:
                conn.request("POST", path, body=body, headers={"Content-Type": content_type})
            except (BrokenPipeError, ConnectionResetError):
                pass
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def admin(self, method, path, body=None, token=None):
        """Call the admin API; returns (status, decoded JSON answer or None)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.admin_port}{path}", data=data,
                                     method=method,
                                     headers={"Authorization": f"Bearer {token or self.admin_token}",
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status, text = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read()
        return status, (json.loads(text) if text else None)

    def metrics(self):
        with urllib.request.urlopen(self.url("/metrics"), timeout=5) as r:
            return parse_metrics(r.read().decode())

    def metric(self, name, **labels):
        """Sum of all samples of `name` whose labels include `labels`."""
        want = set(labels.items())
        return sum(v for (n, ls), v in self.metrics().items() if n == name and want <= ls)

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def diagnostics(self):
        text = f"--- tail of dovewardend output {self.stderr_path} ---\n{tail(self.stderr_path)}"
        if self.stream is not None:
            own = [e for e in self.stream.poll() if e.get("type", "").startswith(("replication.", "daemon."))]
            if own:
                text += (f"\n--- last replication/daemon events of {self.stream.path} ---\n"
                         + "\n".join(json.dumps(e) for e in own[-10:]))
        return text
