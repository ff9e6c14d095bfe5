"""A chart of a letter's signature count over time (matplotlib, imported only here)."""

from __future__ import annotations

import io

from lettermon import clock
from lettermon.errors import MissingExtra
from lettermon.store import Store


def points(store: Store, letter_id: int) -> list[tuple[str, int]]:
    """(time, count) of every successful poll whose count changed, oldest first."""
    rows = store.polls.ok_counts(letter_id)
    out: list[tuple[str, int]] = []
    for at, count in rows:
        if not out or out[-1][1] != count:
            out.append((at, int(count)))
    if rows and out[-1][0] != rows[-1][0]:
        out.append((rows[-1][0], int(rows[-1][1])))
    return out


def render_png(store: Store, letter_id: int, *, title: str) -> tuple[bytes, str] | None:
    """The chart as PNG bytes and its alt text; None before there is any history."""
    data = points(store, letter_id)
    if not data:
        return None
    try:
        import matplotlib
    except ImportError:
        raise MissingExtra("a chart", "chart", "matplotlib") from None

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    times = [clock.parse_iso(at) for at, _ in data]
    x = mdates.date2num(times)  # type: ignore[no-untyped-call, unused-ignore]
    counts = [count for _, count in data]
    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
    try:
        axes.step(x, counts, where="post", color="#1f5fa8", linewidth=2)
        axes.fill_between(x, counts, step="post", alpha=0.15, color="#1f5fa8")
        axes.xaxis_date()
        axes.set_title(f"Signatures: {title}")
        axes.set_ylabel("signatures")
        axes.set_ylim(bottom=0)
        axes.grid(alpha=0.3)
        figure.autofmt_xdate()
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    finally:
        plt.close(figure)
    alt = (f"Line chart of signatures on {title}: {counts[0]:,} on "
           f"{times[0]:%-d %B %Y}, {counts[-1]:,} on {times[-1]:%-d %B %Y}.")
    return buffer.getvalue(), alt
