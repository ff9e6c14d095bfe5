"""Secrets never appear in messages: every URL shown is shown without its password."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from lettermon.redact import redact

Cli = Callable[..., Result]


@pytest.mark.parametrize(("text", "shown"), [
    ("postgresql://lm:PG%ZZSECRET3@db.example/lm", "postgresql://lm:***@db.example/lm"),
    ("postgresql://lm:SECRET3@[bad/lm", "postgresql://lm:***@[bad/lm"),
    ("at postgres://lm:p@ss:w/rd@db:5432/lm, twice", "at postgres://lm:***@db:5432/lm, twice"),
    ('connect "https://me:SECRET3@letters.example/x?a=1" failed',
     'connect "https://me:***@letters.example/x?a=1" failed'),
    ("postgresql://db.example/lm?sslmode=require&password=SECRET3",
     "postgresql://db.example/lm?sslmode=require&password=***"),
    ("https://hooks.example/x?token=SECRET3&v=2", "https://hooks.example/x?token=***&v=2"),
    # nothing secret: left as it is
    ("postgresql://lettermon@db.example.org/lettermon",
     "postgresql://lettermon@db.example.org/lettermon"),
    ("https://mastodon.social/@icrac", "https://mastodon.social/@icrac"),
    ("https://example.org/a:b/@c", "https://example.org/a:b/@c"),
    ("mail me at a@b.example: 10:30", "mail me at a@b.example: 10:30"),
])
def test_the_password_of_every_url_in_a_text_is_hidden(text: str, shown: str) -> None:
    assert redact(text) == shown


def test_a_known_secret_is_hidden_wherever_it_appears() -> None:
    text = 'invalid percent-encoded token: "PG%ZZSECRET3"; SECRET3'
    assert redact(text, "PG%ZZSECRET3") == 'invalid percent-encoded token: "***"; SECRET3'
    assert redact("failed for pa:ss", "pa%3Ass") == "failed for ***"  # its decoded form too


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


BAD_DATABASE_URLS = {
    "a bad percent escape": ("postgresql://lm:PG%ZZSECRET3@db.example/lm", 2),
    "an unclosed [ host": ("postgresql://lm:SECRET3@[bad/lm", 2),
    "a port that is not a number": ("postgresql://lm:SECRET3@db.example:port/lm", 2),
    "a server that refuses": (f"postgresql://lm:SECRET3@127.0.0.1:{closed_port()}/lm", 1),
}


@pytest.mark.parametrize(("url", "code"), BAD_DATABASE_URLS.values(),
                         ids=BAD_DATABASE_URLS.keys())
@pytest.mark.parametrize("where", ["file", "environment"])
def test_a_database_url_with_a_password_is_never_shown(
        url: str, code: int, where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        run_cli: Cli) -> None:
    config = tmp_path / "lettermon.toml"
    letter = '[[letters]]\nname = "rek"\nurl = "https://letters.example/x"\n'
    if where == "file":
        config.write_text(f'database_url = "{url}"\n' + letter, encoding="utf-8")
    else:
        config.write_text(letter, encoding="utf-8")
        monkeypatch.setenv("LETTERMON_DATABASE_URL", url)
    monkeypatch.setenv("LETTERMON_LOG_LEVEL", "DEBUG")
    for command in (("check",), ("health",), ("history", "rek")):
        result = run_cli(*command, "--config", str(config))
        assert result.exit_code == code, result.output
        assert "SECRET3" not in result.output
        assert "database_url" in result.stderr or "PostgreSQL" in result.stderr
        assert "Traceback" not in result.output


def test_a_letter_url_with_a_password_is_hidden_in_output_history_and_logs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Cli) -> None:
    config = tmp_path / "lettermon.toml"
    config.write_text(
        f'database_url = "sqlite:///{tmp_path}/db.sqlite3"\n[http]\nretries = 1\n'
        'retry_budget = "1s"\ntimeout = "2s"\n[[letters]]\nname = "rek"\n'
        f'url = "http://reader:SECRET3@127.0.0.1:{closed_port()}/letter/"\n',
        encoding="utf-8")
    for fmt in ("text", "json"):
        monkeypatch.setenv("LETTERMON_LOG_FORMAT", fmt)
        monkeypatch.setenv("LETTERMON_LOG_LEVEL", "DEBUG")
        checked = run_cli("check", "--config", str(config))
        assert checked.exit_code == 1, checked.output
        assert "rek: FAILED" in checked.stdout
        assert "reader:***@127.0.0.1" in checked.output
        assert "SECRET3" not in checked.output
    history = run_cli("history", "rek", "--config", str(config), "--format", "json")
    assert history.exit_code == 0, history.output
    errors = [poll["error"] for poll in json.loads(history.stdout)]
    assert len(errors) == 2 and all("reader:***@" in e for e in errors), errors
    assert "SECRET3" not in history.output
