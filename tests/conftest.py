"""Shared fixtures: a clean environment, a local letter site, a config and the CLI."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

sys.path.insert(0, str(Path(__file__).parent))

import widget
from letter_server import LetterSite, serve


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's LETTERMON_* variables or secrets."""
    for key in list(os.environ):
        if key.startswith("LETTERMON_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("LETTERMON_SECRETS_DIR", str(tmp_path / "no-secrets"))
    monkeypatch.setenv("LETTERMON_LOG_FORMAT", "text")


@pytest.fixture
def site() -> Iterator[LetterSite]:
    """The ICRAC letter as it first appeared: 479 signatories, newest first."""
    with serve(LetterSite(widget.make_signatories(479, seed=1))) as running:
        yield running


def write_config(path: Path, site_url: str, *, database: Path, extra: str = "",
                 letter_extra: str = "", name: str = "rekognition") -> Path:
    path.write_text(
        f'database_url = "sqlite:///{database}"\n'
        f"{extra}\n"
        "[http]\nretries = 1\nretry_budget = \"2s\"\ntimeout = \"5s\"\n\n"
        f'[[letters]]\nname = "{name}"\nurl = "{site_url}"\nnoun = "researchers"\n'
        f"{letter_extra}\n", encoding="utf-8")
    return path


@pytest.fixture
def config_for(tmp_path: Path) -> Callable[..., Path]:
    def make(site: LetterSite, **kwargs: Any) -> Path:
        return write_config(tmp_path / "lettermon.toml", site.url,
                            database=tmp_path / "data" / "lettermon.sqlite3", **kwargs)
    return make


@pytest.fixture
def clock() -> Any:
    """A clock at the current second that moves only when told; the CLI runs on it."""
    from datetime import UTC, datetime

    from posting import TestClock

    return TestClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def wiring(request: pytest.FixtureRequest) -> Any:
    """The collaborators the CLI runs with: the real ones, with the test's ``clock`` if the
    test asks for that fixture."""
    from lettermon.app import Wiring

    if "clock" in request.fixturenames:
        return Wiring(clock=request.getfixturevalue("clock"))
    return Wiring()


@pytest.fixture
def run_cli(wiring: Any) -> Callable[..., Result]:
    """Run the CLI in-process, as a user would type it."""
    from lettermon.cli import cli

    def run(*args: str, **kwargs: Any) -> Result:
        kwargs.setdefault("obj", wiring)
        return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kwargs)
    return run


PG_SERVER = "postgresql://postgres@127.0.0.1:5432"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty database on the local server; skips when there is none."""
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - psycopg is a test dependency
        pytest.skip(f"PostgreSQL tests need psycopg: {exc}")
    try:
        admin = psycopg.connect(f"{PG_SERVER}/test", autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL not reachable on 127.0.0.1:5432: {str(exc).strip()}")
    name = f"lettermon_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database of each kind in turn: the test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/lettermon.sqlite3"
    url: str = request.getfixturevalue("pg_url")
    return url
