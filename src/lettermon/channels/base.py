"""The channel extension point: a message in, the posted id and URL out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


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


class Channel(Protocol):
    """Sends posts to one account.

    ``send`` raises :class:`lettermon.errors.RateLimited` (with ``retry_after``),
    :class:`lettermon.errors.DuplicatePost` when the network says the post already exists,
    or :class:`lettermon.errors.PostError` (``permanent=True`` when a retry cannot help).
    ``find_existing`` looks for a post already made with this key or text (after a crash
    between the network accepting a post and the outbox recording it); None if not found.
    """

    name: str
    kind: str
    limit: int

    def length(self, text: str) -> int: ...

    def send(self, post: Post) -> Posted: ...

    def find_existing(self, post: Post) -> Posted | None: ...

    def close(self) -> None: ...
