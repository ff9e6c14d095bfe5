"""Source adapters: a letter page in, count + rows + the other pages out.

One module per page layout, each declaring a :class:`SourceAdapter`; :func:`discover`
finds them (every module whose name does not start with ``_``, apart from the shared
``base``, ``html`` and ``numbers``). :func:`choose` picks a letter's adapter: the one its
settings name, or with ``adapter = "auto"`` the first that recognises the page, else the
one whose settings table the letter has.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from typing import TYPE_CHECKING

from lettermon.errors import ParseError
from lettermon.watch.sources.base import SourceAdapter

if TYPE_CHECKING:
    from lettermon.settings import LetterSettings

__all__ = ["SourceAdapter", "check_media_type", "choose", "declared_in", "detect", "discover"]

_SHARED = frozenset({"base", "html", "numbers"})


def declared_in(module: object) -> list[type[SourceAdapter]]:
    """The source adapters a module defines (subclasses of :class:`SourceAdapter`)."""
    name = getattr(module, "__name__", "")
    return [value for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, SourceAdapter)
            and value.__module__ == name and "kind" in vars(value)]


def discover() -> list[type[SourceAdapter]]:
    """Every adapter shipped in this package, in module order."""
    adapters: list[type[SourceAdapter]] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name in _SHARED:
            continue
        adapters.extend(declared_in(importlib.import_module(f"{__name__}.{info.name}")))
    return adapters


def detect(body: bytes, url: str, adapters: Mapping[str, type[SourceAdapter]]
           ) -> SourceAdapter:
    """The adapter that recognises this page without settings (``lettermon probe``)."""
    for adapter in adapters.values():
        if adapter.detect(body, url):
            return adapter()
    raise ParseError(_unrecognised(adapters))


def choose(letter: LetterSettings, body: bytes, url: str,
           adapters: Mapping[str, type[SourceAdapter]]) -> SourceAdapter:
    """The adapter for ``letter``; with ``adapter = "auto"`` chosen from the page itself."""
    kind = letter.adapter
    if kind == "auto":
        found = next((k for k, a in adapters.items() if a.detect(body, url)), None)
        if found is None:
            found = next((k for k in adapters if letter.source_settings(k) is not None), None)
        if found is None:
            raise ParseError(_unrecognised(adapters))
        kind = found
    if kind not in adapters:
        raise ParseError(f"no source adapter of kind {kind!r}")
    return adapters[kind](letter.source_settings(kind))


def check_media_type(adapter: SourceAdapter, content_type: str | None) -> None:
    """Refuse a response whose content type the adapter does not read (a JSON adapter
    given an HTML error page); a response without a content type is tried."""
    if not adapter.media_types or not content_type:
        return
    media = content_type.split(";")[0].strip().lower()
    for accepted in adapter.media_types:
        if media == accepted or (accepted.startswith("+") and media.endswith(accepted)):
            return
    raise ParseError(f"the response is {media}, not {' or '.join(adapter.media_types)}")


def _unrecognised(adapters: Mapping[str, type[SourceAdapter]]) -> str:
    known = "; ".join(f"{a.summary} ({k})" for k, a in adapters.items() if a.detects())
    configured = ", ".join(f"adapter = '{k}'" for k, a in adapters.items() if a.settings_model)
    return (f"no adapter recognised the page (looked for: {known}); "
            f"set {configured} with its settings")
