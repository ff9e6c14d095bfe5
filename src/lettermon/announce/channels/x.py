"""Post to X through tweepy's v2 client (OAuth 1.0a user context).

tweepy has no base-URL option, no request timeout and no v2 media upload. Its client is
given a session (:mod:`._x_session`) that sends ``https://api.twitter.com`` requests to
``settings.api_base_url`` with a timeout; the URL is rewritten before the request is
signed, so the OAuth signature covers the address actually called. Images go through
X's ``POST /2/media/upload`` on the same signed session. The session connects through a
:class:`~lettermon.netguard.NetGuard` (by default: never to link-local or metadata addresses).
"""

from __future__ import annotations

import html
import logging
import re
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import AnyHttpUrl, Field, SecretStr

from lettermon.announce.channels._common import require_secret, seconds_until
from lettermon.announce.channels.base import Capabilities, Channel, ChannelContext, Post, Posted
from lettermon.announce.textlength import x_length
from lettermon.durations import Duration
from lettermon.errors import DuplicatePost, PostError, RateLimited, RefusedAddress
from lettermon.netguard import NetGuard, guard_session
from lettermon.settings import Boolean, ChannelSettings, Real

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

_DUPLICATE = "duplicate content"
_RECENT_POSTS = 20
_SCHEME_URL = re.compile(r"https?://\S+", re.IGNORECASE)


class XSettings(ChannelSettings):
    SECRETS: ClassVar[tuple[str, ...]] = (
        "consumer_key", "consumer_secret", "access_token", "access_token_secret")
    kind: Literal["x"]
    api_base_url: AnyHttpUrl = Field(default=AnyHttpUrl("https://api.x.com"))
    consumer_key: SecretStr | None = None
    consumer_secret: SecretStr | None = None
    access_token: SecretStr | None = None
    access_token_secret: SecretStr | None = None
    include_link: Boolean = Field(default=True, description="links cost more per post on X")
    monthly_spend_limit: Real = Field(default=5.0, ge=0,
        description="US dollars per calendar month")
    price_per_post: Real = Field(default=0.015, ge=0)
    price_per_link_post: Real = Field(default=0.20, ge=0)
    timeout: Duration = 30.0

    @property
    def links(self) -> bool:
        return self.include_link


def is_link_post(text: str) -> bool:
    """Whether ``text`` holds a link, for spend accounting (link posts cost more on X).

    Bare domains count, as X links them; so does anything with a scheme, even where
    twitter-text would not link it, since counting a post as dearer is the safe mistake.
    """
    from twitter_text import extract_urls

    return bool(_SCHEME_URL.search(text) or extract_urls(text))


class XPoster(Channel):
    """One X account. tweepy is imported on the first send, not before."""

    kind = "x"
    summary = "post with tweepy's v2 client (OAuth 1.0a); charged per post"
    settings_model = XSettings
    limit = 280
    capabilities = Capabilities(
        images=True, alt_text=True, idempotency="X refuses the same text twice",
        recovery="looks for the text among the account's latest 20 posts")
    length = staticmethod(x_length)

    @classmethod
    def price(cls, settings: XSettings, text: str) -> float:
        return settings.price_per_link_post if is_link_post(text) else settings.price_per_post

    @classmethod
    def monthly_spend_limit(cls, settings: XSettings) -> float | None:
        return settings.monthly_spend_limit

    def __init__(self, settings: XSettings, context: ChannelContext | None = None, *,
                 guard: NetGuard | None = None) -> None:
        super().__init__(settings, context)
        guard = guard or (context.guard if context else None)
        self._settings = settings
        self._guard = guard or NetGuard()
        self._base_url = str(settings.api_base_url).rstrip("/")
        self._api: Any = None
        self._user_id: str | None = None

    def __repr__(self) -> str:
        return f"XPoster(name={self.name!r}, api_base_url={self._base_url!r})"

    def send(self, post: Post) -> Posted:
        api = self._client()
        try:
            media_ids = [self._upload(post.image, post.image_alt)] if post.image else None
            response = api.create_tweet(text=post.text, media_ids=media_ids, user_auth=True)
        except _errors() as exc:
            error = self._translate(exc)
            if isinstance(error, DuplicatePost):
                existing = self._find_quietly(post)
                if existing is not None:
                    error.remote_id, error.remote_url = existing.remote_id, existing.remote_url
            raise error from exc
        tweet_id = str(response.data["id"])
        return Posted(remote_id=tweet_id, remote_url=_web_url(tweet_id))

    def find_existing(self, post: Post) -> Posted | None:
        """The newest of the account's recent posts whose text matches ``post.text``.

        X shortens links to t.co and escapes ``&<>``, so texts are compared with every
        link replaced by a placeholder and entities unescaped.
        """
        api = self._client()
        try:
            if self._user_id is None:
                self._user_id = str(api.get_me(user_auth=True).data.id)
            recent = api.get_users_tweets(self._user_id, max_results=_RECENT_POSTS,
                                          user_auth=True)
        except _errors() as exc:
            raise self._translate(exc) from exc
        wanted = _comparable(post.text)
        for tweet in recent.data or []:
            if _comparable(tweet.text) == wanted:
                return Posted(remote_id=str(tweet.id), remote_url=_web_url(str(tweet.id)))
        return None

    def close(self) -> None:
        if self._api is not None:
            self._api.session.close()
            self._api = None

    def _find_quietly(self, post: Post) -> Posted | None:
        try:
            return self.find_existing(post)
        except PostError as exc:
            log.warning("x %s: could not look up the duplicate post: %s", self.name, exc)
            return None

    def _client(self) -> Any:
        if self._api is None:
            keys = {field: require_secret(self._settings, field)
                    for field in self._settings.SECRETS}
            import tweepy

            from lettermon.announce.channels._x_session import RoutedSession

            _quiet_oauth_debug_logs()
            api = tweepy.Client(**keys, wait_on_rate_limit=False)
            api.session = guard_session(
                RoutedSession(self._base_url, self._settings.timeout), self._guard)
            self._api = api
        return self._api

    def _upload(self, image: bytes, alt: str | None) -> str:
        """Upload a PNG with ``POST /2/media/upload``; set its alt text; return its id."""
        auth = self._oauth()
        session = self._api.session
        response = session.post(
            f"{self._base_url}/2/media/upload", auth=auth,
            files={"media": ("chart.png", image, "image/png")},
            data={"media_category": "tweet_image"})
        _raise_for_status(response)
        body = response.json()
        data = body.get("data", body)
        media_id = str(data.get("id") or data.get("media_id_string"))
        if alt:
            response = session.post(
                f"{self._base_url}/2/media/metadata", auth=auth,
                json={"id": media_id, "metadata": {"alt_text": {"text": alt[:1000]}}})
            _raise_for_status(response)
        return media_id

    def _oauth(self) -> Any:
        from requests_oauthlib import OAuth1

        consumer_key, consumer_secret, access_token, access_secret = (
            require_secret(self._settings, field) for field in self._settings.SECRETS)
        return OAuth1(consumer_key, client_secret=consumer_secret,
                      resource_owner_key=access_token, resource_owner_secret=access_secret)

    def _translate(self, exc: Exception) -> PostError:  # noqa: PLR0911 - a branch per error class
        import requests
        import tweepy

        where = f"x {self.name!r}"
        if isinstance(exc, RefusedAddress):
            return PostError(f"{where}: {exc}", permanent=True)
        if isinstance(exc, tweepy.TooManyRequests):
            return RateLimited(f"{where}: rate limited",
                               retry_after=seconds_until(exc.reset_time))
        if isinstance(exc, tweepy.Forbidden) and any(
                _DUPLICATE in m.lower() for m in exc.api_messages):
            return DuplicatePost(f"{where}: X refused a duplicate of an earlier post")
        if isinstance(exc, (tweepy.Unauthorized, tweepy.Forbidden)):
            return PostError(f"{where}: X refused the credentials or the app's permissions "
                             f"({_messages(exc)})", permanent=True)
        if isinstance(exc, tweepy.TwitterServerError):
            return PostError(f"{where}: X server error ({_messages(exc)})")
        if isinstance(exc, tweepy.HTTPException):
            status = exc.response.status_code
            return PostError(f"{where}: {status} {_messages(exc)}",
                             permanent=400 <= status < 500)
        if isinstance(exc, requests.RequestException):
            return PostError(f"{where}: network error ({type(exc).__name__})")
        return PostError(f"{where}: {type(exc).__name__}")


def _errors() -> tuple[type[Exception], ...]:
    """What tweepy, requests and the address guard raise for a failed call; anything else
    is a bug to surface."""
    import requests
    import tweepy

    return (tweepy.errors.TweepyException, requests.RequestException, RefusedAddress)


def _raise_for_status(response: requests.Response) -> None:
    """Raise tweepy's error for a failed response, as tweepy does for its own calls."""
    import tweepy

    status = response.status_code
    if 200 <= status < 300:
        return
    errors: dict[int, type[tweepy.HTTPException]] = {
        400: tweepy.BadRequest, 401: tweepy.Unauthorized, 403: tweepy.Forbidden,
        404: tweepy.NotFound}
    if status == 429:
        reset = response.headers.get("x-rate-limit-reset")
        raise tweepy.TooManyRequests(response, reset_time=int(reset) if reset else None)
    if status >= 500:
        raise tweepy.TwitterServerError(response)
    raise errors.get(status, tweepy.HTTPException)(response)


def _messages(exc: Any) -> str:
    return "; ".join(str(m) for m in exc.api_messages) or str(exc.response.status_code)


def _comparable(text: str) -> str:
    from twitter_text import extract_urls_with_indices

    text = _SCHEME_URL.sub("\x00", html.unescape(text))
    for entity in sorted(extract_urls_with_indices(text), key=lambda e: -e["indices"][0]):
        start, end = entity["indices"]
        text = f"{text[:start]}\x00{text[end:]}"
    return re.sub(r"\s+", " ", text).strip()


def _web_url(tweet_id: str) -> str:
    return f"https://x.com/i/web/status/{tweet_id}"


def _quiet_oauth_debug_logs() -> None:
    """oauthlib and requests_oauthlib log the consumer key and access token at DEBUG."""
    for name in ("oauthlib", "requests_oauthlib"):
        logger = logging.getLogger(name)
        if logger.level < logging.INFO:
            logger.setLevel(logging.INFO)
