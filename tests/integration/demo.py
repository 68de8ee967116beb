#!/usr/bin/python3
"""scripts/demo's engine: two throw-away Dovecots (a primary and a replica) with
the plugin, and dovewardend replicating the primary to the replica on its
embedded store, all under ./run/. An IMAP APPEND, an LMTP delivery and a flag
change on the primary, each shown arriving on the replica; `dovewarden status`;
a webhook endpoint (a local receiver that checks each Standard Webhooks
signature) getting those changes; then events streaming until Ctrl-C.

DW_DEMO_ONESHOT=1 (or --oneshot): run the steps and exit (0 if each change
reached the replica), for scripts/test.
"""

import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # keep the source tree clean

from harness import (REPO, Imap, Pair, Timeout, daemon_path, free_port,  # noqa: E402
                     lmtp_deliver, make_message, wait_converged, wait_until)
from harness.dovecot import MAIL_GID, MAIL_UID  # noqa: E402
from harness.receiver import Receiver  # noqa: E402
from harness.util import pid_alive, tail  # noqa: E402

RUN = os.path.join(REPO, "run")
CLI = os.path.join(REPO, "cli", "dovewarden")
METRICS = os.environ.get("DOVEWARDEN_METRICS_ADDR", f"127.0.0.1:{free_port()}")
ADMIN = os.environ.get("DOVEWARDEN_ADMIN_ADDR", f"127.0.0.1:{free_port()}")
HTTP = os.environ.get("DOVEWARDEN_HTTP_ADDR", f"127.0.0.1:{free_port()}")
ONESHOT = os.environ.get("DW_DEMO_ONESHOT") == "1" or "--oneshot" in sys.argv[1:]


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
    for side in ("primary", "replica"):
        stop_dovecot(os.path.join(root, side))


def stop_dovecot(root):
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
    store = os.path.join(root, "store")
    os.makedirs(store)
    pair = Pair(name="dw-demo", root=root,
                settings={"dovewarden_fields": "size msgid from subject"})
    cli_env = dict(os.environ, DOVEWARDEN_ADMIN_ADDR=ADMIN, DOVEWARDEN_STORE_PATH=store)

    procs = []
    started = []
    daemon_log = os.path.join(root, "dovewardend.log")
    try:
        env = dict(os.environ, DOVEWARDEN_ZMQ_ENDPOINT=pair.primary.endpoint, DOVEWARDEN_STREAM="-",
                   DOVEWARDEN_METRICS_ADDR=METRICS, DOVEWARDEN_ADMIN_ADDR=ADMIN,
                   DOVEWARDEN_HTTP_ADDR=HTTP, DOVEWARDEN_REDIS_MODE="embedded",
                   DOVEWARDEN_STORE_PATH=store, DOVEWARDEN_WEBHOOK_ALLOW_NETS="127.0.0.1/32",
                   **pair.daemon_env("primary"))
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

        for side in (pair.primary, pair.replica):
            side.start()
            started.append(side)
            say(f"{side.side} Dovecot {side.install.version} up: IMAP 127.0.0.1:{side.imap_port}, POP3 127.0.0.1:{side.pop3_port}, "
                f"LMTP 127.0.0.1:{side.lmtp_port} (users alice/bob, password secret)")
        say(f"dovewardend replicates the primary to the replica (store: {store})")

        receiver = Receiver().start()
        procs.append(receiver)

        def run_cli(*args):
            cli = f"DOVEWARDEN_ADMIN_ADDR={ADMIN} DOVEWARDEN_STORE_PATH={store} {CLI}"
            say(f"$ {cli} {' '.join(shlex.quote(a) for a in args)}")
            out = subprocess.run([CLI, *args], env=cli_env, capture_output=True, text=True, timeout=20)
            print(out.stdout + out.stderr, file=sys.stderr, end="", flush=True)
            if out.returncode != 0:
                raise SystemExit(f"demo: FAILED: dovewarden {' '.join(args)} exited {out.returncode}")
            return out.stdout

        added = run_cli("webhook", "add", "--url", receiver.url("/hooks"), "--events", "message.*,flags.*",
                        "--description", "demo receiver")
        receiver.secrets.append(next(w for w in added.split() if w.startswith("whsec_")))
        endpoint_id = next(w for w in added.split() if w.startswith("ep_"))

        def shown(what, change):
            """Make `change` on the primary, wait until alice is the same on the replica,
            print both sides' listing and how long it took."""
            say(what)
            t = time.monotonic()
            change()
            try:
                wait_converged(pair.primary, pair.replica, "alice", timeout=15, interval=0.05)
            except Timeout as e:
                raise SystemExit(f"demo: FAILED: {what}: {e}") from None
            took = time.monotonic() - t
            for side in (pair.primary, pair.replica):
                listing = side.doveadm("fetch", "-u", "alice", "mailbox uid flags hdr.subject", "ALL").stdout
                rows = [" ".join(block.split()) for block in listing.split("\f") if block.strip()]
                print(f"  {side.side}:\n" + "".join(f"    {row}\n" for row in rows), file=sys.stderr, end="")
            say(f"on the replica {took:.2f} s after the change was made")

        def imap_append():
            m = Imap(pair.primary)
            m.append("INBOX", make_message("Notes to self")[0])
            m.logout()

        def flag():
            m = Imap(pair.primary)
            m.select("INBOX")
            m.store("1", "+FLAGS", r"(\Flagged)")
            m.logout()

        # nobody logs in on the replica: only the first sync may create alice's mailboxes there
        shown("APPEND over IMAP on the primary", imap_append)
        shown("a delivery by LMTP on the primary", lambda: lmtp_deliver(pair.primary, "alice"))
        shown("\\Flagged set on message 1 over IMAP on the primary", flag)

        for args in (["status"], ["status", "*"]):
            run_cli(*args)

        say(f"the webhook receiver at {receiver.url('/hooks')}:")
        try:
            receiver.wait_for(3, timeout=15, path="/hooks")
        except Timeout as e:
            raise SystemExit(f"demo: FAILED: webhooks: {e}") from None
        for r in receiver.requests("/hooks"):
            types = ", ".join(e.get("type", "?") for e in r.events)
            print(f"    {r.webhook_id}  {types:<16} signature {'verified' if r.signature_valid else 'WRONG'}",
                  file=sys.stderr)
        if not all(r.signature_valid for r in receiver.requests("/hooks")):
            raise SystemExit("demo: FAILED: a webhook signature did not verify")
        run_cli("webhook", "deliveries", endpoint_id, "--limit", "3")

        say(f"metrics:  http://{METRICS}/metrics   (health: /healthz, /readyz)")
        say(f"logs:     {pair.primary.log}  {pair.replica.log}  {daemon_log}")
        say(f"try:      curl -s http://{METRICS}/metrics | grep ^dovewarden_replication")
        if ONESHOT:
            say("done (one-shot)")
            return 0
        say("streaming events; connect any IMAP client to the primary to see more. Ctrl-C stops everything.")
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
        for side in started:
            side.stop()
        for p in procs:  # the daemon first (SIGTERM: it drains and exits), then the printer
            if isinstance(p, Receiver):
                p.stop()
            elif p.poll() is None:
                p.send_signal(signal.SIGTERM if p is procs[0] else signal.SIGINT)
                try:
                    p.wait(8 if p is procs[0] else 3)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        say(f"stopped; everything is under {RUN}")


if __name__ == "__main__":
    sys.exit(main())
