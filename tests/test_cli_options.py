"""The command line behaves as people expect: global options on either side of the
command, JSON whenever JSON is asked for, one-line errors with the right exit code."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from conftest import write_config
from letter_server import LetterSite

Cli = Callable[..., Result]
NAME = "rekognition"


def test_config_goes_before_or_after_the_command(
        site: LetterSite, config_for: Callable[..., Path], tmp_path: Path,
        run_cli: Cli) -> None:
    config = config_for(site)
    before = run_cli("--config", str(config), "check")
    assert before.exit_code == 0, before.output
    assert before.stdout.startswith(f"{NAME}: 479 signatures")
    # the same for a command inside a group, and for every read-only command
    assert run_cli("--config", str(config), "outbox", "list").exit_code == 0
    retry = run_cli("--config", str(config), "outbox", "retry", "99")
    assert (retry.exit_code, retry.stderr) == (1, "lettermon: no outbox entry 99\n")
    for args in (("history", NAME), ("signatories", NAME), ("health",), ("outbox",),
                 ("post", "--dry-run")):
        result = run_cli("--config", str(config), *args)
        assert result.exit_code in (0, 1), (args, result.output)
        assert "No such option" not in result.output
    # given on both sides, the one after the command wins
    elsewhere = tmp_path / "missing.toml"
    after = run_cli("--config", str(elsewhere), "history", NAME, "--config", str(config))
    assert after.exit_code == 0, after.output


def test_format_goes_before_or_after_the_command(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Cli) -> None:
    config = config_for(site)
    assert run_cli("check", "--config", str(config)).exit_code == 0
    for args in (("--format", "json", "history", NAME, "--config", str(config)),
                 ("--config", str(config), "--format", "json", "history", NAME),
                 ("history", NAME, "--config", str(config), "--format", "json")):
        result = run_cli(*args)
        assert result.exit_code == 0, result.output
        assert [poll["count"] for poll in json.loads(result.stdout)] == [479]
    table = run_cli("--format", "json", "history", NAME, "--format", "table",
                    "--config", str(config))
    assert table.stdout.startswith("at (UTC)")  # after the command wins
    health = run_cli("--format", "json", "--config", str(config), "health")
    assert json.loads(health.stdout)["ok"] is True


def test_a_format_a_command_does_not_have_is_a_usage_error(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Cli) -> None:
    result = run_cli("--format", "csv", "check", "--config", str(config_for(site)))
    assert result.exit_code == 2
    assert "--format csv" in result.stderr and "text, json" in result.stderr
    assert site.requests == []


def test_verbose_shows_what_lettermon_does(
        site: LetterSite, tmp_path: Path, run_cli: Cli) -> None:
    def fresh(n: int) -> Path:  # a new database: opening it logs its migration at INFO
        return write_config(tmp_path / f"{n}.toml", site.url,
                            database=tmp_path / f"{n}.sqlite3")

    quiet = run_cli("check", "--config", str(fresh(0)))
    assert quiet.exit_code == 0 and quiet.stderr == ""
    for n, args in enumerate((("-v", "check"), ("check", "-v"), ("--verbose", "check")), 1):
        verbose = run_cli(*args, "--config", str(fresh(n)))
        assert verbose.exit_code == 0, verbose.output
        assert " INFO    lettermon.store.schema: database migrated" in verbose.stderr


# -- --format json always prints JSON ------------------------------------------------------

def test_history_and_signatories_before_the_first_poll_are_empty(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Cli) -> None:
    config = config_for(site)
    for command in ("history", "signatories"):
        as_json = run_cli(command, NAME, "--format", "json", "--config", str(config))
        assert (as_json.exit_code, as_json.stdout) == (0, "[]\n"), as_json.output
        as_csv = run_cli(command, NAME, "--format", "csv", "--config", str(config))
        assert as_csv.exit_code == 0 and len(as_csv.stdout.splitlines()) == 1  # the header
    table = run_cli("history", NAME, "--config", str(config))
    assert (table.exit_code, table.stdout) == (
        0, f"{NAME}: no polls yet (run: lettermon check {NAME})\n")
    unknown = run_cli("history", "maven", "--format", "json", "--config", str(config))
    assert unknown.exit_code == 2 and "no letter named 'maven'" in unknown.stderr


def test_post_prints_json_when_asked_even_when_nothing_is_due(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Cli) -> None:
    config = config_for(site, letter_extra="milestones = { launch = true }", extra=(
        '[[channels]]\nname = "screen"\nkind = "console"\n'))
    nothing = run_cli("post", "--format", "json", "--config", str(config))
    assert (nothing.exit_code, nothing.stdout) == (0, "[]\n"), nothing.output
    assert run_cli("check", "--no-post", "--config", str(config)).exit_code == 0
    sent = run_cli("post", "--format", "json", "--config", str(config))
    assert sent.exit_code == 0, sent.output
    [delivery] = json.loads(sent.stdout)  # the console channel printed to stderr instead
    assert {k: delivery[k] for k in ("letter", "channel", "kind", "status")} == {
        "letter": NAME, "channel": "screen", "kind": "launch", "status": "sent"}
    assert "is open for signatures: 479 researchers" in sent.stderr
    again = run_cli("post", "--format", "json", "--config", str(config))
    assert (again.exit_code, again.stdout) == (0, "[]\n")
    text = run_cli("post", "--config", str(config))
    assert (text.exit_code, text.stdout) == (0, "nothing is due\n")


def test_check_prints_only_json_with_a_console_channel(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Cli) -> None:
    config = config_for(site, letter_extra="milestones = { launch = true }", extra=(
        '[[channels]]\nname = "screen"\nkind = "console"\n'))
    result = run_cli("check", "--format", "json", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert [r["count"] for r in json.loads(result.stdout)] == [479]
    assert "is open for signatures" in result.stderr


# -- mistakes on the command line: one line, exit 2 ----------------------------------------

def test_a_chart_into_a_missing_folder_is_a_usage_error(
        site: LetterSite, config_for: Callable[..., Path], tmp_path: Path,
        run_cli: Cli) -> None:
    pytest.importorskip("matplotlib")
    config = config_for(site)
    assert run_cli("check", "--config", str(config)).exit_code == 0
    target = tmp_path / "missing" / "dir" / "x.png"
    result = run_cli("chart", NAME, "-o", str(target), "--config", str(config))
    assert result.exit_code == 2
    assert result.stderr == (f"lettermon: cannot write {target}: the folder "
                             f"{target.parent} does not exist\n")
    assert result.stdout == ""


@pytest.mark.parametrize("url", ["not-a-url", "ftp://letters.example/x", "https://"])
def test_probe_of_something_that_is_not_a_web_address_exits_2(url: str, run_cli: Cli) -> None:
    result = run_cli("probe", url)
    assert result.exit_code == 2
    assert result.stderr == (f"lettermon: {url} is not a web address: give an http:// or "
                             "https:// URL\n")


LETTERMON_WITHOUT = ("import sys; sys.modules[sys.argv[1]] = None; "
                     "from lettermon.cli import main; main(sys.argv[2:])")


@pytest.mark.parametrize(("missing", "args", "extra"), [
    ("matplotlib", ("chart", NAME), "chart"),
    ("psycopg", ("history", NAME), "postgres"),
])
def test_a_missing_extra_says_what_to_install_and_exits_2(
        missing: str, args: tuple[str, ...], extra: str, site: LetterSite,
        config_for: Callable[..., Path], tmp_path: Path, run_cli: Cli) -> None:
    """Run where the extra's library cannot be imported (as without the extra)."""
    import os
    import subprocess
    import sys

    config = config_for(site)
    assert run_cli("check", "--config", str(config)).exit_code == 0
    env = {**os.environ, "LETTERMON_CONFIG": str(config)}
    if missing == "psycopg":
        env["LETTERMON_DATABASE_URL"] = "postgresql://lettermon@127.0.0.1:1/lettermon"
    result = subprocess.run([sys.executable, "-c", LETTERMON_WITHOUT, missing, *args],
                            capture_output=True, text=True, cwd=tmp_path, env=env,
                            timeout=60, check=False)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"pip install '.[{extra}]'" in result.stderr
    assert "from lettermon's source tree" in result.stderr
    assert "lettermon[" not in result.stderr


def test_a_cron_check_loads_only_the_code_of_check(site: LetterSite, tmp_path: Path) -> None:
    """Start-up is part of a cron check's cost: an unchanged letter with nothing to post
    imports neither the other commands, nor the worker, the report, the sender, the
    export, nor any network's library."""
    import subprocess
    import sys

    cfg = write_config(tmp_path / "lettermon.toml", site.url,
                       database=tmp_path / "lettermon.sqlite3")
    code = ("import atexit, sys\n"
            "atexit.register(lambda: print(' '.join(sorted(sys.modules)), file=sys.stderr))\n"
            "from lettermon.cli import main\n"
            "main()\n")
    runs = [subprocess.run([sys.executable, "-c", code, "check", "--config", str(cfg)],
                           capture_output=True, text=True, check=False) for _ in range(2)]
    assert [run.returncode for run in runs] == [0, 0], runs[-1].stderr
    assert "no change since last poll" in runs[1].stdout
    loaded = set(runs[1].stderr.split())
    assert {"lettermon.cli.letters", "lettermon.watch.poll", "httpx"} <= loaded
    unused = {"lettermon.cli.report", "lettermon.cli.db", "lettermon.cli.run",
              "lettermon.cli.outbox", "lettermon.run.worker", "lettermon.report.page",
              "lettermon.report.chart", "lettermon.announce.sender", "lettermon.store.copy",
              "lettermon.store.export", "filelock",
              "apscheduler", "tweepy", "mastodon", "atproto", "matplotlib", "jinja2"}
    assert not unused & loaded, sorted(unused & loaded)
