"""Small helpers shared by the integration harness."""

import fcntl
import math
import os
import socket
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


class Timeout(AssertionError):
    """A wait_until() that ran out of time; an AssertionError so tests fail, not error."""


def wait_until(pred, timeout=10.0, interval=0.05, what="condition"):
    """Poll pred() until it returns something truthy; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise Timeout(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


# Ports come from below the kernel's ephemeral range: the kernel never hands
# those out for bind(0) or an outgoing connection, so a port given to a
# server stays ours while that server stops and starts again. Processes
# claim them in blocks, each block by a lock on a file held until the
# process exits: test processes running side by side, and other runs on the
# machine, never hand out the same port.
PORT_BLOCK = 64
# one place for every run on the machine, whatever its TMPDIR: runs that
# claimed blocks in two places were given the same ports
PORT_LOCK_DIR = "/tmp/dovewarden-it-ports" if os.access("/tmp", os.W_OK) else \
    os.path.join(tempfile.gettempdir(), "dovewarden-it-ports")
_ports = []  # what is left of this process's current block
_locks = []  # the open lock files: they hold our blocks


def _port_range():
    """[low, high) below the ephemeral range, or None where that is too small."""
    low = 20000
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            high = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return (low, high) if high - low >= 16 * PORT_BLOCK else None


def _claim_block():
    low, high = _port_range()
    os.makedirs(PORT_LOCK_DIR, exist_ok=True)
    for start in range(low, high - PORT_BLOCK + 1, PORT_BLOCK):
        fd = os.open(os.path.join(PORT_LOCK_DIR, str(start)), os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        _locks.append(fd)
        return list(range(start, start + PORT_BLOCK))
    raise RuntimeError(f"every block of ports from {low} to {high} is taken ({PORT_LOCK_DIR})")


def _bindable(port, reuse_addr=False):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        if reuse_addr:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port():
    """A free TCP port on 127.0.0.1 that no other process of the harness, in this
    run or another, has been given."""
    if _port_range() is None:  # the kernel's choice, as the last resort
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    while True:
        if not _ports:
            _ports.extend(_claim_block())
        port = _ports.pop(0)
        if _bindable(port):  # something outside the harness may use it
            return port


def port_unheld(port):
    """Whether no socket listens on 127.0.0.1:port, as a server that binds
    with SO_REUSEADDR sees it (connections in TIME_WAIT do not count)."""
    return _bindable(port, reuse_addr=True)


def port_answers(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5) as s:
            s.settimeout(2)
            return s.recv(64) != b""
    except OSError:
        return False


def port_listening(port):
    """Whether some socket listens on TCP port `port` (IPv4), without connecting:
    a probe connection would leave an error line in a server's log."""
    try:
        with open("/proc/net/tcp") as f:
            rows = f.read().splitlines()[1:]
    except OSError:
        return False
    for row in rows:
        fields = row.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":  # TCP_LISTEN
            return True
    return False


def tail(path, lines=40):
    try:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", "replace").splitlines()
    except OSError as e:
        return f"({path}: {e})"
    return "\n".join(data[-lines:])


def settled(read, quiet=1.0):
    """read()'s value once it has not changed for quiet seconds: a
    daemon takes the last events in a moment after they were sent."""
    value = read()
    while True:
        time.sleep(quiet)
        again = read()
        if again == value:
            return value
        value = again


def percentile(values, p):
    """Nearest rank: the smallest value with at least p of all at or below it."""
    values = sorted(values)
    return values[max(0, math.ceil(p * len(values)) - 1)]


def proc_stat(pid):
    """The fields of /proc/PID/stat after the command's name: state, ppid, ...
    (field 3 of proc(5) is [0]). Raises OSError if pid is gone."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def children_of(pid):
    """The pids of pid's child processes."""
    children = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and int(proc_stat(entry)[1]) == pid:
                children.append(int(entry))
        except (OSError, ValueError, IndexError):
            pass
    return children


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours still answers kill(0); look at /proc
    try:
        return proc_stat(pid)[0] != "Z"
    except OSError:
        return False


# Everything started by the harness that is still running registers here, so
# the runner can print diagnostics when a test fails.
LIVE = []


def diagnostics():
    return "\n".join(obj.diagnostics() for obj in list(LIVE))


# Set by the runner's worker: a function that keeps a line of figures with
# the test that is running.
FIGURES_SINK = None


def report_figures(**figures):
    """Print a test's figures as one line `name=value ...`, which the runner
    also shows under the test's result."""
    line = " ".join(f"{name}={value}" for name, value in figures.items())
    print(line, flush=True)
    if FIGURES_SINK is not None:
        FIGURES_SINK(line)
    return line
