"""A throw-away redis-server on a free 127.0.0.1 port, in its own dir."""

import os
import socket
import subprocess

from .server_process import ServerProcess
from .util import wait_until


class RedisError(AssertionError):
    pass


class Redis(ServerProcess):
    """start(), stop() (SHUTDOWN by SIGTERM), kill() (SIGKILL), restart(); cleanup() last.

    appendonly: keep an AOF in `dir`, so what was acknowledged survives kill()
    + start(); otherwise nothing is persisted. appendfsync: when the AOF is
    synced to disk, "everysec" or "always".
    The port and the dir stay the same across restarts.
    """

    program = "redis-server"
    kind = "redis"

    def __init__(self, root=None, appendonly=False, name="redis", replicaof=None,
                 appendfsync="everysec"):
        """replicaof: a Redis this one replicates (a replica of it)."""
        super().__init__(root, name, "redis.log")
        self.name = name
        self.appendonly = appendonly
        self.replicaof = replicaof
        self.appendfsync = appendfsync

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    def arguments(self):
        args = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--dir", self.dir,
                "--daemonize", "no", "--logfile", self.log, "--save", "", "--protected-mode", "yes",
                "--appendonly", "yes" if self.appendonly else "no"]
        if self.appendonly:
            args += ["--appendfsync", self.appendfsync]
        if self.replicaof is not None:
            args += ["--replicaof", "127.0.0.1", str(self.replicaof.port)]
        # a replica's first sync at once, not after the default 5 s
        args += ["--repl-diskless-sync-delay", "0"]
        return args

    def loaded(self):
        return b"loading:0" in self.command("INFO", "persistence")

    def start(self, timeout=10):
        os.makedirs(self.dir, exist_ok=True)
        proc = subprocess.Popen(self.arguments(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.STDOUT, cwd=self.dir)

        def finished_loading():
            # with an AOF, PING answers while the file still loads: wait for it
            wait_until(self.loaded, timeout, what="redis-server to finish loading")

        return self._watch_start(proc, self.ping, f"redis-server on port {self.port} to answer PING",
                                 timeout, then=finished_loading)

    # ---- a minimal RESP client ---------------------------------------------
    def command(self, *args, timeout=5):
        """Send one command; returns the raw reply bytes (enough for tests)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(self._encode(*args))
            return self._read_reply(s.makefile("rb"))

    @staticmethod
    def _encode(*args):
        parts = [f"*{len(args)}\r\n".encode()]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(parts)

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

    def replicated(self, timeout_ms=5000):
        """How many replicas acknowledge every write made so far: a write of its own,
        then WAIT on the same connection (the replicas' offsets cover what came before)."""
        request = b"".join(self._encode(*c) for c in (("SET", "harness:replicated", "1"),
                                                       ("WAIT", 1, timeout_ms)))
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout_ms / 1000 + 5) as s:
            s.sendall(request)
            f = s.makefile("rb")
            self._read_reply(f)
            return int(self._read_reply(f))

    def keys(self, pattern="*"):
        return sorted(k.decode() for k in self.command("KEYS", pattern))


class Sentinel(Redis):
    """A redis-sentinel (Debian's) watching `master` as `name`, quick to call it down
    and to fail over. Its configuration file, which it rewrites as it learns, stays
    across restarts."""

    def __init__(self, root, master, name="mymaster", quorum=2, down_after_ms=1000,
                 failover_timeout_ms=5000, dirname="sentinel"):
        super().__init__(root=root, name=dirname)
        self.master_name = name
        self.config = os.path.join(self.dir, "sentinel.conf")
        self.lines = [f"sentinel monitor {name} 127.0.0.1 {master.port} {quorum}",
                      f"sentinel down-after-milliseconds {name} {down_after_ms}",
                      f"sentinel failover-timeout {name} {failover_timeout_ms}"]

    def arguments(self):
        if not os.path.exists(self.config):
            with open(self.config, "w") as f:
                f.write("\n".join(self.lines) + "\n")
        return ["redis-sentinel", self.config, "--bind", "127.0.0.1", "--port", str(self.port),
                "--dir", self.dir, "--daemonize", "no", "--logfile", self.log]

    def loaded(self):
        return True

    def ping(self):
        try:
            return self.command("PING", timeout=1) == b"PONG"
        except RedisError as e:  # with requirepass: an answer all the same
            return str(e).startswith("NOAUTH")
        except OSError:
            return False

    def master(self):
        """What this sentinel knows of the master: SENTINEL MASTER as a dict."""
        reply = self.command("SENTINEL", "MASTER", self.master_name)
        return {k.decode(): v.decode() for k, v in zip(reply[::2], reply[1::2])}

    def master_port(self):
        """The port of the master this sentinel names now."""
        return int(self.command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.master_name)[1])
