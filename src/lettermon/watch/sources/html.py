"""Helpers the HTML adapters share: whitespace and the page's title."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser


def clean(text: str) -> str:
    """Strip and collapse every kind of whitespace, no-break spaces included."""
    return " ".join(text.split())


def page_title(tree: LexborHTMLParser) -> str | None:
    """The letter's heading, else the document title, cleaned."""
    for selector in ("h1.entry-title", "h1", "title"):
        node = tree.css_first(selector)
        if node is not None:
            text = clean(node.text(deep=True))
            if text:
                return text
    return None
