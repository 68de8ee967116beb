#!/usr/bin/python3
"""scripts/demo's engine: a throw-away Dovecot with the plugin and dovewardend
under ./run/, a short IMAP + LMTP session, events streaming until Ctrl-C."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # keep the source tree clean

from harness import (REPO, Dovecot, Imap, daemon_path, lmtp_deliver,  # noqa: E402
                     make_message, wait_until)
from harness.dovecot import MAIL_GID, MAIL_UID  # noqa: E402
from harness.util import pid_alive, tail  # noqa: E402

RUN = os.path.join(REPO, "run")
METRICS = os.environ.get("DOVEWARDEN_METRICS_ADDR", "127.0.0.1:9090")


def say(msg):
    print(f"demo: {msg}", file=sys.stderr, flush=True)


def reachable_by_mail_uid(path):
    """Can uid 5000 traverse to `path`? (the mail processes must reach the maildirs and the socket)"""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(MAIL_GID)
            os.setuid(MAIL_UID)
            os._exit(0 if os.access(path, os.X_OK) else 1)
        except BaseException:
            os._exit(2)
    return os.waitpid(pid, 0)[1] == 0


def stop_leftovers(root):
    pidfile = os.path.join(root, "run", "master.pid")
    try:
        pid = int(open(pidfile).read().strip())
    except (OSError, ValueError):
        return
    # only a Dovecot master started by an earlier demo from this very directory
    try:
        cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        return
    if os.path.join(root, "dovecot.conf").encode() in cmdline:
        say(f"stopping the Dovecot an earlier demo left running (pid {pid})")
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: not pid_alive(pid), 10, what="the old Dovecot to stop")


def main():
    os.makedirs(RUN, exist_ok=True)
    os.chmod(RUN, 0o755)
    with open(os.path.join(RUN, ".gitignore"), "w") as f:
        f.write("# created by scripts/demo\n*\n")
    root = os.path.join(RUN, "instance")
    if os.path.islink(root):
        stop_leftovers(os.path.realpath(root))
        shutil.rmtree(os.path.realpath(root), ignore_errors=True)
        os.unlink(root)
    elif os.path.isdir(root):
        stop_leftovers(root)
        shutil.rmtree(root)
    if reachable_by_mail_uid(RUN):
        os.makedirs(root)
    else:
        real = tempfile.mkdtemp(prefix="dovewarden-demo-")
        os.symlink(real, root)
        say(f"uid {MAIL_UID} cannot reach {RUN}; the instance lives in {real} ({root} points there)")
        root = real
    os.chmod(root, 0o755)
    sockdir = os.path.join(root, "dw")
    os.makedirs(sockdir)
    os.chmod(sockdir, 0o755)
    endpoint = f"ipc://{sockdir}/events.sock"

    procs = []
    dovecot = None
    daemon_log = os.path.join(root, "dovewardend.log")
    try:
        env = dict(os.environ, DOVEWARDEN_ZMQ_ENDPOINT=endpoint, DOVEWARDEN_STREAM="-",
                   DOVEWARDEN_METRICS_ADDR=METRICS)
        with open(daemon_log, "wb") as log:
            daemon = subprocess.Popen([daemon_path()], env=env, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=log,
                                      start_new_session=True)  # Ctrl-C is ours to hand on
        procs.append(daemon)
        jq = shutil.which("jq")
        if jq:
            shower = subprocess.Popen([jq, "-c", "--unbuffered", "."], stdin=daemon.stdout,
                                      start_new_session=True)
        else:
            shower = subprocess.Popen(["cat"], stdin=daemon.stdout, start_new_session=True)
        daemon.stdout.close()
        procs.append(shower)

        import urllib.request

        def ready():
            if daemon.poll() is not None:
                raise SystemExit(f"dovewardend exited ({daemon.returncode}):\n{tail(daemon_log)}")
            try:
                with urllib.request.urlopen(f"http://{METRICS}/readyz", timeout=1) as r:
                    return r.status == 200
            except OSError:
                return False
        wait_until(ready, 10, what="dovewardend to be ready")

        dovecot = Dovecot(root=root, name="dw-demo",
                          settings={"dovewarden_endpoint": endpoint,
                                    "dovewarden_fields": "size msgid from subject"})
        dovecot.start()
        say(f"Dovecot up: IMAP 127.0.0.1:{dovecot.imap_port}, POP3 127.0.0.1:{dovecot.pop3_port}, "
            f"LMTP 127.0.0.1:{dovecot.lmtp_port} (users alice/bob, password secret)")

        say("delivering a message to alice by LMTP, then an IMAP session as alice")
        lmtp_deliver(dovecot, "alice")
        m = Imap(dovecot)
        m.create("Archive")
        m.select("INBOX")
        m.append("INBOX", make_message("Notes to self")[0])
        m.store("1", "+FLAGS", r"(\Seen)")
        m.move("1", "Archive")
        m.logout()

        time.sleep(0.5)
        say(f"metrics:  http://{METRICS}/metrics   (health: /healthz, /readyz)")
        say(f"logs:     {dovecot.log}  {daemon_log}")
        say(f"try:      curl -s http://{METRICS}/metrics | grep ^dovewarden_")
        say("streaming events; connect any IMAP client to see more. Ctrl-C stops everything.")
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        while daemon.poll() is None:
            time.sleep(0.5)
        say(f"dovewardend exited ({daemon.returncode}):\n{tail(daemon_log)}")
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        say("stopping")
        return 0
    finally:
        if dovecot:
            dovecot.stop()
        for p in procs:  # the daemon first (SIGTERM: it drains and exits), then the printer
            if p.poll() is None:
                p.send_signal(signal.SIGTERM if p is procs[0] else signal.SIGINT)
                try:
                    p.wait(8 if p is procs[0] else 3)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        say(f"stopped; everything is under {RUN}")


if __name__ == "__main__":
    sys.exit(main())
