"""The Participants Database ("pdb") list adapter: the WordPress plugin's signature table.

The list is ``div.pdb-list`` holding ``table.list-container``, found by class and never by
shortcode instance. The total is the first number of the caption's text, whatever the
words; columns come from the header ``th`` classes and cells are matched by their
``FIELD-field`` class, not by position. Pagination links carry ``data-page``; the current
page is the ``li`` with class ``currentpage``, ``active`` or ``current`` (the plugin prints
``<li class="active currentpage"><span>N</span></li>``, no link).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

from lettermon.errors import ParseError
from lettermon.models import ParsedPage, Row
from lettermon.watch.sources.base import SourceAdapter
from lettermon.watch.sources.html import clean, page_title
from lettermon.watch.sources.numbers import all_ints

if TYPE_CHECKING:  # selectolax is imported when a page is parsed, not when adapters are found
    from selectolax.lexbor import LexborHTMLParser, LexborNode

PAGE_PARAM = "listpage"
_GENERIC_TH_CLASSES = frozenset({
    "sortable", "pdb-sortable", "sorted", "asc", "desc", "manage-column", "column",
    "pdb-field", "field", "header",
})
_CURRENT_CLASSES = frozenset({"currentpage", "active", "current"})


def looks_like_pdb(html: bytes) -> bool:
    """A cheap test: does this page seem to hold a Participants Database list?"""
    return b"pdb-list" in html and b"list-container" in html


class PdbAdapter(SourceAdapter):
    """Reads one page of a Participants Database list."""

    kind = "pdb"
    summary = "a WordPress Participants Database list"

    @classmethod
    def detect(cls, body: bytes, url: str) -> bool:
        return looks_like_pdb(body)

    def parse(self, html: bytes, url: str) -> ParsedPage:
        from selectolax.lexbor import LexborHTMLParser

        tree = LexborHTMLParser(html)
        wrap, table = _find_list(tree)
        count, per_page = _read_caption(wrap, table)
        rows = _read_rows(table)
        if count == 0 and rows:
            raise ParseError(f"count caption says 0 but the list shows {len(rows)} rows")
        if count > 0 and not rows:
            raise ParseError(f"count caption says {count} but the list shows no rows")
        nav = _Pagination.read(wrap, tree, url)
        return ParsedPage(
            count=count,
            rows=tuple(rows),
            page=nav.page,
            per_page=per_page,
            pages=nav.pages,
            page_url_template=nav.template,
            last_page=max(nav.pages),
            next_url=nav.pages.get(nav.page + 1),
            title=page_title(tree),
        )


def _find_list(tree: LexborHTMLParser) -> tuple[LexborNode, LexborNode]:
    for wrap in tree.css("div.pdb-list"):
        table = wrap.css_first("table.list-container")
        if table is not None:
            return wrap, table
    raise ParseError("no Participants Database list (div.pdb-list table.list-container) "
                     "found on the page")


def _read_caption(wrap: LexborNode, table: LexborNode) -> tuple[int, int | None]:
    node = (wrap.css_first(".list-display-count") or wrap.css_first(".pdb-list-count")
            or table.css_first("caption"))
    numbers = all_ints(node.text(deep=True)) if node is not None else []
    if not numbers:
        raise ParseError("the list's count caption not found")
    return numbers[0], numbers[1] if len(numbers) > 1 else None


def _classes(node: LexborNode) -> list[str]:
    value = node.attributes.get("class")
    return value.split() if value else []


def _column_name(th: LexborNode, index: int) -> str:
    classes = _classes(th)
    for name in classes:
        if name not in _GENERIC_TH_CLASSES and not name.startswith("column-"):
            return name
    return classes[0] if classes else f"column_{index + 1}"


def _cell_field(class_attr: str | None) -> str | None:
    for name in class_attr.split() if class_attr else ():
        if name.endswith("-field") and len(name) > 6:
            return name[:-6]
    return None


def _read_rows(table: LexborNode) -> list[Row]:
    columns: list[str] = []
    rows: list[Row] = []
    fields_by_class: dict[str | None, str | None] = {}
    for tr in table.css("tr"):
        cells = [c for c in tr.iter() if c.tag in ("td", "th")]
        if not cells:
            continue
        if cells[0].tag == "th":
            if not columns:
                columns = [_column_name(th, i) for i, th in enumerate(cells)]
            continue
        values: dict[str, str] = {}
        named = False
        for i, td in enumerate(cells):
            class_attr = td.attributes.get("class")
            try:
                field = fields_by_class[class_attr]
            except KeyError:
                field = fields_by_class[class_attr] = _cell_field(class_attr)
            if field is None:
                field = columns[i] if i < len(columns) else f"column_{i + 1}"
            else:
                named = True
            values[field] = " ".join(td.text(deep=True).split())
        if named or any(values.values()):  # else: the empty list's placeholder row
            rows.append(_row(values, columns))
    return rows


def _row(values: dict[str, str], columns: list[str]) -> Row:
    """The row's fields in column order; cells of unknown fields follow."""
    fields = [(name, values.pop(name, "")) for name in columns]
    fields.extend(values.items())
    return Row.of(tuple(fields))


@dataclass(frozen=True, slots=True)
class _Pagination:
    """Page numbers and URLs read from the list's pagination block."""

    page: int
    pages: dict[int, str]
    template: str | None

    @classmethod
    def read(cls, wrap: LexborNode, tree: LexborHTMLParser, url: str) -> _Pagination:
        block = (wrap.css_first(".pdb-pagination") or wrap.css_first("div.pagination")
                 or tree.css_first(".pdb-pagination"))
        if block is None:  # no pagination: the whole list fits on page 1
            links: dict[int, str] = {}
            current = 1
        else:
            links = _page_links(block, url)
            current = _current_page(block) or _page_param(url) or 1
        template = _template([*links.values(), url])
        pages = {1: _without_paging(url), **links}
        if current not in pages and template is not None:
            pages[current] = template.format(page=current)
        return cls(current, dict(sorted(pages.items())), template)


def _page_links(block: LexborNode, url: str) -> dict[int, str]:
    """Page number -> absolute URL for every anchor carrying ``data-page``."""
    links: dict[int, str] = {}
    for a in block.css("a[data-page]"):
        number = (a.attributes.get("data-page") or "").strip()
        href = (a.attributes.get("href") or "").strip()
        if number.isdecimal() and int(number) > 0 and href not in ("", "#"):
            links[int(number)] = urljoin(url, href)
    return links


def _current_page(block: LexborNode) -> int | None:
    for li in block.css("li"):
        if _CURRENT_CLASSES.intersection(_classes(li)):
            text = clean(li.text(deep=True))
            if text.isdecimal():
                return int(text)
    return None


def _page_param(url: str) -> int | None:
    for key, value in parse_qsl(urlsplit(url).query):
        if key == PAGE_PARAM and value.isdecimal():
            return int(value)
    return None


def _template(urls: list[str]) -> str | None:
    """``url`` with the listpage value replaced by ``{page}``, from the first that has one."""
    for url in urls:
        parts = urlsplit(url)
        pieces = parts.query.split("&") if parts.query else []
        if not any(p.startswith(PAGE_PARAM + "=") for p in pieces):
            continue
        escaped = [p.replace("{", "{{").replace("}", "}}") for p in pieces]
        query = "&".join(f"{PAGE_PARAM}={{page}}" if p.startswith(PAGE_PARAM + "=") else p
                         for p in escaped)
        base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        return base.replace("{", "{{").replace("}", "}}") + "?" + query
    return None


def _without_paging(url: str) -> str:
    """Page 1's URL: the page's own address without the listpage and instance parameters."""
    parts = urlsplit(url)
    kept = [p for p in parts.query.split("&")
            if p and not p.startswith((PAGE_PARAM + "=", "instance="))]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "&".join(kept), ""))
