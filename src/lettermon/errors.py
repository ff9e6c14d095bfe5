"""lettermon's own exception tree.

Third-party errors are translated into these at the adapter edge (``raise ... from exc``).
Normal outcomes such as "unchanged" or "304" are return values, never exceptions. An error
that ends a poll carries its :class:`~lettermon.models.FailureKind`, which is what alerts
and health report; nothing classifies an error by its message. Messages never carry secrets.
"""

from __future__ import annotations

from lettermon.models import FailureKind
from lettermon.redact import redact


class LettermonError(Exception):
    """Base of every error lettermon raises on purpose. Its message is redacted: a URL in
    it is shown without its password (:func:`lettermon.redact.redact`)."""

    def __init__(self, message: str = "") -> None:
        super().__init__(redact(message))


class ConfigError(LettermonError):
    """The configuration file, environment or secrets are invalid."""


class MissingExtra(ConfigError):
    """An optional part of lettermon that what was asked needs is not installed."""

    def __init__(self, what: str, extra: str, library: str) -> None:
        super().__init__(
            f"{what} needs {library}, lettermon's optional {extra!r} extra: from lettermon's "
            f"source tree, pip install '.[{extra}]' (or pip install {library}); the "
            "container image includes it")


class NotFound(LettermonError):
    """Something asked for by name or id is not there (a letter never polled, an entry)."""


class PollFailure(LettermonError):
    """A poll cannot be trusted; ``kind`` says why, ``status`` is the HTTP status if any."""

    kind = FailureKind.NETWORK

    def __init__(self, message: str, *, status: int | None = None,
                 kind: FailureKind | None = None) -> None:
        super().__init__(message)
        self.status = status
        if kind is not None:
            self.kind = kind


class FetchError(PollFailure):
    """A page could not be fetched (network, HTTP status, size, redirect)."""


class HttpStatusError(FetchError):
    """The site answered with a status that is not a page (404, a 5xx after the retries)."""

    kind = FailureKind.HTTP


class BlockedError(FetchError):
    """The site answered with a bot challenge ("checking your browser") instead of the page."""

    kind = FailureKind.BLOCKED


class FetchTimeout(FetchError):
    """No complete response came within the request's or the poll's deadline."""

    kind = FailureKind.TIMEOUT


class TooLarge(FetchError):
    """The response, once decoded, is over the size cap."""

    kind = FailureKind.TOO_LARGE


class RefusedAddress(FetchError):
    """A host resolved to an address lettermon never connects to (link-local, metadata,
    or a private address when those are not allowed)."""

    kind = FailureKind.REFUSED_ADDRESS


class ParseError(PollFailure):
    """A fetched page does not hold what the adapter expects (layout changed)."""

    kind = FailureKind.LAYOUT


class SuspectCount(PollFailure):
    """The page states a count lettermon refuses to believe (zero, or a sharp drop)."""

    kind = FailureKind.SUSPECT


class StoreError(LettermonError):
    """The database could not be opened, migrated or written."""


class SchemaError(StoreError):
    """The database's schema is not the one this lettermon works with (upgrade first)."""


class NoDatabase(StoreError):
    """A command that only reads found no database (nothing was polled yet)."""


class CopyRefused(LettermonError):
    """A copy between databases that cannot be made as asked (the target holds a history,
    both are the same database, the source is missing or of another schema); nothing
    was written."""


class Interrupted(LettermonError):
    """A shutdown was asked for mid-crawl; the poll was rolled back, nothing stored."""


class LockedError(LettermonError):
    """Another lettermon run holds the lock."""


class PostError(LettermonError):
    """A channel refused or failed a post.

    ``permanent`` is true when retrying the same post cannot succeed (bad credentials,
    a text the network rejects); the outbox then gives up instead of retrying.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class DuplicatePost(PostError):
    """The network says this exact post already exists (it went out before a crash)."""

    def __init__(self, message: str, *, remote_id: str | None = None,
                 remote_url: str | None = None) -> None:
        super().__init__(message, permanent=False)
        self.remote_id = remote_id
        self.remote_url = remote_url


class RateLimited(PostError):
    """The network asks us to wait; ``retry_after`` is in seconds when known."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, permanent=False)
        self.retry_after = retry_after
