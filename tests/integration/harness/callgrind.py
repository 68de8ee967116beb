"""Dovecot processes run under callgrind: where their profiles go, and
reading each one's instruction count as the process writes it at exit."""

import glob
import os
import re
import time


class Profiles:
    """callgrind's output files, one per process."""

    def __init__(self, directory):
        self.directory = directory
        # a mail process opens its file as root and writes it at exit as
        # the mail user: both must be allowed
        os.chmod(directory, 0o777)

    def pattern(self):
        return os.path.join(self.directory, "cg.%p")

    def executable(self, binary):
        """A service's `executable` that runs binary under callgrind."""
        return f"/usr/bin/valgrind --tool=callgrind --callgrind-out-file={self.pattern()} {binary}"

    def open_to_all(self):
        for path in glob.glob(os.path.join(self.directory, "cg.*")):
            os.chmod(path, 0o666)

    def written(self):
        return {p for p in glob.glob(os.path.join(self.directory, "cg.*")) if os.path.getsize(p) > 0}

    def wait_for_new(self, before, timeout=120):
        """The instructions in the next profile written, and its path."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for path in self.written() - before:
                with open(path) as f:
                    m = re.search(r"^summary:\s+(\d+)", f.read(), re.M)
                if m:
                    return int(m.group(1)), path
            time.sleep(0.1)
        raise AssertionError("callgrind wrote no profile for the process")
