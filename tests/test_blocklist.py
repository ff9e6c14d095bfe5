"""A channel's blocklist keeps disguised words out of posts, whole names at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result

import widget
from fakes.webhook_receiver import WebhookReceiver
from letter_server import LetterSite, serve
from posting import check, letter_site, milestones, webhook

pytest_plugins = ["fakes.fixtures"]

SIGNED = [("bad", "Word"), ("Bօycott", "Fan"), ("Ann", "#BoycottEverything"),
          ("b a d w o r d", "Smith"), ("Nia", "Okafor"), ("Cassandra", "Bass")]


@pytest.fixture
def letter() -> Iterator[LetterSite]:
    with serve(letter_site(480)) as running:
        yield running


def test_disguised_words_keep_whole_names_out_of_posts(
        letter: LetterSite, config_for: Callable[..., Path], run_cli: Callable[..., Result],
        webhook_receiver: WebhookReceiver) -> None:
    config = config_for(letter, letter_extra='name_fields = ["first_name", "last_name"]\n'
                        + milestones(at=[480 + len(SIGNED)]),
                        extra=webhook(webhook_receiver.url, names=True, max_names=10,
                                      blocklist=["badword", "boycott", "ass"]))
    check(run_cli, config)
    rows = widget.make_signatories(len(SIGNED), seed=4)
    for row, (first, last) in zip(rows, SIGNED, strict=True):
        row.update(first_name=first, last_name=last)
    letter.sign(rows)
    check(run_cli, config)

    [text] = webhook_receiver.texts()
    listed = text.split("Among the latest: ", 1)[1].split(". Add your name", 1)[0]
    assert listed.startswith("Cassandra Bass, Nia Okafor, "), listed  # newest first
    for trap in ("bad", "word", "b a d", "oycott"):
        assert trap not in listed.casefold(), (trap, listed)
