"""The status page (GET /status on the admin listener), in a real headless
Chromium driven by chromedriver: what it shows matches the admin API, it
refreshes by itself, and it loads nothing but the daemon's own origin.

One daemon whose stores hold a queue of several priorities, a running sync, a
failed one, two webhook endpoints (one healthy, one disabled) with their
deliveries, lost events and audit records. DW_STATUS_SCREENSHOT=PATH keeps
the screenshot there (docs/status-page.png is made so)."""

import json
import os
import shutil
import tempfile
import time
import unittest

import msgpack
import zmq
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from harness import Daemon, not_on, wait_until
from harness.fake_doveadm import FakeDoveadm
from harness.receiver import Receiver, respond

DOMAIN = "example.com"
CHROMEDRIVER = "/usr/bin/chromedriver"
REFRESH = 5  # seconds between the page's refreshes (status.html's REFRESH_MS)
WITHIN = 15  # seconds the daemon or the page may take on a loaded machine


def lost_events(endpoint, svc, seqs):
    """imap events of a plugin process whose seqs skip some: lost events."""
    ctx = zmq.Context()
    s = ctx.socket(zmq.PUSH)
    s.setsockopt(zmq.LINGER, 2000)
    s.connect(endpoint)
    for seq in seqs:
        s.send(msgpack.packb({"v": 1, "type": "message.new", "user": f"lost@{DOMAIN}", "svc": svc,
                              "inst": "00000000000051a7", "seq": seq, "pid": 4343,
                              "mailbox": "INBOX", "uid": seq}))
    s.close()
    ctx.term()


def chromium(download_dir):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1150", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-default-apps",
                # no name resolves and no proxy is asked: 127.0.0.1 is all it can reach
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--no-proxy-server",
                f"--user-data-dir={download_dir}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


@not_on("2.4", "the page reads the daemon's stores, not Dovecot: once is enough")
class StatusPageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="dovewarden-it-")
        cls.doveadm = FakeDoveadm().up()
        cls.rx = Receiver().start()
        cls.endpoint = f"ipc://{cls.root}/events.sock"
        env = {**cls.doveadm.daemon_env(),
               "DOVEWARDEN_NUM_WORKERS": "1",
               "DOVEWARDEN_REPLICATION_RETRY_MIN": "1h",
               "DOVEWARDEN_REPLICATION_RETRY_MAX": "2h",
               "DOVEWARDEN_WEBHOOK_ALLOW_NETS": "127.0.0.0/8",
               "DOVEWARDEN_AUDIT_BATCH_INTERVAL": "50ms",
               "DOVEWARDEN_AUDIT_CHECKPOINT_RECORDS": "1",
               "DOVEWARDEN_AUDIT_CHECKPOINT_INTERVAL": "1s"}
        cls.daemon = Daemon(cls.root, cls.endpoint, env=env).start()
        try:
            cls.fill_stores()
            cls.browser = chromium(os.path.join(cls.root, "chromium"))
            cls.first_tab = cls.browser.current_window_handle
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "browser", None):
            cls.browser.quit()
        cls.daemon.kill()
        cls.rx.stop()
        cls.doveadm.cleanup()
        shutil.rmtree(cls.root, True)

    @classmethod
    def api(cls, path):
        status, answer = cls.daemon.admin("GET", path)
        assert status == 200, (path, status, answer)
        return answer

    @classmethod
    def replicate(cls, user, priority):
        status, answer = cls.daemon.admin("POST", "/v1/replication/replicate",
                                          {"mask": user, "priority": priority})
        assert status == 200, answer

    @classmethod
    def add_endpoint(cls, path):
        status, endpoint = cls.daemon.admin("POST", "/v1/webhooks",
                                            {"url": cls.rx.url(path), "events": ["webhook.test"]})
        assert status == 201, endpoint
        status, answer = cls.daemon.admin("POST", f"/v1/webhooks/{endpoint['id']}/test")
        assert status == 202, answer
        return endpoint

    @classmethod
    def fill_stores(cls):
        # imap seqs 1, 2, 5: 2 lost; their user synced at once, out of the way
        lost_events(cls.endpoint, "imap", [1, 2, 5])
        wait_until(lambda: cls.api("/v1/events/lost")["lost"].get("imap") == 2, WITHIN,
                   what="2 imap events lost")
        wait_until(lambda: cls.doveadm.synced().get(f"lost@{DOMAIN}"), WITHIN, what="lost@ synced")
        # one failure, then the only worker busy with a sync that hangs: the rest wait
        cls.doveadm.fail(f"broken@{DOMAIN}")
        cls.replicate(f"broken@{DOMAIN}", "sync")
        wait_until(lambda: cls.api("/v1/replication/status")["failed"] == 1, WITHIN,
                   what="broken@ failed")
        cls.doveadm.hold(f"slow@{DOMAIN}")
        cls.replicate(f"slow@{DOMAIN}", "high")
        wait_until(lambda: cls.api("/v1/replication/status")["running"] == 1, WITHIN,
                   what="slow@ running")
        for user, priority in (("anna", "low"), ("bert", "low"), ("carl", "high"), ("dora", "sync")):
            cls.replicate(f"{user}@{DOMAIN}", priority)
        cls.rx.default("/gone", respond(410))
        cls.healthy = cls.add_endpoint("/ok")
        cls.gone = cls.add_endpoint("/gone")

        def delivered():
            states = [cls.api(f"/v1/webhooks/{e['id']}/deliveries")
                      for e in (cls.healthy, cls.gone)]
            return [[d["state"] for d in s] for s in states] == [["succeeded"], ["failed"]]
        wait_until(delivered, WITHIN, what="one delivery to each endpoint logged")
        # the admin changes above are audit records; a checkpoint signs them
        wait_until(lambda: (cls.api("/v1/audit/head")["checkpoint"] or {}).get("size", 0) >= 5,
                   WITHIN, what="an audit checkpoint over the admin changes")

    # ---- the browser's side -------------------------------------------------

    def setUp(self):
        # a tab of its own: the token is kept per tab (sessionStorage)
        self.browser.switch_to.new_window("tab")
        self.addCleanup(self.browser.switch_to.window, self.first_tab)
        self.addCleanup(self.browser.close)

    def url(self, path=""):
        return f"http://127.0.0.1:{self.daemon.admin_port}{path}"

    # read in one script: the page replaces its rows at every refresh
    def text(self, element_id):
        return self.browser.execute_script(
            "const e = document.getElementById(arguments[0]); return e ? e.innerText : null",
            element_id)

    def rows(self, tbody_id):
        return self.browser.execute_script(
            "return Array.from(document.querySelectorAll('#' + arguments[0] + ' tr'))"
            "  .map((tr) => Array.from(tr.cells).map((td) => td.innerText))", tbody_id)

    def wait_shown(self, what, probe, want, timeout=WITHIN):
        """Waits until probe() (what the page shows) equals want()."""
        seen = {}

        def same():
            seen["page"], seen["store"] = probe(), want()
            return seen["page"] == seen["store"]
        try:
            wait_until(same, timeout, what=what)
        except AssertionError:
            self.fail(f"{what}: the page shows {seen.get('page')!r}, the API {seen.get('store')!r}")

    def sign_in(self, token):
        self.browser.get(self.url("/status"))
        field = self.browser.find_element(By.ID, "token")
        field.clear()
        field.send_keys(token)
        self.browser.find_element(By.CSS_SELECTOR, "#login-form button").click()

    def open_page(self):
        self.sign_in(self.daemon.admin_token)
        wait_until(lambda: self.text("updated").startswith("updated"), WITHIN,
                   what="the page's first refresh")

    def requested_urls(self):
        urls = []
        for entry in self.browser.get_log("performance"):
            message = entry["message"]
            if '"Network.requestWillBeSent"' in message:
                urls.append(json.loads(message)["message"]["params"]["request"]["url"])
        return urls

    def test_1_the_page_holds_no_data_and_a_wrong_token_is_refused(self):
        status, _ = self.daemon.admin("GET", "/v1/replication/status", token="wrong")
        self.assertEqual(status, 401)
        self.browser.get(self.url("/status"))
        source = self.browser.page_source
        for user in ("broken", "slow", "anna"):
            self.assertNotIn(f"{user}@{DOMAIN}", source)
        self.assertNotIn(self.daemon.admin_token, source)
        self.assertTrue(self.browser.find_element(By.ID, "login").is_displayed())
        self.sign_in("not-the-token")
        wait_until(lambda: "refused" in self.text("error"), WITHIN, what="the refusal shown")
        self.assertFalse(self.browser.find_element(By.ID, "dashboard").is_displayed())
        self.assertIsNone(self.browser.execute_script(
            "return sessionStorage.getItem('dovewarden-admin-token')"))

    def test_2_it_shows_what_the_stores_hold(self):
        self.open_page()
        status = self.api("/v1/replication/status")
        # queued until synced: the running and the failed ones too
        self.assertEqual({p: status["queued"][p] for p in ("low", "high", "sync")},
                         {"low": 2, "high": 2, "sync": 2})
        for priority, count in status["queued"].items():
            self.wait_shown(f"queued {priority}", lambda p=priority: self.text(f"queued-{p}"),
                            lambda c=count: str(c))
        self.wait_shown("running syncs", lambda: [r[0] for r in self.rows("running-rows")],
                        lambda: [u["user"] for u in self.api("/v1/replication/users?mask=*")
                                 if u["running"]])
        self.assertEqual(self.rows("running-rows")[0][:2], [f"slow@{DOMAIN}", "high"])
        self.assertEqual([r[0] for r in self.rows("queue-rows")], ["sync", "high", "low", "none"])

        (broken,) = [u for u in self.api("/v1/replication/users?mask=*") if u["failed"]]
        self.assertEqual(broken["user"], f"broken@{DOMAIN}")
        self.assertTrue(broken["last_error"])
        (row,) = self.rows("failure-rows")
        self.assertEqual(row[:3], [broken["user"], str(broken["failures"]), broken["last_error"]])
        next_try = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(broken["next_attempt"]))
        self.assertRegex(row[3], rf"^{next_try} \(in \d+ min\)$", "the next try, an hour on or more")

        webhooks = {r[0]: r for r in self.rows("webhook-rows")}
        self.assertEqual(set(webhooks), {self.rx.url("/ok"), self.rx.url("/gone")})
        self.assertEqual(webhooks[self.rx.url("/ok")][1], "healthy")
        self.assertRegex(webhooks[self.rx.url("/ok")][2], r"webhook\.test succeeded, HTTP 200$")
        (gone,) = [e for e in self.api("/v1/webhooks") if e["id"] == self.gone["id"]]
        self.assertFalse(gone["enabled"])
        self.assertEqual(webhooks[self.rx.url("/gone")][1], "disabled: " + gone["disabled_reason"])
        self.assertRegex(webhooks[self.rx.url("/gone")][2], r"webhook\.test failed, HTTP 410")

        lost = self.api("/v1/events/lost")["lost"]
        self.assertEqual(lost["imap"], 2)
        self.assertEqual({r[0]: r[1] for r in self.rows("lost-rows")},
                         {svc: str(n) for svc, n in lost.items()})

        head = self.api("/v1/audit/head")
        self.assertEqual(self.text("audit-origin"), head["origin"])
        self.wait_shown("the audit head", lambda: (self.text("audit-seq"), self.text("audit-hash")),
                        lambda: (lambda h: (str(h["seq"]), h["hash"]))(self.api("/v1/audit/head")))
        self.assertRegex(self.text("audit-checkpoint"), r"^size \d+, \d{4}-")
        self.assertRegex(self.text("audit-age"), r"^\d+ s(, \d+ records since)?$")

    def test_3_a_user_search_shows_the_sync_times(self):
        self.open_page()
        self.browser.find_element(By.ID, "mask").send_keys(f"*@{DOMAIN}")
        self.browser.find_element(By.CSS_SELECTOR, "#search-form button").click()
        users = {u["user"]: u for u in self.api(f"/v1/replication/users?mask=*@{DOMAIN}")}
        wait_until(lambda: len(self.rows("user-rows")) == len(users), WITHIN, what="the search's rows")
        shown = {r[0]: r for r in self.rows("user-rows")}
        self.assertEqual(set(shown), set(users))
        self.assertEqual(shown[f"broken@{DOMAIN}"][1], "failed")
        self.assertEqual(shown[f"slow@{DOMAIN}"][1], "running")
        self.assertEqual(shown[f"anna@{DOMAIN}"][1:3], ["queued", "low"])
        lost = shown[f"lost@{DOMAIN}"]
        self.assertEqual(lost[1], "idle")
        synced = users[f"lost@{DOMAIN}"]["last_fast_sync"] or users[f"lost@{DOMAIN}"]["last_full_sync"]
        self.assertTrue(synced)
        self.assertIn(time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(synced)), lost[3:5])
        self.assertEqual(shown[f"anna@{DOMAIN}"][3:5], ["never", "never"])

    def test_4_it_refreshes_itself(self):
        self.open_page()
        self.wait_shown("queued low", lambda: self.text("queued-low"),
                        lambda: str(self.api("/v1/replication/status")["queued"]["low"]))
        before = int(self.text("queued-low"))
        url = self.browser.current_url
        self.replicate(f"emil@{DOMAIN}", "low")
        self.wait_shown("queued low after a replicate", lambda: self.text("queued-low"),
                        lambda: str(before + 1), timeout=2 * REFRESH + WITHIN)
        self.assertEqual(self.browser.current_url, url)
        self.assertEqual(self.browser.execute_script("return performance.getEntriesByType('navigation').length"), 1)

    def test_5_it_loads_nothing_but_its_own_origin(self):
        for log in ("performance", "browser"):
            self.browser.get_log(log)  # what came before
        self.open_page()
        urls = self.requested_urls()
        self.assertIn(self.url("/status"), urls)
        self.assertIn(self.url("/v1/audit/head"), urls)
        self.assertEqual([u for u in urls if not u.startswith(self.url("/"))], [])
        errors = [e for e in self.browser.get_log("browser") if e["level"] == "SEVERE"]
        self.assertEqual(errors, [], "the console has errors")

    def test_6_a_screenshot(self):
        self.open_page()
        self.browser.find_element(By.ID, "mask").send_keys(f"*@{DOMAIN}")
        self.browser.find_element(By.CSS_SELECTOR, "#search-form button").click()
        wait_until(lambda: len(self.rows("user-rows")) > 1, WITHIN, what="the search's rows")
        # the whole page, not the window's height of it
        height = self.browser.execute_script("return document.documentElement.scrollHeight")
        self.browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                     {"width": 1400, "height": height, "deviceScaleFactor": 1,
                                      "mobile": False})
        self.addCleanup(self.browser.execute_cdp_cmd, "Emulation.clearDeviceMetricsOverride", {})
        path = os.environ.get("DW_STATUS_SCREENSHOT") or os.path.join(self.root, "status-page.png")
        try:
            self.assertTrue(self.browser.save_screenshot(path))
        except WebDriverException as e:
            self.fail(f"no screenshot: {e}")
        with open(path, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        self.assertGreater(os.path.getsize(path), 10000)


if __name__ == "__main__":
    unittest.main()
