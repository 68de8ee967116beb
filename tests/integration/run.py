#!/usr/bin/python3
"""Run the integration tests: one line per test, then `N passed, N failed` last.

Usage: tests/integration/run.py [-k SUBSTRING] [TEST_NAME ...]
  TEST_NAME as unittest names them, e.g. test_imap or test_imap.ImapSessionTest
Environment: DW_PLUGIN, DW_DAEMON (paths of the built artefacts), DW_KEEP=1
(keep the temp dirs for inspection).
"""

import argparse
import os
import sys
import time
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # keep the source tree clean

import harness  # noqa: E402


def iter_tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from iter_tests(t)
        else:
            yield t


class Result(unittest.TestResult):
    def __init__(self, stream):
        super().__init__()
        self.out = stream
        self.passed = set()
        self.reported = set()
        self.problems = []  # (title, traceback text, diagnostics)
        self._t0 = None

    def startTest(self, test):
        super().startTest(test)
        self._t0 = time.monotonic()
        self.out.write(f"{test.id()} ... ")
        self.out.flush()

    def _end(self, test, word):
        self.reported.add(test.id())
        took = time.monotonic() - self._t0 if self._t0 else 0
        self.out.write(f"{word} ({took:.1f}s)\n")
        self.out.flush()

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed.add(test.id())
        self._end(test, "ok")

    def _problem(self, test, err, word):
        text = self._exc_info_to_string(err, test)
        diag = harness.diagnostics()
        if isinstance(test, unittest.TestCase):
            self._end(test, word)
        else:  # a setUpModule / setUpClass / tearDown… error
            self.out.write(f"{test.description} ... {word}\n")
        self.problems.append((f"{word}: {getattr(test, 'description', None) or test.id()}", text, diag))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._problem(test, err, "FAIL")

    def addError(self, test, err):
        super().addError(test, err)
        self._problem(test, err, "ERROR")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._end(test, f"SKIPPED ({reason}) — counted as failed")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._problem(subtest, err, "FAIL" if issubclass(err[0], test.failureException) else "ERROR")


def preflight():
    notes = []
    if os.geteuid() != 0:
        notes.append("not running as root: Dovecot cannot switch to the mail uid")
    for what, path in (("plugin", harness.plugin_path()), ("plugin's sink module", harness.sink_module_path()),
                       ("daemon", harness.daemon_path())):
        if not os.path.exists(path):
            notes.append(f"the {what} is not built: {path} is missing")
    return notes


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", dest="substring", help="only tests whose id contains this")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()

    loader = unittest.TestLoader()
    os.chdir(HERE)
    if args.names:
        suite = loader.loadTestsFromNames(args.names)
    else:
        suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    if args.substring:
        suite = unittest.TestSuite(t for t in iter_tests(suite) if args.substring in t.id())
    all_ids = [t.id() for t in iter_tests(suite)]

    for note in preflight():
        print(f"WARNING: {note}")
    out = sys.stdout
    result = Result(out)
    t0 = time.monotonic()
    try:
        suite.run(result)
    finally:
        for obj in list(harness.LIVE):  # nothing may outlive the run
            try:
                (obj.cleanup if hasattr(obj, "cleanup") else obj.kill)()
            except Exception:
                traceback.print_exc()

    not_run = [i for i in all_ids if i not in result.reported]
    for i in not_run:
        print(f"{i} ... FAIL (not run: its set-up failed)")
    for title, text, diag in result.problems:
        print("=" * 70)
        print(title)
        print("-" * 70)
        print(text.rstrip())
        if diag:
            print(diag.rstrip())
    passed = len([i for i in all_ids if i in result.passed])
    failed = len(all_ids) - passed
    if failed == 0 and (result.errors or result.failures):
        failed = 1  # e.g. a tearDownModule error after every test passed
    print("-" * 70)
    print(f"integration: {len(all_ids)} tests in {time.monotonic() - t0:.1f}s")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
