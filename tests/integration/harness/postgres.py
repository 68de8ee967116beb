"""A throw-away PostgreSQL cluster (Debian's binaries) on a free 127.0.0.1 port, in its own dir."""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile

from .util import LIVE, free_port, tail, wait_until


def _bindir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise AssertionError("PostgreSQL is not installed (Debian's postgresql package)")
    return os.path.dirname(found[-1])


class Postgres:
    """start(), stop() (a fast shutdown), kill() (SIGKILL), restart(); cleanup() last.

    The cluster is made by initdb in `dir`, owned by the `postgres` system user
    (the server refuses to run as root), with trust authentication for the
    local user `postgres` and a password for `dovewarden`, who owns the
    database `dovewarden`. The port and the data stay the same across restarts.
    """

    def __init__(self, root=None, name="postgres", password="audit-secret"):
        self.owns_root = root is None
        self.root = root or tempfile.mkdtemp(prefix="dovewarden-it-")
        self.dir = os.path.join(self.root, name)
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "postgres.log")
        self.password = password
        self.port = free_port()
        self.bindir = _bindir()
        self.proc = None
        self.returncode = None
        self.account = pwd.getpwnam("postgres")

    @property
    def dsn(self):
        return (f"host=127.0.0.1 port={self.port} dbname=dovewarden user=dovewarden "
                f"password={self.password} connect_timeout=5")

    def _as_postgres(self, args, **kw):
        return subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True,
                              capture_output=True, text=True, **kw)

    def _initdb(self):
        os.makedirs(self.dir, exist_ok=True)
        # the cluster's owner needs to reach its files through the temp dirs
        for d in (self.root, self.dir):
            os.chmod(d, 0o755)
        os.chown(self.dir, self.account.pw_uid, self.account.pw_gid)
        self._as_postgres([os.path.join(self.bindir, "initdb"), "-D", self.data, "-A", "trust",
                           "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale", "C"])

    def start(self, timeout=30):
        first = not os.path.exists(self.data)
        if first:
            self._initdb()
        args = [os.path.join(self.bindir, "postgres"), "-D", self.data, "-k", self.dir,
                "-c", "listen_addresses=127.0.0.1", "-p", str(self.port),
                "-c", "fsync=off", "-c", "max_connections=50"]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(["runuser", "-u", "postgres", "--", *args],
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        self.returncode = None
        LIVE.append(self)
        try:
            wait_until(lambda: self.proc.poll() is not None or self.ready(), timeout,
                       what=f"PostgreSQL on port {self.port} to accept connections")
            if self.proc.poll() is not None:
                raise AssertionError(f"postgres exited with {self.proc.returncode} at start-up")
            if first:
                self.sql(f"CREATE ROLE dovewarden LOGIN PASSWORD '{self.password}'")
                self.sql("CREATE DATABASE dovewarden OWNER dovewarden")
        except BaseException:
            print(self.diagnostics())
            self.kill()
            raise
        return self

    def ready(self):
        return subprocess.run([os.path.join(self.bindir, "pg_isready"), "-q", "-h", "127.0.0.1",
                               "-p", str(self.port)], check=False).returncode == 0

    def sql(self, statement, db="postgres"):
        """Run statement as the superuser; returns psql's unaligned output."""
        return self._as_postgres([os.path.join(self.bindir, "psql"), "-X", "-q", "-A", "-t",
                                  "-v", "ON_ERROR_STOP=1", "-h", self.dir, "-p", str(self.port),
                                  "-d", db, "-c", statement]).stdout

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=20):
        if self.running():
            # SIGINT: the fast shutdown, which disconnects clients at once
            self._as_postgres(["kill", "-INT", str(self.server_pid())], timeout=5)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._forget()

    def server_pid(self):
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            return int(f.readline())

    def kill(self):
        if self.running():
            try:
                os.kill(self.server_pid(), 9)
            except (OSError, ValueError):
                pass
            self.proc.kill()
            self.proc.wait()
        self._forget()

    def restart(self, timeout=30):
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

    def diagnostics(self):
        return f"--- tail of postgres log {self.log} ---\n{tail(self.log)}"
