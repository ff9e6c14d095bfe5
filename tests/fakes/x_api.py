"""A local stand-in for X's API v2 that checks OAuth 1.0a signatures like X does.

Each request's HMAC-SHA1 signature is recomputed from scratch (RFC 5849 section 3.4) with
the test keys below; a bad or missing signature, an unknown key or a reused nonce gets 401.
Serves POST /2/tweets (a repeated text gets X's 403 duplicate-content answer),
POST /2/media/upload, POST /2/media/metadata, GET /2/users/me and GET /2/users/:id/tweets.
``fail_next`` makes the next requests answer 429 (with x-rate-limit-reset) or 503.
``on_accept`` runs after a post is stored and before X's answer goes out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

CONSUMER_KEY = "test-consumer-key-4f1c"
CONSUMER_SECRET = "test-consumer-secret-9a7e2b"
ACCESS_TOKEN = "1234-test-access-token-77d1"
ACCESS_TOKEN_SECRET = "test-access-secret-0c3f5d"
USER_ID = "1234"
USERNAME = "letterbot"

DUPLICATE_BODY = {
    "detail": "You are not allowed to create a Tweet with duplicate content.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}


def _pct(value: str) -> str:
    """RFC 5849 3.6 percent-encoding: everything but unreserved characters."""
    return quote(value, safe="-._~")


def oauth_signature(method: str, base_uri: str, params: list[tuple[str, str]],
                    consumer_secret: str, token_secret: str) -> str:
    """The HMAC-SHA1 signature of a request (RFC 5849 3.4.1 and 3.4.2)."""
    encoded = sorted((_pct(k), _pct(v)) for k, v in params)
    normalized = "&".join(f"{k}={v}" for k, v in encoded)
    base_string = "&".join([method.upper(), _pct(base_uri), _pct(normalized)])
    key = f"{_pct(consumer_secret)}&{_pct(token_secret)}"
    digest = hmac.new(key.encode(), base_string.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _authorization_params(header: str) -> dict[str, str] | None:
    if not header.startswith("OAuth "):
        return None
    pairs = re.findall(r'([\w-]+)="([^"]*)"', header[len("OAuth "):])
    return {unquote(k): unquote(v) for k, v in pairs}


@dataclass
class Received:
    method: str
    path: str
    signature_ok: bool
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)


class FakeXApi:
    """The fake's state and request handling; ``url`` is its base URL."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.tweets: list[dict[str, str]] = []
        self.media: dict[str, dict[str, Any]] = {}
        self.received: list[Received] = []
        self._failures: list[tuple[int, dict[str, str], Any]] = []
        self._nonces: set[str] = set()
        self._ids = itertools.count(1_900_000_000_000_000_000)
        self.on_accept: Callable[[], None] | None = None
        server.expect_request(re.compile(".*")).respond_with_handler(self.handle)

    @property
    def url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def fail_next(self, status: int, *, count: int = 1, reset_in: int = 900) -> None:
        """Answer the next ``count`` API requests with 429 or 503 (or any status)."""
        headers: dict[str, str] = {}
        body: Any = {"title": "Service Unavailable", "detail": "Service Unavailable",
                     "type": "about:blank", "status": status}
        if status == 429:
            headers = {"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0",
                       "x-rate-limit-reset": str(int(time.time()) + reset_in)}
            body = {"title": "Too Many Requests", "detail": "Too Many Requests",
                    "type": "about:blank", "status": 429}
        self._failures.extend([(status, headers, body)] * count)

    def posts(self) -> list[str]:
        return [t["text"] for t in self.tweets]

    # -- request handling ----------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        received = Received(request.method, request.path, self._verify(request))
        if request.is_json:
            received.json = request.get_json()
        received.form = dict(request.form)
        received.files = {name: f.read() for name, f in request.files.items()}
        self.received.append(received)
        if not received.signature_ok:
            return _json(401, {"title": "Unauthorized", "type": "about:blank", "status": 401,
                               "detail": "Unauthorized"})
        if self._failures:
            status, headers, body = self._failures.pop(0)
            return _json(status, body, headers)
        return self._route(request, received)

    def _route(self, request: Request, received: Received) -> Response:
        path, method = request.path, request.method
        if method == "POST" and path == "/2/tweets":
            return self._create_tweet(received.json or {})
        if method == "POST" and path == "/2/media/upload":
            return self._upload(received)
        if method == "POST" and path == "/2/media/metadata":
            body = received.json or {}
            self.media[body["id"]]["alt_text"] = body["metadata"]["alt_text"]["text"]
            return _json(200, {"data": {"associated_metadata": True}})
        if method == "GET" and path == "/2/users/me":
            return _json(200, {"data": {"id": USER_ID, "name": "Letter bot",
                                        "username": USERNAME}})
        match = re.fullmatch(r"/2/users/(\d+)/tweets", path)
        if method == "GET" and match:
            limit = int(request.args.get("max_results", "10"))
            mine = [t for t in reversed(self.tweets) if t["author_id"] == match.group(1)]
            data = [{"id": t["id"], "text": _as_x_returns(t["text"]),
                     "edit_history_tweet_ids": [t["id"]]} for t in mine[:limit]]
            return _json(200, {"data": data, "meta": {"result_count": len(data)}}
                         if data else {"meta": {"result_count": 0}})
        return _json(404, {"title": "Not Found Error", "status": 404, "type": "about:blank",
                           "detail": f"Sorry, that page does not exist: {method} {path}"})

    def _create_tweet(self, body: dict[str, Any]) -> Response:
        text = body.get("text", "")
        if any(t["text"] == text for t in self.tweets):
            return _json(403, DUPLICATE_BODY)
        media_ids = (body.get("media") or {}).get("media_ids") or []
        if any(m not in self.media for m in media_ids):
            return _json(400, {"title": "Invalid Request", "status": 400,
                               "detail": "One or more parameters to your request was invalid."})
        tweet = {"id": str(next(self._ids)), "text": text, "author_id": USER_ID,
                 "media_ids": ",".join(media_ids)}
        self.tweets.append(tweet)
        if self.on_accept is not None:
            self.on_accept()
        return _json(201, {"data": {"id": tweet["id"], "text": text,
                                    "edit_history_tweet_ids": [tweet["id"]]}})

    def _upload(self, received: Received) -> Response:
        if "media" not in received.files or received.form.get("media_category") != "tweet_image":
            return _json(400, {"title": "Invalid Request", "status": 400,
                               "detail": "media and media_category are required"})
        media_id = str(next(self._ids))
        self.media[media_id] = {"bytes": received.files["media"], "alt_text": None}
        return _json(200, {"data": {"id": media_id, "media_key": f"3_{media_id}",
                                    "size": len(received.files["media"]),
                                    "expires_after_secs": 86400,
                                    "image": {"image_type": "image/png", "w": 1, "h": 1}}})

    def _verify(self, request: Request) -> bool:
        oauth = _authorization_params(request.headers.get("Authorization", ""))
        if not oauth or oauth.get("oauth_signature_method") != "HMAC-SHA1":
            return False
        if oauth.get("oauth_consumer_key") != CONSUMER_KEY:
            return False
        if oauth.get("oauth_token") != ACCESS_TOKEN:
            return False
        nonce = oauth.get("oauth_nonce", "")
        if not nonce or nonce in self._nonces:
            return False
        self._nonces.add(nonce)
        params = [(k, v) for k, v in oauth.items() if k not in ("oauth_signature", "realm")]
        params += parse_qsl(request.query_string.decode(), keep_blank_values=True)
        if request.mimetype == "application/x-www-form-urlencoded":
            params += parse_qsl(request.get_data(as_text=True), keep_blank_values=True)
        base_uri = f"{request.scheme}://{request.host.lower()}{request.path}"
        expected = oauth_signature(request.method, base_uri, params,
                                   CONSUMER_SECRET, ACCESS_TOKEN_SECRET)
        return hmac.compare_digest(expected, oauth.get("oauth_signature", ""))


def _as_x_returns(text: str) -> str:
    """X returns "&", "<" and ">" escaped and every link as a t.co link."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"https?://\S+", "https://t.co/AbCdEf1234", text)


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers,
                    content_type="application/json; charset=utf-8")
