"""``lettermon report``: one self-contained page that says how the campaign is doing.

The history is built through the store (see ``reporting.build``): 40 days of hourly polls,
two failed ones, milestones with their posts, and signatories with hostile names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from reporting import (
    HOSTILE_COUNTRY,
    HOSTILE_IMG,
    HOSTILE_SCRIPT,
    PAGE_TITLE,
    POST_URL,
    build,
)

pytest.importorskip("matplotlib")


def config(tmp_path: Path, *, report: str = "names = true", letter: str = "") -> Path:
    path = tmp_path / "lettermon.toml"
    path.write_text(
        f'database_url = "sqlite:///{tmp_path / "data.sqlite3"}"\n'
        f"[report]\n{report}\n"
        '[[letters]]\nname = "rekognition"\nurl = "https://letters.example.org/rek/"\n'
        f"milestones = {{ every = 100 }}\n{letter}\n", encoding="utf-8")
    return path


class Page(HTMLParser):
    """What a browser would load and run: elements, their attributes, scripts, the text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.by_id: dict[str, list[str]] = {}
        self._open: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        ident = dict(attrs).get("id")
        if ident:
            self._open.append(ident)
            self.by_id.setdefault(ident, [])
        elif tag not in ("meta", "img", "br", "link", "input"):
            self._open.append("")

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        for ident in filter(None, self._open):
            self.by_id[ident].append(data)

    def shown(self, ident: str) -> str:
        return " ".join(" ".join(self.by_id[ident]).split())

    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())


@pytest.fixture
def built(tmp_path: Path, clock: Any) -> Any:
    return build(tmp_path / "data.sqlite3", clock.now)


def report(run_cli: Callable[..., Result], cfg: Path, target: Path) -> Page:
    result = run_cli("report", "rekognition", "-o", str(target), "--config", str(cfg))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wrote {target}"
    return Page(target.read_text(encoding="utf-8"))


def test_the_report_holds_the_counts_rates_milestones_and_posts(
        built: Any, tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    page = report(run_cli, config(tmp_path), tmp_path / "r.html")
    assert page.shown("count") == "1,060"
    text = page.all_text()
    assert "signatures, last confirmed" in text
    when = built.now
    assert f"{when.day} {when:%B %Y}, {when:%H:%M} UTC" in text
    # 24 an hour: +24 in a day, +168 in a week, +720 in 30 days
    assert "+24 last day" in text and "+168 last week" in text and "+720 last month" in text
    assert page.shown("rate") == "24.0 a day"
    eta = (built.now + timedelta(days=40 / 24)).date()
    assert page.shown("next") == "1,100"
    assert page.shown("eta") == f"estimated {eta.day} {eta:%B %Y}"
    milestones = page.shown("milestones")
    for milestone in range(200, 1001, 100):
        assert f"{milestone:,}" in milestones
    links = [(attrs.get("href"), tag) for tag, attrs in page.tags if tag == "a"]
    assert (POST_URL, "a") in links
    assert not any(href and not href.startswith(("https://", "letters/"))
                   for href, _ in links)  # javascript: is never a link
    assert "icrac-mastodon" in milestones and "odd (id-" in milestones
    assert page.shown("new").startswith("New signatories in the last 7 days 3 new.")


def test_breakdowns_and_polling_health(built: Any, tmp_path: Path,
                                       run_cli: Callable[..., Result]) -> None:
    page = report(run_cli, config(tmp_path), tmp_path / "r.html")
    countries = page.shown("countries")
    assert "United States 3" in countries
    for country in ("Brazil 1", "United Kingdom 1", "France 1", "Japan 1"):
        assert country in countries
    assert f"Not a known country, as written: {HOSTILE_COUNTRY} (1)" in countries
    roles = page.shown("roles")
    assert ("professor 2" in roles and "student 2" in roles
            and "lecturer/researcher 2" in roles and "industry 2" in roles
            and "other 0" in roles)
    health = page.shown("health")
    assert "failures in the last day 2" in health
    assert "last failure network," in health
    assert re.search(r"last poll .* UTC: ok", health)


def test_hostile_text_is_shown_and_never_run(built: Any, tmp_path: Path,
                                             run_cli: Callable[..., Result]) -> None:
    target = tmp_path / "r.html"
    page = report(run_cli, config(tmp_path), target)
    raw = target.read_text(encoding="utf-8")
    assert not [tag for tag, _ in page.tags if tag in ("script", "iframe", "object", "embed",
                                                       "link", "base", "form")]
    assert not any(name.startswith("on") for _, attrs in page.tags for name in attrs)
    assert "&lt;script&gt;document.title=" in raw  # as text
    assert HOSTILE_SCRIPT not in raw and HOSTILE_IMG not in raw
    names = page.shown("new")
    assert f"{HOSTILE_SCRIPT} Smith" in names and f"Grace {HOSTILE_IMG}" in names
    assert page.shown("title") == PAGE_TITLE  # the page's own title, shown as text
    policy = next(attrs["content"] for tag, attrs in page.tags
                  if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy")
    assert policy is not None and "default-src 'none'" in policy and "script-src" not in policy
    # self-contained: the only image is the chart, inline
    sources = [attrs.get("src") for tag, attrs in page.tags if tag == "img"]
    assert len(sources) == 1 and (sources[0] or "").startswith("data:image/svg+xml;base64,")


def test_names_only_where_the_config_allows(built: Any, tmp_path: Path,
                                            run_cli: Callable[..., Result]) -> None:
    page = report(run_cli, config(tmp_path, report=""), tmp_path / "r.html")
    new = page.shown("new")
    assert "3 new." in new and "Names are not shown" in new
    assert "Hiroshi" not in page.all_text() and "Smith" not in page.all_text()
    page = report(run_cli, config(tmp_path, report='names = true\nblocklist = ["tanaka"]'),
                  tmp_path / "r.html")
    assert "Hiroshi" not in page.shown("new") and "Smith" in page.shown("new")


def test_the_report_in_german(built: Any, tmp_path: Path,
                              run_cli: Callable[..., Result]) -> None:
    page = report(run_cli, config(tmp_path, letter='locale = "de"'), tmp_path / "r.html")
    assert page.shown("count") == "1.060"
    assert page.shown("rate") == "24,0 a day"
    assert page.tags[0] == ("html", {"lang": "de"})


def test_a_letter_nobody_signed_yet(tmp_path: Path, run_cli: Callable[..., Result],
                                    clock: Any) -> None:
    from lettermon import clock as clocks
    from lettermon.models import Outcome
    from lettermon.store import PollRecord, open_store

    with open_store(f"sqlite:///{tmp_path / 'data.sqlite3'}", clocks.iso(clock.now)) as store:
        letter_id = store.letters.ensure("rekognition", "https://l.example/",
                                         clocks.iso(clock.now)).id
        for hours in (3, 0):
            at = clocks.iso(clock.now - timedelta(hours=hours))
            with store.transaction():
                poll_id = store.polls.start(letter_id, at)
                store.polls.finish(poll_id, PollRecord(at=at, count=0, outcome=Outcome.OK))
        with store.transaction():
            store.letters.update(letter_id, last_count=0)
    page = report(run_cli, config(tmp_path), tmp_path / "r.html")
    assert page.shown("count") == "0"
    assert page.shown("rate") == "not enough data"
    assert page.shown("next") == "100"
    assert page.shown("eta") == "estimated date: not enough data"
    assert "None yet." in page.shown("milestones")


def test_before_any_poll_the_page_says_so(tmp_path: Path, clock: Any,
                                          run_cli: Callable[..., Result]) -> None:
    from lettermon import clock as clocks
    from lettermon.store import open_store

    with open_store(f"sqlite:///{tmp_path / 'data.sqlite3'}", clocks.iso(clock.now)):
        pass  # the database of a config whose other letters were polled
    page = report(run_cli, config(tmp_path), tmp_path / "r.html")
    assert page.shown("count") == "–"
    assert "no successful poll yet" in page.all_text()
