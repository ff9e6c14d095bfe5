"""The chart of a letter's count: what it draws, the pictures, the alt text and the command.

Histories are built in each test, through the store: a day, a year, a letter whose
polling failed for a week, a letter nobody has signed.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result

from lettermon import clock
from lettermon.models import Outcome
from lettermon.report.chart import Series, render, series
from lettermon.store import PollRecord, Store, open_store

from posting import check, console, grow_to, letter_site, milestones

pytest.importorskip("matplotlib")

START = datetime(2026, 3, 1, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path}/c.sqlite3", clock.iso(START)) as opened:
        yield opened


def history(store: Store, polls: list[tuple[datetime, Outcome, int | None]],
            reached: dict[int, datetime] | None = None) -> int:
    """A letter with these polls, and these milestones reached (milestone → when)."""
    letter_id = store.letters.ensure("rek", "https://l.example/", clock.iso(START)).id
    ids = {}
    for at, outcome, count in polls:
        with store.transaction():
            poll_id = store.polls.start(letter_id, clock.iso(at))
            store.polls.finish(poll_id, PollRecord(at=clock.iso(at), count=count,
                                                   outcome=outcome))
        ids[at] = (poll_id, count)
    for milestone, at in (reached or {}).items():
        poll_id, count = ids[at]
        with store.transaction():
            store.milestones.record(letter_id, silent=(), announced=(milestone,),
                                    poll_id=poll_id, count=count or 0, at=clock.iso(at))
    return letter_id


def day(n: int, hour: int = 12) -> datetime:
    return START + timedelta(days=n - 1, hours=hour)


def texts(svg: bytes) -> list[str]:
    """Every text the SVG shows (matplotlib writes text as <text> with svg.fonttype none)."""
    root = ET.fromstring(svg)
    return ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]


def png_size_and_range(png: bytes) -> tuple[tuple[int, int], int]:
    from PIL import Image

    picture = Image.open(io.BytesIO(png)).convert("L")
    low, high = picture.getextrema()
    return picture.size, high - low


def test_failed_polls_split_the_line_and_leave_a_gap(store: Store) -> None:
    letter_id = history(store, [
        (day(1), Outcome.OK, 100), (day(2), Outcome.UNCHANGED, 100),
        (day(3), Outcome.FAILED, None), (day(4), Outcome.OK, 250),
        (day(5), Outcome.SUSPECT, 0), (day(6), Outcome.UNCHANGED, 250),
        (day(7), Outcome.OK, 260)])
    data = series(store, letter_id)
    assert data is not None
    assert data.runs == (((day(1), 100), (day(2), 100)), ((day(4), 250),),
                         ((day(6), 250), (day(7), 260)))
    assert data.gaps == ((day(2), day(4)), (day(4), day(6)))
    # the suspect 0 is never drawn, and no run spans a gap
    for start, end in data.gaps:
        assert not any(run[0][0] < end and run[-1][0] > start for run in data.runs)


def test_a_year_as_png_and_svg_at_the_size_people_post(store: Store) -> None:
    polls = [(day(1) + timedelta(days=n), Outcome.OK, 40 * n + 479) for n in range(0, 365, 3)]
    count_at = dict((at, count) for at, _, count in polls)
    firsts = {m: next(at for at, c in count_at.items() if c is not None and c >= m)
              for m in (1000, 5000, 10000)}
    letter_id = history(store, polls, reached=firsts)
    data = series(store, letter_id)
    assert data is not None
    png = render(data, title="Open Letter to Amazon", fmt="png")
    assert png.image.startswith(b"\x89PNG")
    size, contrast = png_size_and_range(png.image)
    assert size == (1200, 675) and contrast > 100  # lines and text, not a blank page
    svg = render(data, title="Open Letter to Amazon", fmt="svg")
    root = ET.fromstring(svg.image)
    assert (root.get("width"), root.get("height")) == ("1200", "675")
    shown = texts(svg.image)
    assert "Open Letter to Amazon" in shown  # the title, not the short name
    assert "date (UTC)" in shown
    assert {"1,000", "5,000", "10,000"} <= set(shown)  # milestones labelled
    ticks = [t for t in shown if re.fullmatch(r"\d{1,3}(,\d{3})+", t)]
    assert len(ticks) >= 3  # the count axis has thousands separators
    assert any(re.fullmatch(r"\d{4}", t) or t in ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
               for t in shown)  # months and years along the date axis
    last = 40 * 363 + 479
    assert svg.alt == (
        "Line chart of the signatures on “Open Letter to Amazon” over time (UTC): 479 on "
        f"1 March 2026, {last:,} on 27 February 2027. Milestones marked: 1,000 on "
        f"{firsts[1000].day} {firsts[1000]:%B %Y}, 5,000 on {firsts[5000].day} "
        f"{firsts[5000]:%B %Y} and 10,000 on {firsts[10000].day} {firsts[10000]:%B %Y}.")


def test_one_day_reads_in_hours(store: Store) -> None:
    polls = [(START + timedelta(minutes=5 * n), Outcome.OK, 10 + n // 6) for n in range(288)]
    letter_id = history(store, polls)
    data = series(store, letter_id)
    assert data is not None
    shown = texts(render(data, title="A day", fmt="svg").image)
    assert sum(bool(re.fullmatch(r"\d\d:\d\d", t)) for t in shown) >= 3
    assert "date (UTC)" in shown


def test_the_first_minutes_read_in_hours_and_minutes_not_seconds(store: Store) -> None:
    """A letter polled a few times in its first minute (a first check, then a second one
    by hand) shows a clock time, not fractions of a second."""
    polls = [(START + timedelta(seconds=n), Outcome.OK, 480) for n in range(3)]
    letter_id = history(store, polls)
    data = series(store, letter_id)
    assert data is not None
    shown = texts(render(data, title="Just started", fmt="svg").image)
    assert sum(bool(re.fullmatch(r"\d\d:\d\d", t)) for t in shown) >= 3, shown
    assert not any(re.fullmatch(r"\d+\.\d", t) for t in shown), shown
    # three seconds are a dot on an hour's axis: it is drawn, not lost under the axis
    from PIL import Image

    from lettermon.report.chart import LINE

    png = Image.open(io.BytesIO(render(data, title="Just started", fmt="png").image))
    line = tuple(int(LINE[i:i + 2], 16) for i in (1, 3, 5))
    drawn = sum(n for n, pixel in png.convert("RGB").getcolors(1 << 24) or ()
                if sum(abs(a - b) for a, b in zip(pixel, line, strict=True)) < 60)
    assert drawn >= 10, f"{drawn} pixels of the line's colour"


def test_a_failed_week_is_a_gap_in_the_drawing_and_in_words(store: Store) -> None:
    polls = [(day(n), Outcome.OK, 100 * n) for n in range(1, 8)]
    polls += [(day(n), Outcome.FAILED, None) for n in range(8, 15)]
    polls += [(day(n), Outcome.OK, 100 * n) for n in range(15, 22)]
    letter_id = history(store, polls)
    data = series(store, letter_id)
    assert data is not None and data.gaps == ((day(7), day(15)),)
    svg = render(data, title="Letter", fmt="svg").image.decode()
    assert 'id="run-0"' in svg and 'id="run-1"' in svg and 'id="gap-0"' in svg
    assert 'id="run-2"' not in svg
    alt = render(data, title="Letter", fmt="png").alt
    assert "Polling failed 1 time (8 days without data in all), shown as gaps" in alt


def test_a_letter_nobody_signed_yet_still_draws(store: Store) -> None:
    letter_id = history(store, [(day(1), Outcome.OK, 0), (day(2), Outcome.UNCHANGED, 0)])
    data = series(store, letter_id)
    assert data is not None
    chart = render(data, title="New letter", fmt="png")
    size, contrast = png_size_and_range(chart.image)
    assert size == (1200, 675) and contrast > 100
    assert "0 on 1 March 2026, 0 on 2 March 2026" in chart.alt


def test_no_successful_poll_no_chart(store: Store) -> None:
    letter_id = history(store, [(day(1), Outcome.FAILED, None)])
    assert series(store, letter_id) is None


def test_hostile_titles_are_text_in_the_picture(store: Store) -> None:
    letter_id = history(store, [(day(1), Outcome.OK, 5), (day(2), Outcome.OK, 7)])
    data = series(store, letter_id)
    assert isinstance(data, Series)
    title = "<script>alert(1)</script> $x^2$ & more"
    svg = render(data, title=title, fmt="svg").image
    assert b"<script" not in svg
    assert title in texts(svg)  # written as typed: no markup, no TeX


def test_locale_formats_the_axis_and_labels(store: Store) -> None:
    letter_id = history(store, [(day(1), Outcome.OK, 1500), (day(9), Outcome.OK, 9000)],
                        reached={5000: day(9)})
    data = series(store, letter_id)
    assert data is not None
    chart = render(data, title="Brief", fmt="svg", locale="de")
    assert "5.000" in texts(chart.image)
    assert "1.500 on 1. März 2026, 9.000 on 9. März 2026" in chart.alt


@pytest.fixture
def site() -> Iterator[object]:
    from letter_server import serve

    with serve(letter_site(479)) as running:
        yield running


def test_the_chart_command(site: object, config_for: Callable[..., Path],
                           run_cli: Callable[..., Result], tmp_path: Path, clock: object
                           ) -> None:
    config = config_for(site, letter_extra='title = "Open Letter to Amazon"')
    target = tmp_path / "out.png"
    before = run_cli("chart", "rekognition", "-o", str(target), "--config", str(config))
    assert before.exit_code == 1 and "no successful poll yet" in before.output
    check(run_cli, config)
    clock.advance(days=2)  # type: ignore[attr-defined]
    grow_to(site, 1234)  # type: ignore[arg-type]
    check(run_cli, config)
    result = run_cli("chart", "rekognition", "-o", str(target), "--config", str(config))
    assert result.exit_code == 0, result.output
    assert png_size_and_range(target.read_bytes())[0] == (1200, 675)
    small = tmp_path / "small.png"
    result = run_cli("chart", "rekognition", "-o", str(small), "--size", "600x338", "--alt",
                     "--config", str(config))
    assert result.exit_code == 0, result.output
    assert png_size_and_range(small.read_bytes())[0] == (600, 338)
    assert result.output.startswith("Line chart of the signatures on “Open Letter to Amazon”")
    assert "479 on " in result.output and "1,234 on " in result.output
    vector = tmp_path / "c.svg"
    result = run_cli("chart", "rekognition", "-o", str(vector), "--since", "1d", "--alt",
                     "--config", str(config))
    assert result.exit_code == 0, result.output
    assert ET.fromstring(vector.read_bytes()).get("width") == "1200"
    assert "479" not in result.output  # --since leaves the first poll out
    bad = run_cli("chart", "rekognition", "--size", "big", "--config", str(config))
    assert bad.exit_code == 2 and "WIDTHxHEIGHT" in bad.output
    bad = run_cli("chart", "rekognition", "-o", str(tmp_path / "c.gif"), "--config",
                  str(config))
    assert bad.exit_code == 2 and ".png or .svg" in bad.output


def test_a_post_with_an_image_carries_the_chart_and_its_alt_text(
        site: object, config_for: Callable[..., Path], run_cli: Callable[..., Result],
        clock: object) -> None:
    config = config_for(site, letter_extra="\n".join([
        'title = "Open Letter to Amazon"', milestones(every=500)]),
        extra=console("screen", image=True))
    check(run_cli, config)
    clock.advance(days=1)  # type: ignore[attr-defined]
    grow_to(site, 520)  # type: ignore[arg-type]
    output = check(run_cli, config).output
    line = next(x for x in output.splitlines() if x.startswith("[image, "))
    assert "Line chart of the signatures on “Open Letter to Amazon” over time (UTC): 479 on" \
        in line
    assert "520 on" in line and "Milestones marked: 500 on" in line
