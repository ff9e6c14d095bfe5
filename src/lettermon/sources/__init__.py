"""Source adapters: a letter page's HTML in, count + rows + other pages out.

``adapter_for`` picks the adapter a letter's settings ask for; ``"auto"`` uses the
Participants Database adapter when the page holds its list. The adapter modules (and
selectolax) are imported only when an adapter is built, so importing this package is cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lettermon.errors import ParseError
from lettermon.sources.base import SourceAdapter

if TYPE_CHECKING:
    from lettermon.settings import CssAdapterSettings, LetterSettings

__all__ = ["ADAPTERS", "SourceAdapter", "adapter_for", "probe_adapter"]

_NO_LIST = ("no Participants Database list found on the page; "
            "set adapter = 'css' with selectors")


def _pdb(_css: CssAdapterSettings | None) -> SourceAdapter:
    from lettermon.sources.pdb import PdbAdapter

    return PdbAdapter()


def _css(css: CssAdapterSettings | None) -> SourceAdapter:
    from lettermon.sources.css import CssAdapter

    if css is None:
        raise ParseError("adapter = 'css' needs a [letters.css] table")
    return CssAdapter(css)


ADAPTERS: dict[str, Callable[[CssAdapterSettings | None], SourceAdapter]] = {
    "pdb": _pdb,
    "css": _css,
}
"""Adapter kind -> factory taking the letter's CSS settings (used by ``css`` only)."""


def adapter_for(letter: LetterSettings, html: bytes) -> SourceAdapter:
    """The adapter for ``letter``; with ``adapter = "auto"`` chosen from the page itself."""
    from lettermon.sources.pdb import looks_like_pdb

    kind = letter.adapter
    if kind == "auto":
        if looks_like_pdb(html):
            kind = "pdb"
        elif letter.css is not None:
            kind = "css"
        else:
            raise ParseError(_NO_LIST)
    return ADAPTERS[kind](letter.css)


def probe_adapter(html: bytes) -> SourceAdapter:
    """Auto-detection without settings: the adapter that can read this page."""
    from lettermon.sources.pdb import looks_like_pdb

    if looks_like_pdb(html):
        return _pdb(None)
    raise ParseError(_NO_LIST)
