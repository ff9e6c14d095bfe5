"""Shared fixtures: a clean environment, a local letter site, a config and the CLI."""

from __future__ import annotations

import os
import sys
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
def run_cli() -> Callable[..., Result]:
    """Run the CLI in-process, as a user would type it."""
    from lettermon.cli import cli

    def run(*args: str, **kwargs: Any) -> Result:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kwargs)
    return run
