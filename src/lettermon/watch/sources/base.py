"""The source-adapter extension point: one class per page layout declares everything about it.

A source adapter is a subclass of :class:`SourceAdapter` in a module of this package. Its
class attributes say what lettermon needs to know about the layout: the settings model of
its ``[letters.<kind>]`` table (None when it needs none), how it recognises a page it can
read without settings (:meth:`SourceAdapter.detect`, asked by ``adapter = "auto"`` and by
``lettermon probe``), and how it reads one page (:meth:`SourceAdapter.parse`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from pydantic import BaseModel

from lettermon.models import ParsedPage


class SourceAdapter(ABC):
    """Reads one page of a letter's signature list: count, rows and the other pages.

    ``parse`` raises :class:`lettermon.errors.ParseError` with a one-line reason when the
    page does not hold what the adapter expects; it never returns a count of 0 because a
    selector matched nothing.
    """

    kind: ClassVar[str]
    """The value of a letter's ``adapter`` key that picks this adapter."""
    summary: ClassVar[str]
    """One line for the docs table."""
    settings_model: ClassVar[type[BaseModel] | None] = None
    """The model of the ``[letters.<kind>]`` table, or None when the adapter takes none."""
    count_only: ClassVar[bool] = False
    """Whether every letter this adapter reads has a count and no signatory list."""
    media_types: ClassVar[tuple[str, ...]] = ()
    """The content types a response must have for this adapter (empty: any)."""

    def __init__(self, settings: Any = None) -> None:
        self.settings = settings

    @classmethod
    def detect(cls, body: bytes, url: str) -> bool:
        """Whether this adapter can read the page without settings (cheap: no parsing)."""
        return False

    @classmethod
    def source_url(cls, url: str) -> str | None:
        """The address to poll for a letter configured with ``url``, when this adapter
        reads a twin of that page (a petition page's JSON); None otherwise."""
        return None

    @classmethod
    def detects(cls) -> bool:
        """Whether this adapter recognises pages on its own (it has a :meth:`detect`)."""
        return cls.detect.__func__ is not SourceAdapter.detect.__func__  # type: ignore[attr-defined]

    @abstractmethod
    def parse(self, body: bytes, url: str) -> ParsedPage:
        """Read one page."""
