"""The generic adapter: CSS selectors from the letter's settings pick count, rows and fields.

For letter pages not built with the Participants Database widget. The count is the first
number of the ``count`` element's text (or the first group of ``count_regex``), with the
same thousands separators as the pdb adapter. The adapter does not know page numbers: it
follows ``next`` only.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from pydantic import Field, field_validator

from lettermon.errors import ParseError
from lettermon.models import ParsedPage, Row
from lettermon.settings import Strict
from lettermon.watch.sources.base import SourceAdapter
from lettermon.watch.sources.html import clean, page_title
from lettermon.watch.sources.numbers import first_int

if TYPE_CHECKING:  # selectolax is imported when a page is parsed, not when adapters are found
    from selectolax.lexbor import LexborHTMLParser, LexborNode


class CssAdapterSettings(Strict):
    """The generic adapter for letter pages not built with the Participants Database widget."""

    count: str = Field(description="CSS selector of the element holding the total")
    count_regex: str | None = Field(default=None,
        description="regex whose first group is the number")
    rows: str = Field(description="CSS selector of one signatory row")
    fields: dict[str, str] = Field(description="field name -> CSS selector inside a row")
    next: str | None = Field(default=None, description="CSS selector of the next-page link")

    @field_validator("count_regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value

    @field_validator("fields")
    @classmethod
    def _some_fields(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("name at least one field")
        return value


class CssAdapter(SourceAdapter):
    """Reads a page with the selectors of a ``[letters.css]`` table."""

    kind = "css"
    summary = "any page, read with the CSS selectors of [letters.css]"
    settings_model = CssAdapterSettings
    settings: CssAdapterSettings

    def __init__(self, settings: CssAdapterSettings) -> None:
        super().__init__(settings)
        self._count_re = re.compile(settings.count_regex) if settings.count_regex else None

    def parse(self, html: bytes, url: str) -> ParsedPage:
        from selectolax.lexbor import LexborHTMLParser, SelectolaxError

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
