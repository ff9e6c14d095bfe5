"""Decoding compressed response bodies with a bound on the output of every step.

httpx decodes each chunk it reads in one call, so 130 KB of zstd can become gigabytes
before a size cap is looked at. Here the raw bytes are decoded in steps of at most
:data:`STEP` bytes of output (zlib's ``max_length`` with ``unconsumed_tail``; zstandard's
stream reader with ``read(n)``), so a caller that counts the decoded bytes stops at its cap
while memory stays flat. Only encodings decoded this way are offered (:func:`accept_encoding`);
a body in any other is refused. Brotli is not offered: no brotli library is a dependency.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Callable, Iterable, Iterator

STEP = 1 << 16
"""The most decoded bytes one step produces."""

ZSTD_MAX_WINDOW = 1 << 23
"""RFC 9659: a zstd Content-Encoding uses a window of at most 8 MiB."""

_GZIP_MAGIC = b"\x1f\x8b"


class DecodingError(Exception):
    """The body is in an encoding that was not offered, or its data is corrupt."""


def accept_encoding() -> str:
    """The ``Accept-Encoding`` value: the encodings :func:`decoded` bounds."""
    import importlib.util

    codings = ["gzip", "deflate"]
    if importlib.util.find_spec("zstandard") is not None:
        codings.append("zstd")
    return ", ".join(codings)


def decoded(raw: Iterable[bytes], content_encoding: str | None) -> Iterator[bytes]:
    """The body decoded, in pieces of at most :data:`STEP` bytes, as ``raw`` is read.

    ``content_encoding`` lists the codings in the order they were applied; each is undone
    in turn, the last first. An encoding that was not offered raises at once.
    """
    codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
    stream: Iterator[bytes] = iter(raw)
    for coding in reversed([c for c in codings if c and c != "identity"]):
        stream = _decoder(coding)(stream)
    return stream


def _decoder(coding: str) -> Callable[[Iterator[bytes]], Iterator[bytes]]:
    if coding in ("gzip", "x-gzip"):
        return _gunzip
    if coding == "deflate":
        return _deflate
    if coding == "zstd" and "zstd" in accept_encoding():
        return _unzstd
    raise DecodingError(f"Content-Encoding {coding}, which was not asked for")


def _gunzip(raw: Iterator[bytes]) -> Iterator[bytes]:
    """gzip, member after member: a body may hold several."""
    return _inflate(raw, 16 + zlib.MAX_WBITS, members=True)


def _deflate(raw: Iterator[bytes]) -> Iterator[bytes]:
    """deflate: zlib-wrapped as the standard says, or bare as some servers send it."""
    head = b""
    for chunk in raw:
        head += chunk
        if len(head) >= 2:
            break
    wrapped = len(head) >= 2 and head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0
    yield from _inflate(itertools.chain([head], raw),
                        zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS, members=False)


def _inflate(raw: Iterator[bytes], wbits: int, *, members: bool) -> Iterator[bytes]:
    """Inflate ``raw``, never more than :data:`STEP` bytes per call.

    What follows the end of the (last) stream is ignored, as httpx ignores it; a body that
    stops before its end is taken as it is, as httpx takes it.
    """
    inflater = zlib.decompressobj(wbits)
    data = b""
    try:
        for chunk in raw:
            data += chunk  # only the few bytes between two gzip members are held over
            while data:
                if inflater.eof:  # another gzip member may follow
                    if not members or (len(data) >= 2 and not data.startswith(_GZIP_MAGIC)):
                        return
                    if len(data) < 2:
                        break
                    inflater = zlib.decompressobj(wbits)
                yield from _steps(inflater, data)
                data = inflater.unused_data if inflater.eof else b""
    except zlib.error as exc:
        raise DecodingError(f"the compressed body is corrupt ({exc})") from exc


def _steps(inflater: zlib._Decompress, data: bytes) -> Iterator[bytes]:
    """Feed ``data`` to ``inflater``, yielding its output one bounded step at a time."""
    while True:
        out = inflater.decompress(data, STEP)
        if out:
            yield out
        data = inflater.unconsumed_tail
        if inflater.eof or (not data and len(out) < STEP):  # used up, nothing held back
            return


def _unzstd(raw: Iterator[bytes]) -> Iterator[bytes]:
    import zstandard

    decompressor = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
    source = _Source(raw)  # zstandard reads from any object with a read(size) method
    reader = decompressor.stream_reader(source, read_across_frames=True,  # type: ignore[arg-type]
                                        closefd=False)
    try:
        while piece := reader.read(STEP):
            yield piece
    except zstandard.ZstdError as exc:
        raise DecodingError(f"the compressed body is corrupt ({exc})") from exc


class _Source:
    """A file's ``read`` over an iterator of chunks, for zstandard's stream reader."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._buffer = chunk
        if size < 0:
            size = len(self._buffer)
        piece, self._buffer = self._buffer[:size], self._buffer[size:]
        return piece
