"""Typos are not silent: a misspelt variable, a name field the rows do not have."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from letter_server import LetterSite

Cli = Callable[..., Result]


@pytest.mark.parametrize(("variable", "meant"), [
    ("LETTERMON_DATABSE_URL", "LETTERMON_DATABASE_URL"),
    ("LETTERMON_HTTP__TIMOUT", "LETTERMON_HTTP__TIMEOUT"),
    ("LETTERMON_HTTP_TIMEOUT", "LETTERMON_HTTP__TIMEOUT"),
    ("LETTERMON_METRICS__ENABLE", "LETTERMON_METRICS__ENABLED"),
    ("LETTERMON_LOGLEVEL", "LETTERMON_LOG_LEVEL"),
    ("LETTERMON_SCREEN_ACCESS_TOKN", "LETTERMON_SCREEN_ACCESS_TOKEN"),
])
def test_a_misspelt_variable_exits_2_naming_the_setting_meant(
        variable: str, meant: str, site: LetterSite, config_for: Callable[..., Path],
        monkeypatch: pytest.MonkeyPatch, run_cli: Cli) -> None:
    config = config_for(site, extra=(
        '[[channels]]\nname = "screen"\nkind = "mastodon"\n'
        'api_base_url = "https://mastodon.example"\n'))
    monkeypatch.setenv(variable, "postgresql://lm:TYPO-SECRET@db.example/lm")
    result = run_cli("check", "--config", str(config))
    assert result.exit_code == 2, result.output
    assert f"{variable} matches no setting" in result.stderr
    assert f"did you mean {meant}?" in result.stderr
    assert "TYPO-SECRET" not in result.output  # the value is never shown
    assert site.requests == []  # nothing was polled


def test_every_documented_variable_is_accepted(
        site: LetterSite, config_for: Callable[..., Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, run_cli: Cli) -> None:
    config = config_for(site, extra=(
        '[[channels]]\nname = "icrac-mastodon"\nkind = "mastodon"\n'
        'api_base_url = "https://mastodon.example"\n'))
    accepted = {
        "LETTERMON_CONFIG": str(config),
        "LETTERMON_LOG_FORMAT": "text", "LETTERMON_LOG_LEVEL": "WARNING",
        "LETTERMON_SECRETS_DIR": str(tmp_path / "no-secrets"),
        "LETTERMON_DATABASE_URL": f"sqlite:///{tmp_path}/env.sqlite3",
        "LETTERMON_LOCK_FILE": str(tmp_path / "lock"),
        "LETTERMON_HTTP__TIMEOUT": "5s", "LETTERMON_HTTP__RETRIES": "1",
        "LETTERMON_ALERTS__AFTER_FAILURES": "2", "LETTERMON_METRICS__PORT": "9465",
        # the secrets of this config's channel, and of channels of other configs
        "LETTERMON_ICRAC_MASTODON_ACCESS_TOKEN": "token",
        "LETTERMON_OTHER_X_CONSUMER_KEY": "key",
        "LETTERMON_OTHER_BLUESKY_APP_PASSWORD": "password",
        "LETTERMON_OTHER_HOOK_SECRET": "secret",
    }
    for key, value in accepted.items():
        monkeypatch.setenv(key, value)
    result = run_cli("check", "--no-post")
    assert result.exit_code == 0, result.output
    assert "matches no setting" not in result.output


NAME_FIELDS = 'name_fields = ["first_name", "surname"]\nmilestones = { every = 100 }'
WARNING = ("rekognition: warning: name_fields entry 'surname' matches no field of the "
           "letter's rows (they have: honorific, first_name, last_name, title, department, "
           "institution, country)")


def test_a_name_field_the_rows_do_not_have_is_reported(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Cli) -> None:
    config = config_for(site, letter_extra=NAME_FIELDS, extra=(
        '[[channels]]\nname = "screen"\nkind = "console"\nnames = true\n'))
    checked = run_cli("check", "--config", str(config))
    assert checked.exit_code == 0, checked.output  # a warning, not a failure
    assert WARNING in checked.stdout.splitlines()

    as_json = run_cli("check", "--config", str(config), "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    [report] = json.loads(as_json.stdout)
    assert report["warnings"] == [WARNING.removeprefix("rekognition: warning: ")]

    dry_run = run_cli("post", "--dry-run", "--config", str(config))
    assert dry_run.exit_code == 0, dry_run.output
    assert WARNING in dry_run.stdout.splitlines()


def test_name_fields_the_rows_have_raise_no_warning(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Cli) -> None:
    config = config_for(site, letter_extra='name_fields = ["first_name", "last_name"]')
    for args in (("check",), ("post", "--dry-run")):
        result = run_cli(*args, "--config", str(config))
        assert result.exit_code == 0, result.output
        assert "warning" not in result.output
