"""A throw-away PostgreSQL cluster (Debian's binaries) on a free 127.0.0.1 port, in its own dir."""

import glob
import os
import pwd
import subprocess

from .server_process import ServerProcess


def _bindir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise AssertionError("PostgreSQL is not installed (Debian's postgresql package)")
    return os.path.dirname(found[-1])


class Postgres(ServerProcess):
    """start(), stop() (a fast shutdown), kill() (SIGKILL), restart(); cleanup() last.

    The cluster is made by initdb in `dir`, owned by the `postgres` system user
    (the server refuses to run as root), with trust authentication for the
    local user `postgres` and a password for `dovewarden`, who owns the
    database `dovewarden`. The port and the data stay the same across restarts.
    """

    program = "postgres"
    kind = "postgres"

    def __init__(self, root=None, name="postgres", password="audit-secret"):
        super().__init__(root, name, "postgres.log")
        self.data = os.path.join(self.dir, "data")
        self.password = password
        self.bindir = _bindir()
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
            proc = subprocess.Popen(["runuser", "-u", "postgres", "--", *args],
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

        def create_database():
            if first:
                self.sql(f"CREATE ROLE dovewarden LOGIN PASSWORD '{self.password}'")
                self.sql("CREATE DATABASE dovewarden OWNER dovewarden")

        return self._watch_start(proc, self.ready, f"PostgreSQL on port {self.port} to accept connections",
                                 timeout, then=create_database)

    def ready(self):
        return subprocess.run([os.path.join(self.bindir, "pg_isready"), "-q", "-h", "127.0.0.1",
                               "-p", str(self.port)], check=False).returncode == 0

    def sql(self, statement, db="postgres"):
        """Run statement as the superuser; returns psql's unaligned output."""
        return self._as_postgres([os.path.join(self.bindir, "psql"), "-X", "-q", "-A", "-t",
                                  "-v", "ON_ERROR_STOP=1", "-h", self.dir, "-p", str(self.port),
                                  "-d", db, "-c", statement]).stdout

    def _signal_stop(self):
        # SIGINT: the fast shutdown, which disconnects clients at once
        self._as_postgres(["kill", "-INT", str(self.server_pid())], timeout=5)

    def stop(self, timeout=20):
        super().stop(timeout)

    def server_pid(self):
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            return int(f.readline())

    def _kill_server(self):
        try:
            os.kill(self.server_pid(), 9)
        except (OSError, ValueError):
            pass
