"""Shared pieces of the benchmarks: local letter sites, configs, measured CLI runs, tables.

Every benchmark talks only to servers on 127.0.0.1. The letter site is the test suite's
:class:`letter_server.LetterSite`, served either in this process (when only its request
log matters) or in a separate process (:class:`ServerProcess`, when this process measures
CPU or memory and the server's own work must not be counted).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
TESTS = ROOT / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

import letter_server  # noqa: E402
import widget  # noqa: E402
from conftest import write_config  # noqa: E402
from letter_server import LetterSite, serve  # noqa: E402

# http.server writes a response's headers and body in two sends; with Nagle's algorithm on,
# the body then waits for the client's delayed ACK (~40 ms a page on Linux), which no real
# web server does. Benchmarks serve with TCP_NODELAY so that wall times are not dominated
# by that artefact (CPU figures are unaffected either way).
letter_server._Handler.disable_nagle_algorithm = True

__all__ = [
    "BENCH", "ROOT", "LetterSite", "Measured", "ServerProcess", "clean_env", "lettermon_cmd",
    "print_table", "run_measured", "serve", "verdict", "widget", "write_config",
]


def clean_env() -> dict[str, str]:
    """The environment a cron job would see: no LETTERMON_* settings, no secrets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LETTERMON_")}
    env["LETTERMON_SECRETS_DIR"] = "/nonexistent/lettermon-bench-secrets"
    env["LETTERMON_LOG_FORMAT"] = "text"
    env["LETTERMON_LOG_LEVEL"] = "WARNING"
    return env


def lettermon_cmd(*args: str) -> list[str]:
    """``lettermon ARGS`` through the installed console script of this interpreter."""
    script = Path(sys.executable).with_name("lettermon")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-c", "from lettermon.cli import main; main()", *args]


@dataclass(frozen=True)
class Measured:
    """One child process: exit code, output, wall time and its own resource usage."""

    returncode: int
    stdout: str
    stderr: str
    wall: float
    user: float
    sys: float
    maxrss_kb: int

    @property
    def cpu(self) -> float:
        return self.user + self.sys

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_measured(cmd: Sequence[str], *, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> Measured:
    """Run ``cmd`` to completion and read its rusage with ``wait4``: only that child's
    CPU time and peak RSS are counted, nothing of this process or of the servers."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, env=env or clean_env(),
                                cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped by wait4
        out.seek(0)
        err.seek(0)
        return Measured(proc.returncode, out.read().decode(), err.read().decode(), wall,
                        usage.ru_utime, usage.ru_stime, usage.ru_maxrss)


class ServerProcess:
    """A :class:`LetterSite` served by ``serve_letter.py`` in its own process.

    Commands go over the child's stdin, one JSON line each; each gets one JSON line back.
    """

    def __init__(self, signatures: int, *, order: str = "newest_first",
                 validators: bool = True, seed: int = 1) -> None:
        cmd = [sys.executable, str(BENCH / "serve_letter.py"), "--signatures", str(signatures),
               "--order", order, "--seed", str(seed)]
        if not validators:
            cmd.append("--no-validators")
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True, env=clean_env())
        hello = self._read()
        self.url: str = hello["url"]
        self.pid = self._proc.pid

    def _read(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the letter server process ended")
        return dict(json.loads(line))

    def call(self, command: str, **args: Any) -> dict[str, Any]:
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps({"command": command, **args}) + "\n")
        self._proc.stdin.flush()
        return self._read()

    def sign(self, n: int, seed: int = 99) -> None:
        self.call("sign", n=n, seed=seed)

    def requests(self) -> list[list[Any]]:
        return list(self.call("requests")["requests"])

    def reset_requests(self) -> None:
        self.call("reset")

    def close(self) -> None:
        if self._proc.poll() is None:
            with contextlib.suppress(OSError, RuntimeError):
                self.call("quit")
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) if i == 0 else v.rjust(w)
                         for i, (v, w) in enumerate(zip(values, widths, strict=True)))
    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print(line(row))


def verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"
