"""Compressed bodies: the size cap holds on the decoded bytes while they are decoded."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from lettermon.errors import FetchError
from lettermon.settings import HttpSettings
from lettermon.watch.fetch import Fetcher, make_client

import widget
from conftest import write_config
from hostile_server import BOMB_ENCODINGS, GiB, MiB, answer, bomb, content_encoding, serve_raw
from letter_server import LetterSite, serve

LETTERMON = str(Path(sys.executable).parent / "lettermon")
PEAK_RSS_LIMIT = 150 * 10**6
ADDRESS_SPACE = 3 * GiB  # a regression fails the test instead of exhausting the machine


def env() -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("LETTERMON_")}
    return {**keep, "LETTERMON_LOG_FORMAT": "json", "LETTERMON_SECRETS_DIR": "/nonexistent"}


# A child forked from this (large) test process counts the parent's pages in its peak RSS
# until it execs, so the measured command is started by a small launcher process, which
# sets its address-space limit, waits for it and reports its own rusage.
_LAUNCHER = """
import json, resource, subprocess, sys
limit, timeout, args = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
def limited():
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
child = subprocess.Popen(args, stdout=sys.stdout, stderr=subprocess.STDOUT,
                         preexec_fn=limited)
try:
    code = child.wait(timeout)
except subprocess.TimeoutExpired:
    child.kill()
    code = child.wait()
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"code": code, "peak_kib": peak}), file=sys.stderr)
"""


def run_measured(args: list[str], timeout: float = 60.0) -> tuple[int, str, int]:
    """Run ``args`` as a child process: its exit code, its output, its peak RSS in bytes."""
    import json

    launched = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, str(ADDRESS_SPACE), str(timeout), *args],
        capture_output=True, env=env(), timeout=timeout + 30, check=False)
    measured = json.loads(launched.stderr.decode().strip().splitlines()[-1])
    text = launched.stdout.decode("utf-8", "replace")
    return int(measured["code"]), text, int(measured["peak_kib"]) * 1024  # KiB on Linux


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    """One bomb per encoding, each about 4 GiB of zeros once decoded."""
    return {kind: bomb(kind, 4 * GiB) for kind in BOMB_ENCODINGS}


def settings(**changes: Any) -> HttpSettings:
    return HttpSettings(**{"retries": 0, "timeout": 5, **changes})


def fetch(url: str, **changes: Any) -> Any:
    http = settings(**changes)
    fetcher = Fetcher(make_client(http), http)
    try:
        return fetcher.get(url)
    finally:
        fetcher.close()


def test_the_test_bombs_decode_to_what_they_claim() -> None:
    size = 8 * MiB
    assert gzip.decompress(bomb("gzip", size)) == bytes(size)
    assert zlib.decompress(bomb("deflate-zlib", size)) == bytes(size)
    assert zlib.decompress(bomb("deflate-raw", size), -zlib.MAX_WBITS) == bytes(size)
    import zstandard

    assert zstandard.ZstdDecompressor().decompressobj().decompress(
        bomb("zstd", size)) == bytes(size)


@pytest.mark.slow
@pytest.mark.parametrize("kind", BOMB_ENCODINGS)
def test_a_compression_bomb_fails_the_check_and_memory_stays_flat(
        kind: str, bombs: dict[str, bytes], tmp_path: Path) -> None:
    body = bombs[kind]
    assert len(body) < 5 * MiB  # a small body ...
    with serve_raw(answer(200, body, Content_Encoding=content_encoding(kind))) as server:
        cfg = write_config(tmp_path / "lettermon.toml", server.url,
                           database=tmp_path / "lettermon.sqlite3")
        code, output, peak = run_measured([LETTERMON, "check", "--no-post", "--config",
                                           str(cfg)])
    print(f"{kind} bomb of {len(body):,} bytes: exit {code}, peak RSS {peak / 1e6:.1f} MB")
    assert code == 1, output
    assert "over the 10,000,000-byte cap" in output  # ... that would decode to 4 GiB
    assert peak < PEAK_RSS_LIMIT, f"peak RSS {peak / 1e6:.0f} MB"


@pytest.mark.parametrize("kind", BOMB_ENCODINGS)
def test_the_cap_applies_to_decoded_bytes_while_decoding(kind: str) -> None:
    body = bomb(kind, 64 * MiB)
    with serve_raw(answer(200, body, Content_Encoding=content_encoding(kind))) as server, \
            pytest.raises(FetchError, match="over the 1,000,000-byte cap") as caught:
        fetch(server.url, max_bytes=1_000_000)
    assert caught.value.kind == "too_large"
    assert caught.value.status == 200


@pytest.mark.parametrize("kind", ["gzip", "deflate-zlib", "deflate-raw", "zstd"])
def test_compressed_pages_are_decoded(kind: str) -> None:
    page = widget.render_page(widget.make_signatories(120, seed=5), 1).encode()
    if kind == "gzip":
        body = gzip.compress(page)
    elif kind == "zstd":
        import zstandard

        body = zstandard.ZstdCompressor().compress(page)
    else:
        wbits = zlib.MAX_WBITS if kind == "deflate-zlib" else -zlib.MAX_WBITS
        compressor = zlib.compressobj(6, zlib.DEFLATED, wbits)
        body = compressor.compress(page) + compressor.flush()
    with serve_raw(answer(200, body, Content_Encoding=content_encoding(kind))) as server:
        result = fetch(server.url)
    assert result.body == page


def test_a_gzip_body_of_several_members_is_read_whole() -> None:
    with serve_raw(answer(200, gzip.compress(b"<html>one ") + gzip.compress(b"two</html>"),
                          Content_Encoding="gzip")) as server:
        assert fetch(server.url).body == b"<html>one two</html>"


def test_only_encodings_that_can_be_bounded_are_offered() -> None:
    with serve_raw(answer(200, b"<html>plain</html>")) as server:
        fetch(server.url)
    [request] = server.heads
    offered = [line for line in request.split(b"\r\n") if line.lower().startswith(
        b"accept-encoding:")]
    assert offered == [b"Accept-Encoding: gzip, deflate, zstd"]


def test_an_encoding_that_was_not_offered_fails_clearly() -> None:
    with serve_raw(answer(200, b"\x1b\x00\x00compressed?", Content_Encoding="br")) as server, \
            pytest.raises(FetchError, match="Content-Encoding br, which was not asked for"):
        fetch(server.url)


def test_a_gzip_letter_page_is_read_correctly(
        config_for: Callable[..., Path], run_cli: Callable[..., Result]) -> None:
    with serve(LetterSite(widget.make_signatories(250, seed=7), compress=True)) as site:
        result = run_cli("check", "--no-post", "--config", str(config_for(site)))
        assert result.exit_code == 0, result.output
        assert "250 signatures (first poll: 250 signatories recorded)" in result.output
