"""The channel extension point: one class per network declares everything about it.

A channel kind is a subclass of :class:`Channel` in a module of this package. Its class
attributes say what the rest of lettermon needs to know about the network: the settings
model of its ``[[channels]]`` entries, how the network counts a post's length and the
limit, what it supports, and what a post costs. The registry, the settings union, the
sender's rules and the docs table are all built from these declarations, so adding a
network is one new module (plus its entry in ``docs/configuration.md``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from lettermon.announce.textlength import plain_length
from lettermon.settings import ChannelSettings

if TYPE_CHECKING:
    from lettermon.netguard import NetGuard


@dataclass(frozen=True, slots=True)
class Post:
    """One message for one channel, as the outbox hands it over.

    ``key`` is stable for this (letter, milestone, channel) row of the outbox: channels use
    it to make a retry after a crash land on the same remote post (Mastodon's
    Idempotency-Key, Bluesky's record key, the webhook's header).
    """

    key: str
    text: str
    letter: str
    milestone: int | None
    count: int
    url: str
    image: bytes | None = None
    image_alt: str | None = None


@dataclass(frozen=True, slots=True)
class Posted:
    remote_id: str
    remote_url: str | None = None


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a network supports, as the docs table and the sender read it.

    ``idempotency`` says how a repeated send lands on the same remote post (empty: it
    cannot); ``recovery`` how a send cut short by a crash is resolved on the next run.
    """

    images: bool = False
    alt_text: bool = False
    idempotency: str = ""
    recovery: str = ""


@dataclass(frozen=True, slots=True)
class ChannelContext:
    """What the composition root gives every channel it builds."""

    state_dir: Path = Path("data")
    """Where a channel may keep small state files (Bluesky's saved session)."""
    options: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments for this channel's class (tests give a stream or an HTTP client)."""
    guard: NetGuard | None = None
    """The address policy every connection of the channel goes through."""


class Channel(ABC):
    """Sends posts to one account of one network; subclasses declare the network.

    ``send`` raises :class:`lettermon.errors.RateLimited` (with ``retry_after``),
    :class:`lettermon.errors.DuplicatePost` when the network says the post already exists,
    or :class:`lettermon.errors.PostError` (``permanent=True`` when a retry cannot help).
    ``find_existing`` looks for a post already made with this key or text (after a crash
    between the network accepting a post and the outbox recording it); None if not found.
    """

    kind: ClassVar[str]
    """The ``kind`` of the channel's config entries."""
    summary: ClassVar[str]
    """One line for the docs table."""
    settings_model: ClassVar[type[ChannelSettings]]
    """The model of this kind's ``[[channels]]`` entries, with ``kind: Literal[kind]``."""
    limit: ClassVar[int]
    """The longest post, as :meth:`length` counts."""
    capabilities: ClassVar[Capabilities]
    """What the network supports."""

    def __init__(self, settings: Any, context: ChannelContext | None = None) -> None:
        self.name: str = settings.name
        self.settings = settings

    @staticmethod
    def length(text: str) -> int:
        """The length of ``text`` as the network counts it (default: graphemes)."""
        return plain_length(text)

    @classmethod
    def price(cls, settings: Any, text: str) -> float:
        """What posting ``text`` costs, in US dollars (0 where posting is free)."""
        return 0.0

    @classmethod
    def monthly_spend_limit(cls, settings: Any) -> float | None:
        """The most this account may spend in a calendar month (None: no limit)."""
        return None

    @abstractmethod
    def send(self, post: Post) -> Posted:
        """Post ``post`` and say where it went."""

    def find_existing(self, post: Post) -> Posted | None:
        """The post already made for ``post.key`` (None: it cannot be found, or is not there)."""
        return None

    def close(self) -> None:
        """Release connections; the channel is not used afterwards."""
        return

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
