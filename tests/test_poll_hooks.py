"""A failure after the poll never loses the poll.

What runs after the page was read (milestones, composing, queueing, alerts) runs inside
the poll's transaction, each step in a savepoint of its own. A step that fails undoes
only its own writes: the poll and its signatories are stored, the failure is noted on
the poll and alerted to the operator channels, logged with its traceback once, and
``lettermon check`` exits 1 with one line saying so.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pytest
from click.testing import Result

from lettermon.announce.channels.base import Capabilities, Channel, Post, Posted
from lettermon.app import Wiring
from lettermon.registry import builtin_registry
from lettermon.settings import ChannelSettings, LetterSettings
from lettermon.store import LetterState, PollRecord

from letter_server import Fault, LetterSite, serve
from posting import console, console_posts, grow_to, letter_site, milestones

Cli = Callable[..., Result]
NAME = "rekognition"
OPERATOR = console("ops", operator=True)


class Broken:
    """A poll hook with a bug."""

    def after_poll(self, letter: LetterSettings, state: LetterState, poll_id: int,
                   record: PollRecord) -> None:
        raise RuntimeError("the hook has a bug")


class Abacus(Channel):
    """A network whose length counter is broken: composing its post fails."""

    class Settings(ChannelSettings):
        kind: Literal["abacus"]

    kind = "abacus"
    summary = "count beads"
    settings_model = Settings
    limit = 280
    capabilities = Capabilities()

    @staticmethod
    def length(text: str) -> int:
        raise ValueError("the abacus lost a bead")

    def send(self, post: Post) -> Posted:
        raise AssertionError("nothing is ever queued for it")


def history(run_cli: Cli, config: Path, obj: Wiring) -> list[dict[str, Any]]:
    result = run_cli("history", NAME, "--config", str(config), "--format", "json", obj=obj)
    assert result.exit_code == 0, result.output
    polls: list[dict[str, Any]] = json.loads(result.stdout)
    return polls


def signatories(run_cli: Cli, config: Path, obj: Wiring) -> int:
    result = run_cli("signatories", NAME, "--config", str(config), "--format", "json",
                     obj=obj)
    assert result.exit_code == 0, result.output
    return len(json.loads(result.stdout))


def logged_once_with_traceback(result: Result, step: str) -> None:
    errors = [line for line in result.stderr.splitlines()
              if " ERROR " in line and f"after it {step} failed" in line]
    assert len(errors) == 1, result.stderr
    assert "Traceback (most recent call last)" in result.stderr


def said(result: Result) -> list[str]:
    """What ``check`` said on stdout about its polls: the operator channel's posts and the
    lines about sending them aside."""
    lines = result.stdout.splitlines()
    posts = set(console_posts(result.stdout))
    return [line for line in lines if line not in posts and not line.startswith("--- ")
            and " → " not in line]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/data/lettermon.sqlite3"
    url: str = request.getfixturevalue("pg_url")
    return url


def test_a_failing_hook_leaves_the_poll_stored_noted_and_alerted(
        site: LetterSite, config_for: Callable[..., Path], database: str,
        run_cli: Cli) -> None:
    config = config_for(site, extra=OPERATOR)
    config.write_text(config.read_text().replace(
        config.read_text().splitlines()[0], f'database_url = "{database}"'))
    wiring = Wiring(extra_hooks=(Broken(),))
    result = run_cli("check", "--config", str(config), obj=wiring)
    assert result.exit_code == 1, result.output
    assert said(result) == [
        f"{NAME}: 479 signatures (first poll: 479 signatories recorded)",
        f"{NAME}: the poll is stored, but after it Broken failed: RuntimeError: "
        "the hook has a bug"]
    logged_once_with_traceback(result, "Broken")
    assert "RuntimeError: the hook has a bug" in result.stderr
    # the operator channel got the alert, sent by the same check
    assert f"{NAME}: alert → ops: sent" in result.stdout.splitlines()
    [alert] = console_posts(result.stdout)
    assert alert.startswith(f"lettermon: {NAME}: the poll is stored, but after it Broken "
                            "failed")
    [poll] = history(run_cli, config, wiring)
    assert (poll["outcome"], poll["count"], poll["added"]) == ("ok", 479, 479)
    assert poll["error"] == "after the poll: Broken failed: RuntimeError: the hook has a bug"
    assert signatories(run_cli, config, wiring) == 479
    # the next failure of the same day is noted again, and not alerted again
    again = run_cli("check", "--config", str(config), obj=wiring)
    assert again.exit_code == 1
    assert console_posts(again.stdout) == []
    assert [p["error"] for p in history(run_cli, config, wiring)][1].startswith(
        "after the poll: Broken failed")
    as_json = run_cli("check", "--config", str(config), "--format", "json", obj=wiring)
    assert as_json.exit_code == 1
    [report] = json.loads(as_json.stdout)
    assert report["ok"] is True
    assert report["after_poll_errors"] == ["Broken failed: RuntimeError: the hook has a bug"]


def test_a_failure_composing_a_milestone_post_keeps_the_poll(
        config_for: Callable[..., Path], run_cli: Cli) -> None:
    wiring = Wiring(registry=builtin_registry().with_channel(Abacus))
    with serve(letter_site(480)) as site:
        config = config_for(site, letter_extra=milestones(every=100), extra=(
            OPERATOR + '[[channels]]\nname = "beads"\nkind = "abacus"\n'))
        assert run_cli("check", "--config", str(config), obj=wiring).exit_code == 0
        grow_to(site, 505)
        result = run_cli("check", "--config", str(config), obj=wiring)
    assert result.exit_code == 1, result.output
    assert said(result)[-1] == (f"{NAME}: the poll is stored, but after it Announcer failed: "
                                "ValueError: the abacus lost a bead")
    logged_once_with_traceback(result, "Announcer")
    polls = history(run_cli, config, wiring)
    assert [(p["outcome"], p["count"], p["added"]) for p in polls] == [
        ("ok", 480, 480), ("ok", 505, 25)]
    assert signatories(run_cli, config, wiring) == 505
    outbox = json.loads(run_cli("outbox", "--config", str(config), "--format", "json",
                                obj=wiring).stdout)
    # the milestone's post was never queued (its step was undone); the alert was, and sent
    assert [(e["channel"], e["kind"], e["status"]) for e in outbox] == [
        ("ops", "alert", "sent")]
    assert "Announcer failed: ValueError: the abacus lost a bead" in outbox[0]["text"]


def test_a_failure_queueing_an_alert_keeps_the_poll(
        config_for: Callable[..., Path], tmp_path: Path, run_cli: Cli) -> None:
    wiring = Wiring()
    with serve(letter_site(480)) as site:
        config = config_for(site, extra=OPERATOR + "[alerts]\nafter_failures = 1\n")
        assert run_cli("check", "--config", str(config)).exit_code == 0
        site.fail(Fault("status", 404))
        assert run_cli("check", "--config", str(config)).exit_code == 1  # alerted
        # the database now refuses every new outbox row (a full disk, a broken index...)
        with sqlite3.connect(tmp_path / "data" / "lettermon.sqlite3") as db:
            db.execute("CREATE TRIGGER refuse BEFORE INSERT ON outbox "
                       "BEGIN SELECT RAISE(ABORT, 'disk quota exceeded'); END")
        grow_to(site, 490)
        result = run_cli("check", "--config", str(config))  # recovers: a notice is due
    assert result.exit_code == 1, result.output
    assert said(result)[0] == f"{NAME}: 490 signatures (+10 since last poll; 10 new)"
    assert said(result)[-1] == (f"{NAME}: the poll is stored, but after it Alerts failed: "
                                "database error: disk quota exceeded")
    logged_once_with_traceback(result, "Alerts")
    # the alert about it failed too: said in one line
    assert f"{NAME}: could not alert the operators about it: database error: disk quota " \
        "exceeded" in result.stderr
    polls = history(run_cli, config, wiring)
    assert [(p["outcome"], p["count"]) for p in polls] == [
        ("ok", 480), ("failed", None), ("ok", 490)]
    assert polls[-1]["error"] == ("after the poll: Alerts failed: database error: "
                                  "disk quota exceeded")
    assert signatories(run_cli, config, wiring) == 490
