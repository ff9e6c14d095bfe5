"""The UK Parliament petitions site (petition.parliament.uk), read from a petition's JSON.

Every petition page ``https://petition.parliament.uk/petitions/NNNNNN`` has a JSON twin at
the same path plus ``.json`` (the Welsh Senedd's site, petitions.senedd.wales, runs the
same application). The document is ``{"links": ..., "data": {"type": "petition", "id":
..., "attributes": {...}}}``: the count is ``signature_count``, the title ``action``, the
state ``state`` (open, closed, rejected), and the per-country, per-constituency and
per-region counts are lists of objects with a ``signature_count`` each. Recognised from
its first bytes, without parsing the whole document; a letter configured with the page's
address is polled at its JSON twin (:meth:`UkParliamentAdapter.source_url`).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from lettermon.errors import ParseError
from lettermon.models import Breakdown, ParsedPage
from lettermon.watch.sources.base import SourceAdapter
from lettermon.watch.sources.json import JSON_TYPES, as_count, as_text, load_json

HOSTS = frozenset({"petition.parliament.uk", "petitions.senedd.wales",
                   "deisebau.senedd.cymru"})
_PAGE = re.compile(r"^(/petitions/\d+)/?$")
_HEAD = re.compile(rb'^\s*\{.{0,1500}?"data"\s*:\s*\{\s*"type"\s*:\s*"petition"', re.DOTALL)
BREAKDOWNS = {"country": "signatures_by_country", "constituency": "signatures_by_constituency",
              "region": "signatures_by_region"}


def json_twin(url: str) -> str | None:
    """The JSON address of a petition page's address, None for any other address."""
    parts = urlsplit(url)
    match = _PAGE.match(parts.path)
    if (parts.hostname or "").lower() not in HOSTS or match is None:
        return None
    return str(urlunsplit((parts.scheme, parts.netloc, match.group(1) + ".json", parts.query,
                           "")))


class UkParliamentAdapter(SourceAdapter):
    """A petition on the UK Parliament's (or the Senedd's) petitions site."""

    kind = "ukparliament"
    summary = ("a UK Parliament petition's JSON (petition.parliament.uk/petitions/N.json): "
               "count, state, counts by country, constituency and region")
    count_only = True
    media_types = JSON_TYPES

    @classmethod
    def detect(cls, body: bytes, url: str) -> bool:
        return _HEAD.match(body[:2048]) is not None

    @classmethod
    def source_url(cls, url: str) -> str | None:
        return json_twin(url)

    def parse(self, body: bytes, url: str) -> ParsedPage:
        document = load_json(body)
        data: Any = document.get("data") if isinstance(document, dict) else None
        if not isinstance(data, dict) or data.get("type") != "petition":
            raise ParseError("not a petition's JSON (no data of type petition)")
        attributes = data.get("attributes")
        if not isinstance(attributes, dict):
            raise ParseError("not a petition's JSON (no data.attributes of a petition)")
        count = as_count(attributes.get("signature_count"), "data.attributes.signature_count")
        state = attributes.get("state")
        breakdowns = {dimension: _breakdown(attributes.get(key), key)
                      for dimension, key in BREAKDOWNS.items() if key in attributes}
        title = as_text(attributes.get("action")) or None
        return ParsedPage(count=count, rows=(), title=title, count_only=True,
                          state=as_text(state) or None, breakdowns=breakdowns)


def _breakdown(entries: Any, key: str) -> Breakdown:
    if not isinstance(entries, list):
        raise ParseError(f"data.attributes.{key} is not a list")
    counts: dict[str, int] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise ParseError(f"data.attributes.{key}: an entry is not an object")
        name = as_text(entry.get("name")) or as_text(entry.get("code")) or "unknown"
        counts[name] = counts.get(name, 0) + as_count(
            entry.get("signature_count"), f"data.attributes.{key} ({name})")
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
