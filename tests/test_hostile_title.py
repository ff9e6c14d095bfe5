"""The page's own title is written by strangers too: it is cleaned before it reaches a post.

A letter without ``title`` in the config takes its title from the page (the documented
default), so whoever controls the page controls that part of every post.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

import widget
from fakes.bluesky_pds import FakePds
from fakes.webhook_receiver import WebhookReceiver
from fakes.x_api import FakeXApi
from letter_server import LetterSite, serve
from posting import (
    bluesky,
    bluesky_texts,
    check,
    grow_to,
    mastodon,
    mastodon_texts,
    milestones,
    webhook,
    x,
)

pytest_plugins = ["fakes.fixtures"]

HOSTILE_TITLE = ("@everyone Free crypto at https://evil.com #scam $BTC <!channel> "
                 "<@U123ABC> \x1b[2J\u202eOpen \u200bLetter\x07")
CLEAN_TITLE = "Free crypto at scam BTC [2JOpen Letter"
HOSTILE_NAMES = [("Ada <!here>", "Lovelace"), ("Bob", "Ross @everyone"),
                 ("Cy <@123456>", "Young <#C123|general>")]
CLEAN_NAMES = ["Ada Lovelace", "Bob Ross", "Cy Young"]
TRAPS = ("@", "everyone", "evil.com", "#", "$btc", "<!", "<@", "<#", "channel>", "u123abc",
         "123456", "general")


def hostile_site(title: str) -> LetterSite:
    site = LetterSite([], render={"title": title})
    grow_to(site, 480)
    return site


def sign_hostile(site: LetterSite) -> None:
    rows = widget.make_signatories(len(HOSTILE_NAMES), seed=3)
    for row, (first, last) in zip(rows, HOSTILE_NAMES, strict=True):
        row.update(first_name=first, last_name=last, honorific="")
    site.sign(rows)


@pytest.fixture
def letter() -> Iterator[LetterSite]:
    with serve(hostile_site(HOSTILE_TITLE)) as running:
        yield running


def every_channel(monkeypatch: pytest.MonkeyPatch, webhook_receiver: WebhookReceiver,
                  mastodon_server: Any, bluesky_pds: FakePds, x_api: FakeXApi) -> str:
    names = {"names": True}
    return "\n".join([webhook(webhook_receiver.url, **names),
                      mastodon(mastodon_server.base_url, monkeypatch, **names),
                      bluesky(bluesky_pds.url, monkeypatch, **names),
                      x(x_api.url, monkeypatch, **names)])


def assert_defused(text: str, network: str) -> None:
    folded = text.casefold()
    for trap in TRAPS:
        assert trap not in folded, (network, trap, text)
    for ch in text:
        assert unicodedata.category(ch) not in ("Cc", "Cf", "Co", "Cn"), (network, repr(ch))


def test_a_hostile_page_title_is_cleaned_on_every_network(
        letter: LetterSite, config_for: Callable[..., Path], run_cli: Callable[..., Result],
        monkeypatch: pytest.MonkeyPatch, webhook_receiver: WebhookReceiver,
        mastodon_server: Any, bluesky_pds: FakePds, x_api: FakeXApi) -> None:
    config = config_for(letter, letter_extra=milestones(at=[483]), extra=every_channel(
        monkeypatch, webhook_receiver, mastodon_server, bluesky_pds, x_api))
    check(run_cli, config)
    sign_hostile(letter)
    check(run_cli, config)

    received = {"webhook": webhook_receiver.texts(), "mastodon": mastodon_texts(mastodon_server),
                "bluesky": bluesky_texts(bluesky_pds), "x": x_api.posts()}
    for network, texts in received.items():
        assert len(texts) == 1, (network, texts)
        [text] = texts
        assert_defused(text, network)
        assert f"“{CLEAN_TITLE}”" in text, (network, text)
        for name in CLEAN_NAMES:
            assert name in text, (network, name, text)


def test_a_title_with_nothing_readable_left_becomes_the_letters_name(
        config_for: Callable[..., Path], run_cli: Callable[..., Result],
        webhook_receiver: WebhookReceiver) -> None:
    with serve(hostile_site("@everyone https://evil.com <!channel> \u200b\x1b")) as letter:
        config = config_for(letter, letter_extra=milestones(at=[481]),
                            extra=webhook(webhook_receiver.url))
        check(run_cli, config)
        grow_to(letter, 481)
        check(run_cli, config)

    [text] = webhook_receiver.texts()
    assert text.startswith("481 researchers have now signed “rekognition”."), text


def test_a_title_from_the_config_is_the_organisers_own_text(
        letter: LetterSite, config_for: Callable[..., Path], run_cli: Callable[..., Result],
        webhook_receiver: WebhookReceiver) -> None:
    config = config_for(letter, letter_extra='title = "Stop #Rekognition now"\n'
                        + milestones(at=[481]), extra=webhook(webhook_receiver.url))
    check(run_cli, config)
    grow_to(letter, 481)
    check(run_cli, config)

    [text] = webhook_receiver.texts()
    assert "“Stop #Rekognition now”" in text, text
