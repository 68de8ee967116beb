#!/usr/bin/python3
"""Run the integration tests on each Dovecot: one line per test, then `N passed, N failed` last.

Usage: tests/integration/run.py [-k SUBSTRING] [-j JOBS] [--dovecot PREFIX ...] [TEST_NAME ...]
  TEST_NAME as unittest names them, e.g. test_imap or test_imap.ImapSessionTest
  --dovecot: a Dovecot to run the tests against, "" or "system" for Debian's,
    else the prefix it is installed in (its plugin `make install`ed there);
    repeatable. Default: Debian's, and DW_DOVECOT_PREFIX's if that is set.
  -j: how many test processes at once (default DW_IT_JOBS, else 4). Each test
    module that sets up a module-wide fixture, and each test class of the
    others, runs in a process of its own, once per Dovecot.
Environment: DW_PLUGIN, DW_DAEMON (paths of the built artefacts), DW_KEEP=1
(keep the temp dirs for inspection).

Each line names the Dovecot it ran on, e.g. `[2.4] test_imap.ImapSessionTest.test_x ... ok`.
A test marked with harness.not_on() says `SKIPPED on 2.4 (why)`; any other skip
is counted as failed. A line of figures a test reports (harness.report_figures)
is shown under the test's name, e.g. `[2.3] faults.X.test_y: accepted=10 lost=0`.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import unittest
from concurrent.futures import ThreadPoolExecutor, as_completed

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # keep the source tree clean

import harness  # noqa: E402
from harness.dovecot import Install  # noqa: E402

JOB_TIMEOUT = 1200  # seconds one test process may take before it is stopped


def iter_tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from iter_tests(t)
        else:
            yield t


def version_skip(test):
    """(series, reason) of a harness.not_on() mark on the test or its class."""
    method = getattr(test, getattr(test, "_testMethodName", ""), None)
    return getattr(method, "dw_not_on", None) or getattr(type(test), "dw_not_on", None)


# ---- the worker: runs the tests it is given, one JSON record per event ------

class RecordingResult(unittest.TestResult):
    """Writes {"id", "word", "took", "skip"} per test and {"problem", "text", "diag"}
    per failure to `out` as they happen, so that a crash loses nothing already done."""

    def __init__(self, out):
        super().__init__()
        self.out = out
        self._t0 = None
        self._ended = set()

    def _record(self, **rec):
        self.out.write(json.dumps(rec) + "\n")
        self.out.flush()

    def startTest(self, test):
        super().startTest(test)
        self._t0 = time.monotonic()
        harness.util.FIGURES_SINK = lambda line: self._record(figures=line, of=test.id())

    def _end(self, test, word, **extra):
        took = time.monotonic() - self._t0 if self._t0 else 0
        self._ended.add(test.id())
        self._record(id=test.id(), word=word, took=round(took, 1), **extra)

    def stopTest(self, test):
        super().stopTest(test)
        if test.id() not in self._ended:  # a failed subtest: the test failed
            self._end(test, "FAIL")

    def addSuccess(self, test):
        super().addSuccess(test)
        self._end(test, "ok")

    def _problem(self, test, err, word):
        text = self._exc_info_to_string(err, test)
        title = f"{word}: {getattr(test, 'description', None) or test.id()}"
        if isinstance(test, unittest.TestCase) and not isinstance(test, unittest.case._SubTest):
            self._end(test, word)
        # outside any test (a setUpModule, a tearDownClass): counted by the runner
        self._record(problem=title, text=text, diag=harness.diagnostics(),
                     in_test=isinstance(test, unittest.TestCase))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._problem(test, err, "FAIL")

    def addError(self, test, err):
        super().addError(test, err)
        self._problem(test, err, "ERROR")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        mark = version_skip(test)
        self._end(test, "skip", skip=reason, by_version=bool(mark and mark[0] == harness.dovecot_series()))

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._problem(subtest, err, "FAIL" if issubclass(err[0], test.failureException) else "ERROR")


def stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt  # through the finally below: nothing may outlive the run


def worker(ids, records):
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    os.chdir(HERE)
    suite = unittest.TestLoader().loadTestsFromNames(ids)
    with open(records, "a") as out:
        try:
            suite.run(RecordingResult(out))
        finally:
            for obj in list(harness.LIVE):
                try:
                    (obj.cleanup if hasattr(obj, "cleanup") else obj.kill)()
                except Exception:
                    traceback.print_exc()
    return 0


# ---- the runner: units of tests × Dovecots, in parallel processes ----------

def units_of(tests):
    """[(unit name, [test ids])]: a module with a module-wide fixture is one unit,
    otherwise each test class is; biggest first, so the long ones start early."""
    units = {}
    for t in tests:
        module = sys.modules[type(t).__module__]
        shared = hasattr(module, "setUpModule") or hasattr(module, "tearDownModule")
        name = module.__name__ if shared else f"{module.__name__}.{type(t).__name__}"
        units.setdefault(name, []).append(t.id())
    return sorted(units.items(), key=lambda u: (-len(u[1]), u[0]))


class Dovecot:
    """A Dovecot the suite runs on, and what its tests did there."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.install = Install(prefix)
        self.label = self.install.series
        self.passed = self.failed = self.skipped = 0
        self.seconds = 0.0

    def env(self):
        return dict(os.environ, DW_DOVECOT_PREFIX=self.prefix)

    def preflight(self):
        notes = []
        for what, path in (("plugin", self.install.plugin_path()), ("daemon", harness.daemon_path())):
            if not os.path.exists(path):
                notes.append(f"the {what} is not built: {path} is missing")
        return notes


class Job:
    def __init__(self, dovecot, unit, ids):
        self.dovecot, self.unit, self.ids = dovecot, unit, ids
        self.records = []
        self.output = ""
        self.note = None  # why tests were not run, if some were not
        self.took = 0.0

    def run(self, workdir):
        records = os.path.join(workdir, f"{self.dovecot.label}-{self.unit}.jsonl")
        out_path = records[:-len(".jsonl")] + ".out"
        t0 = time.monotonic()
        with open(out_path, "wb") as out:
            proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", records,
                                     *self.ids], env=self.dovecot.env(), stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT)
            try:
                proc.wait(JOB_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.note = f"stopped after {JOB_TIMEOUT} s"
                proc.terminate()  # the worker cleans up what it started
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.took = time.monotonic() - t0
        if proc.returncode != 0 and not self.note:
            self.note = f"its process exited with status {proc.returncode}"
        with open(out_path, "rb") as f:
            self.output = f.read().decode("utf-8", "replace")
        try:
            with open(records) as f:
                self.records = [json.loads(line) for line in f if line.strip()]
        except (OSError, ValueError) as e:
            self.note = self.note or f"its results could not be read: {e}"
        return self


def report(job, out):
    """Print a finished job's test lines; count them on its Dovecot; return its problems."""
    d, tag = job.dovecot, f"[{job.dovecot.label}]"
    seen = set()
    problems = []
    failed_before = d.failed
    outside = False
    for rec in job.records:
        if "figures" in rec:
            out.write(f"{tag} {rec['of']}: {rec['figures']}\n")
            continue
        if "problem" in rec:
            problems.append((f"{tag} {rec['problem']}", rec["text"], rec["diag"]))
            outside = outside or not rec["in_test"]
            continue
        seen.add(rec["id"])
        word = rec["word"]
        if word == "ok":
            d.passed += 1
        elif word == "skip" and rec.get("by_version"):
            d.skipped += 1
            word = f"SKIPPED on {d.label} ({rec['skip']})"
        elif word == "skip":
            d.failed += 1
            word = f"SKIPPED ({rec['skip']}) — counted as failed"
        else:
            d.failed += 1
        out.write(f"{tag} {rec['id']} ... {word} ({rec['took']:.1f}s)\n")
    for test_id in job.ids:
        if test_id not in seen:
            d.failed += 1
            out.write(f"{tag} {test_id} ... FAIL (not run: {job.note or 'its set-up failed'})\n")
    if outside and d.failed == failed_before:  # e.g. a tearDownModule error after every test passed
        d.failed += 1
        out.write(f"{tag} {job.unit} ... ERROR (outside its tests, see below)\n")
    if (problems or job.note) and job.output.strip():
        problems.append((f"{tag} output of the process that ran {job.unit}", job.output, ""))
    if job.note and not problems:
        problems.append((f"{tag} {job.unit}: {job.note}", "", ""))
    d.seconds += job.took
    out.write(f"{tag} {job.unit}: {len(job.ids)} test(s) in {job.took:.1f}s\n")
    out.flush()
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", dest="substring", help="only tests whose id contains this")
    ap.add_argument("-j", dest="jobs", type=int, default=int(os.environ.get("DW_IT_JOBS", "4")))
    ap.add_argument("--dovecot", action="append", help="a Dovecot's prefix (\"\" or system: Debian's)")
    ap.add_argument("--worker", metavar="RECORDS", help=argparse.SUPPRESS)
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    if args.worker:
        return worker(args.names, args.worker)

    loader = unittest.TestLoader()
    os.chdir(HERE)
    if args.names:
        suite = loader.loadTestsFromNames(args.names)
    else:
        suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    tests = list(iter_tests(suite))
    if args.substring:
        tests = [t for t in tests if args.substring in t.id()]
    errors = [t for t in tests if type(t).__name__ == "_FailedTest"]  # a module that did not import
    units = units_of(t for t in tests if t not in errors)

    prefixes = args.dovecot
    if prefixes is None:
        prefixes = [""] + ([os.environ["DW_DOVECOT_PREFIX"]] if os.environ.get("DW_DOVECOT_PREFIX") else [])
    dovecots = [Dovecot("" if p == "system" else p) for p in prefixes]
    if os.geteuid() != 0:
        print("WARNING: not running as root: Dovecot cannot switch to the mail uid")
    for d in dovecots:
        print(f"[{d.label}] Dovecot {d.install.version} from {d.install.dovecot}")
        for note in d.preflight():
            print(f"[{d.label}] WARNING: {note}")
    sys.stdout.flush()

    # interleaved, so that every Dovecot's longest units start first
    jobs = [Job(d, name, ids) for (name, ids) in units for d in dovecots]
    problems = []
    lock = threading.Lock()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dovewarden-it-run-") as workdir, \
            ThreadPoolExecutor(max(1, args.jobs)) as pool:
        for fut in as_completed([pool.submit(job.run, workdir) for job in jobs]):
            with lock:
                problems += report(fut.result(), sys.stdout)
    for t in errors:  # import errors count once per Dovecot
        for d in dovecots:
            d.failed += 1
            print(f"[{d.label}] {t.id()} ... ERROR (the test module did not load)")
        problems.append((f"ERROR: {t.id()}", str(getattr(t, "_exception", "")), ""))

    for title, text, diag in problems:
        print("=" * 70)
        print(title)
        print("-" * 70)
        print(text.rstrip())
        if diag:
            print(diag.rstrip())
    print("-" * 70)
    for d in dovecots:
        skipped = f", {d.skipped} skipped on {d.label} (each named above, with why)" if d.skipped else ""
        print(f"[{d.label}] Dovecot {d.install.version}: {d.passed} passed, {d.failed} failed{skipped}; "
              f"{d.seconds:.0f}s of test processes")
    passed = sum(d.passed for d in dovecots)
    failed = sum(d.failed for d in dovecots)
    print(f"integration: {len(tests)} tests × {len(dovecots)} Dovecot(s) in "
          f"{time.monotonic() - t0:.1f}s, {args.jobs} at a time")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
