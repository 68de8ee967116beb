"""contrib/: the Grafana dashboard and the Prometheus alert rules name only
metrics a started dovewardend exposes, and the rules pass promtool."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import yaml

from harness import REPO, Daemon
from harness.fake_doveadm import FakeDoveadm

RULES = os.path.join(REPO, "contrib", "prometheus", "dovewarden-rules.yml")
RULES_TEST = os.path.join(REPO, "contrib", "prometheus", "dovewarden-rules.test.yml")
DASHBOARD = os.path.join(REPO, "contrib", "grafana", "dovewarden.json")

# every metric of the daemon's is named dovewarden_*; label values and
# legends are in quotes, which are taken out first
METRIC = re.compile(r"\bdovewarden_[a-zA-Z0-9_:]*")
QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


def metric_names(expr):
    return set(METRIC.findall(QUOTED.sub('""', expr)))


def rule_expressions():
    with open(RULES) as f:
        rules = yaml.safe_load(f)
    return {rule["alert"]: rule["expr"] for group in rules["groups"] for rule in group["rules"]}


def dashboard_expressions():
    with open(DASHBOARD) as f:
        dashboard = json.load(f)
    found = {}

    def walk(panels):
        for panel in panels:
            for target in panel.get("targets", []):
                found[f'{panel["title"]} ({target["refId"]})'] = target["expr"]
            walk(panel.get("panels", []))
    walk(dashboard["panels"])
    for variable in dashboard["templating"]["list"]:
        found[f'variable {variable["name"]}'] = variable["definition"]
    return found


class ContribTest(unittest.TestCase):
    """One daemon with every feature on (replication, webhooks, audit, the
    HTTP source, the admin API), scraped before it saw any event."""

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="dovewarden-it-")
        cls.doveadm = FakeDoveadm().up()
        cls.daemon = Daemon(cls.root, f"ipc://{cls.root}/events.sock",
                            env=cls.doveadm.daemon_env()).start()
        cls.scraped = cls.daemon.metrics()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.kill()
        cls.doveadm.cleanup()
        shutil.rmtree(cls.root, True)

    def exposed(self):
        return {name for name, _ in self.scraped}

    def assert_all_exposed(self, expressions):
        self.assertTrue(expressions)
        exposed = self.exposed()
        for where, expr in expressions.items():
            with self.subTest(where=where):
                names = metric_names(expr)
                self.assertTrue(names, f"{where} names no dovewarden metric: {expr}")
                self.assertEqual(set(), names - exposed,
                                 f"{where} names metrics /metrics does not expose")

    def test_the_rules_name_only_exposed_metrics(self):
        self.assert_all_exposed(rule_expressions())

    def test_the_dashboard_names_only_exposed_metrics(self):
        self.assert_all_exposed(dashboard_expressions())

    def test_a_name_the_daemon_lacks_is_caught(self):
        exposed = self.exposed()
        self.assertIn("dovewarden_events_lost_total", exposed)
        self.assertNotIn("dovewarden_events_lost", exposed)
        self.assertEqual({"dovewarden_events_lost"},
                         metric_names('increase(dovewarden_events_lost{svc="x"}[5m])') - exposed)

    def test_error_series_exist_at_zero_from_start_up(self):
        for name, labels in [
                ("dovewarden_events_lost_total", {"svc": "imap"}),
                ("dovewarden_events_rejected_total", {"source": "zmq", "reason": "not_msgpack"}),
                ("dovewarden_events_rejected_total", {"source": "http", "reason": "unauthorized"}),
                ("dovewarden_peers_refused_total", {"source": "zmq", "reason": "not_allowed"}),
                ("dovewarden_store_errors_total", {"operation": "claim"}),
                ("dovewarden_doveadm_requests_total", {"command": "sync", "result": "auth"}),
                ("dovewarden_doveadm_requests_total", {"command": "user", "result": "auth"}),
                ("dovewarden_http_connections_dropped_total",
                 {"listener": "metrics", "reason": "too_many_connections"}),
                ("dovewarden_webhook_deliveries_total", {"result": "disabled"}),
                ("dovewarden_audit_gaps_total", {})]:
            with self.subTest(name=name, labels=labels):
                key = (name, frozenset(labels.items()))
                self.assertIn(key, self.scraped)
                self.assertEqual(0, self.scraped[key])


@unittest.skipUnless(shutil.which("promtool"),
                     "promtool not found: install Debian's prometheus package "
                     "(scripts/test installs it)")
class PromtoolTest(unittest.TestCase):
    def promtool(self, *args):
        done = subprocess.run(["promtool", *args], cwd=os.path.dirname(RULES),
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(0, done.returncode, done.stdout + done.stderr)
        return done.stdout

    def test_the_rules_pass_check_rules(self):
        out = self.promtool("check", "rules", RULES)
        self.assertIn(f"SUCCESS: {len(rule_expressions())} rules found", out)

    def test_every_alert_is_fired_by_the_rule_tests(self):
        self.promtool("test", "rules", RULES_TEST)
        with open(RULES_TEST) as f:
            tests = yaml.safe_load(f)["tests"]
        fired = {case["alertname"] for test in tests
                 for case in test.get("alert_rule_test", []) if case.get("exp_alerts")}
        self.assertEqual(set(rule_expressions()), fired)


if __name__ == "__main__":
    unittest.main()
