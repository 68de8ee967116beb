"""A throw-away redis-server on a free 127.0.0.1 port, in its own dir."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile

from .util import LIVE, free_port, tail, wait_until


class RedisError(AssertionError):
    pass


class Redis:
    """start(), stop() (SHUTDOWN by SIGTERM), kill() (SIGKILL), restart(); cleanup() last.

    appendonly: keep an AOF in `dir`, so what was acknowledged survives kill()
    + start(); otherwise nothing is persisted. appendfsync: when the AOF is
    synced to disk, "everysec" or "always".
    The port and the dir stay the same across restarts.
    """

    def __init__(self, root=None, appendonly=False, name="redis", appendfsync="everysec"):
        self.owns_root = root is None
        self.root = root or tempfile.mkdtemp(prefix="dovewarden-it-")
        self.dir = os.path.join(self.root, name)
        self.log = os.path.join(self.dir, "redis.log")
        self.name = name
        self.appendonly = appendonly
        self.appendfsync = appendfsync
        self.port = free_port()
        self.proc = None
        self.returncode = None

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    def start(self, timeout=10):
        os.makedirs(self.dir, exist_ok=True)
        args = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--dir", self.dir,
                "--daemonize", "no", "--logfile", self.log, "--save", "", "--protected-mode", "yes",
                "--appendonly", "yes" if self.appendonly else "no"]
        if self.appendonly:
            args += ["--appendfsync", self.appendfsync]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT, cwd=self.dir)
        self.returncode = None
        LIVE.append(self)
        try:
            wait_until(lambda: self.proc.poll() is not None or self.ping(), timeout,
                       what=f"redis-server on port {self.port} to answer PING")
            if self.proc.poll() is not None:
                raise AssertionError(f"redis-server exited with {self.proc.returncode} at start-up")
            # with an AOF, PING answers while the file still loads: wait for it
            wait_until(lambda: b"loading:0" in self.command("INFO", "persistence"), timeout,
                       what="redis-server to finish loading")
        except BaseException:
            print(self.diagnostics())
            self.kill()
            raise
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._forget()

    def kill(self):
        """kill -9: nothing flushed beyond what redis already wrote."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._forget()

    def restart(self, timeout=10):
        self.stop()
        return self.start(timeout)

    def _forget(self):
        if self.proc is not None:
            self.returncode = self.proc.returncode
        self.proc = None
        if self in LIVE:
            LIVE.remove(self)

    def cleanup(self):
        self.kill()
        if not os.environ.get("DW_KEEP"):
            shutil.rmtree(self.dir if not self.owns_root else self.root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    # ---- a minimal RESP client ---------------------------------------------
    def command(self, *args, timeout=5):
        """Send one command; returns the raw reply bytes (enough for tests)."""
        parts = [f"*{len(args)}\r\n".encode()]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(b"".join(parts))
            return self._read_reply(s.makefile("rb"))

    def _read_reply(self, f):
        line = f.readline()
        if not line:
            raise RedisError("redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind in (b"+", b":"):
            return rest
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else f.read(n + 2)[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read_reply(f) for _ in range(n)]
        raise RedisError(f"unexpected reply {line!r}")

    def ping(self):
        try:
            return self.command("PING", timeout=1) == b"PONG"
        except (OSError, RedisError):
            return False

    def keys(self, pattern="*"):
        return sorted(k.decode() for k in self.command("KEYS", pattern))

    def diagnostics(self):
        return f"--- tail of redis log {self.log} ---\n{tail(self.log)}"

