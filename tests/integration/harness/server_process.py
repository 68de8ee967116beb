"""The process of a throw-away server (Redis, PostgreSQL) on a free 127.0.0.1 port, in its own dir."""

import os
import shutil
import signal
import subprocess
import tempfile

from .util import LIVE, free_port, tail, wait_until


class ServerProcess:
    """A server's process: a subclass's start() launches it and hands it to _watch_start();
    stop() (the stop signal, SIGKILL after `timeout`), kill() (SIGKILL), restart(); cleanup()
    last. The port and the dir stay the same across restarts.

    root: the folder the dir `name` is made in; without one, a temporary folder of its own,
    removed by cleanup(). The server writes its log to `log_name` in the dir.
    """

    program = "server"  # the binary, for errors
    kind = "server"  # the server, for the log's tail in diagnostics

    def __init__(self, root, name, log_name):
        self.owns_root = root is None
        self.root = root or tempfile.mkdtemp(prefix="dovewarden-it-")
        self.dir = os.path.join(self.root, name)
        self.log = os.path.join(self.dir, log_name)
        self.port = free_port()
        self.proc = None
        self.returncode = None

    def _watch_start(self, proc, answers, what, timeout, then=None):
        """Take proc as the server's, wait up to timeout for answers() (what: the wait's name
        in its error), then call then(), if any. If the server exits first or anything
        fails, prints diagnostics, kills it and raises. Returns self."""
        self.proc = proc
        self.returncode = None
        LIVE.append(self)
        try:
            wait_until(lambda: self.proc.poll() is not None or answers(), timeout, what=what)
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.program} exited with {self.proc.returncode} at start-up")
            if then is not None:
                then()
        except BaseException:
            print(self.diagnostics())
            self.kill()
            raise
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _signal_stop(self):
        """Asks the server to stop: SIGTERM unless a subclass says otherwise."""
        self.proc.send_signal(signal.SIGTERM)

    def _kill_server(self):
        """Before proc is killed: SIGKILL to the server where proc is not the server itself."""

    def stop(self, timeout=10):
        if self.running():
            self._signal_stop()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._forget()

    def kill(self):
        """kill -9: nothing flushed beyond what the server already wrote."""
        if self.running():
            self._kill_server()
            self.proc.kill()
            self.proc.wait()
        self._forget()

    def restart(self, *args, **kwargs):
        """stop(), then start() with the arguments given."""
        self.stop()
        return self.start(*args, **kwargs)

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

    def diagnostics(self):
        return f"--- tail of {self.kind} log {self.log} ---\n{tail(self.log)}"
