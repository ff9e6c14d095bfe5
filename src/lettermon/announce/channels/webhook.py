"""POST each milestone as JSON to a URL, with an Idempotency-Key header."""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import AnyHttpUrl, Field, SecretStr

from lettermon.announce.channels.base import Capabilities, Channel, ChannelContext, Post, Posted
from lettermon.durations import Duration
from lettermon.errors import DuplicatePost, PostError, RateLimited, RefusedAddress
from lettermon.netguard import GuardedTransport, NetGuard
from lettermon.retry_after import retry_after_seconds
from lettermon.settings import ChannelSettings

log = logging.getLogger(__name__)


class WebhookSettings(ChannelSettings):
    SECRETS: ClassVar[tuple[str, ...]] = ("secret",)
    OPTIONAL_SECRETS: ClassVar[frozenset[str]] = frozenset({"secret"})  # may need no token
    kind: Literal["webhook"]
    url: AnyHttpUrl
    secret: SecretStr | None = Field(default=None, description="sent as a Bearer token")
    timeout: Duration = 30.0


class WebhookPoster(Channel):
    """Sends ``{"letter", "milestone", "count", "text", "url", "idempotency_key"}``.

    The text goes out without chat mentions (``<!here>``, ``<@U1>``, ``@everyone``…), so
    a template cannot ping a Slack or Discord room (``sanitize.neutralise_chat_mentions``).
    2xx is success (the remote id is the response's JSON ``"id"`` if any, else the key);
    409 means the receiver already has this key; 429 asks to wait; other 4xx are permanent.
    Messages name only the host, since webhook URLs often carry a token in their path.
    Connections go through ``guard`` (by default: never to link-local or metadata addresses).
    """

    kind = "webhook"
    summary = "POST each post as JSON to a URL (Slack, Discord, your own service)"
    settings_model = WebhookSettings
    limit = 4000
    capabilities = Capabilities(
        idempotency="Idempotency-Key header (and in the JSON body)",
        recovery="sends again with the same key; the receiver drops the repeat")

    def __init__(self, settings: WebhookSettings, context: ChannelContext | None = None, *,
                 client: httpx.Client | None = None, guard: NetGuard | None = None) -> None:
        super().__init__(settings, context)
        guard = guard or (context.guard if context else None)
        self._url = str(settings.url)
        self._host = urlsplit(self._url).hostname or "the webhook"
        self._secret = settings.secret
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(
            timeout=settings.timeout, follow_redirects=False,
            transport=GuardedTransport(guard or NetGuard()))

    def __repr__(self) -> str:
        return f"WebhookPoster(name={self.name!r}, host={self._host!r})"

    def send(self, post: Post) -> Posted:
        from lettermon.announce.sanitize import neutralise_chat_mentions

        headers = {"Idempotency-Key": post.key}
        if self._secret is not None and self._secret.get_secret_value():
            headers["Authorization"] = f"Bearer {self._secret.get_secret_value()}"
        payload = {
            "letter": post.letter, "milestone": post.milestone, "count": post.count,
            "text": neutralise_chat_mentions(post.text), "url": post.url,
            "idempotency_key": post.key,
        }
        try:
            response = self._client.post(self._url, json=payload, headers=headers)
        except RefusedAddress as exc:
            raise PostError(f"webhook {self.name!r}: {exc}", permanent=True) from exc
        except httpx.HTTPError as exc:
            raise PostError(f"webhook {self.name!r}: {self._host} could not be reached "
                            f"({type(exc).__name__})") from exc
        return self._outcome(response, post)

    def _outcome(self, response: httpx.Response, post: Post) -> Posted:
        status = response.status_code
        where = f"webhook {self.name!r}: {self._host} answered {status}"
        if 200 <= status < 300:
            return Posted(remote_id=_remote_id(response) or post.key)
        if status == 409:
            raise DuplicatePost(f"{where} (already received)",
                                remote_id=_remote_id(response) or post.key)
        if status == 429:
            raise RateLimited(where, retry_after=retry_after_seconds(
                response.headers.get("Retry-After")))
        if 400 <= status < 500:
            raise PostError(where, permanent=True)
        raise PostError(where)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()


def _remote_id(response: httpx.Response) -> str | None:
    try:
        body: Any = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and body.get("id") not in (None, ""):
        return str(body["id"])
    return None
