"""``lettermon probe URL``: what lettermon would read on a page, without writing anything."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lettermon.models import ParsedPage
from lettermon.settings import HttpSettings
from lettermon.watch.sources import SourceAdapter, detect

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class Probe:
    url: str
    adapter: str
    parsed: ParsedPage
    bytes: int

    @property
    def fields(self) -> list[str]:
        return [name for name, _ in self.parsed.rows[0].fields] if self.parsed.rows else []

    def as_json(self, rows: int) -> dict[str, Any]:
        parsed = self.parsed
        return {
            "url": self.url, "adapter": self.adapter, "count": parsed.count,
            "per_page": parsed.per_page, "page": parsed.page, "last_page": parsed.last_page,
            "page_url_template": parsed.page_url_template, "title": parsed.title,
            "fields": self.fields, "rows": [dict(r.fields) for r in parsed.rows[:rows]],
            "bytes": self.bytes,
        }


def probe(url: str, http: HttpSettings, adapters: Mapping[str, type[SourceAdapter]],
          transport: httpx.BaseTransport | None = None) -> Probe:
    """Fetch ``url`` and read it with the adapter that recognises it."""
    from lettermon.watch.fetch import Fetcher, make_client

    fetcher = Fetcher(make_client(http, transport), http)
    try:
        result = fetcher.get(url)
    finally:
        fetcher.close()
    adapter = detect(result.body, result.url, adapters)
    return Probe(result.url, adapter.kind, adapter.parse(result.body, result.url),
                 len(result.body))
