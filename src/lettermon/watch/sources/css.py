"""The generic adapter: CSS selectors from the letter's settings pick count, rows and fields.

For letter pages not built with the Participants Database widget. The count is the first
number of the ``count`` element's text (or the first group of ``count_regex``), with the
same thousands separators as the pdb adapter; a count shown abbreviated ("1.2k") is
refused, never read as 1. The adapter does not know page numbers: it follows ``next`` only.

Without ``rows`` the letter is count-only: the page states a number and lists nobody, and
the poll reads that number alone. With ``closed``, a page on which that selector matches
says the letter is closed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from pydantic import Field, field_validator, model_validator

from lettermon.errors import ParseError
from lettermon.models import ParsedPage, Row
from lettermon.settings import Strict
from lettermon.watch.sources.base import SourceAdapter
from lettermon.watch.sources.html import clean, page_title
from lettermon.watch.sources.numbers import abbreviated, first_int

if TYPE_CHECKING:  # selectolax is imported when a page is parsed, not when adapters are found
    from selectolax.lexbor import LexborHTMLParser, LexborNode


class CssAdapterSettings(Strict):
    """The generic adapter for letter pages not built with the Participants Database widget."""

    count: str = Field(description="CSS selector of the element holding the total")
    count_regex: str | None = Field(default=None,
        description="regex whose first group is the number")
    rows: str | None = Field(default=None,
        description="CSS selector of one signatory row; none: the letter is count-only")
    fields: dict[str, str] = Field(default_factory=dict,
        description="field name -> CSS selector inside a row")
    next: str | None = Field(default=None, description="CSS selector of the next-page link")
    closed: str | None = Field(default=None,
        description="CSS selector of an element shown only once the letter is closed")

    @property
    def count_only(self) -> bool:
        """No signatory list: the count is all the page gives."""
        return self.rows is None

    @field_validator("count_regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _rows_and_fields(self) -> CssAdapterSettings:
        if self.rows is not None and not self.fields:
            raise ValueError("with rows, name at least one field in fields")
        if self.rows is None and (self.fields or self.next):
            raise ValueError("fields and next need rows (without rows the letter is "
                             "count-only)")
        return self


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
        settings = self.settings
        try:
            count = self._count(tree)
            state = self._state(tree)
            if settings.rows is None:
                return ParsedPage(count=count, rows=(), title=page_title(tree),
                                  count_only=True, state=state)
            rows = tuple(self._row(node) for node in tree.css(settings.rows))
            next_url = self._next_url(tree, url)
        except SelectolaxError as exc:
            raise ParseError(f"a CSS selector of the letter cannot be used: {exc}") from exc
        if count > 0 and not rows:
            raise ParseError(f"rows selector {settings.rows!r} matched nothing "
                             f"while the count says {count}")
        return ParsedPage(count=count, rows=rows, next_url=next_url, title=page_title(tree),
                          state=state)

    def _state(self, tree: LexborHTMLParser) -> str | None:
        if self.settings.closed is None:
            return None
        return "closed" if tree.css_first(self.settings.closed) is not None else "open"

    def _count(self, tree: LexborHTMLParser) -> int:
        node = tree.css_first(self.settings.count)
        if node is None:
            raise ParseError(f"count selector {self.settings.count!r} matched nothing")
        text = clean(node.text(deep=True))
        if self._count_re is not None:
            match = self._count_re.search(text)
            text = (match.group(1) if match.re.groups else match.group(0)) if match else ""
        short = abbreviated(text)
        if short is not None:
            raise ParseError(f"the count is shown abbreviated ({short!r}), not as an exact "
                             "number")
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
