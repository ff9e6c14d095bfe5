"""POST each milestone as JSON to a URL, with an Idempotency-Key header."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import httpx

from lettermon.channels.base import Post, Posted
from lettermon.errors import DuplicatePost, PostError, RateLimited, RefusedAddress
from lettermon.netguard import GuardedTransport, NetGuard
from lettermon.retry_after import retry_after_seconds
from lettermon.settings import WebhookChannel
from lettermon.textlength import LIMITS, plain_length

log = logging.getLogger(__name__)


class WebhookPoster:
    """Sends ``{"letter", "milestone", "count", "text", "url", "idempotency_key"}``.

    2xx is success (the remote id is the response's JSON ``"id"`` if any, else the key);
    409 means the receiver already has this key; 429 asks to wait; other 4xx are permanent.
    Messages name only the host, since webhook URLs often carry a token in their path.
    Connections go through ``guard`` (by default: never to link-local or metadata addresses).
    """

    kind = "webhook"
    limit = LIMITS["webhook"]

    def __init__(self, settings: WebhookChannel, *, client: httpx.Client | None = None,
                 guard: NetGuard | None = None) -> None:
        self.name = settings.name
        self._url = str(settings.url)
        self._host = urlsplit(self._url).hostname or "the webhook"
        self._secret = settings.secret
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(
            timeout=settings.timeout, follow_redirects=False,
            transport=GuardedTransport(guard or NetGuard()))

    def __repr__(self) -> str:
        return f"WebhookPoster(name={self.name!r}, host={self._host!r})"

    def length(self, text: str) -> int:
        return plain_length(text)

    def send(self, post: Post) -> Posted:
        headers = {"Idempotency-Key": post.key}
        if self._secret is not None and self._secret.get_secret_value():
            headers["Authorization"] = f"Bearer {self._secret.get_secret_value()}"
        payload = {
            "letter": post.letter, "milestone": post.milestone, "count": post.count,
            "text": post.text, "url": post.url, "idempotency_key": post.key,
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

    def find_existing(self, post: Post) -> Posted | None:
        """A webhook cannot be asked; repeating a send is safe thanks to Idempotency-Key."""
        return None

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
