"""A requests session that sends tweepy's calls to the configured X host, with a timeout.

Imported only when an X channel first posts: requests is not needed before that.
"""

from __future__ import annotations

from typing import Any

import requests

TWEEPY_HOST = "https://api.twitter.com"


class RoutedSession(requests.Session):
    """Sends tweepy's requests to the configured host, always with a timeout.

    The URL is rewritten before the request is signed, so the OAuth signature covers the
    address actually called.
    """

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def request(self, method: str | bytes, url: str | bytes,
                *args: Any, **kwargs: Any) -> requests.Response:
        if isinstance(method, bytes):
            method = method.decode("ascii")
        if isinstance(url, bytes):
            url = url.decode("utf-8")
        if url.startswith(TWEEPY_HOST):
            url = self.base_url + url[len(TWEEPY_HOST):]
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)
