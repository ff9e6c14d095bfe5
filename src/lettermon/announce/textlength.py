"""Text length as each network counts it, and shortening a text to fit.

* X: twitter-text's weighted length (every URL counts 23; most CJK and emoji count 2).
* Mastodon: grapheme clusters; a URL with a scheme counts 23 and ``@user@domain`` counts
  as ``@user``, as Mastodon's own status length validator does.
* Bluesky and the rest: grapheme clusters.

Each channel kind names its counting function and limit in its own declaration
(:mod:`lettermon.announce.channels`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

__all__ = [
    "ELLIPSIS",
    "bluesky_length",
    "fit",
    "graphemes",
    "mastodon_length",
    "plain_length",
    "x_length",
]

ELLIPSIS = "…"
MASTODON_URL_LENGTH = 23

# Mastodon's account mention: "@user" or "@user@domain", not preceded by a word char or "/".
_MASTODON_MENTION = re.compile(
    r"(?<![\w/])@([a-z0-9_]+(?:[a-z0-9_.-]*[a-z0-9_])?)(?:@[\w.-]+\w)?", re.IGNORECASE)
_TRAILING_PUNCTUATION = " \t\n,;:-–—(\"'"


@functools.cache
def _grapheme() -> Any:
    import regex

    return regex.compile(r"\X")


def graphemes(text: str) -> list[str]:
    """The user-perceived characters of ``text`` (an emoji with modifiers is one)."""
    return list(_grapheme().findall(text))


def plain_length(text: str) -> int:
    """Grapheme clusters: what a person would call the number of characters."""
    return len(graphemes(text))


def x_length(text: str) -> int:
    """X's weighted length (the limit is 280)."""
    from twitter_text import parse_tweet

    result = parse_tweet(text)
    return int(result.weightedLength)


def bluesky_length(text: str) -> int:
    """Bluesky counts grapheme clusters (the limit is 300)."""
    return plain_length(text)


def mastodon_length(text: str) -> int:
    """Mastodon's count (the limit is 500 by default)."""
    from twitter_text import extract_urls_with_indices

    spans: list[tuple[int, int, str]] = []
    for entity in extract_urls_with_indices(text, extract_urls_without_protocol=False):
        start, end = entity["indices"]
        spans.append((start, end, "x" * MASTODON_URL_LENGTH))
    for match in _MASTODON_MENTION.finditer(text):
        if not any(s <= match.start() < e for s, e, _ in spans):
            spans.append((match.start(), match.end(), "@" + match.group(1)))
    countable = []
    position = 0
    for start, end, replacement in sorted(spans):
        if start < position:
            continue
        countable.append(text[position:start])
        countable.append(replacement)
        position = end
    countable.append(text[position:])
    return plain_length("".join(countable))


def url_spans(text: str) -> list[tuple[int, int]]:
    """Where X, Mastodon or Bluesky would see a link (with or without a scheme)."""
    from twitter_text import extract_urls_with_indices

    return [(e["indices"][0], e["indices"][1]) for e in extract_urls_with_indices(text)]


def fit(text: str, limit: int, length: Callable[[str], int]) -> str:
    """Shorten ``text`` at a word boundary, ending with "…", so ``length(result) <= limit``.

    Words are dropped from the end. A URL is never cut: it is dropped whole. Only when the
    first word alone is too long is it cut between two grapheme clusters (or dropped, if it
    is a URL). Returns "" when not even "…" fits.
    """
    if length(text) <= limit:
        return text
    if length(ELLIPSIS) > limit:
        return ""
    tokens = _tokens(text)

    def candidate(count: int) -> str:
        kept = "".join(tokens[:count]).rstrip(_TRAILING_PUNCTUATION)
        return f"{kept}{ELLIPSIS}" if kept else ""

    low, high = 0, len(tokens)  # find the most tokens whose candidate fits
    while low < high:
        middle = (low + high + 1) // 2
        if length(candidate(middle)) <= limit:
            low = middle
        else:
            high = middle - 1
    best = candidate(low)
    if best:
        return best
    return _cut_first_word(text.strip(), limit, length)


def _tokens(text: str) -> list[str]:
    """Words with their leading whitespace; URLs are always whole tokens."""
    spans = url_spans(text)
    tokens: list[str] = []
    for match in re.finditer(r"\s*\S+", text):
        start, end = match.start(), match.end()
        if tokens and any(s < start < e for s, e in spans):
            tokens[-1] += match.group()  # whitespace inside a URL span: keep it whole
        else:
            tokens.append(text[start:end])
    return tokens


def _cut_first_word(text: str, limit: int, length: Callable[[str], int]) -> str:
    first = text.split(maxsplit=1)[0] if text else ""
    if not first or any(s == 0 for s, _ in url_spans(first)):
        return ELLIPSIS
    parts = graphemes(first)
    low, high = 0, len(parts)
    while low < high:
        middle = (low + high + 1) // 2
        if length("".join(parts[:middle]) + ELLIPSIS) <= limit:
            low = middle
        else:
            high = middle - 1
    return "".join(parts[:low]) + ELLIPSIS
