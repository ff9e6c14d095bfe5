"""Post to a Mastodon account through Mastodon.py."""

from __future__ import annotations

import logging
import re
import time
from typing import Any, ClassVar, Literal

from pydantic import AnyHttpUrl, SecretStr

from lettermon.announce.channels._common import refused_address, require_secret
from lettermon.announce.channels.base import Capabilities, Channel, ChannelContext, Post, Posted
from lettermon.announce.textlength import mastodon_length
from lettermon.durations import Duration
from lettermon.errors import PostError, RateLimited
from lettermon.netguard import NetGuard, guard_session
from lettermon.settings import ChannelSettings

log = logging.getLogger(__name__)

# Mastodon answers 4xx for requests that will never succeed as sent.
_PERMANENT_STATUSES = {400, 401, 403, 404, 410, 413, 415, 422}


class MastodonSettings(ChannelSettings):
    SECRETS: ClassVar[tuple[str, ...]] = ("access_token",)
    kind: Literal["mastodon"]
    api_base_url: AnyHttpUrl
    access_token: SecretStr | None = None
    visibility: Literal["public", "unlisted", "private", "direct"] = "public"
    timeout: Duration = 30.0


class MastodonPoster(Channel):
    """One Mastodon account. Mastodon.py is imported on the first send, not before.

    The post's key is sent as the ``Idempotency-Key`` header: for about an hour a real
    server answers a repeated key with the status it already made, and mastodon-mock keeps
    keys for its whole life, so repeating :meth:`send` after a crash is safe. Connections
    go through ``guard`` (by default: never to link-local or metadata addresses).
    """

    kind = "mastodon"
    summary = "post a status with Mastodon.py (any Mastodon-compatible server)"
    settings_model = MastodonSettings
    limit = 500
    capabilities = Capabilities(
        images=True, alt_text=True, idempotency="Idempotency-Key header (kept about an hour)",
        recovery="looks for the text among the account's latest 40 statuses")
    length = staticmethod(mastodon_length)

    def __init__(self, settings: MastodonSettings, context: ChannelContext | None = None, *,
                 guard: NetGuard | None = None) -> None:
        super().__init__(settings, context)
        guard = guard or (context.guard if context else None)
        self._settings = settings
        self._guard = guard or NetGuard()
        self._base_url = str(settings.api_base_url).rstrip("/")
        self._api: Any = None

    def __repr__(self) -> str:
        return f"MastodonPoster(name={self.name!r}, api_base_url={self._base_url!r})"

    def send(self, post: Post) -> Posted:
        api = self._client()
        from mastodon import MastodonError

        try:
            media_ids = []
            if post.image is not None:
                media = api.media_post(post.image, mime_type="image/png",
                                       description=post.image_alt or None)
                media_ids.append(media.id)
            status = api.status_post(
                post.text, idempotency_key=post.key, visibility=self._settings.visibility,
                language=self._settings.language, media_ids=media_ids or None)
        except MastodonError as exc:
            raise self._translate(exc) from exc
        return Posted(remote_id=str(status.id), remote_url=status.url)

    def find_existing(self, post: Post) -> Posted | None:
        """The account's recent status with this exact text, if there is one.

        Within about an hour a repeated :meth:`send` with the same idempotency key returns
        the first status anyway; a real server forgets keys after that, so a recovery later
        than an hour looks at the account's latest statuses instead of posting again.
        """
        api = self._client()
        from mastodon import MastodonError

        try:
            me = api.account_verify_credentials()
            recent = api.account_statuses(me.id, limit=40, exclude_reblogs=True)
        except MastodonError as exc:
            raise self._translate(exc) from exc
        wanted = _plain(post.text)
        for status in recent or ():
            if _plain(_html_text(str(status.content or ""))) == wanted:
                return Posted(remote_id=str(status.id), remote_url=status.url)
        return None

    def close(self) -> None:
        if self._api is not None:
            self._api.session.close()
            self._api = None

    def _client(self) -> Any:
        if self._api is None:
            token = require_secret(self._settings, "access_token")
            import requests
            from mastodon import Mastodon

            self._api = Mastodon(
                access_token=token, api_base_url=self._base_url,
                ratelimit_method="throw", request_timeout=self._settings.timeout,
                session=guard_session(requests.Session(), self._guard))
        return self._api

    def _translate(self, exc: Exception) -> PostError:  # noqa: PLR0911 - a branch per error class
        from mastodon import (
            MastodonAPIError,
            MastodonIllegalArgumentError,
            MastodonNetworkError,
            MastodonRatelimitError,
            MastodonServerError,
            MastodonUnauthorizedError,
        )

        where = f"mastodon {self.name!r}"
        refused = refused_address(exc)  # Mastodon.py wraps it in a MastodonNetworkError
        if refused is not None:
            return PostError(f"{where}: {refused}", permanent=True)
        if isinstance(exc, MastodonRatelimitError):
            reset = getattr(self._api, "ratelimit_reset", None)
            retry_after = max(reset - time.time(), 0.0) if reset else None
            return RateLimited(f"{where}: rate limited", retry_after=retry_after)
        if isinstance(exc, MastodonUnauthorizedError):
            return PostError(f"{where}: the server rejected the access token", permanent=True)
        if isinstance(exc, MastodonNetworkError):
            return PostError(f"{where}: network error ({type(exc).__name__})")
        if isinstance(exc, MastodonServerError):
            return PostError(f"{where}: server error {_status(exc)}")
        if isinstance(exc, MastodonAPIError):
            status = _status(exc)
            detail = exc.args[3] if len(exc.args) > 3 and exc.args[3] else "refused"
            return PostError(f"{where}: {status} {detail}",
                             permanent=status in _PERMANENT_STATUSES)
        if isinstance(exc, MastodonIllegalArgumentError):
            return PostError(f"{where}: {exc}", permanent=True)
        return PostError(f"{where}: {type(exc).__name__}")


def _status(exc: Exception) -> int | None:
    """Mastodon.py puts the HTTP status in the error's second argument."""
    if len(exc.args) > 1 and isinstance(exc.args[1], int):
        return exc.args[1]
    return None


def _html_text(html: str) -> str:
    """A status's HTML content as the text that was posted (links and line breaks kept)."""
    import html as html_lib

    text = re.sub(r"<br\s*/?>|</p>\s*<p>", "\n", html)
    return html_lib.unescape(re.sub(r"<[^>]+>", "", text))


def _plain(text: str) -> str:
    return " ".join(text.split())
