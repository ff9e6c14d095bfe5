"""The report page: how a letter is doing, as one self-contained HTML file.

:func:`gather` reads the figures from the store; :func:`render_page` and
:func:`render_index` write HTML with Jinja2, every value escaped (a signatory named
``<script>`` is shown as text), the chart embedded as a data URI, the style inline and
a Content-Security-Policy that allows no script, no external file and no form. The page
reads on a 390-pixel-wide phone and prints.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lettermon import clock, l10n
from lettermon.settings import LetterSettings, ReportSettings
from lettermon.store import Store

if TYPE_CHECKING:
    import jinja2

    from lettermon.report.breakdown import Breakdown
    from lettermon.report.chart import Chart

WINDOWS = (("last day", timedelta(days=1)), ("last week", timedelta(days=7)),
           ("last month", timedelta(days=30)))
RATE_WINDOW = timedelta(days=7)
MIN_RATE_SPAN = timedelta(days=1)  # less history than this is "not enough data"
NOT_ENOUGH = "not enough data"


@dataclass(frozen=True)
class Post:
    channel: str
    url: str | None  # a web address to link to, else None
    remote_id: str | None


@dataclass(frozen=True)
class Reached:
    milestone: str
    when: str
    posts: tuple[Post, ...]


@dataclass(frozen=True)
class Change:
    label: str
    value: str
    note: str = ""


@dataclass(frozen=True)
class Report:
    """Everything the page shows, as text ready to print (escaping is the template's)."""

    name: str
    title: str
    url: str
    count: str | None
    confirmed: str | None
    changes: tuple[Change, ...]
    rate: str
    rate_note: str
    next_milestone: str
    next_note: str
    chart: Chart | None
    milestones: tuple[Reached, ...]
    new_count: str
    new_names: tuple[str, ...] | None  # None: names are not shown
    countries: Breakdown | None
    roles: Breakdown | None
    last_poll: str
    failures: str
    last_failure: str
    generated: str
    locale: str | None = None


def gather(store: Store, letter: LetterSettings, *, title: str, settings: ReportSettings,
           now: datetime, chart: Chart | None) -> Report:
    """The letter's figures at ``now``."""
    from lettermon.announce import milestones as rules
    from lettermon.report.breakdown import breakdown

    locale = letter.locale

    def num(value: float) -> str:
        return l10n.number(value, locale)

    def moment(at: str) -> str:
        return l10n.date_time(clock.parse_iso(at), locale)

    state = store.letters.get(letter.name)
    polls = store.polls
    latest_ok = polls.latest_ok(state.id) if state else None
    count = state.last_count if state else None
    changes: list[Change] = []
    rate_text = next_text = NOT_ENOUGH
    rate_note = next_note = ""
    if state is not None and latest_ok is not None and count is not None:
        first = polls.first_ok(state.id)
        for label, span in WINDOWS:
            base = polls.count_at(state.id, clock.iso(now - span))
            note = ""
            if base is None and first is not None and first.count is not None:
                base = (first.at, first.count)
                note = f"since the first poll, {moment(first.at)}"
            delta = count - base[1] if base else None
            changes.append(Change(label, _signed(delta, locale) if delta is not None else "",
                                  note))
        rate, base_at = _rate(store, state.id, count, now, latest_ok.at)
        if rate is not None:
            rate_text = f"{l10n.number(rate, locale, decimals=1)} a day"
            if base_at is not None:
                rate_note = f"since the first poll, {moment(base_at)}"
        nxt = rules.next_threshold(letter.milestones, count)
        if nxt is None:
            next_text = "none configured"
        elif rate:
            eta = clock.parse_iso(latest_ok.at) + timedelta(days=(nxt - count) / rate)
            next_text = num(nxt)
            next_note = f"estimated {l10n.long_date(eta.date(), locale)}"
        else:
            next_text, next_note = num(nxt), f"estimated date: {NOT_ENOUGH}"
    reached = _reached(store, state.id, letter.name, locale) if state else ()
    new_count, names = 0, None
    if state is not None:
        new_count, rows = store.signatories.new_since(
            state.id, clock.iso(now - timedelta(days=7)),
            limit=settings.max_names * 3 if settings.names else 0)
        if settings.names:
            names = _names(rows, letter, settings)
    countries = roles = None
    if state is not None and state.present:
        countries = breakdown("country", _present(store, state.id))
        roles = breakdown("role", _present(store, state.id))
    latest = polls.latest(state.id) if state else None
    failure = polls.latest_failure(state.id) if state else None
    return Report(
        name=letter.name, title=title, url=str(letter.url),
        count=num(count) if count is not None else None,
        confirmed=moment(latest_ok.at) if latest_ok else None,
        changes=tuple(changes), rate=rate_text, rate_note=rate_note,
        next_milestone=next_text, next_note=next_note, chart=chart,
        milestones=reached, new_count=num(new_count), new_names=names,
        countries=countries, roles=roles,
        last_poll=f"{moment(latest.at)}: {latest.outcome}" if latest else "none yet",
        failures=num(polls.failures_since(state.id, clock.iso(now - timedelta(days=1))))
        if state else "0",
        last_failure=(f"{failure.kind.label if failure.kind else failure.outcome}, "
                      f"{moment(failure.at)}") if failure else "none",
        generated=l10n.date_time(now, locale), locale=locale)


def _signed(value: int, locale: str | None) -> str:
    text = l10n.number(abs(value), locale)
    return f"+{text}" if value > 0 else (f"\u2212{text}" if value < 0 else text)


def _rate(store: Store, letter_id: int, count: int, now: datetime, last_at: str
          ) -> tuple[float | None, str | None]:
    """Signatures a day over the last 7 days (or since the first poll, if later), from
    at least a day of history; (None, None) when there is less."""
    base = store.polls.count_at(letter_id, clock.iso(now - RATE_WINDOW))
    since_first = None
    if base is None:
        first = store.polls.first_ok(letter_id)
        if first is None or first.count is None:
            return None, None
        base, since_first = (first.at, first.count), first.at
    span = clock.parse_iso(last_at) - clock.parse_iso(base[0])
    if span < MIN_RATE_SPAN:
        return None, None
    return max(0.0, (count - base[1]) / (span.total_seconds() / 86400)), since_first


def _reached(store: Store, letter_id: int, letter: str, locale: str | None
             ) -> tuple[Reached, ...]:
    from lettermon.models import OutboxStatus, PostKind

    posts: dict[int, list[Post]] = {}
    for entry in store.outbox.entries(letter, statuses=(OutboxStatus.SENT,)):
        if entry.kind is PostKind.MILESTONE and entry.milestone is not None:
            posts.setdefault(entry.milestone, []).append(
                Post(entry.channel, _web_address(entry.remote_url), entry.remote_id))
    return tuple(
        Reached(l10n.number(m, locale), l10n.date_time(clock.parse_iso(at), locale),
                tuple(posts.get(m, ())))
        for m, at, _, _ in reversed(store.milestones.reached(letter_id)))


def _web_address(url: str | None) -> str | None:
    """Only an http(s) address becomes a link (never ``javascript:``)."""
    if url and urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc:
        return url
    return None


def _names(rows: list[dict[str, str]], letter: LetterSettings,
           settings: ReportSettings) -> tuple[str, ...]:
    from lettermon.announce.announcer import name_of
    from lettermon.announce.sanitize import clean_names

    raw = [name_of(fields, letter.name_fields) for fields in rows]
    return tuple(clean_names(raw, max_length=settings.name_max_length,
                             blocklist=settings.blocklist, limit=settings.max_names))


def _present(store: Store, letter_id: int) -> Any:
    return (view.fields for view in store.signatories.listing(letter_id,
                                                              include_removed=False))


# -- HTML ----------------------------------------------------------------------------------

@cache
def _environment() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("lettermon.report", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
        lstrip_blocks=True)


@cache
def _style() -> tuple[str, str]:
    """The page's style and its CSP hash (the only style the page may use)."""
    css = resources.files("lettermon.report").joinpath("templates", "report.css").read_text(
        encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return css, f"'sha256-{digest}'"


def _common() -> dict[str, Any]:
    from markupsafe import Markup

    css, style_hash = _style()
    policy = (f"default-src 'none'; img-src data:; style-src {style_hash}; "
              "base-uri 'none'; form-action 'none'")
    # the style is our own file, shipped with lettermon: no page text reaches it
    return {"style": Markup(css), "policy": policy}  # noqa: S704


def data_uri(chart: Chart) -> str:
    return f"data:{chart.mime};base64,{base64.b64encode(chart.image).decode('ascii')}"


def render_page(report: Report) -> str:
    """The report as one HTML file."""
    return _environment().get_template("report.html").render(
        r=report, chart_uri=data_uri(report.chart) if report.chart else None,
        num=lambda value: l10n.number(value, report.locale), **_common())


@dataclass(frozen=True)
class IndexLine:
    name: str
    title: str
    href: str
    count: str
    changed: str


def render_index(lines: list[IndexLine], generated: str) -> str:
    """The site's index: every letter with its count and last change."""
    return _environment().get_template("index.html").render(
        lines=lines, generated=generated, **_common())


def write_atomic(path: Path, text: str) -> None:
    """Write a file so that a reader sees the old one or the new one, never half of one:
    a temporary file in the same folder, flushed, then renamed over it."""
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                         dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)  # a web server's user reads it
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
