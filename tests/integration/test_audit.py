"""The audit log: real IMAP, LMTP and POP3 sessions through the plugin become
chained records in SQLite or PostgreSQL, queried and exported through the admin
API and the `dovewarden` command; `verify` names each kind of tampering;
retention keeps the chain verifiable; a kill -9 leaves its gap on the record;
a PostgreSQL outage holds up nothing else."""

import json
import os
import sqlite3
import subprocess
import threading
import time
import unittest
import urllib.parse

import msgpack
import zmq

from harness import REPO, Env, Imap, lmtp_deliver, make_message, pop3, wait_until
from harness.postgres import Postgres

# what a compliance test wants to see: every read, Message-IDs, checkpoints often
PLUGIN = {"dovewarden_events": "* message.open", "dovewarden_fields": "size msgid"}
AUDIT = {
    "DOVEWARDEN_AUDIT_READS": "yes",
    "DOVEWARDEN_AUDIT_BATCH_INTERVAL": "50ms",
    "DOVEWARDEN_AUDIT_CHECKPOINT_RECORDS": "5",
    "DOVEWARDEN_AUDIT_CHECKPOINT_INTERVAL": "1s",
}
RECORDS_TABLE = "audit_records"
WITHIN = 15  # seconds a record may take to be written on a loaded machine


def cli(daemon, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOVEWARDEN_")}
    env.update({"DOVEWARDEN_ADMIN_ADDR": f"127.0.0.1:{daemon.admin_port}",
                "DOVEWARDEN_ADMIN_TOKEN": daemon.admin_token,
                "DOVEWARDEN_CONFIG": os.devnull})
    path = os.environ.get("DW_CLI", os.path.join(REPO, "cli", "dovewarden"))
    return subprocess.run([path, *args], env=env, capture_output=True, text=True, timeout=60)


def records(daemon, **params):
    """Every record the admin API's query gives, page by page."""
    found, after = [], 0
    while True:
        query = urllib.parse.urlencode({**params, "after": after, "limit": 1000})
        status, answer = daemon.admin("GET", f"/v1/audit/records?{query}")
        assert status == 200, (status, answer)
        found += answer["records"]
        if answer.get("next") is None:
            return found
        after = answer["next"]


def verify(daemon):
    status, answer = daemon.admin("GET", "/v1/audit/verify")
    assert status == 200, (status, answer)
    return answer


def checkpointed(daemon, seq):
    status, answer = daemon.admin("GET", "/v1/audit/checkpoints")
    return status == 200 and any(c["size"] >= seq for c in answer["checkpoints"])


def push(endpoint, events):
    ctx = zmq.Context()
    s = ctx.socket(zmq.PUSH)
    s.setsockopt(zmq.LINGER, 5000)
    s.connect(endpoint)
    for e in events:
        s.send(msgpack.packb({"v": 1, **e}))
    s.close()
    ctx.term()


def fake_event(inst, seq, ts=None, user="carol", mailbox="INBOX"):
    return {"type": "flags.set", "ts": ts or int(time.time() * 1e6), "host": "mx-test",
            "svc": "imap", "pid": 4242, "inst": inst, "seq": seq, "user": user,
            "origin": "client", "mailbox": mailbox, "uid": seq, "uidvalidity": 1700000000,
            "flags": ["\\Flagged"]}


class SessionsTest(unittest.TestCase):
    """One daemon on its embedded default (SQLite), a real Dovecot with the plugin."""

    @classmethod
    def setUpClass(cls):
        cls.env = Env(plugin_settings=PLUGIN, daemon_env=AUDIT).start()
        cls.daemon = cls.env.daemon

    @classmethod
    def tearDownClass(cls):
        cls.env.cleanup()

    def wait_records(self, pred, count=1, **params):
        found = []

        def enough():
            found[:] = [r for r in records(self.daemon, **params) if pred(r)]
            return len(found) >= count
        wait_until(enough, WITHIN, what=f"{count} audit record(s) matching {params}")
        return found

    def test_imap_lmtp_and_pop3_sessions_are_recorded(self):
        started = time.time()
        message, bare = make_message(subject="audited")
        msgid = f"<{bare}>"
        lmtp_deliver(self.env.dovecot, "alice", message)
        imap = Imap(self.env.dovecot, "alice")
        imap.select("INBOX")
        imap.call("FETCH", imap.c.fetch, "1:*", "(BODY.PEEK[])")
        imap.create("Archive")
        imap.copy("1:*", "Archive")
        imap.store("1:*", "+FLAGS", "\\Deleted")
        imap.expunge()
        imap.logout()
        p = pop3(self.env.dovecot, "alice")
        p.stat()
        p.quit()

        ops = ("message.new", "user.login", "message.open", "mailbox.create", "message.copy",
               "message.trash", "message.expunge", "user.logout")
        for op in ops:
            self.wait_records(lambda r: r["operation"] == op, user="alice")
        logins = self.wait_records(lambda r: r["operation"] == "user.login", count=2, user="alice")
        got = records(self.daemon, user="alice")
        new = next(r for r in got if r["operation"] == "message.new")
        self.assertEqual((new["actor"], new["service"], new["mailbox"], new["msgid"]),
                         ("delivery", "lmtp", "INBOX", msgid))
        self.assertGreater(new["uid"], 0)
        self.assertGreater(new["uidvalidity"], 0)
        opened = next(r for r in got if r["operation"] == "message.open")
        self.assertEqual((opened["actor"], opened["service"], opened["mailbox"], opened["uid"]),
                         ("alice", "imap", "INBOX", new["uid"]))
        self.assertEqual(opened["ip"], "127.0.0.1")
        self.assertTrue(opened["session"], "the IMAP session id")
        self.assertGreater(opened["port"], 0)
        expunged = next(r for r in got if r["operation"] == "message.expunge")
        self.assertEqual((expunged["mailbox"], expunged["uid"], expunged["msgid"]),
                         ("INBOX", new["uid"], msgid))
        self.assertEqual(sorted(r["service"] for r in logins), ["imap", "pop3"])
        self.assertTrue(all(r["session"] and r["ip"] == "127.0.0.1" for r in logins))

        # seq has no gap, every record links to the one before
        seqs = [r["seq"] for r in records(self.daemon)]
        self.assertEqual(seqs, list(range(seqs[0], seqs[0] + len(seqs))))

        # query by type and by time
        only = records(self.daemon, user="alice", type="message.*")
        self.assertEqual({r["operation"] for r in only},
                         {"message.new", "message.open", "message.copy", "message.trash",
                          "message.expunge"})
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started - 1))
        self.assertEqual(len(records(self.daemon, user="alice", since=since)), len(got))
        self.assertEqual(records(self.daemon, user="alice", until=since), [])
        self.assertEqual([r["seq"] for r in records(self.daemon, msgid=msgid)],
                         [r["seq"] for r in got if r["msgid"] == msgid])

        # the command: a table, JSON, and an export streamed as NDJSON
        table = cli(self.daemon, "audit", "query", "--user", "alice", "--type", "message.expunge")
        self.assertEqual(table.returncode, 0, table.stderr)
        self.assertIn("message.expunge", table.stdout)
        self.assertIn(opened["session"], table.stdout)
        answer = cli(self.daemon, "audit", "query", "--user", "alice", "--type", "message.expunge",
                     "--json")
        self.assertEqual(answer.returncode, 0, answer.stderr)
        self.assertEqual([r["msgid"] for r in json.loads(answer.stdout)["records"]], [msgid])
        export = cli(self.daemon, "audit", "export", "--user", "alice")
        self.assertEqual(export.returncode, 0, export.stderr)
        lines = [json.loads(line) for line in export.stdout.splitlines()]
        self.assertEqual([r["seq"] for r in lines], [r["seq"] for r in got])

    def test_verify_names_each_kind_of_damage(self):
        for n in range(12):
            lmtp_deliver(self.env.dovecot, "bob", make_message(subject=f"tamper {n}", to="bob")[0])
        last = self.wait_records(lambda r: r["operation"] == "message.new", count=12, user="bob")
        head = max(r["seq"] for r in records(self.daemon))
        wait_until(lambda: checkpointed(self.daemon, head), WITHIN,
                   what=f"a checkpoint covering record {head}")
        self.assertTrue(verify(self.daemon)["ok"], verify(self.daemon))
        answer = cli(self.daemon, "audit", "verify")
        self.assertEqual(answer.returncode, 0, answer.stdout + answer.stderr)

        victim, other = last[3]["seq"], last[6]["seq"]
        path = os.path.join(self.daemon.store, "audit.sqlite")

        def change(*statements):
            """Run statements on the store while the daemon, which holds it locked, is stopped."""
            self.daemon.stop()
            db = sqlite3.connect(path)
            try:
                with db:
                    for sql, args in statements:
                        db.execute(sql.format(table=RECORDS_TABLE), args)
            finally:
                db.close()
                self.daemon.start()

        def damaged(kind, seq):
            report = verify(self.daemon)
            self.assertFalse(report["ok"], report)
            self.assertEqual((report["damage"], report["seq"]), (kind, seq), report)
            answer = cli(self.daemon, "audit", "verify")
            self.assertEqual(answer.returncode, 1, answer.stdout + answer.stderr)
            self.assertIn(str(seq), answer.stdout + answer.stderr)

        def whole():
            report = verify(self.daemon)
            self.assertTrue(report["ok"], report)

        self.daemon.stop()
        db = sqlite3.connect(path)
        cursor = db.execute(f"SELECT * FROM {RECORDS_TABLE} WHERE seq = ?", (victim,))
        saved = dict(zip([c[0] for c in cursor.description], cursor.fetchone()))
        db.close()
        self.daemon.start()

        change(("UPDATE {table} SET details = '{{\"flags\":[]}}' WHERE seq = ?", (victim,)))
        damaged("edited", victim)
        change(("UPDATE {table} SET details = ? WHERE seq = ?", (saved["details"], victim)))
        whole()

        change(("DELETE FROM {table} WHERE seq = ?", (victim,)))
        damaged("deleted", victim)
        change((f"INSERT INTO {{table}} ({','.join(saved)}) VALUES ({','.join('?' * len(saved))})",
                tuple(saved.values())))
        whole()

        swap = (("UPDATE {table} SET seq = -1 WHERE seq = ?", (victim,)),
                ("UPDATE {table} SET seq = ? WHERE seq = ?", (victim, other)),
                ("UPDATE {table} SET seq = ? WHERE seq = -1", (other,)))
        change(*swap)  # each keeps its contents, at the other's place
        damaged("reordered", victim)
        change(*swap)
        whole()

        change(("DELETE FROM {table} WHERE seq > ?", (victim,)))  # behind the last checkpoint
        damaged("truncated", head)


class RetentionTest(unittest.TestCase):
    def test_old_records_go_and_the_chain_still_verifies(self):
        env = Env(daemon_env={**AUDIT, "DOVEWARDEN_AUDIT_RETENTION_DAYS": "30"}).start()
        self.addCleanup(env.cleanup)
        daemon = env.daemon
        old = int((time.time() - 40 * 86400) * 1e6)
        push(env.endpoint, [fake_event("00000000000a0001", n, ts=old + n) for n in range(1, 21)])
        # the young ones after the old: retention removes a prefix of old records
        wait_until(lambda: len(records(daemon, user="carol")) == 20, WITHIN,
                   what="20 records of carol")
        push(env.endpoint, [fake_event("00000000000a0001", n) for n in range(21, 26)])
        wait_until(lambda: len(records(daemon, user="carol")) == 25, WITHIN,
                   what="25 records of carol")
        wait_until(lambda: checkpointed(daemon, max(r["seq"] for r in records(daemon))), WITHIN,
                   what="a checkpoint of the whole chain")
        daemon.stop()
        daemon.start()  # retention runs at start
        wait_until(lambda: len(records(daemon, user="carol")) == 5, WITHIN,
                   what="the 20 records older than 30 days removed")
        self.assertEqual([r["event_seq"] for r in records(daemon, user="carol")],
                         list(range(21, 26)))
        report = verify(daemon)
        self.assertTrue(report["ok"], report)
        status, answer = daemon.admin("GET", "/v1/audit/checkpoints")
        self.assertEqual(status, 200)
        self.assertIsNotNone(answer["base"], "the removed prefix is kept as a checkpoint")
        self.assertGreaterEqual(daemon.metric("dovewarden_audit_retention_runs_total"), 1)


class KillTest(unittest.TestCase):
    def test_kill_9_under_load_records_each_event_once_and_the_gap(self):
        env = Env(daemon_env=AUDIT).start()
        self.addCleanup(env.cleanup)
        daemon = env.daemon
        inst, total = "00000000000b0001", 3000
        sent = threading.Event()

        def load():
            ctx = zmq.Context()
            s = ctx.socket(zmq.PUSH)
            s.setsockopt(zmq.LINGER, 20000)
            s.setsockopt(zmq.SNDHWM, 100000)
            s.connect(env.endpoint)
            for n in range(1, total + 1):
                s.send(msgpack.packb({"v": 1, **fake_event(inst, n)}))
                if n % 100 == 0:
                    time.sleep(0.02)
            s.close()
            ctx.term()
            sent.set()

        sender = threading.Thread(target=load)
        sender.start()
        wait_until(lambda: daemon.metric("dovewarden_audit_records_total") >= 300, WITHIN,
                   what="300 records written before the kill")
        daemon.kill()
        daemon.start()
        sender.join(60)
        self.assertTrue(sent.is_set())

        def covered():
            got = records(daemon)
            seen = [r["event_seq"] for r in got if r.get("inst") == inst]
            return len(seen) + sum(
                lost_range(r) for r in got if r["operation"] == "events.lost"
                and r_inst(r) == inst) >= total
        wait_until(covered, 30, what=f"all {total} events recorded or named lost")
        got = records(daemon)
        seen = [r["event_seq"] for r in got if r.get("inst") == inst]
        self.assertEqual(len(seen), len(set(seen)), "no event recorded twice")
        lost = set()
        for r in got:
            if r["operation"] == "events.lost" and r_inst(r) == inst:
                d = details(r)
                lost.update(range(d["from"], d["to"] + 1))
        self.assertFalse(lost & set(seen), "a lost range holds no recorded event")
        self.assertEqual(lost | set(seen), set(range(1, total + 1)),
                         "every event is recorded or inside a recorded gap")
        self.assertTrue(verify(daemon)["ok"])


def details(record):
    d = record["details"]
    return json.loads(d) if isinstance(d, str) else d


def r_inst(record):
    return details(record).get("inst") or record.get("inst")


def lost_range(record):
    d = details(record)
    return d["to"] - d["from"] + 1


class PostgresTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres().start()

    @classmethod
    def tearDownClass(cls):
        cls.pg.cleanup()

    def test_an_outage_holds_up_nothing_and_the_records_catch_up(self):
        env = Env(plugin_settings=PLUGIN,
                  daemon_env={**AUDIT, "DOVEWARDEN_AUDIT_DSN": self.pg.dsn}).start()
        self.addCleanup(env.cleanup)
        daemon = env.daemon
        lmtp_deliver(env.dovecot, "alice", make_message(subject="before")[0])
        wait_until(lambda: any(r["operation"] == "message.new" for r in records(daemon)),
                   WITHIN, what="the first record in PostgreSQL")
        self.assertNotIn(self.pg.password, daemon.stderr_text(), "the DSN's password is never logged")

        self.pg.stop()
        for n in range(5):
            lmtp_deliver(env.dovecot, "alice", make_message(subject=f"during {n}")[0])
        # the rest of the daemon goes on: the events reach the stream and the replication queue
        env.stream.wait_for(lambda e: e.get("type") == "message.new"
                            and e.get("user") == "alice", count=6)
        wait_until(lambda: daemon.http_status("/readyz") == 503, WITHIN,
                   what="/readyz to say the audit store is down")
        self.assertTrue(daemon.running())

        self.pg.start()
        wait_until(lambda: daemon.http_status("/readyz") == 200, 30,
                   what="/readyz to come back with PostgreSQL")
        wait_until(lambda: len([r for r in records(daemon, user="alice")
                                if r["operation"] == "message.new"]) == 6, 30,
                   what="the records made during the outage")
        self.assertTrue(verify(daemon)["ok"])

    def test_two_daemons_keep_their_own_chains_in_one_database(self):
        envs = []
        for name in ("mx1", "mx2"):
            env = Env(name=f"dw-{name}",
                      daemon_env={**AUDIT, "DOVEWARDEN_AUDIT_DSN": self.pg.dsn,
                                  "DOVEWARDEN_AUDIT_ORIGIN": f"{name}.example.com/audit"}).start()
            self.addCleanup(env.cleanup)
            envs.append(env)
        for n, env in enumerate(envs):
            push(env.endpoint, [fake_event(f"00000000000c000{n}", s, user=f"user{n}")
                                for s in range(1, 11)])
        for n, env in enumerate(envs):
            wait_until(lambda: len(records(env.daemon, user=f"user{n}")) == 10, WITHIN,
                       what=f"10 records on chain {n}")
            own = records(env.daemon)
            self.assertEqual([r["seq"] for r in own], list(range(1, len(own) + 1)))
            self.assertTrue(verify(env.daemon)["ok"])


if __name__ == "__main__":
    unittest.main()
