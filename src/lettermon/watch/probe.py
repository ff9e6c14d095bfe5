"""``lettermon probe URL``: what lettermon would read on a page, without writing anything.

A page an adapter recognises is read with it. For one no adapter recognises, the probe
lists the numbers that look like its count (:mod:`lettermon.watch.suggest`) and the
``[[letters]]`` entry that reads the likeliest. A page whose adapter reads a twin of it (a
UK Parliament petition's page and its JSON) is probed at the twin, with a note saying so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lettermon.errors import ParseError
from lettermon.models import ParsedPage
from lettermon.settings import HttpSettings
from lettermon.watch.sources import SourceAdapter, check_media_type, detect

if TYPE_CHECKING:
    import httpx

    from lettermon.watch.suggest import Candidate


@dataclass(frozen=True)
class Probe:
    url: str
    adapter: str | None
    parsed: ParsedPage | None
    bytes: int
    notes: tuple[str, ...] = ()
    candidates: tuple[Candidate, ...] = ()
    config: str | None = None  # a [[letters]] entry that reads the page
    kind: str = "html"  # or "json": what the page is
    breakdowns: dict[str, int] = field(default_factory=dict)  # dimension -> entries

    @property
    def fields(self) -> list[str]:
        if self.parsed is None or not self.parsed.rows:
            return []
        return [name for name, _ in self.parsed.rows[0].fields]

    def as_json(self, rows: int) -> dict[str, Any]:
        parsed = self.parsed
        out: dict[str, Any] = {"url": self.url, "adapter": self.adapter, "bytes": self.bytes,
                               "notes": list(self.notes), "config": self.config}
        if parsed is not None:
            out.update({
                "count": parsed.count, "per_page": parsed.per_page, "page": parsed.page,
                "last_page": parsed.last_page, "page_url_template": parsed.page_url_template,
                "title": parsed.title, "fields": self.fields,
                "rows": [dict(r.fields) for r in parsed.rows[:rows]],
                "count_only": parsed.count_only, "state": parsed.state,
                "breakdowns": self.breakdowns})
        else:
            out.update({"count": None, "candidates": [c.as_json() for c in self.candidates]})
        return out


def probe(url: str, http: HttpSettings, adapters: Mapping[str, type[SourceAdapter]],
          transport: httpx.BaseTransport | None = None) -> Probe:
    """Fetch ``url`` and read it with the adapter that recognises it, or suggest how."""
    from lettermon.watch.fetch import Fetcher, make_client

    notes: list[str] = []
    target = url
    for adapter in adapters.values():
        twin = adapter.source_url(url)
        if twin:
            notes.append(f"{url} is a petition's page; lettermon reads its JSON, {twin}, and "
                         "polls that address for a letter configured with the page")
            target = twin
            break
    fetcher = Fetcher(make_client(http, transport), http)
    try:
        result = fetcher.get(target)
    finally:
        fetcher.close()
    size = len(result.body)
    try:
        found = detect(result.body, result.url, adapters)
    except ParseError:
        return _suggest(url, result.url, result.body, result.content_type, size, notes)
    check_media_type(found, result.content_type)
    parsed = found.parse(result.body, result.url)
    entry = [f'name = "{_name(url)}"', f'url = "{url}"']
    if found.kind == "ukparliament":
        entry.append('milestones = { preset = "uk-parliament" }')
    return Probe(result.url, found.kind, parsed, size, tuple(notes),
                 config="[[letters]]\n" + "\n".join(entry) + "\n",
                 breakdowns={k: len(v) for k, v in parsed.breakdowns.items()})


def _name(url: str) -> str:
    from lettermon.watch.suggest import letter_name

    return letter_name(url)


def _suggest(asked: str, url: str, body: bytes, content_type: str | None, size: int,
             notes: list[str]) -> Probe:
    from lettermon.watch import suggest

    media = (content_type or "").split(";")[0].strip().lower()
    is_json = media.endswith("json") or (not media and body.lstrip()[:1] in (b"{", b"["))
    if is_json:
        candidates = suggest.json_candidates(body)
        adapter = "json"
    else:
        candidates = suggest.html_candidates(body, url)
        adapter = "css"
    config = (suggest.letter_entry(asked, adapter, candidates[0].settings)
              if candidates else None)
    return Probe(url, None, None, size, tuple(notes), tuple(candidates), config,
                 "json" if is_json else "html")
