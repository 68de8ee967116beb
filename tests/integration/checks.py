"""Assertions shared by the integration tests."""

import unittest

from harness import by_session


def one_session(events, user="alice", svc="imap"):
    groups = by_session(events, user=user, svc=svc)
    assert len(groups) == 1, f"expected one {svc} session of {user}, got {list(groups)}"
    return next(iter(groups.values()))


class Checks(unittest.TestCase):
    def assertFields(self, event, fields, what=""):
        for key, want in fields.items():
            self.assertIn(key, event, f"{what}: field {key!r} missing in {event}")
            got = event[key]
            if isinstance(want, list):
                self.assertIsInstance(got, list, f"{what}: {key} in {event}")
                self.assertEqual(sorted(got), sorted(want), f"{what}: {key} in {event}")
            else:
                self.assertEqual(got, want, f"{what}: {key} in {event}")

    def assertCommon(self, event, user="alice", svc="imap", origin="client", ip=True):
        self.assertFields(event, {"user": user, "svc": svc, "origin": origin}, event["type"])
        for key in ("ts", "host", "pid", "inst", "seq"):
            self.assertIn(key, event)
        if ip:
            self.assertEqual(event.get("ip"), "127.0.0.1", event)
            self.assertIsInstance(event.get("port"), int, f"the client's port: {event}")
            self.assertTrue(0 < event["port"] < 65536, event)
