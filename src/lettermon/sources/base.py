"""The source-adapter extension point: a page's HTML in, count + rows + other pages out."""

from __future__ import annotations

from typing import Protocol

from lettermon.models import ParsedPage


class SourceAdapter(Protocol):
    """Reads one page of a letter's signature list.

    ``parse`` raises :class:`lettermon.errors.ParseError` with a one-line reason when the
    page does not hold what the adapter expects; it never returns a count of 0 because a
    selector matched nothing.
    """

    kind: str

    def parse(self, html: bytes, url: str) -> ParsedPage: ...
