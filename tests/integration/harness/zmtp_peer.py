"""A ZMTP 3.x peer on a raw socket (ZeroMQ RFC 23), for what pyzmq cannot do:
greet wrongly, refuse, stay silent, send byte by byte, close mid-frame."""

import os
import socket
import struct
import threading
import time

import msgpack

FLAG_MORE = 0x01
FLAG_LONG = 0x02
FLAG_COMMAND = 0x04


def greeting(mechanism=b"NULL", major=3, minor=0, as_server=True):
    """A peer's greeting: signature, version, mechanism, as-server, filler."""
    return (b"\xff" + b"\x00" * 8 + b"\x7f" + bytes([major, minor])
            + mechanism.ljust(20, b"\x00") + bytes([1 if as_server else 0]) + b"\x00" * 31)


def frame(body, flags=0):
    if len(body) > 255:
        return bytes([flags | FLAG_LONG]) + struct.pack(">Q", len(body)) + body
    return bytes([flags, len(body)]) + body


def command(name, data=b""):
    return frame(bytes([len(name)]) + name + data, FLAG_COMMAND)


def ready(socket_type=b"PULL", **extra):
    props = {"Socket-Type": socket_type}
    props.update({k.replace("_", "-"): v for k, v in extra.items()})
    data = b"".join(bytes([len(k)]) + k.encode() + struct.pack(">I", len(v)) + v
                    for k, v in props.items())
    return command(b"READY", data)


def error(reason):
    return command(b"ERROR", bytes([len(reason)]) + reason)


def parse_properties(data):
    props = {}
    while data:
        n = data[0]
        name, data = data[1:1 + n].decode(), data[1 + n:]
        (size,) = struct.unpack(">I", data[:4])
        props[name], data = data[4:4 + size], data[4 + size:]
    return props


class Messages:
    """Multipart messages parsed from a byte stream as it arrives, each a list of
    decoded events. `rest` holds the bytes of a frame begun, `frames` the frames
    of a message begun: both empty between messages."""

    def __init__(self):
        self.rest = b""
        self.frames = []

    def feed(self, data):
        """Returns the messages data completes."""
        buf, out = self.rest + data, []
        while len(buf) >= 2:
            flags = buf[0]
            if flags & FLAG_LONG:
                if len(buf) < 9:
                    break
                (size,), start = struct.unpack(">Q", buf[1:9]), 9
            else:
                size, start = buf[1], 2
            if len(buf) < start + size:
                break
            assert not flags & FLAG_COMMAND, f"a command after the handshake: {buf[:start + size]!r}"
            self.frames.append(msgpack.unpackb(buf[start:start + size], raw=False))
            buf = buf[start + size:]
            if not flags & FLAG_MORE:
                out.append(self.frames)
                self.frames = []
        self.rest = buf
        return out

    def mid_message(self):
        return bool(self.rest or self.frames)


class Connection:
    """One accepted connection, speaking as the PULL side."""

    def __init__(self, sock):
        self.sock = sock
        self.messages = Messages()
        self.received = b""  # everything after the client's READY
        self.client_greeting = b""
        self.client_ready = None

    def read_exactly(self, n, timeout=5):
        self.sock.settimeout(timeout)
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError(f"the client closed after {len(data)} of {n} bytes")
            data += chunk
        return data

    def read_client_greeting(self):
        self.client_greeting = self.read_exactly(64)
        return self.client_greeting

    def read_client_ready(self):
        flags, size = self.read_exactly(2)
        assert flags == FLAG_COMMAND, f"the client's READY flags: {flags:#x}"
        body = self.read_exactly(size)
        assert body[0] == 5 and body[1:6] == b"READY", f"not READY: {body!r}"
        self.client_ready = parse_properties(body[6:])
        return self.client_ready

    def handshake(self, ours=None, step=None):
        """Greet as a ZMTP 3.0 PULL peer (or send `ours`, byte by byte with `step`
        seconds between bytes); read the client's greeting and READY."""
        ours = greeting() + ready() if ours is None else ours
        if step is None:
            self.sock.sendall(ours)
        else:
            for i in range(len(ours)):
                self.sock.sendall(ours[i:i + 1])
                time.sleep(step)
        self.read_client_greeting()
        self.read_client_ready()

    def recv_messages(self, timeout=5):
        """Read what arrives within timeout; return the complete messages."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1 << 20)
        except socket.timeout:
            return []
        if not data:
            raise ConnectionError("the client closed")
        self.received += data
        return self.messages.feed(data)

    def close(self):
        self.sock.close()


class Listener:
    """A listening socket (tcp on 127.0.0.1, or unix at `path`) whose connections
    a thread accepts into `connections`, handing each to `serve` if given."""

    def __init__(self, path=None, serve=None):
        if path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(path)
            os.chmod(path, 0o777)  # the mail processes' uid connects
            self.endpoint = f"ipc://{path}"
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(("127.0.0.1", 0))
            self.endpoint = f"tcp://127.0.0.1:{self.sock.getsockname()[1]}"
        self.sock.listen(16)
        self.serve = serve
        self.connections = []
        self.errors = []
        self._closed = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while not self._closed:
            try:
                sock, _ = self.sock.accept()
            except OSError:
                return
            conn = Connection(sock)
            self.connections.append(conn)
            if self.serve:
                threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            self.serve(conn)
        except (OSError, ConnectionError, AssertionError) as e:
            self.errors.append(e)
        finally:
            conn.close()

    def close(self):
        self._closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for conn in self.connections:
            conn.close()
