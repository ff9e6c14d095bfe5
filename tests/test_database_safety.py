"""The database under a running worker, on first start, and on a read-only disk.

* A worker whose SQLite file is deleted or replaced stops with a clear error instead of
  writing on into a file nobody will ever see again.
* Several processes starting at once on a fresh PostgreSQL database wait for each other's
  migrations: each one either runs or exits 75, none fails.
* The commands that only read work on a database they may not write.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from letter_server import LetterSite

LETTERMON = str(Path(sys.executable).parent / "lettermon")


def env(**extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("LETTERMON_")}
    return {**keep, "LETTERMON_LOG_FORMAT": "json", "LETTERMON_SECRETS_DIR": "/nonexistent",
            **extra}


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_worker_stops_when_its_database_file_goes(
        site: LetterSite, config_for: Callable[..., Path], tmp_path: Path, how: str) -> None:
    cfg = config_for(site, letter_extra='interval = "1s"')
    database = tmp_path / "data" / "lettermon.sqlite3"
    worker = subprocess.Popen([LETTERMON, "run", "--config", str(cfg)], env=env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len(site.requests) >= 2)  # it polled, and polls again
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        if how == "replaced":
            database.write_bytes(b"")
        gone = time.monotonic()
        _, err = worker.communicate(timeout=20)
    finally:
        worker.kill()
    assert worker.returncode == 1
    assert time.monotonic() - gone < 5  # noticed at the next poll, a second later
    assert f"the database file {database} was {how}" in err
    assert "stopped so that nothing more is lost" in err


@pytest.mark.postgres
def test_concurrent_first_starts_on_postgres_wait_for_each_other(
        pg_url: str, site: LetterSite, config_for: Callable[..., Path]) -> None:
    cfg = config_for(site)
    runs = [subprocess.Popen([LETTERMON, "check", "--config", str(cfg)],
                             env=env(LETTERMON_DATABASE_URL=pg_url),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(5)]
    results = [(run.wait(timeout=60), run.communicate()[1]) for run in runs]
    codes = sorted(code for code, _ in results)
    assert set(codes) <= {0, 75}, results
    assert codes.count(0) >= 1
    assert not any("pg_type" in err or "already exists" in err for _, err in results)


# -- read-only -----------------------------------------------------------------------------

def _as_reader(command: list[str]) -> list[str]:
    """Run as an ordinary user: chmod only binds the superuser's hands through another uid."""
    if os.geteuid() != 0:
        return command
    if shutil.which("setpriv") is None:
        pytest.skip("read-only checks as root need setpriv to drop to another user")
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]


def test_the_reading_commands_work_on_a_read_only_database(
        site: LetterSite, run_cli: Callable[..., Result], tmp_path: Path) -> None:
    from conftest import write_config

    shared = Path(f"/tmp/lettermon-read-only-{os.getpid()}-{tmp_path.name}")
    shared.mkdir(mode=0o755)
    try:
        data = shared / "data"
        data.mkdir(mode=0o755)
        database = data / "lettermon.sqlite3"
        cfg = write_config(shared / "lettermon.toml", site.url, database=database)
        assert run_cli("check", "--config", str(cfg)).exit_code == 0
        for path in (shared / "lettermon.toml", database):
            path.chmod(0o444)
        data.chmod(0o555)
        shared.chmod(0o555)
        before = sorted(p.name for p in data.iterdir())
        env_ = env(LETTERMON_LOG_FORMAT="text", HOME=str(shared))
        outputs = {}
        for args in (["history", "rekognition", "--format", "json"],
                     ["signatories", "rekognition", "--format", "json"],
                     ["outbox", "--format", "json"],
                     ["health", "--format", "json"]):
            done = subprocess.run(_as_reader([LETTERMON, *args, "--config", str(cfg)]),
                                  env=env_, capture_output=True, text=True, cwd=shared,
                                  timeout=60, check=False)
            outputs[args[0]] = done
            assert done.returncode in (0, 1), done.stderr  # health may find it stale
            assert "readonly" not in done.stderr and "read-only" not in done.stderr
        assert len(json.loads(outputs["history"].stdout)) == 1
        assert len(json.loads(outputs["signatories"].stdout)) == 479
        assert json.loads(outputs["health"].stdout)["letters"][0]["count"] == 479
        assert sorted(p.name for p in data.iterdir()) == before  # nothing was written
    finally:
        for path in (shared, shared / "data"):
            if path.exists():
                path.chmod(0o755)
        shutil.rmtree(shared, ignore_errors=True)


def test_reading_commands_before_there_is_a_database_create_nothing(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Callable[..., Result],
        tmp_path: Path) -> None:
    cfg = config_for(site)
    result = run_cli("history", "rekognition", "--config", str(cfg))
    assert (result.exit_code, result.output) == (
        0, "rekognition: no polls yet (run: lettermon check rekognition)\n")
    health = run_cli("health", "--config", str(cfg), "--format", "json")
    assert health.exit_code == 1
    assert json.loads(health.output)["problems"] == ["rekognition: no successful poll yet"]
    assert not (tmp_path / "data").exists()  # reading created nothing
