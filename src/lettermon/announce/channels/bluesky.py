"""Post to a Bluesky account through the atproto SDK, exactly once per outbox key.

Bluesky has no idempotency header, so each post is created with a fixed record key
(``rkey``) derived from the outbox key: a second attempt with the same key is refused by
the PDS, and :meth:`BlueskyPoster.find_existing` can fetch the record by that key.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import AnyHttpUrl, Field, SecretStr

from lettermon.announce.channels._common import require_secret, seconds_until
from lettermon.announce.channels.base import Capabilities, Channel, ChannelContext, Post, Posted
from lettermon.announce.textlength import bluesky_length
from lettermon.durations import Duration
from lettermon.errors import DuplicatePost, PostError, RateLimited, RefusedAddress
from lettermon.netguard import GuardedTransport, NetGuard
from lettermon.settings import ChannelSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

COLLECTION = "app.bsky.feed.post"
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_TID_EPOCH_US = int(datetime(2023, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)
_TID_SPAN_US = 2 * 365 * 24 * 3600 * 1_000_000
_EXPIRED = {"ExpiredToken", "InvalidToken"}


def record_key(key: str) -> str:
    """A valid TID (13 base32-sortable characters) derived only from ``key``.

    A TID is a 53-bit microsecond timestamp and a 10-bit clock id. Both come from a hash of
    the key; the timestamp falls in 2023–2024 so that it reads as an ordinary past TID.
    """
    digest = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:16], "big")
    micros = _TID_EPOCH_US + digest % _TID_SPAN_US
    clock_id = (digest >> 64) & 0x3FF
    value = (micros << 10) | clock_id
    chars = []
    for _ in range(13):
        chars.append(_TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


class BlueskySettings(ChannelSettings):
    SECRETS: ClassVar[tuple[str, ...]] = ("app_password",)
    kind: Literal["bluesky"]
    base_url: AnyHttpUrl = Field(default=AnyHttpUrl("https://bsky.social/xrpc"))
    handle: str
    app_password: SecretStr | None = None
    timeout: Duration = 30.0


class BlueskyPoster(Channel):
    """One Bluesky account, logged in with its handle and an app password.

    The session is saved to ``session_file`` (mode 0600) and reused, since logins are rate
    limited; an expired or revoked session leads to one fresh login. Connections go through
    ``guard`` (by default: never to link-local or metadata addresses).
    """

    kind = "bluesky"
    summary = "post with the atproto SDK, links and hashtags as facets"
    settings_model = BlueskySettings
    limit = 300
    capabilities = Capabilities(
        images=True, alt_text=True, idempotency="fixed record key derived from the outbox",
        recovery="fetches the record by its key")
    length = staticmethod(bluesky_length)

    def __init__(self, settings: BlueskySettings, context: ChannelContext | None = None, *,
                 session_file: Path | None = None, guard: NetGuard | None = None) -> None:
        super().__init__(settings, context)
        self._settings = settings
        if session_file is None and context is not None:
            session_file = context.state_dir / f"bluesky-{settings.name}.session"
        self._guard = guard or (context.guard if context else None) or NetGuard()
        self._session_file = session_file
        self._client: Any = None
        self._did: str | None = None

    def __repr__(self) -> str:
        return f"BlueskyPoster(name={self.name!r}, handle={self._settings.handle!r})"

    def send(self, post: Post) -> Posted:
        rkey = record_key(post.key)
        try:
            response = self._with_login(lambda: self._create(post, rkey))
        except _atproto_errors() as exc:
            raise self._refusal(exc, rkey) from exc
        return Posted(remote_id=str(response.uri), remote_url=self._web_url(rkey))

    def find_existing(self, post: Post) -> Posted | None:
        rkey = record_key(post.key)
        try:
            return self._with_login(lambda: self._lookup(rkey))
        except _atproto_errors() as exc:
            raise self._translate(exc) from exc

    def close(self) -> None:
        if self._client is not None:
            self._client.request.close()
            self._client = None

    # -- posting ---------------------------------------------------------------------------

    def _create(self, post: Post, rkey: str) -> Any:
        from atproto import models

        client = self._client
        embed = None
        if post.image is not None:
            blob = client.upload_blob(post.image).blob
            embed = models.AppBskyEmbedImages.Main(images=[
                models.AppBskyEmbedImages.Image(alt=post.image_alt or "", image=blob)])
        text, facets = rich_text(post.text)
        langs = [self._settings.language] if self._settings.language else None
        record = models.AppBskyFeedPost.Record(
            text=text, facets=facets or None, embed=embed, langs=langs,
            created_at=client.get_current_time_iso())
        return client.com.atproto.repo.create_record(models.ComAtprotoRepoCreateRecord.Data(
            repo=self._did, collection=COLLECTION, rkey=rkey, record=record))

    def _lookup(self, rkey: str) -> Posted | None:
        from atproto import models
        from atproto.exceptions import BadRequestError

        try:
            found = self._client.com.atproto.repo.get_record(models.ComAtprotoRepoGetRecord.Params(
                repo=self._did, collection=COLLECTION, rkey=rkey))
        except BadRequestError as exc:
            if _error_name(exc) == "RecordNotFound":
                return None
            raise
        return Posted(remote_id=str(found.uri), remote_url=self._web_url(rkey))

    def _refusal(self, exc: Exception, rkey: str) -> PostError:
        """A refused create is a duplicate when the record is already there."""
        from atproto.exceptions import BadRequestError, RequestException

        if isinstance(exc, (BadRequestError, RequestException)) and _status(exc) != 429:
            try:
                existing = self._lookup(rkey)
            except Exception:  # noqa: BLE001 - the original refusal is the error to report
                existing = None
            if existing is not None:
                return DuplicatePost(
                    f"bluesky {self.name!r}: post {rkey} already exists",
                    remote_id=existing.remote_id, remote_url=existing.remote_url)
        return self._translate(exc)

    def _web_url(self, rkey: str) -> str:
        return f"https://bsky.app/profile/{self._settings.handle}/post/{rkey}"

    # -- session ---------------------------------------------------------------------------

    def _with_login(self, action: Callable[[], T]) -> T:
        """Run ``action`` logged in; once, on an expired or revoked session, log in again."""
        from atproto.exceptions import BadRequestError, UnauthorizedError

        fresh = self._ensure_login()
        try:
            return action()
        except (UnauthorizedError, BadRequestError) as exc:
            if fresh or (isinstance(exc, BadRequestError) and _error_name(exc) not in _EXPIRED):
                raise
            log.info("bluesky %s: session no longer valid, logging in again", self.name)
        self._password_login()
        return action()

    def _ensure_login(self) -> bool:
        """Log in if needed; True when this call logged in with the password."""
        if self._client is not None and self._did is not None:
            return False
        saved = self._read_session()
        if saved is not None:
            client = self._new_client()
            try:
                client.login(session_string=saved, fetch_bsky_profile=False)
            except Exception as exc:  # noqa: BLE001 - a bad saved session means: log in again
                log.info("bluesky %s: saved session unusable (%s)", self.name,
                         type(exc).__name__)
            else:
                self._client, self._did = client, _session_did(client)
                return False
        self._password_login()
        return True

    def _password_login(self) -> None:
        password = require_secret(self._settings, "app_password")
        client = self._new_client()
        try:
            client.login(self._settings.handle, password, fetch_bsky_profile=False)
        except _atproto_errors() as exc:
            raise self._translate(exc, login=True) from exc
        self._client, self._did = client, _session_did(client)
        self._write_session(client.export_session_string())

    def _new_client(self) -> Any:
        from atproto import Client, Request, SessionEvent

        client = Client(base_url=str(self._settings.base_url),
                        request=Request(timeout=self._settings.timeout,
                                        transport=GuardedTransport(self._guard)))

        def save(event: Any, session: Any) -> None:
            if event in (SessionEvent.CREATE, SessionEvent.REFRESH):
                self._write_session(session.export())

        client.on_session_change(save)
        return client

    def _read_session(self) -> str | None:
        if self._session_file is None or not self._session_file.is_file():
            return None
        text = self._session_file.read_text(encoding="utf-8").strip()
        handle = text.split(":::", 1)[0]
        return text if text and handle == self._settings.handle else None

    def _write_session(self, session_string: str) -> None:
        if self._session_file is None:
            return
        path = self._session_file
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(session_string)
        tmp.replace(path)

    # -- errors ----------------------------------------------------------------------------

    def _translate(self, exc: Exception, *, login: bool = False) -> PostError:
        from atproto.exceptions import (
            BadRequestError,
            NetworkError,
            RateLimitExceededError,
            UnauthorizedError,
        )

        where = f"bluesky {self.name!r}"
        if isinstance(exc, RefusedAddress):
            return PostError(f"{where}: {exc}", permanent=True)
        detail = _error_name(exc) or type(exc).__name__
        if isinstance(exc, RateLimitExceededError):
            retry_after = exc.retry_after
            if retry_after is None and exc.reset_at is not None:
                retry_after = seconds_until(exc.reset_at.timestamp())
            return RateLimited(f"{where}: rate limited", retry_after=retry_after)
        if isinstance(exc, UnauthorizedError) or (login and isinstance(exc, BadRequestError)):
            return PostError(f"{where}: the server refused the handle or app password "
                             f"({detail})", permanent=True)
        if isinstance(exc, BadRequestError):
            return PostError(f"{where}: the server refused the post ({detail})", permanent=True)
        if isinstance(exc, NetworkError):
            return PostError(f"{where}: network error ({detail})")
        return PostError(f"{where}: {_status(exc) or ''} {detail}".replace("  ", " "))


def _atproto_errors() -> tuple[type[Exception], ...]:
    """atproto's base error (imported only when Bluesky is used) and the address guard's
    refusal; others are bugs."""
    from atproto_client.exceptions import AtProtocolError

    return (AtProtocolError, RefusedAddress)


def rich_text(text: str) -> tuple[str, list[Any]]:
    """The text and its link and hashtag facets, found as Bluesky's own apps find them."""
    from atproto import client_utils, models

    data = text.encode("utf-8")
    builder = client_utils.TextBuilder()
    position = 0
    for facet in sorted(client_utils.detect_facets(text), key=lambda f: f.index.byte_start):
        start, end = facet.index.byte_start, facet.index.byte_end
        feature = facet.features[0]
        if start < position:
            continue
        if position < start:
            builder.text(data[position:start].decode("utf-8"))
        label = data[start:end].decode("utf-8")
        if isinstance(feature, models.AppBskyRichtextFacet.Link):
            builder.link(label, feature.uri)
        elif isinstance(feature, models.AppBskyRichtextFacet.Tag):
            builder.tag(label, feature.tag)
        else:
            builder.text(label)
        position = end
    if position < len(data):
        builder.text(data[position:].decode("utf-8"))
    return builder.build_text(), builder.build_facets()


def _session_did(client: Any) -> str:
    from atproto import Session

    return str(Session.decode(client.export_session_string()).did)


def _error_name(exc: BaseException) -> str | None:
    """The XRPC error name ("RecordNotFound", "ExpiredToken", …) of an atproto error."""
    response = getattr(exc, "response", None)
    content = getattr(response, "content", None)
    name = getattr(content, "error", None)
    return name if isinstance(name, str) else None


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None
