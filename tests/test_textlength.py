"""Counting characters as each network does, and fitting a text to a limit."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lettermon.announce.textlength import (
    bluesky_length,
    fit,
    mastodon_length,
    plain_length,
    x_length,
)

URL = "https://letter.example.org/open-letter-to-amazon-against-police-use-of-rekognition/"


@pytest.mark.parametrize(("text", "expected"), [
    ("hello", 5),
    (f"see {URL}", 4 + 23),                   # every URL counts 23
    ("see example.com", 4 + 23),              # bare domains too
    ("日本語", 6),                             # CJK counts 2
    ("😷", 2),                                 # emoji count 2
    ("👩‍🔬", 2),                                 # a ZWJ sequence is one emoji
    ("é", 1),
])
def test_x_length(text: str, expected: int) -> None:
    assert x_length(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("hello", 5),
    (f"see {URL}", 4 + 23),                   # a URL with a scheme counts 23
    ("see example.com", 15),                  # without a scheme it is plain text
    ("hi @alice@mastodon.social", 3 + 6),     # only "@alice" counts
    ("hi @alice", 9),
    ("mail bob@example.com", 20),             # not a mention
    ("👩‍🔬日本", 3),
])
def test_mastodon_length(text: str, expected: int) -> None:
    assert mastodon_length(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("hello", 5), ("👩‍🔬", 1), ("🇩🇪", 1), ("e\u0301", 1), (URL, len(URL))])
def test_bluesky_length_counts_graphemes(text: str, expected: int) -> None:
    assert bluesky_length(text) == expected


LENGTHS: list[Callable[[str], int]] = [x_length, mastodon_length, bluesky_length,
                                       plain_length]


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("limit", [1, 5, 12, 30, 60, 100, 140])
def test_fit_respects_the_limit_and_never_cuts_a_url(length: Callable[[str], int],
                                                     limit: int) -> None:
    text = f"Five hundred researchers have now signed the open letter {URL} thanks all"
    result = fit(text, limit, length)
    assert length(result) <= limit
    if URL in text and "https" in result:
        assert URL in result
    assert not result or result.endswith("…") or result == text


def test_fit_keeps_a_short_text_as_is() -> None:
    assert fit("500 have signed", 280, x_length) == "500 have signed"


def test_fit_cuts_at_a_word_boundary() -> None:
    assert fit("one two three four", 10, plain_length) == "one two…"
    assert fit("one, two, three", 9, plain_length) == "one, two…"


def test_fit_drops_a_url_whole() -> None:
    text = f"Signed: {URL} and more"
    assert fit(text, 40, plain_length) == "Signed…"
    # X counts the URL as 23, so it fits there
    assert fit(text, 35, x_length) == f"Signed: {URL}…"


def test_fit_cuts_one_long_word_between_graphemes() -> None:
    assert fit("👩‍🔬" * 10, 4, bluesky_length) == "👩‍🔬👩‍🔬👩‍🔬…"
    assert fit("Supercalifragilistic", 6, plain_length) == "Super…"
    assert fit(URL, 10, plain_length) == "…"
    assert fit("anything", 0, plain_length) == ""
