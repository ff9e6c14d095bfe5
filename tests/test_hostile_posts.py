"""Names that signatories typed are hostile: every trap is defused before it reaches a network."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from lettermon.announce.textlength import graphemes

import widget
from fakes.bluesky_pds import FakePds
from fakes.webhook_receiver import WebhookReceiver
from fakes.x_api import FakeXApi
from letter_server import LetterSite, serve
from posting import (
    bluesky,
    bluesky_texts,
    check,
    console,
    console_posts,
    letter_site,
    mastodon,
    mastodon_texts,
    milestones,
    webhook,
    x,
)

pytest_plugins = ["fakes.fixtures"]

NAME_MAX = 30
LONG_LAST_NAME = "Verylongname " * 8
# Three signatures at a time, each round reaching the next milestone (483, 486, 489, 492).
ROUNDS: list[list[tuple[str, str]]] = [
    [("Ada @elonmusk", "Lovelace"), ("Bob", "Ross @user@mastodon.social"),
     ("Cy @handle.bsky.social", "Young")],
    [("Dee", "Visit evil.com"), ("Eve https://x.co/a", "Adams"), ("Fay #tag", "#Winning $TSLA")],
    [("Gus\x07\x1b", "Ctrl\x08Char"), ("Hal\u200b\u200d", "Zero\u2060Width\ufeff"),
     ("Ivy \u202eredivider", "Bidi\u2066Iso\u2069late")],
    [("Jo", LONG_LAST_NAME), ("Quorra", "Flurbsnatch"), ("Nia", "Okafor")],
]
# What each round's post names, once cleaned (Quorra is blocklisted: dropped whole).
EXPECTED = [
    ["Ada Lovelace", "Bob Ross", "Cy Young"],
    ["Dee Visit", "Eve Adams", "Fay tag Winning TSLA"],
    ["Gus CtrlChar", "Hal ZeroWidth", "Ivy redivider BidiIsolate"],
    ["Jo Verylongname Verylongname…", "Nia Okafor"],
]
TRAPS = ("@", "elonmusk", "mastodon.social", "bsky.social", "handle", "evil.com", "x.co",
         "#", "$", "flurbsnatch", "quorra")


def signatories(names: list[tuple[str, str]], seed: int) -> list[dict[str, str]]:
    rows = widget.make_signatories(len(names), seed=seed)
    for row, (first, last) in zip(rows, names, strict=True):
        row.update(first_name=first, last_name=last, honorific="")
    return rows


@pytest.fixture
def letter() -> Iterator[LetterSite]:
    with serve(letter_site(480)) as running:
        yield running


def assert_defused(text: str, url: str, network: str) -> None:
    folded = text.casefold()
    for trap in TRAPS:
        assert trap not in folded, (network, trap, text)
    assert text.count(url) == 1, (network, text)
    assert folded.count("http") == 1, (network, text)  # the letter's own link, nothing else
    for ch in text:
        assert unicodedata.category(ch) not in ("Cc", "Cf", "Co", "Cn"), (network, repr(ch))


def test_every_trap_is_defused_on_every_network(
        letter: LetterSite, config_for: Callable[..., Path], run_cli: Callable[..., Result],
        monkeypatch: pytest.MonkeyPatch, webhook_receiver: WebhookReceiver,
        mastodon_server: Any, bluesky_pds: FakePds, x_api: FakeXApi) -> None:
    names: dict[str, Any] = {"names": True, "name_max_length": NAME_MAX,
                             "blocklist": ["flurbsnatch"]}
    config = config_for(letter, letter_extra='title = "Rekognition"\n'
                        + milestones(at=[483, 486, 489, 492]),
                        extra="\n".join([
                            console(**names), webhook(webhook_receiver.url, **names),
                            mastodon(mastodon_server.base_url, monkeypatch, **names),
                            bluesky(bluesky_pds.url, monkeypatch, **names),
                            x(x_api.url, monkeypatch, **names)]))
    printed: list[str] = []
    check(run_cli, config)
    for number, round_names in enumerate(ROUNDS):
        letter.sign(signatories(round_names, seed=number))
        printed.extend(console_posts(check(run_cli, config).output))

    received = {"console": printed, "webhook": webhook_receiver.texts(),
                "mastodon": mastodon_texts(mastodon_server),
                "bluesky": bluesky_texts(bluesky_pds), "x": x_api.posts()}
    for network, texts in received.items():
        assert len(texts) == len(ROUNDS), network
        for text, expected in zip(texts, EXPECTED, strict=True):
            assert_defused(text, letter.url, network)
            for name in expected:
                assert name in text, (network, name, text)


def test_an_overlong_name_is_capped_at_a_word(
        letter: LetterSite, config_for: Callable[..., Path], run_cli: Callable[..., Result],
        webhook_receiver: WebhookReceiver) -> None:
    config = config_for(letter, letter_extra=milestones(at=[481]),
                        extra=webhook(webhook_receiver.url, names=True, max_names=1,
                                      name_max_length=NAME_MAX))
    check(run_cli, config)
    letter.sign(signatories([("Maximiliana", "Wolkenkratzer-Ueberlaenge " * 4)], seed=9))
    check(run_cli, config)

    [text] = webhook_receiver.texts()
    listed = text.split("Among the latest: ", 1)[1].split(". Add your name", 1)[0]
    assert listed == "Maximiliana…"
    assert len(graphemes(listed)) <= NAME_MAX
