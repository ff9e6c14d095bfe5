"""Raw-socket web servers that misbehave on purpose: drips, stalls, bombs, one-shot answers.

Each listens on 127.0.0.1 only and serves every connection on its own daemon thread. Every
loop is bounded in count and in time, and a server's exit ends its handlers, so a test that
fails leaves nothing running for long. The bodies of the compression bombs are built from a
stream of zeros, compressed piece by piece; none is ever held decoded in memory.
"""

from __future__ import annotations

import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

MiB = 1 << 20
GiB = 1 << 30

Respond = Callable[["Connection"], None]


@dataclass
class Connection:
    """One accepted connection: the request's head as sent, and a way to answer."""

    sock: socket.socket
    head: bytes
    stopping: threading.Event

    @property
    def target(self) -> str:
        return self.head.split(b" ", 2)[1].decode("latin-1") if self.head else ""

    def header(self, name: str) -> str | None:
        for line in self.head.split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            if key.strip().lower() == name.lower().encode():
                return value.strip().decode("latin-1")
        return None

    def send(self, data: bytes) -> bool:
        """Send ``data``; False once the client has gone away."""
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        return True


@dataclass
class RawServer:
    respond: Respond
    heads: list[bytes] = field(default_factory=list)
    active: int = 0
    peak: int = 0
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)

    def serve(self, listener: socket.socket) -> None:
        listener.settimeout(0.05)  # looks at ``_stopping`` twenty times a second
        while not self._stopping.is_set():
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:  # the listener was closed: the server is stopping
                return
            threading.Thread(target=self._handle, args=(sock,), daemon=True).start()

    def _handle(self, sock: socket.socket) -> None:
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            with sock:
                sock.settimeout(10)
                head = _read_head(sock)
                if head is None:
                    return
                self.heads.append(head)
                self.respond(Connection(sock, head, self._stopping))
        except OSError:
            pass
        finally:
            with self._lock:
                self.active -= 1


def _read_head(sock: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = sock.recv(4096)
        if not chunk:
            return None
        data += chunk
    return data.split(b"\r\n\r\n", 1)[0]


@contextmanager
def serve_raw(respond: Respond) -> Iterator[RawServer]:
    server = RawServer(respond)
    listener = socket.create_server(("127.0.0.1", 0))
    server.url = f"http://127.0.0.1:{listener.getsockname()[1]}/letter/"
    thread = threading.Thread(target=server.serve, args=(listener,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server._stopping.set()
        thread.join(5)
        listener.close()


def head(status: int = 200, **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status} Whatever"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in
              {"Content-Type": "text/html", **headers}.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# -- behaviours ------------------------------------------------------------------------------

def drip(every: float = 0.5, for_at_most: float = 30.0) -> Respond:
    """Headers promising a megabyte, then one byte every ``every`` seconds."""
    def respond(conn: Connection) -> None:
        if not conn.send(head(Content_Length="1000000") + b"<"):
            return
        ends = time.monotonic() + for_at_most
        while time.monotonic() < ends and not conn.stopping.wait(every):
            if not conn.send(b"x"):
                return
    return respond


def stall(seconds: float = 40.0, then: bytes | None = None) -> Respond:
    """Headers, then silence for ``seconds``; then the body ``then`` if given."""
    def respond(conn: Connection) -> None:
        body = then or b""
        size = len(body) if then is not None else 1000000
        if not conn.send(head(Content_Length=str(size))):
            return
        if not conn.stopping.wait(seconds) and then is not None:
            conn.send(body)
    return respond


def answer(status: int = 200, body: bytes = b"<html>letter</html>", **headers: str) -> Respond:
    """One complete answer, then the connection is closed (each request needs a new one)."""
    def respond(conn: Connection) -> None:
        conn.send(head(status, Content_Length=str(len(body)), Connection="close", **headers))
        for i in range(0, len(body), 65536):
            if conn.stopping.is_set() or not conn.send(body[i:i + 65536]):
                return
    return respond


# -- compression bombs -----------------------------------------------------------------------

_ZLIB_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "deflate-zlib": zlib.MAX_WBITS,
               "deflate-raw": -zlib.MAX_WBITS}
BOMB_ENCODINGS = ("gzip", "deflate-zlib", "deflate-raw", "zstd")


def content_encoding(kind: str) -> str:
    """The Content-Encoding a bomb of ``kind`` is served with."""
    return kind.split("-", maxsplit=1)[0]


def bomb(kind: str, size: int) -> bytes:
    """A body in ``kind`` (gzip, deflate-zlib, deflate-raw, zstd) decoding to ``size`` zeros.

    ``size`` is a whole number of MiB. The zeros are compressed one MiB at a time; the zlib
    encodings flush fully after each MiB, after which a MiB of zeros always compresses to
    the same bytes, so once two flushed pieces are seen to be equal that piece is repeated
    instead of compressed again (a gzip bomb of several GiB then takes a moment, not
    seconds), and the trailer's checksum is computed over the whole stream of zeros.
    """
    zeros = bytes(MiB)
    pieces, rest = divmod(size, MiB)
    if rest or pieces < 4:
        raise ValueError("a bomb is at least 4 MiB, in whole MiB")
    if kind == "zstd":
        import zstandard

        compressor = zstandard.ZstdCompressor(level=1).compressobj()
        out = [compressor.compress(zeros) for _ in range(pieces)]
        return b"".join(out) + compressor.flush()
    compressor = zlib.compressobj(9, zlib.DEFLATED, _ZLIB_WBITS[kind])
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    steady = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    if steady != again:
        raise AssertionError("a flushed MiB of zeros did not compress the same twice")
    end = compressor.flush()  # the last, empty block, then the trailer for three MiB
    body = b"".join([first, steady * (pieces - 1)])
    if kind == "gzip":
        crc = 0
        for _ in range(pieces):
            crc = zlib.crc32(zeros, crc)
        return body + end[:-8] + crc.to_bytes(4, "little") + (size % 2**32).to_bytes(4, "little")
    if kind == "deflate-zlib":  # Adler-32 of n zeros: a = 1, b = n mod 65521
        return body + end[:-4] + ((size % 65521) << 16 | 1).to_bytes(4, "big")
    return body + end
