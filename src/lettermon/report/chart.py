"""A chart of a letter's signature count over time, fit to post (matplotlib, imported here).

:func:`series` reads what to draw from the store: the runs of successful polls (a failed,
blocked, suspect or partial poll ends a run, and the line is not drawn across it), the
stretches without data between runs, and the milestones reached. :func:`render` draws it
as PNG or SVG, 1200 × 675 pixels by default (the size X, Mastodon and Bluesky show
uncropped), with the letter's title, thousands separators, a date axis in UTC that says
so, the milestones marked and labelled, and the alt text that states the numbers in words.
"""

from __future__ import annotations

import io
import re
import textwrap
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from lettermon import clock, l10n
from lettermon.errors import MissingExtra
from lettermon.store import Store

if TYPE_CHECKING:
    from matplotlib.axes import Axes

Format = Literal["png", "svg"]
DEFAULT_SIZE = (1200, 675)
MIN_SPAN = timedelta(hours=1)  # the shortest time axis drawn: its ticks read as HH:MM
DPI = 100
MAX_LABELLED_MILESTONES = 8
LINE = "#1f5fa8"
GAP = "#b0b0b0"
MILESTONE = "#c0392b"


@dataclass(frozen=True)
class Series:
    """What a chart draws: runs of successful polls, the gaps between them, milestones."""

    runs: tuple[tuple[tuple[datetime, int], ...], ...]
    """Each run of successful polls: the first poll, every change of count, the last poll."""
    gaps: tuple[tuple[datetime, datetime], ...]
    """From the last successful poll before failed ones to the next successful one (or
    the last failed poll, when polling still fails)."""
    milestones: tuple[tuple[datetime, int, int], ...] = field(default=())
    """(when reached, milestone, count then), one per moment: the highest reached then."""

    @property
    def first(self) -> tuple[datetime, int]:
        return self.runs[0][0]

    @property
    def last(self) -> tuple[datetime, int]:
        return self.runs[-1][-1]


@dataclass(frozen=True)
class Chart:
    """A drawn chart: the image, its format and the alt text that describes it."""

    image: bytes
    format: Format
    alt: str

    @property
    def mime(self) -> str:
        return "image/png" if self.format == "png" else "image/svg+xml"


def series(store: Store, letter_id: int, *, since: str | None = None) -> Series | None:
    """The letter's history to draw (from ``since`` on); None before any successful poll."""
    runs: list[tuple[tuple[datetime, int], ...]] = []
    gaps: list[tuple[datetime, datetime]] = []
    run: list[tuple[datetime, int]] = []
    last_ok: tuple[datetime, int] | None = None  # the last poll of the current run
    failed_since: datetime | None = None  # the last ok poll before failures began
    failed_last: datetime | None = None
    for at, outcome, count in store.polls.timeline(letter_id, since=since):
        moment = clock.parse_iso(at)
        if not outcome.ok or count is None:
            if last_ok is not None:  # the run ends at its last successful poll
                if run[-1] != last_ok:
                    run.append(last_ok)
                runs.append(tuple(run))
                run, failed_since, last_ok = [], last_ok[0], None
            failed_last = moment
            continue
        if failed_since is not None:
            gaps.append((failed_since, moment))
            failed_since = None
        if not run or run[-1][1] != count:
            run.append((moment, count))
        last_ok = (moment, count)
    if last_ok is not None:
        if run[-1] != last_ok:
            run.append(last_ok)
        runs.append(tuple(run))
    elif failed_since is not None and failed_last is not None:
        gaps.append((failed_since, failed_last))
    if not runs:
        return None
    return Series(tuple(runs), tuple(gaps), _milestones(store, letter_id, runs[0][0][0]))


def _milestones(store: Store, letter_id: int, start: datetime
                ) -> tuple[tuple[datetime, int, int], ...]:
    """The highest milestone reached at each moment, within the drawn time."""
    by_time: dict[str, tuple[int, int]] = {}
    for milestone, reached_at, count, _ in store.milestones.reached(letter_id):
        if milestone > by_time.get(reached_at, (0, 0))[0]:
            by_time[reached_at] = (milestone, count)
    found = [(clock.parse_iso(at), m, c) for at, (m, c) in by_time.items()]
    return tuple(sorted(item for item in found if item[0] >= start))


def alt_text(data: Series, title: str, locale: str | None = None) -> str:
    """The chart in words: the first and last counts with their dates, milestones, gaps."""
    def num(value: int) -> str:
        return l10n.number(value, locale)

    def day(moment: datetime) -> str:
        return l10n.long_date(moment.date(), locale)

    (start, first), (end, last) = data.first, data.last
    text = (f"Line chart of the signatures on \u201c{title}\u201d over time (UTC): "
            f"{num(first)} on {day(start)}, {num(last)} on {day(end)}.")
    if data.milestones:
        shown = data.milestones[-5:]
        listed = l10n.list_of([f"{num(m)} on {day(at)}" for at, m, _ in shown], locale)
        more = "" if len(shown) == len(data.milestones) else " (latest)"
        text += f" Milestones marked{more}: {listed}."
    if data.gaps:
        missing = sum(((b - a) for a, b in data.gaps), timedelta())
        text += (f" Polling failed {len(data.gaps)} time{'s' if len(data.gaps) > 1 else ''}"
                 f" ({l10n.duration(missing, locale)} without data in all), "
                 "shown as gaps in the line.")
    return text


def render(data: Series, *, title: str, fmt: Format = "png",
           size: tuple[int, int] = DEFAULT_SIZE, locale: str | None = None,
           text_size: float | None = None) -> Chart:
    """Draw the chart; LettermonError when matplotlib is not installed. Text is 13 points
    at 1200 × 675 and scales with the size, unless ``text_size`` is given."""
    try:
        import matplotlib
    except ImportError:
        raise MissingExtra("a chart", "chart", "matplotlib") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width, height = size
    scale = min(width / DEFAULT_SIZE[0], height / DEFAULT_SIZE[1])
    font = text_size or max(7.0, 13 * scale)
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "lettermon",
                         "font.size": font}):
        figure, axes = plt.subplots(figsize=(width / DPI, height / DPI), dpi=DPI,
                                    layout="constrained")
        try:
            _draw(axes, data, locale, font)
            wrap = max(20, int(width / (font * 1.35 * DPI / 72 * 0.66)))  # bold, pt to px
            heading = "\n".join(textwrap.wrap(title, wrap)[:2]) or " "
            figure.suptitle(heading, x=0.01, ha="left", fontsize=font * 1.35,
                            fontweight="bold", parse_math=False)
            at, count = data.last
            axes.set_title(f"{l10n.number(count, locale)} signatures on "
                           f"{l10n.long_date(at.date(), locale)}", loc="left",
                           fontsize=font, color="#444444", parse_math=False)
            buffer = io.BytesIO()
            figure.savefig(buffer, format=fmt, dpi=DPI, metadata=_metadata(fmt))
        finally:
            plt.close(figure)
    image = buffer.getvalue()
    if fmt == "svg":
        image = _svg_in_pixels(image, width, height)
    return Chart(image, fmt, alt_text(data, title, locale))


def _time_axis(data: Series) -> tuple[datetime, datetime]:
    """From the first poll to the last (or the end of a last gap), at least an hour."""
    start, end = data.first[0], data.last[0]
    if data.gaps:
        end = max(end, data.gaps[-1][1])
    if start == end:  # one poll: show the day around it
        return start - timedelta(hours=12), end + timedelta(hours=12)
    if end - start < MIN_SPAN:  # a few polls close together: clock times, not seconds
        pad = (MIN_SPAN - (end - start)) / 2
        return start - pad, end + pad
    return start, end


def _draw(axes: Axes, data: Series, locale: str | None, font: float) -> None:
    """The lines, the gaps, the milestones and the axes."""
    import matplotlib.dates as mdates
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    def x(moment: datetime) -> float:
        return float(mdates.date2num(moment))  # type: ignore[no-untyped-call]

    start, end = _time_axis(data)
    for number, run in enumerate(data.runs):
        times = [x(at) for at, _ in run]
        counts = [count for _, count in run]
        dot = run[-1][0] - run[0][0] < (end - start) / 100  # too short to see as a line
        line, = axes.step(times, counts, where="post", color=LINE, linewidth=2.2,
                          marker="o" if dot else None, markersize=4,
                          clip_on=False, zorder=4)  # a line at 0 shows over the axis
        line.set_gid(f"run-{number}")
        axes.fill_between(times, counts, step="post", alpha=0.12, color=LINE, linewidth=0)
    for number, (start, end) in enumerate(data.gaps):
        axes.axvspan(x(start), x(end), color=GAP, alpha=0.25, linewidth=0).set_gid(f"gap-{number}")
    top = max(10, *(count for run in data.runs for _, count in run))
    labelled = _labelled(data.milestones)
    for at, milestone, count in data.milestones:
        axes.plot([x(at)], [count], marker="D", color=MILESTONE, markersize=6, zorder=5)
        if (at, milestone) in labelled:
            axes.annotate(l10n.number(milestone, locale), (x(at), count),
                          xytext=(0, font * 0.9), textcoords="offset points", ha="center",
                          fontsize=font * 0.85, color=MILESTONE, fontweight="bold",
                          parse_math=False, gid=f"milestone-{milestone}")
    axes.set_ylim(0, top * 1.15)
    axes.set_xlim(x(start), x(end))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_formatter(FuncFormatter(
        lambda value, _: l10n.number(value, locale) if value >= 0 else ""))
    locator = mdates.AutoDateLocator(minticks=3, maxticks=9)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(
        mdates.ConciseDateFormatter(locator, show_offset=True))  # type: ignore[no-untyped-call]
    axes.set_xlabel("date (UTC)")
    axes.set_ylabel("signatures")
    axes.grid(alpha=0.3)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _labelled(milestones: tuple[tuple[datetime, int, int], ...]) -> set[tuple[datetime, int]]:
    """The milestones to label: all of them, or evenly spread ones and the latest."""
    if len(milestones) <= MAX_LABELLED_MILESTONES:
        return {(at, m) for at, m, _ in milestones}
    step = len(milestones) / (MAX_LABELLED_MILESTONES - 1)
    picked = {milestones[int(i * step)] for i in range(MAX_LABELLED_MILESTONES - 1)}
    picked.add(milestones[-1])
    return {(at, m) for at, m, _ in picked}


def _metadata(fmt: Format) -> dict[str, str | None]:
    """No creation date: the same history draws the same file."""
    return {"Date": None} if fmt == "svg" else {"Software": "lettermon"}


def _svg_in_pixels(svg: bytes, width: int, height: int) -> bytes:
    """matplotlib sizes an SVG in points; say the pixels asked for (the viewBox scales)."""
    text = svg.decode("utf-8")
    text = re.sub(r'(<svg[^>]*?)\swidth="[^"]*"\s+height="[^"]*"',
                  rf'\1 width="{width}" height="{height}"', text, count=1)
    return text.encode("utf-8")
