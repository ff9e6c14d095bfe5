"""The chart of a letter's count: the points it draws, the picture, and the command."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from lettermon.models import Outcome
from lettermon.report.chart import points, render_png
from lettermon.store import PollRecord, Store, open_store

T0 = "2026-03-01T00:00:00.000000Z"


def day(n: int) -> str:
    return f"2026-03-{n:02d}T12:00:00.000000Z"


def history(store: Store, polls: list[tuple[str, Outcome, int | None]]) -> int:
    letter_id = store.letters.ensure("rek", "https://l.example/", T0).id
    for at, outcome, count in polls:
        with store.transaction():
            poll_id = store.polls.start(letter_id, at)
            store.polls.finish(poll_id, PollRecord(at=at, count=count, outcome=outcome))
    return letter_id


def test_points_keep_changes_and_the_last_poll(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path}/c.sqlite3", T0) as store:
        letter_id = history(store, [
            (day(1), Outcome.OK, 100), (day(2), Outcome.UNCHANGED, 100),
            (day(3), Outcome.FAILED, None), (day(4), Outcome.OK, 250),
            (day(5), Outcome.SUSPECT, 0), (day(6), Outcome.UNCHANGED, 250)])
        assert points(store, letter_id) == [(day(1), 100), (day(4), 250), (day(6), 250)]


def test_the_png_shows_the_history_with_alt_text(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from PIL import Image

    with open_store(f"sqlite:///{tmp_path}/c.sqlite3", T0) as store:
        letter_id = history(store, [(day(n), Outcome.OK, 100 * n) for n in range(1, 11)])
        image = render_png(store, letter_id, title="Open Letter")
    assert image is not None
    png, alt = image
    picture = Image.open(io.BytesIO(png)).convert("L")
    assert picture.size == (800, 450)
    low, high = picture.getextrema()
    assert high - low > 100  # a drawn line and text, not a blank page
    assert alt == ("Line chart of signatures on Open Letter: 100 on 1 March 2026, "
                   "1,000 on 10 March 2026.")


def test_no_history_no_chart(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path}/c.sqlite3", T0) as store:
        letter_id = history(store, [(day(1), Outcome.FAILED, None)])
        assert render_png(store, letter_id, title="x") is None


def test_the_chart_command_writes_the_file(
        site: object, config_for: Callable[..., Path], run_cli: Callable[..., Result],
        tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    config = config_for(site)
    target = tmp_path / "out.png"
    before = run_cli("chart", "rekognition", "-o", str(target), "--config", str(config))
    assert before.exit_code == 1
    assert "no database at" in before.output and "lettermon check creates it" in before.output
    assert run_cli("check", "--config", str(config)).exit_code == 0
    result = run_cli("chart", "rekognition", "-o", str(target), "--config", str(config))
    assert result.exit_code == 0, result.output
    assert target.read_bytes().startswith(b"\x89PNG")
    assert "479 on" in result.output
