"""Helpers for tests that post: a letter that grows on demand, channel configs, a test clock.

A test that asks for the ``clock`` fixture gets a :class:`TestClock`, and the CLI it runs
(``run_cli``) is wired with it (see ``conftest.wiring``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from click.testing import Result

import widget
from fakes import bluesky_pds, x_api
from letter_server import LetterSite

MASTODON_TOKEN = "alice_token"  # mastodon-mock's seeded account "alice"


class TestClock:
    """A clock that only moves when told to."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


# -- the letter ---------------------------------------------------------------------------

def grow_to(site: LetterSite, count: int) -> None:
    """People sign (new, distinct rows) or are removed until the list holds ``count``."""
    have = len(site.rows)
    if count > have:
        rows = widget.make_signatories(count - have, seed=have)
        for i, row in enumerate(rows):
            row["last_name"] = f"{row['last_name']} {have + i}"  # every row distinct
        site.sign(rows)
    for _ in range(have - count):
        site.remove(len(site.rows) // 2)


def letter_site(count: int) -> LetterSite:
    site = LetterSite([])
    grow_to(site, count)
    return site


# -- channels ------------------------------------------------------------------------------

def build_channel(settings: Any, **options: Any) -> Any:
    """The channel for a ``[[channels]]`` entry, built as lettermon builds it."""
    from lettermon.announce.channels.base import ChannelContext
    from lettermon.registry import builtin_registry

    return builtin_registry().channel(settings.kind)(settings, ChannelContext(), **options)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are TOML basic-string escapes
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def channel(kind: str, name: str, **values: Any) -> str:
    lines = ["[[channels]]", f'name = "{name}"', f'kind = "{kind}"']
    lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def milestones(**rules: Any) -> str:
    return f"milestones = {toml_value(rules)}"


def console(name: str = "screen", **values: Any) -> str:
    return channel("console", name, **values)


def webhook(url: str, name: str = "hook", **values: Any) -> str:
    return channel("webhook", name, url=url, timeout=5, **values)


def mastodon(base_url: str, monkeypatch: pytest.MonkeyPatch | None, name: str = "fedi",
             **values: Any) -> str:
    if monkeypatch is not None:
        monkeypatch.setenv(f"LETTERMON_{name.upper()}_ACCESS_TOKEN", MASTODON_TOKEN)
    return channel("mastodon", name, api_base_url=base_url, timeout=5, **values)


def bluesky(base_url: str, monkeypatch: pytest.MonkeyPatch | None, name: str = "sky",
            **values: Any) -> str:
    if monkeypatch is not None:
        monkeypatch.setenv(f"LETTERMON_{name.upper()}_APP_PASSWORD", bluesky_pds.APP_PASSWORD)
    return channel("bluesky", name, base_url=base_url, handle=bluesky_pds.HANDLE, timeout=5,
                   **values)


X_SECRETS = {"CONSUMER_KEY": x_api.CONSUMER_KEY, "CONSUMER_SECRET": x_api.CONSUMER_SECRET,
             "ACCESS_TOKEN": x_api.ACCESS_TOKEN,
             "ACCESS_TOKEN_SECRET": x_api.ACCESS_TOKEN_SECRET}


def x(base_url: str, monkeypatch: pytest.MonkeyPatch | None, name: str = "bird",
      **values: Any) -> str:
    if monkeypatch is not None:
        for field, secret in X_SECRETS.items():
            monkeypatch.setenv(f"LETTERMON_{name.upper()}_{field}", secret)
    return channel("x", name, api_base_url=base_url, timeout=5, **values)


# -- what the fakes received -----------------------------------------------------------------

def mastodon_texts(server: Any) -> list[str]:
    """The plain text of every status the account posted, oldest first."""
    api = server.client()
    statuses = api.account_statuses(api.me().id)
    return [api.status_source(s.id).text for s in reversed(statuses)]


def bluesky_texts(pds: bluesky_pds.FakePds) -> list[str]:
    return [str(record["value"]["text"]) for record in pds.records.values()]


def console_posts(output: str) -> list[str]:
    """The texts the console channel printed, each under its ``--- name: ...`` header."""
    posts: list[str] = []
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("--- ") and line.endswith(" ---") and i + 1 < len(lines):
            posts.append(lines[i + 1])
    return posts


def outbox(run_cli: Callable[..., Result], config: Any, *args: str) -> list[dict[str, Any]]:
    result = run_cli("outbox", *args, "--format", "json", "--config", str(config))
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.output)
    return rows


def check(run_cli: Callable[..., Result], config: Any, *args: str, code: int = 0) -> Result:
    result = run_cli("check", "--config", str(config), *args)
    assert result.exit_code == code, result.output
    return result
