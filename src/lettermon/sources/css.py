"""The generic adapter: CSS selectors from the letter's settings pick count, rows and fields.

For letter pages not built with the Participants Database widget. The count is the first
number of the ``count`` element's text (or the first group of ``count_regex``), with the
same thousands separators as the pdb adapter. The adapter does not know page numbers: it
follows ``next`` only.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from lettermon.errors import ParseError
from lettermon.models import ParsedPage, Row
from lettermon.settings import CssAdapterSettings
from lettermon.sources.numbers import first_int
from lettermon.sources.pdb import clean, page_title


class CssAdapter:
    """Reads a page with the selectors of a ``[letters.css]`` table."""

    kind = "css"

    def __init__(self, settings: CssAdapterSettings) -> None:
        self.settings = settings
        self._count_re = re.compile(settings.count_regex) if settings.count_regex else None

    def parse(self, html: bytes, url: str) -> ParsedPage:
        tree = LexborHTMLParser(html)
        try:
            count = self._count(tree)
            rows = tuple(self._row(node) for node in tree.css(self.settings.rows))
            next_url = self._next_url(tree, url)
        except SelectolaxError as exc:
            raise ParseError(f"a CSS selector of the letter cannot be used: {exc}") from exc
        if count > 0 and not rows:
            raise ParseError(f"rows selector {self.settings.rows!r} matched nothing "
                             f"while the count says {count}")
        return ParsedPage(count=count, rows=rows, next_url=next_url, title=page_title(tree))

    def _count(self, tree: LexborHTMLParser) -> int:
        node = tree.css_first(self.settings.count)
        if node is None:
            raise ParseError(f"count selector {self.settings.count!r} matched nothing")
        text = clean(node.text(deep=True))
        if self._count_re is not None:
            match = self._count_re.search(text)
            text = (match.group(1) if match.re.groups else match.group(0)) if match else ""
        number = first_int(text)
        if number is None:
            raise ParseError(f"no number in the count element's text {text[:80]!r}")
        return number

    def _row(self, node: LexborNode) -> Row:
        fields: list[tuple[str, str]] = []
        for name, selector in self.settings.fields.items():
            cell = node.css_first(selector)
            fields.append((name, clean(cell.text(deep=True)) if cell is not None else ""))
        return Row.of(tuple(fields))

    def _next_url(self, tree: LexborHTMLParser, url: str) -> str | None:
        if self.settings.next is None:
            return None
        node = tree.css_first(self.settings.next)
        href = node.attributes.get("href") if node is not None else None
        if not href or not href.strip() or href.strip() == "#":
            return None
        return urljoin(url, href.strip())
